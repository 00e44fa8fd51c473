"""What row-level lineage costs: each step with its `conventions`, against the same step without
them, measured in the same run (interleaved repetitions, median), on the home's published tables
(`make demo`, or any `tranquillite materialize`d home).

    TRANQUILLITE_HOME=... .venv/bin/python scripts/bench_lineage.py [--days 14] [--reps 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date, timedelta

import numpy as np
import polars as pl

from tranquillite.assets.models import load_data
from tranquillite.definitions import build_defs
from tranquillite.forecasting import conventions as CV
from tranquillite.forecasting.counts import fact_counts
from tranquillite.forecasting.exposure import exposure_features
from tranquillite.forecasting.features import HISTORY_DAYS, neighbour_matrix, state_features, stored_features
from tranquillite.forecasting.grid import disk_pairs, locate
from tranquillite.forecasting.slots import SlotScheme
from tranquillite.forecasting.study_area import StudyArea
from tranquillite.lineage import convention_lineage
from tranquillite.resources import Warehouse
from tranquillite.settings import paths


def _old_fact_counts(events, grid, groups, scheme, resolution):
    """`fact_counts` as it was, without the conventions of the facts counted."""
    ev = events.filter(pl.col("source").is_in(groups) & pl.col("start").is_not_null())
    ev = locate(ev.select("source", "start", "lon", "lat", "h3_cell"), grid, resolution)
    return (
        ev.filter(pl.col("cell_idx").is_not_null())
        .group_by(pl.col("source").alias("group"), "cell_idx", scheme.slot_expr(pl.col("start")).alias("slot"))
        .agg(pl.len().cast(pl.Int32).alias("n"))
        .sort("group", "cell_idx", "slot")
    )


def _old_stored(states, spec, scheme, exposure, grid):
    """The feature rows without their conventions (the exposure join without the conventions)."""
    from tranquillite.forecasting.calendar import calendar

    slots = np.sort(states["slot"].unique().to_numpy())
    cal = calendar(slots, scheme, spec.holidays_country, spec.school_holidays_subdivision)
    ex = exposure_features(
        states.select("cell_idx", pl.col("slot").alias("target"), pl.col("slot").alias("origin")), exposure, spec
    )
    out = pl.concat([states, ex], how="horizontal").join(cal, on="slot", how="left")
    return out.join(grid.select("cell_idx", "h3_cell"), on="cell_idx", how="left")


def timed(fn, reps: int) -> tuple[float, object]:
    out, times = None, []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    wh = Warehouse(root=str(paths().warehouse))
    spec = StudyArea().spec()
    sch = SlotScheme(spec.shift_hours)
    grid = wh.read("features", "study_grid")
    exposure = wh.read("features", "planned_exposure")
    with wh.connect() as con:
        events = pl.from_arrow(con.sql("SELECT * FROM clean.events").to_arrow_table())
    rows = []

    def pair(name, new, old):
        a = b = 0.0
        for _ in range(args.reps):  # interleaved: the same load for both
            ta, _ = timed(old, 1)
            tb, _ = timed(new, 1)
            a, b = a + ta, b + tb
        rows.append((name, a / args.reps, b / args.reps))

    pair(
        "fact_counts (toutes les partitions)",
        lambda: fact_counts(events, grid, spec.groups, sch, spec.h3_resolution),
        lambda: _old_fact_counts(events, grid, spec.groups, sch, spec.h3_resolution),
    )
    days = wh.partitions("features", "observed_counts")
    last = date.fromisoformat(days[-1])
    first = last - timedelta(days=args.days - 1)
    counts = wh.read("features", "observed_counts")
    nb = neighbour_matrix(disk_pairs(grid["h3_cell"].to_list(), 1), grid.height)
    lo = sch.first_slot(first)
    states = state_features(
        counts,
        grid.height,
        spec.groups,
        sch,
        lo,
        sch.first_slot(last) + sch.n - 1,
        max(int(counts["slot"].min()), lo - HISTORY_DAYS * sch.n),
        nb,
    )
    pair(
        f"features.cell_slot ({args.days} jours, {states.height} lignes)",
        lambda: stored_features(states, spec, sch, exposure, grid),
        lambda: _old_stored(states, spec, sch, exposure, grid),
    )
    data = load_data(wh, spec)
    fs = data.features
    n = min(200_000, data.n_cells * 21 * 8)
    rng = np.random.default_rng(0)
    cells = rng.integers(0, data.n_cells, n)
    origin = np.full(n, fs.s1 - 21 * sch.n)
    target = origin + rng.integers(0, 21, n)
    pair(
        f"lignes de modèle avec événements ({n} lignes)",
        lambda: fs.rows(cells, target, origin, with_events=True, with_conventions=True),
        lambda: fs.rows(cells, target, origin, with_events=True),
    )
    defs = build_defs()
    t_rep, report = timed(lambda: convention_lineage(defs, wh.path), args.reps)
    size = sum(f.stat().st_size for f in wh.path.glob("*/*/*.parquet"))
    print(f"{'étape':<55} {'sans lignage':>14} {'avec lignage':>14} {'surcoût':>9}")
    for name, old, new in rows:
        print(f"{name:<55} {old:>12.3f} s {new:>12.3f} s {100 * (new - old) / old:>+8.0f} %")
    print(
        f"rapport de lignage (toutes conventions, {len(report)} conventions, {size / 1e6:.1f} Mo de Parquet): "
        f"{t_rep:.2f} s"
    )
    cs = wh.path / "features" / "cell_slot"
    one = sorted(cs.glob("*.parquet"))[-1]
    col = pl.read_parquet(one).select("conventions")
    tmp = paths().home / "bench_conv.parquet"
    col.write_parquet(tmp, compression="zstd")
    print(
        f"colonne conventions de features.cell_slot: {tmp.stat().st_size} octets par partition "
        f"(sur {one.stat().st_size}), {CV.union_of(col)}"
    )
    tmp.unlink()


if __name__ == "__main__":
    main()
