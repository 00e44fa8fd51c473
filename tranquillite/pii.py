"""Detect personal data in free text (C2: no personal data may reach a clean table).

Vectorised Polars regular expressions. Each detector returns the kind it found so that the
quarantine says *why* a record was held (téléphone, e-mail, plaque, nom de personne).
"""

from __future__ import annotations

import polars as pl

PII_PATTERNS: dict[str, str] = {
    # French phone numbers: 0X XX XX XX XX, +33 X XX XX XX XX, with spaces, dots or dashes
    "telephone": r"(?:\+33[\s.-]?|\b0)[1-9](?:[\s.-]?\d{2}){4}\b",
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+",
    # SIV licence plates (AB-123-CD, AB 123 CD). The pre-2009 FNI format (1234 AB 13) is not
    # detected: it collides with ordinary text such as "2025 PSQ 13".
    "plaque": r"\b[A-HJ-NP-TV-Z]{2}[\s-]?\d{3}[\s-]?[A-HJ-NP-TV-Z]{2}\b",
    # a civility followed by a capitalised name: M. Dupont, Mme Martin, Monsieur Jean Durand
    "nom_de_personne": r"\b(?:M\.|MM\.|Mme|Mmes|Mlle|Monsieur|Madame|Mademoiselle|Dr|Docteur|Me)\s+[A-ZÀ-Ý][a-zà-ÿ'-]+|\b(?:nom|identité|prénom)\s*:\s*[A-ZÀ-Ý]",
}


def pii_kind(expr: pl.Expr) -> pl.Expr:
    """The first kind of personal data found in the text, or null."""
    out = pl.lit(None, dtype=pl.Utf8)
    for kind, pattern in reversed(list(PII_PATTERNS.items())):
        out = pl.when(expr.str.contains(pattern)).then(pl.lit(kind)).otherwise(out)
    return out


def find_pii(texts: list[str]) -> list[str | None]:
    """Convenience for forms and tests: the kind found in each text."""
    return pl.DataFrame({"t": texts}, schema={"t": pl.Utf8}).select(pii_kind(pl.col("t"))).to_series().to_list()
