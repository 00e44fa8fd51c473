"""The guard applied to a table's free-text columns (the contract's `free_text` fields), once per
batch: one Series of first kinds per column, each distinct text analysed once."""

from __future__ import annotations

from typing import Iterable

import polars as pl

PREFIX = "_pii_"


def kind_column(field_name: str) -> str:
    """The column holding the first kind found in a field (added by `with_kinds`)."""
    return PREFIX + field_name


def _texts(df: pl.DataFrame, column: str) -> pl.Series:
    col = df.get_column(column)
    if isinstance(col.dtype, pl.List):  # typed address lists: one text per record
        col = col.list.join(", ")
    return col.cast(pl.Utf8)


def kinds(df: pl.DataFrame, column: str, scope: str) -> pl.Series:
    """First kind of personal data of each value of `column` (null: none). Each distinct text is
    analysed once and its kind mapped back to the rows in Polars (8 years of interventions: 1.4 M
    rows, the distinct texts a fraction). The engine is imported here, on first use (see `pii`)."""
    from tranquillite.pii.engine import detect

    texts = _texts(df, column)
    distinct = texts.drop_nulls().unique(maintain_order=True)
    found = pl.Series([d.kind for d in detect(distinct.to_list(), scope)], dtype=pl.Utf8)
    return texts.replace_strict(distinct, found, default=None, return_dtype=pl.Utf8).alias(column)


def with_kinds(df: pl.DataFrame, fields: Iterable, header: bool = True) -> pl.DataFrame:
    """`df` plus `_pii_<field>` for every free-text field (`header`: read the landing column)."""
    cols = []
    for f in fields:
        if not f.free_text:
            continue
        source = f.header if header else f.name
        cols.append(
            kinds(df, source, f.free_text_scope).alias(kind_column(f.name))
            if df.height
            else pl.Series(kind_column(f.name), [], dtype=pl.Utf8)
        )
    return df.with_columns(cols) if cols else df


def count_with_pii(df: pl.DataFrame, fields: Iterable) -> int:
    """How many values of the free-text fields of a typed (clean) table hold personal data."""
    free = [f for f in fields if f.free_text and f.name in df.columns]
    if not free or not df.height:
        return 0
    return sum(kinds(df, f.name, f.free_text_scope).is_not_null().sum() for f in free)
