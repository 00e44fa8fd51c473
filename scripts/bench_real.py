"""Real-data benchmark through the product (`make bench-real FILE=… [AREA=…] TIMEZONE=…`, issue #13).

Takes a file of point events (CSV or Parquet, columns `id`, `occurred_at` — local time, naive —,
`category`, `lon`, `lat`) and runs the any-city path end to end, as a City analyst would, in a
temporary home:

1. writes the events as `incidents` landing files (`;` CSV, one file per day: `incidents_AAAA-MM-JJ.csv`);
2. sets the study area by settings only: `TRANQUILLITE_AREA` = the AREA file (any format and CRS
   geopandas reads) or, by default, the H3 cells with any event in the training years (before the
   first evaluation origin) written as a GeoJSON; `TRANQUILLITE_TIMEZONE`, no holidays unless
   HOLIDAYS= is given; `TRANQUILLITE_PARTITIONS_START` = the first day of the data;
3. runs the jobs `ingestion_quotidienne`, `publication`, `entrainement_hebdomadaire` and `prevision` through the runner the CLI
   uses (`tranquillite.runner`), each in its own process, timed, with its peak memory;
4. prints every predictor's hit rate at 1/5/10/20 % of the area and PEI, next day and next week
   (the backtest's 26 weekly origins at the end of the span, all categories), beside a trailing
   52-week count and perfect foresight computed here on the same cells and origins.

Next week is scored like the backtest's `7_jours` horizon (one map per shift over the 21 shifts of
the week); the 52-week count and perfect foresight are also given for one map of the whole week.
The last line reads `champion NAME hit5 0.xxx naive52 0.xxx ratio x.xx` (next week, all categories).

Data used for the figures of issue #13: Toronto Police Service, Major Crime Indicators 2014–2021.
Contains information licensed under the Open Government Licence – Toronto. Source: Toronto Police
Service, Public Safety Data Portal, "Major Crime Indicators" (see the data folder's SOURCE.md).
The script knows nothing of Toronto: any city's file runs the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COVERAGES = (0.01, 0.05, 0.10, 0.20)
STAGES = ("ingestion_quotidienne", "publication", "entrainement_hebdomadaire", "prevision")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- one stage, in a child
def run_stage(job: str, start: str, end: str, settings_json: str) -> None:
    """Child process: one job of the chain through the runner, then its figures as one JSON line."""
    from tranquillite import runner
    from tranquillite.definitions import build_defs

    t0 = time.perf_counter()
    defs = build_defs()
    out = runner.run_job(
        defs, job, date.fromisoformat(start), date.fromisoformat(end), forecast_settings=json.loads(settings_json)
    )
    print(
        "STAGE "
        + json.dumps(
            {
                "job": job,
                "success": out.success,
                "reason": out.reason,
                "failed_checks": out.failed_checks,
                "seconds": round(time.perf_counter() - t0, 1),
                "peak_mb": round(peak_mb()),
            }
        ),
        flush=True,
    )


# --------------------------------------------------------------------------- input
def read_events(path: Path, since: date | None) -> pl.DataFrame:
    df = (
        pl.read_parquet(path)
        if path.suffix.lower() in {".parquet", ".pq"}
        else pl.read_csv(path, infer_schema_length=0, separator=_separator(path))
    )
    missing = {"id", "occurred_at", "category", "lon", "lat"} - set(df.columns)
    if missing:
        sys.exit(f"erreur: colonnes manquantes dans {path}: {', '.join(sorted(missing))}")
    t = pl.col("occurred_at")
    if df.schema["occurred_at"] == pl.Utf8:
        t = t.str.to_datetime(strict=False)
    df = df.select(
        pl.col("id").cast(pl.Utf8),
        t.alias("occurred_at"),
        pl.col("category").cast(pl.Utf8),
        pl.col("lon").cast(pl.Float64),
        pl.col("lat").cast(pl.Float64),
    )
    df = df.filter(pl.col("occurred_at").is_not_null())
    if since:
        df = df.filter(pl.col("occurred_at") >= datetime.combine(since, datetime.min.time()))
    return df.sort("occurred_at")


def _separator(path: Path) -> str:
    head = path.open(encoding="utf-8", errors="replace").readline()
    return ";" if head.count(";") > head.count(",") else ","


def write_landing(df: pl.DataFrame, landing: Path) -> int:
    """One `;` CSV per day, as the `incidents` contract's landing layout expects."""
    folder = landing / "incidents"
    folder.mkdir(parents=True, exist_ok=True)
    out = df.select(
        "id",
        pl.col("occurred_at").dt.strftime("%Y-%m-%d %H:%M:%S").alias("timestamp"),
        "category",
        pl.col("lon").round(7).cast(pl.Utf8).alias("lon"),
        pl.col("lat").round(7).cast(pl.Utf8).alias("lat"),
        pl.col("occurred_at").dt.date().alias("_day"),
    )
    n = 0
    for (day,), part in out.partition_by("_day", as_dict=True, maintain_order=True).items():
        part.drop("_day").write_csv(folder / f"incidents_{day.isoformat()}.csv", separator=";")
        n += 1
    return n


