"""Row-level lineage of the forecasting tables: the conventions each row was computed from.

The rule is exact, not conservative: a row carries the conventions of the data that entered its
computation, and only those.

* a fact count (`features.observed_counts`) carries its group's contract convention (the City's
  sources: `internal`); a state feature (lagged and rolling counts) the conventions of the groups
  counted, the study grid and the calendar the platform's reference (`internal`);
* a planned-event exposure carries the convention of its record (a Préfecture entry:
  `prefecture_police_13`; the public events calendar: `internal`), and a feature row the
  conventions of the exposures that touched it and were known at its origin;
* a fitted model carries the conventions of its training rows — of their targets, and, for a
  model using planned events, of the exposures that entered its training rows — and a forecast
  row those of its model plus, for an event model, of the exposures of that cell × shift.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable

import polars as pl

REFERENCE = "internal"  # the platform's reference data (study area, calendar) are the City's
CONVENTIONS = "conventions"
LIST = pl.List(pl.Utf8)


@lru_cache(maxsize=1)
def contract_conventions() -> dict[str, str]:
    """Contract name (= `clean.events.source`) → its convention."""
    from tranquillite.contracts import load_contracts

    return {c.name: c.convention for c in load_contracts().values()}


def convention_expr(df: pl.DataFrame, source: str = "source") -> pl.Expr:
    """Each row's convention: its `convention` column (from `clean.events`), else its source's contract."""
    by_source = pl.col(source).replace_strict(contract_conventions(), default=None, return_dtype=pl.Utf8)
    return pl.coalesce(pl.col("convention"), by_source) if "convention" in df.columns else by_source


def of_sources(sources: Iterable[str]) -> list[str]:
    """The conventions of some sources' contracts (unknown sources: the reference's)."""
    return sorted({contract_conventions().get(s, REFERENCE) for s in sources})


def union_rows(df: pl.DataFrame, columns: Iterable[str], base: Iterable[str] = ()) -> pl.Series:
    """Per row, the sorted union of `base` and the lists of `columns` — computed once per distinct
    combination (a handful) and joined back: list operations on every row of a large table
    (concat, unique, sort) cost seconds where this costs milliseconds."""
    base = set(base)
    cols = list(columns)
    if not cols:
        return pl.Series(CONVENTIONS, [sorted(base)] * df.height, dtype=LIST)
    key = pl.concat_str([pl.col(c).list.join(_SEP).fill_null("") for c in cols], separator=_GROUP).alias("_k")
    k = df.select(key)
    distinct = k.get_column("_k").unique()
    values = [sorted(base | {v for part in s.split(_GROUP) for v in part.split(_SEP) if v}) for s in distinct]
    table = pl.DataFrame({"_k": distinct, CONVENTIONS: values}, schema={"_k": pl.Utf8, CONVENTIONS: LIST})
    return k.join(table, on="_k", how="left", maintain_order="left").get_column(CONVENTIONS)


_SEP, _GROUP = "\x1f", "\x1e"


def lit(conventions: Iterable[str]) -> pl.Expr:
    return pl.lit(sorted(set(conventions)), dtype=LIST)


def union_of(df: pl.DataFrame | pl.LazyFrame, column: str = CONVENTIONS) -> set[str]:
    """Every convention of a list column (of a LazyFrame: read that column alone, streaming)."""
    lf = df.lazy()
    if column not in lf.collect_schema().names():
        return set()
    return set(
        lf.select(pl.col(column).explode().drop_nulls().unique()).collect(engine="streaming").to_series().to_list()
    )
