"""The synthetic world against real data, measure by measure (`make bench-calibration`, issue #13).

Prints, one line per measure of `tranquillite.forecasting.calibration`, the real city's figures
beside the synthetic demo year's:

* real data: a CSV or Parquet of point events with the columns of the `incidents` contract's
  benchmark files (`id`, `occurred_at` local time, `category`, `lon`, `lat`; Toronto by default),
  H3 res-9 cells; its last calendar year alone (same length as the synthetic year) and, for the
  oracle's lead, its whole span (52 weeks of history at every origin);
* synthetic: `tranquillite generate` (the demo year, 2025, seed 42, scale 1) into a temporary home
  (or `--home` of an earlier generation), its true events (`synthetic_truth/events.parquet`: the
  landing rows without the injected defects), all incident sources together and each source.

The universe of cells is the cells with any event in the table measured. Measures: share of the
year's events in the top 5 % of cells; mean Spearman of the cells' counts between consecutive
weeks; Knox ratio (pairs within 1 H3 ring, ~350 m, and 7 days, vs independence; Monte-Carlo
p-value); share of a quarter's top-5 % cells still top the next quarter; next-week hit rate at 5 %
of perfect foresight vs the trailing-52-week count (26 weekly origins at the end; the synthetic
year has 26–51 weeks of history) and their ratio, the oracle's lead. A last column thins the
synthetic interventions at random to the real city's events per cell and week: a sparse city's
oracle lead is largely Poisson noise, this column compares the structure at equal density.

Toronto (shipped, `../shared/data/real/toronto/`): Contains information licensed under the Open
Government Licence – Toronto. Source: Toronto Police Service, Public Safety Data Portal, "Major
Crime Indicators".
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tranquillite import geo  # noqa: E402
from tranquillite.forecasting import calibration as K  # noqa: E402

#: `../shared/data/real/toronto/` of the checkout (looked up in its parents, so a git worktree finds it too)
TORONTO = next(
    (
        p / "shared/data/real/toronto/events.parquet"
        for p in Path(__file__).resolve().parents[1:]
        if (p / "shared/data/real/toronto/events.parquet").is_file()
    ),
    Path(__file__).resolve().parents[2] / "shared/data/real/toronto/events.parquet",
)
TORONTO_ATTRIBUTION = (
    "Contains information licensed under the Open Government Licence – Toronto. Source: "
    'Toronto Police Service, Public Safety Data Portal, "Major Crime Indicators".'
)
INCIDENTS = ("interventions", "alertes_videoprotection", "signalements")

ROWS = [  # (key, label, format)
    ("events", "événements", "{:,.0f}"),
    ("cells", "cellules H3 avec au moins un événement", "{:,.0f}"),
    ("events_per_cell_week", "événements par cellule et par semaine", "{:.3f}"),
    ("top5_share", "part des événements dans les 5 % de cellules les plus chargées (année)", "{:.3f}"),
    ("rank_stability", "stabilité du classement des cellules d'une semaine à l'autre (Spearman moyen)", "{:.3f}"),
    ("knox_ratio", "Knox : paires proches (1 anneau, 7 jours) / attendu si indépendance", "{:.3f}"),
    ("knox_p_monte_carlo", "Knox : p-valeur Monte-Carlo", "{:.3f}"),
    ("quarter_persistence", "points chauds d'un trimestre encore chauds le suivant (part)", "{:.3f}"),
    ("quarter_births", "points chauds nouveaux par trimestre (cellules)", "{:.1f}"),
    ("oracle_hit5", "semaine suivante, 5 % : prévision parfaite", "{:.3f}"),
    ("count_hit5", "semaine suivante, 5 % : compte des 52 semaines", "{:.3f}"),
    ("oracle_lead", "avance de l'oracle sur le compte (rapport)", "{:.2f}"),
    ("history_weeks", "semaines d'historique du compte à la 1re origine", "{:.0f}"),
]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_real(path: Path) -> pl.DataFrame:
    """Point events (id, occurred_at, category, lon, lat) → h3_cell + timestamp (local, naive)."""
    df = (
        pl.read_parquet(path)
        if path.suffix.lower() in {".parquet", ".pq"}
        else pl.read_csv(path, infer_schema_length=0)
    )
    missing = {"id", "occurred_at", "category", "lon", "lat"} - set(df.columns)
    if missing:
        raise SystemExit(f"colonnes manquantes dans {path}: {sorted(missing)}")
    ts = pl.col("occurred_at")
    if df.schema["occurred_at"] == pl.Utf8:
        ts = ts.str.to_datetime(strict=False)
    df = df.select(
        ts.cast(pl.Datetime("us")).alias("timestamp"),
        pl.col("category").cast(pl.Utf8),
        pl.col("lon").cast(pl.Float64),
        pl.col("lat").cast(pl.Float64),
    ).drop_nulls()
    return geo.h3_cells(df).drop_nulls("h3_cell")


def read_synthetic(home: Path) -> pl.DataFrame:
    ev = pl.read_parquet(home / "synthetic_truth" / "events.parquet", columns=["source", "timestamp", "h3_cell"])
    return ev.with_columns(pl.col("timestamp").dt.replace_time_zone(None))


def fmt(fmt_: str, v: float) -> str:
    return "—" if v != v else fmt_.format(v).replace(",", " ")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, default=TORONTO, help="real point events (Toronto by default)")
    ap.add_argument("--home", type=Path, default=None, help="an earlier `tranquillite generate` (else a temp home)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--permutations", type=int, default=99, help="Knox Monte-Carlo permutations")
    a = ap.parse_args()
    t_all = time.perf_counter()

    real = read_real(a.file)
    last_year = int(real["timestamp"].dt.year().max())
    if real.filter(pl.col("timestamp").dt.year() == last_year)["timestamp"].dt.ordinal_day().max() < 365:
        last_year -= 1
    name = a.file.parent.name if a.file.name == "events.parquet" else a.file.stem
    t0 = time.perf_counter()
    cols: dict[str, dict[str, float]] = {}
    cols[f"{name} {last_year}"] = K.measures(
        real.filter(pl.col("timestamp").dt.year() == last_year), permutations=a.permutations
    )
    span, turnover = K.oracle_lead(real), K.hotspot_turnover(real)
    y0, y1 = real["timestamp"].dt.year().min(), real["timestamp"].dt.year().max()
    cols[f"{name} {y0}–{y1}"] = {
        "events": float(real.height),
        "oracle_hit5": span.oracle,
        "count_hit5": span.count,
        "oracle_lead": span.lead,
        "history_weeks": float(span.history_weeks),
        "top5_share": K.concentration(real).get(last_year, float("nan")),
        "quarter_persistence": turnover.persistence,
        "quarter_births": turnover.births,
    }
    real_s = time.perf_counter() - t0

    gen_s = None
    if a.home is None:
        from tranquillite.synthetic import generate

        home = Path(tempfile.mkdtemp(prefix="bench_calibration_"))
        t0 = time.perf_counter()
        rep = generate(home, start=date(2025, 1, 1), days=365, seed=a.seed, scale=1.0)
        gen_s = time.perf_counter() - t0
        print(rep.summary())
    else:
        home = a.home
    syn = read_synthetic(home)
    t0 = time.perf_counter()
    inc = syn.filter(pl.col("source").is_in(INCIDENTS))
    cols["synthétique (3 sources)"] = K.measures(inc, permutations=a.permutations)
    for s in INCIDENTS:
        cols[s] = K.measures(inc.filter(pl.col("source") == s), permutations=a.permutations)
    # the same interventions thinned at random (seeded) to the real city's events per cell and week:
    # most of a sparse city's oracle lead is Poisson noise, this compares the structure at equal density
    r = cols[f"{name} {last_year}"]
    iv = inc.filter(pl.col("source") == "interventions")
    keep = min(1.0, r["events_per_cell_week"] / max(cols["interventions"]["events_per_cell_week"], 1e-12))
    thin = iv.filter(pl.Series(np.random.default_rng(a.seed).random(iv.height) < keep))
    cols[f"interventions à la densité réelle (×{keep:.3f})"] = K.measures(thin, permutations=a.permutations)
    syn_s = time.perf_counter() - t0

    names = list(cols)
    width = max(len(label) for _, label, _ in ROWS)
    print(f"\nmesure{' ' * (width - 6)} | " + " | ".join(names))
    for key, label, f in ROWS:
        vals = [fmt(f, cols[n].get(key, float("nan"))).rjust(len(n)) for n in names]
        print(f"{label.ljust(width)} | " + " | ".join(vals))
    print(
        f"\ndurées: lecture et mesures des données réelles {real_s:.1f} s, "
        + (f"génération de l'année synthétique {gen_s:.1f} s, " if gen_s is not None else "")
        + f"mesures synthétiques {syn_s:.1f} s, total {time.perf_counter() - t_all:.1f} s, "
        f"pic mémoire {peak_mb():.0f} Mo"
    )
    if "toronto" in str(a.file).lower():
        print(f"attribution des données réelles: {TORONTO_ATTRIBUTION}")
    s, r = cols["synthétique (3 sources)"], cols[f"{name} {last_year}"]
    print(
        f"oracle_lead real {r['oracle_lead']:.2f} synthetic {s['oracle_lead']:.2f} "
        f"interventions {cols['interventions']['oracle_lead']:.2f}"
    )


if __name__ == "__main__":
    main()
