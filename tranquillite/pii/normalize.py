"""Unicode normalisation before matching, with a map back to the original text.

A careless (or evasive) agent types `０６ １２ ３４ ５６ ７８` (full-width digits), `Мme Маrtin` (Cyrillic
М and а), `jean＠mail.fr`, a zero-width space inside a number or a soft hyphen inside a name. The
detector matches on a normalised copy: NFKC (full-width and compatibility forms, ligatures,
non-breaking spaces), Cyrillic and Greek letters that look like Latin ones mapped to those,
dashes unified, invisible characters removed. Every character of the copy remembers which
characters of the original it came from, so the spans found are masked in the original text.
"""

from __future__ import annotations

import re
import unicodedata

# Cyrillic and Greek letters drawn like Latin ones (Unicode confusables of the Latin alphabet,
# restricted to these two scripts: the ones used to dodge a filter)
CONFUSABLES: dict[str, str] = {
    # Cyrillic capitals
    "А": "A",
    "В": "B",
    "Е": "E",
    "Ё": "E",
    "К": "K",
    "М": "M",
    "Н": "H",
    "О": "O",
    "Р": "P",
    "С": "C",
    "Т": "T",
    "Х": "X",
    "У": "Y",
    "Ѕ": "S",
    "І": "I",
    "Ї": "I",
    "Ј": "J",
    "Ԛ": "Q",
    "Ԝ": "W",
    "Ү": "Y",
    "Һ": "H",
    "Ӏ": "I",
    "Ь": "b",
    "З": "3",
    # Cyrillic small letters
    "а": "a",
    "в": "b",
    "е": "e",
    "ё": "e",
    "к": "k",
    "м": "m",
    "н": "h",
    "о": "o",
    "р": "p",
    "с": "c",
    "т": "t",
    "х": "x",
    "у": "y",
    "ѕ": "s",
    "і": "i",
    "ї": "i",
    "ј": "j",
    "ԁ": "d",
    "һ": "h",
    "ӏ": "l",
    "ԛ": "q",
    "ԝ": "w",
    "ү": "y",
    "ո": "n",
    "ɡ": "g",
    # Greek capitals
    "Α": "A",
    "Β": "B",
    "Ε": "E",
    "Ζ": "Z",
    "Η": "H",
    "Ι": "I",
    "Κ": "K",
    "Μ": "M",
    "Ν": "N",
    "Ο": "O",
    "Ρ": "P",
    "Τ": "T",
    "Υ": "Y",
    "Χ": "X",
    "Ϲ": "C",
    # Greek small letters
    "ο": "o",
    "ν": "v",
    "ρ": "p",
    "ι": "i",
    "κ": "k",
    "α": "a",
    "τ": "t",
    "υ": "u",
    "ϲ": "c",
    "ϳ": "j",
    "ε": "e",
    # Latin lookalikes outside ASCII
    "ı": "i",
    "ȷ": "j",
    "ſ": "s",
    "ℓ": "l",
    # dashes and minus signs
    "‐": "-",
    "‑": "-",
    "‒": "-",
    "–": "-",
    "—": "-",
    "―": "-",
    "−": "-",
    "﹘": "-",
    "⁃": "-",
    # quotes
    "’": "'",
    "‘": "'",
    "ʼ": "'",
    "´": "'",
    "`": "'",
}
# removed: zero-width characters, soft hyphen, word joiner, BOM, bidi controls
INVISIBLE = {
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u00ad",
    "\u180e",
    "\u200e",
    "\u200f",
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
}

# characters that never change: ASCII and the precomposed Latin-1 letters of French
_STABLE = re.compile(r"[\x20-\x7e\t\n\rÀ-ÖØ-öø-ÿŒœŸ«»°€…]*")


def is_stable(text: str) -> bool:
    """True when normalising cannot change the text (the fast path, most texts)."""
    return _STABLE.fullmatch(text) is not None


def normalize(text: str) -> tuple[str, list[int] | None]:
    """(normalised text, `origin`): `origin[i]` is the index in `text` of the first original character
    that produced normalised character `i` (None when the text is unchanged); see `to_original`."""
    if is_stable(text):
        return text, None
    out: list[str] = []
    origin: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1  # a base character and the combining marks that follow it form one unit
        while j < n and unicodedata.combining(text[j]):
            j += 1
        unit = text[i:j]
        if unit in INVISIBLE:
            i = j
            continue
        norm = unicodedata.normalize("NFKC", unit)
        norm = "".join(CONFUSABLES.get(c, c) for c in norm if c not in INVISIBLE)
        if norm.isspace():
            norm = " "
        out.append(norm)
        origin.extend([i] * len(norm))
        i = j
    return "".join(out), origin


def to_original(start: int, end: int, origin: list[int] | None, original: str) -> tuple[int, int]:
    """The span of the original text that produced normalised characters [start, end)."""
    if origin is None:
        return start, end
    if not origin:
        return 0, 0
    s = origin[min(start, len(origin) - 1)]
    if end >= len(origin):
        e = len(original)
    else:
        e = origin[end]
        if e <= s:
            e = s + 1
    # drop the invisible characters that trail the span (they belong to no character)
    while e > s and original[e - 1] in INVISIBLE:
        e -= 1
    return s, e
