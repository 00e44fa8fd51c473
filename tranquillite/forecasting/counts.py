"""Observed facts per group × cell × slot: the targets of the forecasts and the raw material of
every lagged feature.

Input: rows shaped like `clean.events` (at least `source`, `start`, and `lon`/`lat` or
`h3_cell`). Facts outside the study grid are dropped (and counted by `fact_counts`).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from tranquillite.forecasting import conventions as CV
from tranquillite.forecasting.grid import locate
from tranquillite.forecasting.slots import SlotScheme

COUNT_SCHEMA = {
    "group": pl.Utf8,
    "cell_idx": pl.Int32,
    "slot": pl.Int64,
    "n": pl.Int32,
    "conventions": pl.List(pl.Utf8),
}


def fact_counts(
    events: pl.DataFrame, grid: pl.DataFrame, groups: list[str], scheme: SlotScheme, resolution: int
) -> tuple[pl.DataFrame, int]:
    """Sparse counts (group, cell_idx, slot, n > 0, conventions of the facts counted) and the
    number of facts outside the grid."""
    ev = events.filter(pl.col("source").is_in(groups) & pl.col("start").is_not_null())
    if ev.height == 0:
        return pl.DataFrame(schema=COUNT_SCHEMA), 0
    cols = [c for c in ("source", "start", "lon", "lat", "h3_cell") if c in ev.columns]
    ev = locate(ev.select(*cols, CV.convention_expr(ev).alias("_conv")), grid, resolution)
    outside = ev.filter(pl.col("cell_idx").is_null()).height
    counts = (
        ev.filter(pl.col("cell_idx").is_not_null())
        .group_by(pl.col("source").alias("group"), "cell_idx", scheme.slot_expr(pl.col("start")).alias("slot"))
        .agg(pl.len().cast(pl.Int32).alias("n"), pl.col("_conv").drop_nulls().unique().sort().alias("conventions"))
        .sort("group", "cell_idx", "slot")
    )
    return counts.cast(COUNT_SCHEMA), outside


def dense(counts: pl.DataFrame, groups: list[str], n_cells: int, slot0: int, n_slots: int) -> np.ndarray:
    """Counts as a dense array (groups × cells × slots) for slots slot0 .. slot0 + n_slots - 1."""
    out = np.zeros((len(groups), n_cells, n_slots), dtype=np.float32)
    c = counts.filter((pl.col("slot") >= slot0) & (pl.col("slot") < slot0 + n_slots) & pl.col("group").is_in(groups))
    if c.height:
        gi = c["group"].replace_strict({g: i for i, g in enumerate(groups)}, return_dtype=pl.Int64).to_numpy()
        np.add.at(out, (gi, c["cell_idx"].to_numpy(), c["slot"].to_numpy() - slot0), c["n"].to_numpy())
    return out