def first_origin(last_day: date, origins: int) -> datetime:
    """The backtest's first evaluation origin: `origins` weeks + one week of horizon before the end."""
    return datetime.combine(last_day - timedelta(days=7 * (origins + 1)), datetime.min.time())


def training_area(df: pl.DataFrame, home: Path, origins: int, resolution: int = 9) -> tuple[Path, int]:
    """The default study area written in `home`: the cells with an event before the first origin of a
    backtest of `origins` weeks (its path, its number of cells)."""
    path = home / "zone_apprentissage.geojson"
    home.mkdir(parents=True, exist_ok=True)
    return path, data_area(df, first_origin(df["occurred_at"].max().date(), origins), resolution, path)


def data_area(df: pl.DataFrame, until: datetime, resolution: int, path: Path) -> int:
    """Default area: the H3 cells with any event before `until` (the training years), as a GeoJSON."""
    from tranquillite import geo

    cells = geo.h3_cells(df.filter(pl.col("occurred_at") < until), resolution=resolution)
    cells = sorted(cells["h3_cell"].drop_nulls().unique().to_list())
    path.write_text(geo.cells_geojson(cells, name="cellules des années d'apprentissage"), encoding="utf-8")
    return len(cells)


# --------------------------------------------------------------------------- reference predictors
def reference_rows(warehouse: Path, origins: list[datetime], shift_hours: tuple[int, ...]) -> pl.DataFrame:
    """Trailing 52-week count and perfect foresight, on the published grid and counts, at the
    backtest's origins, scored per shift like the backtest (and on one map for the whole week)."""
    from tranquillite.forecasting.backtest import WEEKLY
    from tranquillite.forecasting.metrics import aggregate_hits, per_slot_hits
    from tranquillite.forecasting.slots import SlotScheme

    sch = SlotScheme(shift_hours)
    grid = pl.read_parquet(warehouse / "features" / "study_grid" / "data.parquet").sort("cell_idx")
    area = grid["area_m2"].to_numpy()
    N = grid.height
    counts = pl.read_parquet(warehouse / "features" / "observed_counts" / "*.parquet")
    counts = counts.group_by("cell_idx", "slot").agg(pl.col("n").sum())  # all categories
    rows = []
    for o_dt in origins:
        o = sch.slot_of(o_dt)
        past = counts.filter((pl.col("slot") >= o - 52 * sch.per_week) & (pl.col("slot") < o))
        naive = np.bincount(past["cell_idx"].to_numpy(), weights=past["n"].to_numpy(), minlength=N).astype(float)
        for horizon, H in (("jour_suivant", sch.n), ("7_jours", sch.per_week)):
            fut = counts.filter((pl.col("slot") >= o) & (pl.col("slot") < o + H))
            Y = np.zeros((N, H))
            np.add.at(Y, (fut["cell_idx"].to_numpy(), (fut["slot"].to_numpy() - o)), fut["n"].to_numpy())
            for name, pred in (("comptage_52_semaines", np.repeat(naive[:, None], H, axis=1)), ("oracle_parfait", Y)):
                a = aggregate_hits(*per_slot_hits(pred, Y, area, COVERAGES), COVERAGES)
                rows += [
                    {
                        "model": name,
                        "horizon": horizon,
                        "origin": o_dt,
                        "coverage": c,
                        "hit_rate": float(a["hit_rate"][i]),
                        "pei": float(a["pei"][i]),
                    }
                    for i, c in enumerate(COVERAGES)
                ]
            if horizon == "7_jours":  # one map for the whole week
                y = Y.sum(axis=1)
                for name, pred in (("comptage_52_semaines", naive), ("oracle_parfait", y)):
                    a = aggregate_hits(*per_slot_hits(pred, y, area, COVERAGES), COVERAGES)
                    rows += [
                        {
                            "model": name,
                            "horizon": WEEKLY,
                            "origin": o_dt,
                            "coverage": c,
                            "hit_rate": float(a["hit_rate"][i]),
                            "pei": float(a["pei"][i]),
                        }
                        for i, c in enumerate(COVERAGES)
                    ]
    return pl.DataFrame(rows)


