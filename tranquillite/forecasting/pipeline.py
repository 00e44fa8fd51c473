"""Assemble the backtest's inputs, from raw events (any city, tests) or from the published
feature tables (the Dagster assets) — the same functions either way."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import scipy.sparse as sps

from tranquillite.forecasting.backtest import ForecastData
from tranquillite.forecasting.counts import fact_counts
from tranquillite.forecasting.exposure import exposure_table
from tranquillite.forecasting.features import FeatureStore, neighbour_matrix, state_columns, state_features
from tranquillite.forecasting.gaps import as_dates, complete_panel, missing_days, observed_slots
from tranquillite.forecasting.grid import build_grid, centroid_metric, disk_pairs, locate
from tranquillite.forecasting.slots import SlotScheme
from tranquillite.forecasting.study_area import AreaSpec

TRUTH_SCHEMA = {"group": pl.Utf8, "cell_idx": pl.Int32, "slot": pl.Int64, "mu": pl.Float64}


def distance_matrix(cells: list[str], k: int = 2) -> sps.csr_matrix:
    p = disk_pairs(cells, k)
    return sps.csr_matrix(
        (p["dist"].to_numpy().astype(np.float64), (p["cell_idx"].to_numpy(), p["nbr_idx"].to_numpy())),
        shape=(len(cells), len(cells)),
    )


class NoFactsError(ValueError):
    """No fact of the forecast sources in the study area: nothing to learn from (French message)."""


def data_bounds(counts: pl.DataFrame, scheme: SlotScheme, first_day: date | None = None) -> tuple[int, int]:
    """(first slot covered, first slot not fully observed = the latest fact's slot)."""
    if counts.height == 0 or counts["slot"].max() is None:
        raise NoFactsError(
            "aucun fait des sources prévues dans la zone d'étude (grille vide, sources sans "
            "données, ou faits hors zone): vérifier TRANQUILLITE_AREA, TRANQUILLITE_SOURCES et "
            "la quarantaine"
        )
    start = scheme.first_slot(first_day) if first_day else int(counts["slot"].min()) // scheme.n * scheme.n
    return start, int(counts["slot"].max())


def truth_counts(
    intensity: pl.DataFrame, grid: pl.DataFrame, spec: AreaSpec, scheme: SlotScheme, first_slot: int | None = None
) -> pl.DataFrame:
    """The generator's true expected counts (background + excitation) per group × cell × slot
    (from `first_slot` on, when given)."""
    t = intensity.filter(pl.col("source").is_in(spec.groups))
    if t.height == 0:
        return pl.DataFrame(schema=TRUTH_SCHEMA)
    ts = pl.col("slot_start")
    if t.schema["slot_start"].time_zone:  # type: ignore[union-attr]
        ts = ts.dt.convert_time_zone(spec.timezone).dt.replace_time_zone(None)
    t = t.select("source", "h3_cell", ts.alias("slot_start"), (pl.col("background") + pl.col("excitation")).alias("mu"))
    if first_slot is not None:  # a slot's start is the earliest time of that slot: the slots from first_slot on
        t = t.filter(pl.col("slot_start") >= scheme.start(first_slot))
    t = locate(t, grid, spec.h3_resolution)
    return (
        t.filter(pl.col("cell_idx").is_not_null())
        .group_by(pl.col("source").alias("group"), "cell_idx", scheme.slot_expr(pl.col("slot_start")).alias("slot"))
        .agg(pl.col("mu").sum())
        .cast(TRUTH_SCHEMA)
    )


def from_events(
    events: pl.DataFrame,
    spec: AreaSpec,
    grid: pl.DataFrame | None = None,
    first_day: date | None = None,
    intensity: pl.DataFrame | None = None,
) -> ForecastData:
    """Everything from rows shaped like `clean.events` (facts and planned records)."""
    sch = SlotScheme(spec.shift_hours)
    area = spec.area()
    grid = build_grid(area, spec.h3_resolution) if grid is None else grid
    counts, _ = fact_counts(events, grid, spec.groups, sch, spec.h3_resolution)
    start, end = data_bounds(counts, sch, first_day)
    counts = counts.filter(pl.col("slot") >= start)
    exposure = exposure_table(events, grid, spec, sch, area.outline)
    cells = grid["h3_cell"].to_list()
    nb = neighbour_matrix(disk_pairs(cells, 1), grid.height)
    states = state_features(counts, grid.height, spec.groups, sch, start, end, start, nb)
    return ForecastData(
        spec,
        sch,
        grid,
        counts,
        FeatureStore(states, grid.height, spec, sch, exposure),
        centroid_metric(grid, area),
        distance_matrix(cells),
        start,
        end,
        truth_counts(intensity, grid, spec, sch) if intensity is not None else None,
        nb,
    )


def from_tables(
    spec: AreaSpec,
    grid: pl.DataFrame,
    counts: pl.DataFrame,
    states: pl.DataFrame,
    exposure: pl.DataFrame,
    first_day: date,
    intensity: pl.DataFrame | None = None,
    received: list[date] | None = None,
    states_from: date | None = None,
) -> ForecastData:
    """From the published tables `features.study_grid`, `observed_counts`, `cell_slot` and
    `planned_exposure` (what the models assets read). `received`: the days with data received
    (the partitions of `observed_counts`; None: every day) — the others are unknown, and their
    missing feature rows are filled with nulls (`forecasting.gaps`). `states_from`: the first day
    of the states read (a training window, or the forecast's origin: default, the data's first)."""
    sch = SlotScheme(spec.shift_hours)
    area = spec.area()
    grid = grid.sort("cell_idx")
    start, end = data_bounds(counts, sch, first_day)
    cells = grid["h3_cell"].to_list()
    cols = state_columns(spec.groups, sch.n)
    st = states.select("cell_idx", "slot", *cols)
    observed, gaps = None, []
    if received is not None:
        last_received = sch.first_slot(max(as_dates(received))) + sch.n - 1 if received else start
        st, _ = complete_panel(
            st,
            grid.height,
            sch,
            received,
            sch.first_slot(max(first_day, states_from or first_day)),
            max(int(st["slot"].max()) if st.height else start, last_received),
        )
        observed = observed_slots(received, sch, start, end - start + 1)
        gaps = missing_days(received, sch.day(start), sch.day(end))
        if observed.all():
            observed = None
    store = FeatureStore(st, grid.height, spec, sch, exposure)
    # the truth scores the backtest's forecasts from its origins on, all within the states read (the
    # daily forecast's origin: none): the generator's intensity before them is never read
    return ForecastData(
        spec,
        sch,
        grid,
        counts,
        store,
        centroid_metric(grid, area),
        distance_matrix(cells),
        start,
        end,
        truth_counts(intensity, grid, spec, sch, store.s0) if intensity is not None else None,
        neighbour_matrix(disk_pairs(cells, 1), grid.height),
        observed,
        gaps,
    )
