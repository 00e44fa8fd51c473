"""Known street and place names, blanked out of an address before it is scanned.

An address field (`free_text: libelle`) holds a street named after someone ("Place Victor Hugo",
"Avenue Marie Jeanne Bernardi", a tram stop "Blancarde Chave"): the street is not personal data,
what an agent typed beside it may be ("12 rue de Rome, chez Mme Benali", "3 rue Consolat
06 12 34 56 78"). Every comma-separated part of the address whose leading words are a street or
place of the city's gazetteer (`tranquillite.geo`: OpenStreetMap streets, monuments, quartiers)
is replaced by spaces, offsets unchanged; the rest is scanned as usual. In free text, the known
streets and places that start with their type word ("rue", "chemin", "stade"…) are blanked too.
"""

from __future__ import annotations

import re
from functools import lru_cache

from tranquillite import geo
from tranquillite.pii import lexicon as L

_PART = re.compile(r"[^,;/()\n]+")
_WORD = re.compile(r"\S+")
_HOUSE = re.compile(r"^\d+\s*(?:bis|ter|b|t)?$", re.IGNORECASE)
_POSTCODE_CITY = re.compile(r"^(?:\d{5}\s*)?(?:marseille(?:\s+\d{1,2}(?:e|er|ème)?)?)?\s*$", re.IGNORECASE)
MAX_WORDS = 10


@lru_cache(maxsize=1)
def known_names() -> frozenset[str]:
    names = set(geo.streets().get_column("normalized_name").to_list())
    names |= set(geo.places().get_column("normalized_name").to_list())
    return frozenset(n for n in names if n)


def _normal(words: list[str]) -> tuple[str, str]:
    text = " ".join(words)
    return geo.parse_address(text)[0], geo.normalize_name(text)


_TYPES = re.compile(
    r"(?<![\w'-])(?:"
    + "|".join(re.escape(w) for w in sorted(set(L.STREET_TYPES + L.VENUE_TYPES), key=len, reverse=True))
    + r")(?![\w'-])",
    re.IGNORECASE,
)


def blank_known_streets(text: str) -> str:
    """`text` with each known street or place name that starts with its type word ("chemin
    départemental numéro 44 de la Bigotte au Logis Neuf") replaced by spaces: free text."""
    names = known_names()
    chars = None
    for t in _TYPES.finditer(text):
        words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text, t.start())][:MAX_WORDS]
        for n in range(len(words), 1, -1):
            if any(v in names for v in _normal([w.strip(",.;:()") for _, _, w in words[:n]])):
                chars = chars or list(text)
                for i in range(words[0][0], words[n - 1][1]):
                    chars[i] = " "
                break
    return text if chars is None else "".join(chars)


def blank_known_places(text: str) -> str:
    """`text` with each known street or place name (and its house number, postcode, city)
    replaced by spaces."""
    names = known_names()
    chars = list(text)
    for part in _PART.finditer(text):
        seg = part.group()
        if _POSTCODE_CITY.match(seg.strip()) and seg.strip():
            for i in range(part.start(), part.end()):
                chars[i] = " "
            continue
        words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(seg)]
        first = 1 if words and _HOUSE.match(words[0][2]) else 0
        for n in range(min(len(words), first + MAX_WORDS), first, -1):
            if any(v in names for v in _normal([w for _, _, w in words[first:n]])):
                for i in range(part.start() + words[0][0], part.start() + words[n - 1][1]):
                    chars[i] = " "
                break
    return blank_known_streets("".join(chars))