def table(df: pl.DataFrame, horizon: str) -> pl.DataFrame:
    """Mean over origins of the hit rate at each coverage, and the PEI at 5 %, per predictor."""
    b = df.filter(pl.col("horizon") == horizon)
    near = lambda c: (pl.col("coverage") - c).abs() < 1e-9  # noqa: E731
    return (
        b.group_by("model")
        .agg(
            *[pl.col("hit_rate").filter(near(c)).mean().alias(f"{round(c * 100)} %") for c in COVERAGES],
            pl.col("pei").filter(near(0.05)).mean().alias("PEI 5 %"),
        )
        .sort("5 %", descending=True)
    )


# --------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", required=False)
    ap.add_argument("--area", default="")
    ap.add_argument("--timezone", default="")
    ap.add_argument("--holidays", default="aucun")
    ap.add_argument("--since", type=date.fromisoformat, default=None)
    ap.add_argument("--years", type=int, default=None, help="the last YEARS years of the file only")
    ap.add_argument("--origins", type=int, default=26)
    ap.add_argument("--train-weeks", type=int, default=16)
    ap.add_argument("--home", default="")
    ap.add_argument("--stage", nargs=4, metavar=("JOB", "START", "END", "SETTINGS"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.stage:
        run_stage(*a.stage)
        return 0
    if not a.file:
        sys.exit("erreur: FILE=… (CSV ou Parquet: id, occurred_at, category, lon, lat) est requis")
    if not a.timezone:
        sys.exit(
            "erreur: TIMEZONE=… (fuseau IANA de la ville, ex. America/Toronto) est requis: les heures "
            "locales du fichier y sont lues (TRANQUILLITE_TIMEZONE)"
        )
    t_all = time.perf_counter()
    src = Path(a.file).resolve()
    df = read_events(src, a.since)
    if a.years:
        last = df["occurred_at"].max()
        df = df.filter(pl.col("occurred_at") >= last - timedelta(days=365 * a.years))
    if df.height == 0:
        sys.exit("erreur: aucun événement à traiter")
    first_day, last_day = df["occurred_at"].min().date(), df["occurred_at"].max().date()
    home = Path(a.home or tempfile.mkdtemp(prefix="bench_real_"))
    env = {
        **os.environ,
        "TRANQUILLITE_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster"),
        "TRANQUILLITE_PARTITIONS_START": first_day.isoformat(),
        "TRANQUILLITE_TIMEZONE": a.timezone,
        "TRANQUILLITE_HOLIDAYS_COUNTRY": a.holidays,
        "TRANQUILLITE_PREVISION_AUTO": "0",
    }
    print(f"fichier: {src.name} — {df.height:,} événements du {first_day} au {last_day}".replace(",", " "))
    print(f"home temporaire: {home}")
    t0 = time.perf_counter()
    if a.area:
        env["TRANQUILLITE_AREA"] = str(Path(a.area).resolve())
        print(f"zone d'étude: {a.area}")
    else:
        path, n = training_area(df, home, a.origins)
        env["TRANQUILLITE_AREA"] = str(path)
        print(
            f"zone d'étude: {n} cellules H3 (rés. 9) avec au moins un événement avant le "
            f"{first_origin(last_day, a.origins).date()}"
        )
    files = write_landing(df, home / "landing")
    prep_s = time.perf_counter() - t0
    print(f"dépôt: {files} fichiers `incidents_AAAA-MM-JJ.csv` en {prep_s:.1f} s")
    settings = {"n_origins": a.origins, "train_weeks": a.train_weeks, "workers": 1}
    stages = []
    for job in STAGES:
        # the daily forecast after the training: the features of its last day only
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--stage",
            job,
            (last_day if job == "prevision" else first_day).isoformat(),
            last_day.isoformat(),
            json.dumps(settings),
        ]
        res = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
        line = next((ln for ln in res.stdout.splitlines() if ln.startswith("STAGE ")), None)
        if line is None:
            print(res.stdout[-3000:], res.stderr[-5000:], sep="\n", file=sys.stderr)
            sys.exit(f"erreur: l'étape {job} s'est arrêtée (code {res.returncode})")
        st = json.loads(line[6:])
        stages.append(st)
        print(
            f"{job}: {'succès' if st['success'] else 'ÉCHEC'} en {st['seconds']} s, pic mémoire {st['peak_mb']} Mo"
            + (f" — contrôles en échec: {', '.join(st['failed_checks'])}" if st["failed_checks"] else "")
            + (f" — {st['reason']}" if st["reason"] else "")
        )
        if not st["success"]:
            return 1
    wh = home / "warehouse"
    q = (
        pl.read_parquet(wh / "quarantine" / "incidents" / "*.parquet")
        if (wh / "quarantine" / "incidents").exists()
        else pl.DataFrame({"reasons": []})
    )
    clean_n = pl.scan_parquet(wh / "clean" / "incidents" / "*.parquet").select(pl.len()).collect().item()
    reasons = (
        q.select(pl.col("reasons").list.first().str.split(":").list.first())
        .to_series()
        .value_counts()
        .sort("count", descending=True)
        .iter_rows()
        if q.height
        else []
    )
    print(
        f"propres: {clean_n:,} — quarantaine: {q.height:,} ".replace(",", " ")
        + (f"({', '.join(f'{r}: {n}' for r, n in reasons)})" if q.height else "")
    )
    bt = pl.read_parquet(wh / "models" / "backtest" / "*.parquet").filter(pl.col("category") == "all")
    origins = sorted(bt["origin"].unique().to_list())
    from tranquillite.forecasting.backtest import WEEKLY
    from tranquillite.settings import settings as read_settings

    shifts = read_settings(env).shift_hours
    ref = reference_rows(wh, origins, shifts)
    cols = ["model", "horizon", "origin", "coverage", "hit_rate", "pei"]
    both = pl.concat([bt.filter(pl.col("model") != "oracle").select(cols), ref.select(cols)])
    champion = _champion(home, env)
    print(
        f"\n{len(origins)} origines hebdomadaires, du {origins[0].date()} au {origins[-1].date()}; "
        f"{pl.read_parquet(wh / 'features' / 'study_grid' / 'data.parquet').height} cellules; champion: {champion}"
    )
    with pl.Config(
        tbl_rows=40, tbl_cols=10, float_precision=3, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True
    ):
        for horizon, label in (
            ("jour_suivant", "jour suivant (3 cartes par créneau)"),
            ("7_jours", "semaine suivante (21 cartes par créneau)"),
            (WEEKLY, "semaine suivante, une carte pour la semaine"),
        ):
            print(f"\ntaux de réussite moyen sur les origines — {label}, toutes catégories")
            print(table(both, horizon))
    print("\nétape | durée (s) | pic mémoire (Mo)")
    print(f"dépôt des fichiers | {prep_s:.1f} | {peak_mb():.0f}")
    for st in stages:
        print(f"{st['job']} | {st['seconds']} | {st['peak_mb']}")
    print(f"total | {time.perf_counter() - t_all:.1f} |")
    attribution = _attribution(src)
    if attribution:
        print(f"attribution des données (SOURCE.md): {attribution}")
    # the targets: next week (one map) ≥ 1.1 × and next day ≥ 1.05 × the trailing 52-week count,
    # each horizon with the champion the backtest chose for it
    for horizon, target in ((WEEKLY, 1.1), ("jour_suivant", 1.05)):
        at5 = both.filter((pl.col("horizon") == horizon) & ((pl.col("coverage") - 0.05).abs() < 1e-9))
        chosen = bt.filter((pl.col("horizon") == horizon) & pl.col("champion"))["model"].unique().to_list()
        champ = chosen[0] if chosen else champion
        hit = at5.filter(pl.col("model") == champ)["hit_rate"].mean()
        naive = at5.filter(pl.col("model") == "comptage_52_semaines")["hit_rate"].mean()
        if hit is None or not naive:
            print(f"{horizon}: champion {champ} sans score à 5 %")
            continue
        print(
            f"{horizon}: champion {champ} hit5 {hit:.3f} naive52 {naive:.3f} ratio {hit / naive:.2f} "
            f"(cible {target:.2f}: {'atteinte' if hit / naive >= target else 'non atteinte'})"
        )
    return 0


def _attribution(src: Path) -> str:
    """The attribution paragraph of a SOURCE.md beside the data file, if any (licences require it)."""
    doc = src.parent / "SOURCE.md"
    if not doc.exists():
        return ""
    text = doc.read_text(encoding="utf-8", errors="replace")
    for para in text.split("\n\n"):
        if "attribution" in para.lower():
            return " ".join(para.split())
    return ""


def _champion(home: Path, env: dict) -> str:
    """The champion the backtest asset recorded (its materialisation metadata)."""
    os.environ.update({k: env[k] for k in ("TRANQUILLITE_HOME", "DAGSTER_HOME")})
    import dagster as dg
    from tranquillite.assets import constants as K

    inst = dg.DagsterInstance.from_config(str(home / "dagster"))
    ev = inst.get_latest_materialization_event(K.BACKTEST_KEY)
    return ev.asset_materialization.metadata["champion"].value


if __name__ == "__main__":
    raise SystemExit(main())
