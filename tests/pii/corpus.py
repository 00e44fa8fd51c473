"""The labelled French corpus of the personal-data guard (`corpus_fr.jsonl`).

Each line is one observation as a careless agent or citizen would type it, with the expected
kinds and spans (start, end, kind, value). `scope` is the `free_text` scope of the field it
comes from (`texte`, or `libelle` for addresses, place names and event titles); `source` says
which field (main courante, CSU, citizen report, Cortège, public events, addresses, generic
incidents); `split` is `dev` (used to design the recognisers) or `test` (held out, asserted by
the tests). Spans of names leave the civility out ("Mme [Martin]"), as the masking does.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

CORPUS = Path(__file__).with_name("corpus_fr.jsonl")
KIND_CODES = {
    "T": "telephone",
    "E": "email",
    "P": "plaque",
    "N": "nom_de_personne",
    "S": "nir",
    "I": "iban",
    "D": "date_de_naissance",
}
_MARK = re.compile(r"\[\[(.+?)\|([A-Z])\]\]")


def from_markup(marked: str) -> tuple[str, list[dict]]:
    """`Rappeler Mme [[Martin|N]] au [[06 12 34 56 78|T]]` → plain text and its spans."""
    text, spans, pos = [], [], 0
    out_len = 0
    for m in _MARK.finditer(marked):
        before = marked[pos : m.start()]
        text.append(before)
        out_len += len(before)
        value, code = m.group(1), m.group(2)
        spans.append({"start": out_len, "end": out_len + len(value), "kind": KIND_CODES[code], "value": value})
        text.append(value)
        out_len += len(value)
        pos = m.end()
    text.append(marked[pos:])
    return "".join(text), spans


def load(split: str | None = None) -> list[dict]:
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if split is None or r["split"] == split]
