"""Calendar features of a slot: shift, weekday, month, public holidays, school holidays.

Public holidays and school holidays come from the `holidays` package, offline: for France its
`school` category holds the official calendar of each zone (zone B — académie d'Aix-Marseille —
for Marseille, e.g. winter break 2025-02-08 → 2025-02-23). A country without school holidays in
`holidays` simply gets `vacances = False`.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays
import numpy as np
import polars as pl

from tranquillite.forecasting.slots import SlotScheme

CALENDAR_COLUMNS = ["kind", "weekday", "month", "ferie", "veille_ferie", "vacances"]


@lru_cache(maxsize=16)
def public_holidays(country: str, years: tuple[int, ...]) -> frozenset[date]:
    if not country:  # no holiday calendar configured (TRANQUILLITE_HOLIDAYS_COUNTRY=aucun)
        return frozenset()
    return frozenset(holidays.country_holidays(country, years=list(years)).keys())


@lru_cache(maxsize=16)
def school_holidays(country: str, subdivision: str | None, years: tuple[int, ...]) -> frozenset[date]:
    if not subdivision or not country:
        return frozenset()
    try:
        h = holidays.country_holidays(country, subdiv=subdivision, years=list(years), categories=("school",))
    except (NotImplementedError, ValueError, KeyError):
        return frozenset()
    return frozenset(h.keys())


def calendar(
    slots: np.ndarray, scheme: SlotScheme, country: str = "FR", school_subdivision: str | None = "Zone B"
) -> pl.DataFrame:
    """One row per slot: slot, slot_start, kind (shift index), weekday (0 = Monday, of the day the
    shift belongs to), month, ferie (that day is a public holiday), veille_ferie (the next day
    is: the night before a holiday), vacances (school holiday)."""
    slots = np.asarray(slots, dtype=np.int64)
    if slots.size == 0:
        return pl.DataFrame(
            schema={"slot": pl.Int64, "slot_start": pl.Datetime("us"), **{c: pl.Int8 for c in CALENDAR_COLUMNS}}
        )
    df = pl.DataFrame({"slot": slots}).with_columns(
        scheme.start_expr(pl.col("slot")).alias("slot_start"), scheme.day_expr(pl.col("slot")).alias("_day")
    )
    d0, d1 = df["_day"].min(), df["_day"].max()
    years = tuple(range(d0.year - 1, d1.year + 2))
    pub = sorted(public_holidays(country, years))
    school = sorted(school_holidays(country, school_subdivision, years))
    return df.select(
        "slot",
        "slot_start",
        (pl.col("slot") % scheme.n).cast(pl.Int8).alias("kind"),
        (pl.col("_day").dt.weekday() - 1).cast(pl.Int8).alias("weekday"),
        pl.col("_day").dt.month().cast(pl.Int8).alias("month"),
        pl.col("_day").is_in(pub).cast(pl.Int8).alias("ferie"),
        (pl.col("_day") + timedelta(days=1)).is_in(pub).cast(pl.Int8).alias("veille_ferie"),
        pl.col("_day").is_in(school).cast(pl.Int8).alias("vacances"),
    )
