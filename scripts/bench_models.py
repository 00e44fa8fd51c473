"""Forecasting models on real point events (`make bench-models FILE=…`), issue #13.

Reads a CSV or Parquet of point events (`id`, `occurred_at` local time, `category`, `lon`,
`lat`), shapes it like `clean.events` (one fact source per category) and feeds it to the
forecasting functions directly (the product path through Dagster is `make bench-real`). The study
area is the H3 cells (resolution 9) with any event in the training years (before the first
backtest origin). Then the rolling-origin backtest over the last `--origins` weekly origins,
every predictor retrained at each, and the champion rule (`forecasting.champion`) at each
horizon and category.

Prints, for next week (one weekly map) and next day (3 shift maps), all categories and each
category: every predictor's hit rate at 1/5/10/20 % of the area, PEI at 5 %, perfect foresight
(the best selection of the same area, i.e. hit rate / PEI), the champion's ratio to the
trailing-52-week count with the paired test's p-value; timings and peak memory. Last line:
`champion NAME hit5 0.xxx naive52 0.xxx ratio x.xx` (next week, all categories).

Toronto (shipped, `../shared/data/real/toronto/`): Contains information licensed under the Open
Government Licence – Toronto. Source: Toronto Police Service, Public Safety Data Portal, "Major
Crime Indicators".
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tranquillite.forecasting import champion as CH  # noqa: E402
from tranquillite.forecasting.backtest import (
    BASELINES,
    LEARNED,
    WEEKLY,  # noqa: E402
    BacktestConfig,
    ForecastData,
    run_backtest,
)
from tranquillite.forecasting.counts import fact_counts  # noqa: E402
from tranquillite.forecasting.features import FeatureStore, neighbour_matrix, state_features  # noqa: E402
from tranquillite.forecasting.grid import build_grid, centroid_metric, disk_pairs  # noqa: E402
from tranquillite.forecasting.pipeline import data_bounds, distance_matrix  # noqa: E402
from tranquillite.forecasting.slots import SlotScheme  # noqa: E402
from tranquillite.forecasting.study_area import ALL, AreaSpec  # noqa: E402

TORONTO_ATTRIBUTION = (
    "Contains information licensed under the Open Government Licence – Toronto. Source: "
    'Toronto Police Service, Public Safety Data Portal, "Major Crime Indicators".'
)
DEFAULT_MODELS = (
    "compte_52_semaines",
    "compte_historique",
    "hotspot_retrospectif",
    "hotspot_prospectif",
    "sepp",
    "multi_echelle",
)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "autre"


def read_events(path: Path) -> pl.DataFrame:
    df = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path, try_parse_dates=True)
    missing = {"id", "occurred_at", "category", "lon", "lat"} - set(df.columns)
    if missing:
        raise SystemExit(f"colonnes manquantes dans {path}: {sorted(missing)}")
    cats = sorted(df["category"].cast(pl.Utf8).drop_nulls().unique().to_list())
    ts = pl.col("occurred_at")
    if df.schema["occurred_at"] == pl.Utf8:
        ts = ts.str.to_datetime()
    return df.select(
        pl.format("incidents:{}", pl.col("id")).alias("event_id"),
        pl.col("category").cast(pl.Utf8).replace_strict({c: slug(c) for c in cats}).alias("source"),
        ts.cast(pl.Datetime("us")).alias("start"),
        pl.col("lon").cast(pl.Float64),
        pl.col("lat").cast(pl.Float64),
    ).drop_nulls()


def area_of_cells(events: pl.DataFrame, until, resolution: int, folder: Path) -> Path:
    """A GeoJSON outline: the union of the H3 cells with any event before `until`."""
    import h3
    import shapely
    from shapely.geometry import Polygon, mapping

    ev = events.filter(pl.col("start") < until)
    cells = {h3.latlng_to_cell(la, lo, resolution) for lo, la in zip(ev["lon"].to_list(), ev["lat"].to_list())}
    union = shapely.union_all([Polygon([(lo, la) for la, lo in h3.cell_to_boundary(c)]) for c in cells])
    path = folder / "zone.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "properties": {"code": "zone"}, "geometry": mapping(union)}],
            }
        ),
        encoding="utf-8",
    )
    return path


def forecast_data(events: pl.DataFrame, spec: AreaSpec, states_weeks: int) -> ForecastData:
    """The backtest's inputs, with the per-shift state features (those of the older learned
    models) only for the last `states_weeks` weeks: the baselines and the multi-scale model read
    the counts of the whole history."""
    sch = SlotScheme(spec.shift_hours)
    area = spec.area()
    grid = build_grid(area, spec.h3_resolution)
    counts, _ = fact_counts(events, grid, spec.groups, sch, spec.h3_resolution)
    start, end = data_bounds(counts, sch)
    cells = grid["h3_cell"].to_list()
    nb = neighbour_matrix(disk_pairs(cells, 1), grid.height)
    s0 = max(start, end - states_weeks * sch.per_week)
    s0 -= s0 % sch.n
    states = state_features(counts, grid.height, spec.groups, sch, s0, end, start, nb)
    empty = pl.DataFrame(
        schema={
            "cell_idx": pl.Int32,
            "slot": pl.Int64,
            "known_slot": pl.Int64,
            "ring": pl.Int8,
            "weight": pl.Float64,
            "kind": pl.Utf8,
        }
    )
    return ForecastData(
        spec,
        sch,
        grid,
        counts,
        FeatureStore(states, grid.height, spec, sch, empty),
        centroid_metric(grid, area),
        distance_matrix(cells),
        start,
        end,
        None,
        nb,
    )


def table(bt: pl.DataFrame, horizon: str, category: str, models: list[str]) -> pl.DataFrame:
    # origins where the category had no fact in the horizon have no hit rate (NaN): left out
    b = bt.filter((pl.col("horizon") == horizon) & (pl.col("category") == category) & pl.col("hit_rate").is_not_nan())
    hr = b.group_by("model", "coverage").agg(
        pl.col("hit_rate").mean(), pl.col("pei").mean(), (pl.col("hit_rate") / pl.col("pei")).mean().alias("foresight")
    )
    wide = hr.pivot(on="coverage", index="model", values="hit_rate").rename(
        {"0.01": "1 %", "0.05": "5 %", "0.1": "10 %", "0.2": "20 %"}, strict=False
    )
    pei = hr.filter((pl.col("coverage") - 0.05).abs() < 1e-9).select("model", pl.col("pei").alias("PEI 5 %"))
    out = wide.join(pei, on="model").sort("5 %", descending=True)
    fs = hr.group_by("coverage").agg(pl.col("foresight").median()).sort("coverage")["foresight"].to_list()
    perfect = pl.DataFrame(
        {"model": ["(prévision parfaite)"], "1 %": fs[0], "5 %": fs[1], "10 %": fs[2], "20 %": fs[3], "PEI 5 %": 1.0}
    )
    return pl.concat([out.select(perfect.columns), perfect])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--file", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/real/toronto/events.parquet"
    )
    ap.add_argument("--timezone", default="America/Toronto")
    ap.add_argument("--holidays", default="CA", help="pays des jours fériés (calendrier des anciens modèles appris)")
    ap.add_argument("--origins", type=int, default=26)
    ap.add_argument("--resolution", type=int, default=9)
    ap.add_argument(
        "--models", default=",".join(DEFAULT_MODELS), help=f"prédicteurs (parmi {', '.join(BASELINES + LEARNED)})"
    )
    ap.add_argument("--train-weeks", type=int, default=16, help="fenêtre des anciens modèles appris (créneaux)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--save", type=Path, default=None, help="écrire le backtest (Parquet) dans ce fichier")
    ap.add_argument(
        "--categories",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="aussi chaque catégorie (sinon: toutes catégories, une source)",
    )
    a = ap.parse_args(argv)
    if "toronto" in str(a.file).lower():
        print(TORONTO_ATTRIBUTION)
    t0 = time.perf_counter()
    events = read_events(a.file)
    if not a.categories:
        events = events.with_columns(pl.lit("incidents").alias("source"))
    groups = tuple(sorted(events["source"].unique().to_list()))
    until = events["start"].max() - __import__("datetime").timedelta(weeks=a.origins + 1)
    folder = Path(tempfile.mkdtemp(prefix="bench_models_"))
    spec = AreaSpec(
        name=a.file.parent.name,
        boundary_path=str(area_of_cells(events, until, a.resolution, folder)),
        zone_property="code",
        h3_resolution=a.resolution,
        sources=groups,
        planned_sources=(),
        timezone=a.timezone,
        holidays_country=a.holidays,
        school_holidays_subdivision=None,
    )
    models = tuple(m.strip() for m in a.models.split(",") if m.strip())
    old_learned = [m for m in models if m in ("glm_poisson", "lgbm_sans_evenements", "lgbm_avec_evenements")]
    states_weeks = a.origins + 3 + (a.train_weeks if old_learned else 0)
    data = forecast_data(events, spec, states_weeks)
    t_data = time.perf_counter() - t0
    print(
        f"{int(data.counts['n'].sum()):,} faits, {data.n_cells:,} cellules H3 (rés. {a.resolution}), catégories: "
        f"{', '.join(groups)}; préparation {t_data:.0f} s, mémoire {peak_mb():.0f} Mo"
    )
    cfg = BacktestConfig(n_origins=a.origins, train_weeks=a.train_weeks, workers=a.workers, threads=1, models=models)
    t1 = time.perf_counter()
    res = run_backtest(data, cfg)
    t_bt = time.perf_counter() - t1
    bt = res.backtest
    if a.save:
        bt.write_parquet(a.save)
    origins = sorted(set(bt["origin"].to_list()))
    print(
        f"backtest: {len(origins)} origines ({origins[0]:%Y-%m-%d} → {origins[-1]:%Y-%m-%d}): {t_bt:.0f} s, "
        f"par prédicteur: {json.dumps(res.timings['par_modele_s'])}"
    )
    cats = [ALL, *([g for g in groups] if len(groups) > 1 else [])]
    champs = res.champions
    fmt = {
        "tbl_rows": -1,
        "tbl_cols": -1,
        "tbl_hide_column_data_types": True,
        "tbl_hide_dataframe_shape": True,
        "float_precision": 3,
        "tbl_width_chars": 200,
        "tbl_formatting": "MARKDOWN",
    }
    for horizon, label in ((WEEKLY, "semaine suivante (une carte)"), ("jour_suivant", "jour suivant (3 créneaux)")):
        for cat in cats:
            print(f"\n### {label} — {cat}: taux de réussite moyen sur {len(origins)} origines")
            with pl.Config(**fmt):
                print(table(bt, horizon, cat, list(models)))
            r = champs.filter((pl.col("horizon") == horizon) & (pl.col("category") == cat)).row(0, named=True)
            print(
                f"champion: {r['predictor']} ({r['predictor_kind']}), 5 %: {r['hit_rate']:.3f}, compte 52 sem.: "
                f"{r['reference_hit_rate']:.3f}, rapport {r['ratio_vs_reference']:.3f}; meilleur appris "
                f"{r['best_learned']} − meilleure référence {r['best_baseline']}: "
                f"{(r['gain_vs_baseline'] or 0) * 100:+.2f} points, p = {r['p_value']:.3f}"
            )
            if r["best_learned"]:
                names, H = CH.per_origin(bt, horizon, cat, 0.05, [r["best_learned"], "compte_52_semaines"])
                if len(names) == 2:
                    d = H[0] - H[1]
                    print(
                        f"  {names[0]} − compte_52_semaines: {d.mean() * 100:+.2f} ± {d.std(ddof=1) / np.sqrt(d.size) * 100:.2f}"
                        f" points (p unilatéral = {CH.paired_p(H[0], H[1]):.3f}), rapport {H[0].mean() / H[1].mean():.3f}"
                    )
            print(f"  pourquoi: {r['pourquoi']}")
    print(f"\nmémoire maximale: {peak_mb():.0f} Mo; total {time.perf_counter() - t0:.0f} s")
    r = champs.filter((pl.col("horizon") == WEEKLY) & (pl.col("category") == ALL)).row(0, named=True)
    print(
        f"champion {r['predictor']} hit5 {r['hit_rate']:.3f} naive52 {r['reference_hit_rate']:.3f} "
        f"ratio {r['ratio_vs_reference']:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
