"""French number formats, the one place every page takes them from.

« 10,53 », « 1 234 » (thousands separated by a narrow no-break space, U+202F, as the Imprimerie
nationale does), « 12 % » (a narrow no-break space before the sign). Tables show such figures as
text made here: Streamlit's « localized » column format follows the browser's language, not the app's.
"""

from __future__ import annotations

import math

NNBSP = "\u202f"  # narrow no-break space: thousands and before « % »


def number(x: float | int | None, digits: int = 2, empty: str = "") -> str:
    """« 1 234,57 » (`digits` decimals; an integer value keeps them, as in a column of figures)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return empty
    return f"{x:,.{digits}f}".replace(",", NNBSP).replace(".", ",")


def integer(x: float | int | None, empty: str = "") -> str:
    """« 1 234 » (rounded to the unit)."""
    return number(x, 0, empty)


def compact(x: float | int | None, max_digits: int = 2, empty: str = "") -> str:
    """The shortest French form up to `max_digits` decimals: « 3 », « 0,5 », « 10,53 », « 1 234 »."""
    text = number(x, max_digits, empty)
    if "," in text:
        text = text.rstrip("0").rstrip(",")
    return text


def percent(share: float | None, digits: int = 0, empty: str = "") -> str:
    """A share (0.125) as « 12,5 % » (`digits` decimals)."""
    if share is None or (isinstance(share, float) and not math.isfinite(share)):
        return empty
    return f"{number(share * 100, digits)}{NNBSP}%"


def signed_percent(change: float | None, digits: int = 0, empty: str = "") -> str:
    """A relative change (0.25) as « +25 % », « −10 % » (true minus sign), « 0 % »."""
    if change is None or (isinstance(change, float) and not math.isfinite(change)):
        return empty
    text = percent(abs(change), digits)
    if round(change * 100, digits) == 0:
        return text
    return ("+" if change > 0 else "\u2212") + text


def plural(n: float | int, one: str, many: str | None = None) -> str:
    """« 1 fait », « 3 faits », « 0 fait » (French: singular below 2)."""
    word = one if abs(n) < 2 else (many or pluralise(one))
    return f"{compact(n)} {word}"


def pluralise(noun_phrase: str) -> str:
    """The plural of a French noun phrase whose head comes first: « alerte de vidéoprotection »
    → « alertes de vidéoprotection », « opération programmée » → « opérations programmées »."""
    words = noun_phrase.split(" ")
    head = 1
    while (
        head < len(words)
        and words[head] not in {"de", "du", "des", "d'", "à", "au", "aux", "en"}
        and not words[head].startswith("d'")
    ):
        head += 1  # adjectives after the noun agree with it
    out = []
    for i, w in enumerate(words):
        out.append(w + "s" if i < head and w and w[-1] not in "sxz" else w)
    return " ".join(out)
