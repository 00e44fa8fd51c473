"""Salted fingerprints of a convention's records: the shared definition of WHAT is searched.

The destruction job fingerprints, before deleting anything, every record id and every
distinctive field value of the convention; the independent scanner (`scanner.py`) looks for the
same fingerprints in every file after it. This module is the only thing both share: how a string
is normalised, cut into pieces and tokens, and hashed. It knows nothing about where data live or
how they are deleted.

A fingerprint is a keyed BLAKE2b-128 of the normalised string with a random 32-byte salt kept
under the home (`keys/`), never in the attestation (which holds only the salt's SHA-256): the
fingerprints reveal nothing, even to someone who can guess an identifier's format.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Iterable, Iterator

TOKEN = re.compile(r"[0-9A-Za-z]+(?:-[0-9A-Za-z]+)*")
PIECES = re.compile(r"[|\n\r\t;]+")
TOKEN_SEP = "\x1f"
MIN_ID_TOKEN_CHARS = 8  # shorter ids are only matched as whole values (a column cell)
MIN_VALUE_CHARS = 12  # shorter field values are not distinctive enough to search
MAX_ID_TOKENS = 4


def normalise(s: str) -> str:
    return " ".join(unicodedata.normalize("NFC", s).split())


def digest(salt: bytes, s: str) -> str:
    return hashlib.blake2b(normalise(s).encode("utf-8"), key=salt, digest_size=16).hexdigest()


def tokens(s: str) -> list[str]:
    return TOKEN.findall(s)


def id_key(identifier: str) -> str | None:
    """The token sequence an id is searched as (None: too short for token search)."""
    toks = tokens(identifier)
    if not toks or len(toks) > MAX_ID_TOKENS or len("".join(toks)) < MIN_ID_TOKEN_CHARS:
        return None
    return TOKEN_SEP.join(toks)


def candidates(s: str, max_tokens: int = MAX_ID_TOKENS) -> Iterator[tuple[str, str]]:
    """Every (kind, string) a text is checked as: the whole, its delimited pieces, and each run of
    1..max_tokens consecutive tokens."""
    yield "valeur", s
    for piece in PIECES.split(s):
        piece = piece.strip(" \"'`")
        if piece and piece != s:
            yield "valeur", piece
    toks = tokens(s)
    for n in range(1, max_tokens + 1):
        for i in range(len(toks) - n + 1):
            yield "identifiant", TOKEN_SEP.join(toks[i : i + n])


def fingerprint_set(salt: bytes, values: Iterable[str]) -> list[str]:
    return sorted({digest(salt, v) for v in values})
