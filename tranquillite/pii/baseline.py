"""The former guard — four Polars regular expressions — kept only as the benchmark's baseline
(`scripts/bench_pii.py` measures it in the same run as the detector). Not used by the pipeline."""

from __future__ import annotations

import polars as pl

PII_PATTERNS: dict[str, str] = {
    "telephone": r"(?:\+33[\s.-]?|\b0)[1-9](?:[\s.-]?\d{2}){4}\b",
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+",
    "plaque": r"\b[A-HJ-NP-TV-Z]{2}[\s-]?\d{3}[\s-]?[A-HJ-NP-TV-Z]{2}\b",
    "nom_de_personne": r"\b(?:M\.|MM\.|Mme|Mmes|Mlle|Monsieur|Madame|Mademoiselle|Dr|Docteur|Me)\s+[A-ZÀ-Ý][a-zà-ÿ'-]+|\b(?:nom|identité|prénom)\s*:\s*[A-ZÀ-Ý]",
}


def baseline_kinds(texts: list[str]) -> list[set[str]]:
    """Every kind each text matches, by the old patterns."""
    df = pl.DataFrame({"t": texts}, schema={"t": pl.Utf8})
    hits = df.select([pl.col("t").str.contains(p).fill_null(False).alias(k) for k, p in PII_PATTERNS.items()])
    return [{k for k, v in row.items() if v} for row in hits.iter_rows(named=True)]
