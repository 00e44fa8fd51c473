"""`make bench`: every target of issue 14 against its figure measured now, with the floor measured
in the same run (same machine, same load).

    python scripts/bench.py                  # the demo year (+ one new day), in a temporary home
    BENCH_YEARS=8 python scripts/bench.py    # also 8 years (`generate --days 2920`) and the real city, long
    python scripts/bench.py --ville-reelle   # only the real-city path (BENCH_REAL_FILE, BENCH_REAL_TIMEZONE)
    python scripts/bench.py --imports-carte  # only the import budget and the map query ($TRANQUILLITE_HOME)

The floor: DuckDB reading the year's landing CSVs of the fact sources, H3 indexing of every fact
and a trailing-count ranking of every cell for each shift — the least any platform must do.

Rows (each stage in its own process, through `tranquillite.runner` as the CLI runs it, with the
process's peak memory):

* a year from raw to published (ingestion + publication) — ≤ 10 × the floor;
* the whole demo as `make demo` runs it (generation + the chain: ingestion, publication, weekly
  training, daily forecast, indicators, each process's start-up included; then the demo accounts
  and `tranquillite summary`) — ≤ 90 s;
* the daily cycle: one new day of landing files → clean → published → forecast by the champion
  in service → indicators and alerts (`runner.materialize` of that day) — ≤ 30 s;
* the import budget: `import tranquillite.assets.constants` and the landing sensor's module, each
  in a fresh interpreter — < 0.5 s;
* the map query over 30 days, p95 (`apps/streamlit/bench_map.measure`) — ≤ 100 ms;
* with BENCH_YEARS=8: eight years at Marseille's volume end to end — ≤ 10 min, ≤ 4 GB peak; and the
  real-city path: a City's export of point events (BENCH_REAL_FILE, CSV or Parquet: id, occurred_at,
  category, lon, lat; default the shipped Toronto file, 2014–2021, BENCH_REAL_TIMEZONE its IANA zone)
  written as `incidents` landing files, the area taken from the data as `make bench-real` takes it,
  then the same chain with the product's default settings — ≤ 10 min, ≤ 4 GB peak.

"Avant" is the figure issue 14 recorded before this work (same kind of 2-core shared machine).
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

START = date(2025, 1, 1)
FACT_CSV = {  # landing source → (time column, longitude, latitude) of the fact sources' exports
    "interventions": ("Début", "Longitude", "Latitude"),
    "signalements": ("Date et heure", "Longitude", "Latitude"),
    "alertes_videoprotection": ("Date et heure", "Longitude", "Latitude"),
}
# what issue 14 measured before (s, MB): the demo year, and one day rerun
BEFORE = {
    "annee_publiee": 68 + 3,
    "demo": 340.0,
    "cycle": 6 + 14 + 505 + 54,
    "import": 4.0,
    # `import tranquillite.definitions` before LightGBM, Presidio/spaCy and scipy.stats loaded lazily
    # (07/12/2026, median of 3 fresh interpreters, same machine)
    "definitions": 4.9,
    "carte": 203.0,
    # eight years: the first `BENCH_YEARS=8 make bench` (03/12/2026; the issue's real city failed in `prevision`)
    "huit_ans": 1326.0,
    "huit_ans_mo": 8461.0,
    "cycle_publication": 12.6,
    # the issue's real city (8 years, 427k events) through the CLI: ingestion + publication, then
    # `prevision` failed; peak 8 GB
    "ville_reelle": 1971.0,
    "ville_reelle_mo": 8192.0,
}
# the real city of `BENCH_YEARS=8` by default: the shipped Toronto file (its SOURCE.md gives the attribution)
REAL_DEFAULT = ROOT.parent / "shared" / "data" / "real" / "toronto" / "events.parquet"
REAL_DEFAULT_TIMEZONE = "America/Toronto"
CHAIN = ("ingestion_quotidienne", "publication", "entrainement_hebdomadaire", "prevision", "indicateurs")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(args: list[str], env: dict) -> dict:
    """A step in its own process; its figures, and `wall_s`: the process's life (start-up included)."""
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args], env=env, cwd=ROOT, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        print(res.stdout[-3000:], res.stderr[-5000:], sep="\n", file=sys.stderr)
        sys.exit(f"erreur: l'étape {' '.join(args)} s'est arrêtée (code {res.returncode})")
    return json.loads(line[7:]) | {"wall_s": round(wall, 1)}


def demo_tail(env: dict) -> float:
    """What `make demo` runs after the chain — the demo accounts and `tranquillite summary` — timed
    as processes (seconds)."""
    t0 = time.perf_counter()
    for cmd in (["-m", "tranquillite.app_core.seed_demo"], ["-m", "tranquillite.cli", "summary"]):
        res = subprocess.run([sys.executable, *cmd], env=env, cwd=ROOT, capture_output=True, text=True)
        if res.returncode:
            print(res.stdout[-3000:], res.stderr[-5000:], sep="\n", file=sys.stderr)
            sys.exit(f"erreur: {' '.join(cmd)} s'est arrêté (code {res.returncode})")
    return time.perf_counter() - t0


def _result(**kw) -> None:
    print("RESULT " + json.dumps({**kw, "peak_mb": round(peak_mb())}, default=str), flush=True)


# --------------------------------------------------------------------------- children
def child_floor(landing: str, last: str) -> None:
    """DuckDB reads the fact CSVs up to `last`, H3 indexes them, ranks every cell per shift by its
    trailing count."""
    import duckdb
    import polars as pl

    from tranquillite.geo import h3_cells

    t0 = time.perf_counter()
    con = duckdb.connect()
    frames = []
    for source, (t, lon, lat) in FACT_CSV.items():
        files = sorted(str(p) for p in (Path(landing) / source).glob("*.csv") if p.stem[-10:] <= last)
        if not files:
            continue
        rel = con.execute(
            f'SELECT try_strptime("{t}", \'%d/%m/%Y %H:%M\') AS t, TRY_CAST("{lon}" AS DOUBLE) AS lon, '
            f"TRY_CAST(\"{lat}\" AS DOUBLE) AS lat FROM read_csv(?, delim=';', header=true, all_varchar=true)",
            [files],
        )
        frames.append(pl.from_arrow(rel.to_arrow_table()))
    facts = pl.concat(frames).filter(
        pl.col("t").is_not_null() & pl.col("lon").is_not_null() & pl.col("lat").is_not_null()
    )
    facts = h3_cells(facts)
    shift = ((pl.col("t").dt.hour() - 6) % 24 // 8).alias("shift")
    ranked = (
        facts.group_by("h3_cell", shift)
        .len()
        .with_columns(pl.col("len").rank("ordinal", descending=True).over("shift").alias("rank"))
    )
    _result(
        seconds=round(time.perf_counter() - t0, 2),
        facts=facts.height,
        cells=ranked["h3_cell"].n_unique(),
        rows=ranked.height,
    )


def child_job(job: str, start: str, end: str) -> None:
    from tranquillite import runner
    from tranquillite.definitions import build_defs

    t0 = time.perf_counter()
    out = runner.run_job(build_defs(), job, date.fromisoformat(start), date.fromisoformat(end))
    _result(
        job=job,
        success=out.success,
        reason=out.reason,
        failed=out.failed_checks,
        seconds=round(time.perf_counter() - t0, 1),
    )


def child_cycle(day: str) -> None:
    """`tranquillite materialize --from day --to day`, models in service: no training."""
    from tranquillite import runner
    from tranquillite.definitions import build_defs

    t0 = time.perf_counter()
    inst = runner.instance()
    outs = runner.materialize(build_defs(), date.fromisoformat(day), date.fromisoformat(day), inst)
    per = {}
    for o in outs:
        stats = inst.get_run_stats(o.run_id) if o.run_id else None
        per[o.job] = {
            "success": o.success,
            "reason": o.reason,
            "seconds": round(stats.end_time - stats.start_time, 1) if stats and stats.end_time else None,
        }
    _result(seconds=round(time.perf_counter() - t0, 1), jobs=per, success=all(o.success for o in outs))


def child_generate(home: str, days: int, start: date = START) -> None:
    from tranquillite.synthetic import generate

    t0 = time.perf_counter()
    generate(Path(home), start=start, days=days)
    _result(seconds=round(time.perf_counter() - t0, 1))


def child_event_log(storage: str, days: str) -> None:
    """One range run of two daily-partitioned assets over `days` days on a fresh SQLite instance whose
    event log is Dagster's own (`dagster`) or the platform's (`tranquillite`): seconds per materialisation."""
    import logging

    import dagster as dg

    logging.disable(logging.INFO)
    n = int(days)
    part = dg.DailyPartitionsDefinition(start_date=START.isoformat(), end_date=(START + timedelta(days=n)).isoformat())

    @dg.asset(partitions_def=part, backfill_policy=dg.BackfillPolicy.single_run())
    def lu(context):  # no annotation: dagster is imported here, the module has postponed annotations
        return dg.MaterializeResult(metadata={"partitions": len(context.partition_keys)})

    @dg.asset(partitions_def=part, backfill_policy=dg.BackfillPolicy.single_run(), deps=[lu])
    def publie(context):
        return dg.MaterializeResult(metadata={"partitions": len(context.partition_keys)})

    home = tempfile.mkdtemp(prefix="tranquillite-journal-")
    os.environ["DAGSTER_HOME"] = home
    cfg = "telemetry:\n  enabled: false\n"
    if storage == "tranquillite":  # the platform's storage, with the batches `runner.instance` asks for
        from tranquillite.runner import EVENT_BATCH_ENV, EVENT_BATCH_SIZE

        os.environ[EVENT_BATCH_ENV] = EVENT_BATCH_SIZE
        cfg += "event_log_storage:\n  module: tranquillite.dagster_storage\n  class: LocalSqliteEventLogStorage\n"
    Path(home, "dagster.yaml").write_text(cfg, encoding="utf-8")
    inst = dg.DagsterInstance.get()
    t0 = time.perf_counter()
    res = dg.materialize(
        [lu, publie],
        instance=inst,
        tags={
            "dagster/asset_partition_range_start": START.isoformat(),
            "dagster/asset_partition_range_end": (START + timedelta(days=n - 1)).isoformat(),
        },
    )
    seconds = time.perf_counter() - t0
    shutil.rmtree(home, ignore_errors=True)
    _result(seconds=round(seconds, 2), success=res.success, materialisations=2 * n)


def child_map() -> None:
    sys.path.insert(0, str(ROOT / "apps" / "streamlit"))
    from bench_map import measure

    m = measure(30)
    _result(**{str(k): v for k, v in (m or {}).items() if k != "last"})


# --------------------------------------------------------------------------- the run
def _env(home: Path, start: date = START) -> dict:
    env = {
        **os.environ,
        "TRANQUILLITE_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster"),
        "TRANQUILLITE_PARTITIONS_START": start.isoformat(),
    }
    env.pop("TRANQUILLITE_ENV", None)
    return env


# the import rows: the statement each fresh interpreter times (the Dagster sensor object, for reference:
# the module is light, the object needs dagster)
SENSOR_OBJECT = "from tranquillite.sensors.landing import landing_sensor"
# a run's start-up: every Dagster run (its own process under the daemon) and CLI command imports the
# definitions (no target in the issue: shown against dagster's own import)
DEFINITIONS = "tranquillite.definitions"
IMPORTS = ("dagster", "tranquillite.assets.constants", "tranquillite.sensors.landing", SENSOR_OBJECT, DEFINITIONS)
NO_BUDGET = ("dagster", SENSOR_OBJECT, DEFINITIONS)


def import_time(module: str, env: dict, n: int = 3) -> float:
    """Median over `n` fresh interpreters of `import module` (or of a `from … import …` statement)."""
    stmt = module if module.startswith("from ") else f"import {module}"
    code = f"import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout.strip()
        )
        for _ in range(n)
    ]
    return statistics.median(runs)


def copy_landing(stage: Path, home: Path, upto: date | None = None, day: date | None = None) -> int:
    """The staging landing files of the days ≤ `upto` (or of `day` only) into the home."""
    n = 0
    for p in (stage / "landing").rglob("*"):
        if not p.is_file():
            continue
        d = date.fromisoformat(p.stem[-10:])
        if (upto is not None and d <= upto) or (day is not None and d == day):
            dst = home / "landing" / p.relative_to(stage / "landing")
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, dst)
            n += 1
    return n


def chain(env: dict, first: date, last: date, label: str) -> list[dict]:
    out = []
    for job in CHAIN:
        # the daily forecast after the training: its last day's features only (as runner.materialize)
        lo = last if job == "prevision" else first
        st = _child(["--job", job, lo.isoformat(), last.isoformat()], env)
        out.append(st)
        print(
            f"  {label} {job}: {'succès' if st['success'] else 'ÉCHEC'} en {st['seconds']} s, "
            f"pic {st['peak_mb']} Mo"
            + (f" — {st['reason']}" if st["reason"] else "")
            + (f" — contrôles en échec: {', '.join(st['failed'])}" if st["failed"] else ""),
            flush=True,
        )
        if not st["success"] and job in ("ingestion_quotidienne", "publication"):
            break
    return out


def _n(x: float, digits: int = 0) -> str:
    from tranquillite.app_core.formats import number

    return number(x, digits)


ROWS: list[tuple[str, str, str, str, str]] = []  # what `row` printed, for docs/criteres_de_reussite.md
DOC = ROOT / "docs" / "criteres_de_reussite.md"
DOC_START, DOC_END = "<!-- make bench: début -->", "<!-- make bench: fin -->"


def row(name: str, value: float | None, target: str, ok: bool | None, before=None, unit: str = "s") -> None:
    v = "—" if value is None else f"{_n(value, 2)} {unit}"
    b = "" if before is None else f"{_n(before)} {unit}"
    state = "—" if ok is None else ("atteint" if ok else "NON ATTEINT")
    print(f"{name:<44} {v:>14} {b:>10}  {target:<28} {state}")
    ROWS.append((name, v, b or "—", target, state))


def _multi_year_rows_kept(section: str) -> list[str]:
    """The previous table's multi-year rows, dated, when this run measured none (BENCH_YEARS unset:
    an hour-long run is not redone for every bench of the demo year)."""
    if any(" ans de bout en bout" in r[0] for r in ROWS):
        return []
    dated = re.search(r"le (\d\d/\d\d/\d{4})", section)
    kept = []
    for line in section.splitlines():
        if line.startswith("| ") and (" ans de bout en bout" in line or " ans, pic mémoire" in line):
            cells = line.split(" | ")
            if dated and "(banc du " not in cells[0]:
                cells[0] += f" (banc du {dated.group(1)})"
            kept.append(" | ".join(cells))
    return kept


def write_doc(context: str) -> None:
    """The performance section of docs/criteres_de_reussite.md, between its markers, from this run."""
    text = DOC.read_text(encoding="utf-8")
    if DOC_START not in text or DOC_END not in text:
        raise SystemExit(f"{DOC}: marqueurs {DOC_START} / {DOC_END} introuvables")
    table = [
        "| objectif | mesuré | avant (issue 14) | cible | état |",
        "|---|---|---|---|---|",
        *[f"| {' | '.join(r)} |" for r in ROWS],
        *_multi_year_rows_kept(text.split(DOC_START, 1)[1].split(DOC_END, 1)[0]),
    ]
    body = "\n".join(
        [DOC_START, f"Mesuré par `make bench` le {date.today():%d/%m/%Y} ({context}).", "", *table, DOC_END]
    )
    head, rest = text.split(DOC_START, 1)
    DOC.write_text(head + body + rest.split(DOC_END, 1)[1], encoding="utf-8")
    print(f"{DOC.relative_to(ROOT)}: section des performances réécrite")


def main() -> int:
    days = int(os.environ.get("BENCH_DAYS", "365"))
    years = int(os.environ.get("BENCH_YEARS", "0") or 0)
    base = Path(tempfile.mkdtemp(prefix="tranquillite-bench-"))
    stage, home = base / "generation", base / "home"
    home.mkdir()
    env = _env(home)
    last = START + timedelta(days=days - 1)
    new_day = last + timedelta(days=1)
    print(f"banc d'essai (issue 14) dans {base}: {days} jours du {START} au {last}, puis le {new_day}", flush=True)
    gen = _child(["--generate", str(stage), str(days + 1)], _env(stage))
    gen_s = gen["seconds"] * days / (days + 1)  # the demo generates `days` days
    copy_landing(stage, home, upto=last)
    if (stage / "synthetic_truth").exists():
        shutil.copytree(stage / "synthetic_truth", home / "synthetic_truth")
    print(f"  génération: {gen['seconds']} s ({days + 1} jours), pic {gen['peak_mb']} Mo", flush=True)
    floor = _child(["--floor", str(home / "landing"), last.isoformat()], env)
    print(
        f"  plancher: {floor['seconds']} s — {_n(floor['facts'])} faits, {_n(floor['cells'])} cellules, "
        f"{_n(floor['rows'])} rangs cellule × créneau",
        flush=True,
    )
    stages = chain(env, START, last, "année")
    by = {s["job"]: s for s in stages}
    published = by["ingestion_quotidienne"]["seconds"] + by["publication"]["seconds"]
    # the demo as `make demo` lives it: each process's life (start-ups, the generation's writes), then
    # the demo accounts and the summary. The chain runs here as 5 processes where `tranquillite
    # materialize` is one: 4 start-ups more than `make demo` pays (an upper bound, said below).
    work = gen_s + sum(s["seconds"] for s in stages)
    tail = demo_tail(env)
    demo = gen["wall_s"] * days / (days + 1) + sum(s["wall_s"] for s in stages) + tail
    copy_landing(stage, home, day=new_day)
    cycle = _child(["--cycle", new_day.isoformat()], env)
    print(
        "  cycle quotidien: "
        + ", ".join(f"{j} {v['seconds']} s{'' if v['success'] else ' ÉCHEC'}" for j, v in cycle["jobs"].items())
        + f"; total {cycle['seconds']} s, pic {cycle['peak_mb']} Mo",
        flush=True,
    )
    imports, carte, p95 = imports_and_map(env)
    journal = {k: _child(["--journal", k, "365"], env) for k in ("dagster", "tranquillite")}
    eight = real = None
    if years:
        eight = eight_years(base, years)
        real = real_city(base)
    print()
    print(f"{'objectif':<44} {'mesuré':>14} {'avant':>10}  {'cible':<28} état")
    row("plancher (CSV → H3 → classement)", floor["seconds"], "mesuré dans la même exécution", None)
    row(
        "année brut → publié (ingestion + publication)",
        published,
        f"≤ 10 × plancher = {_n(10 * floor['seconds'], 1)} s",
        published <= 10 * floor["seconds"],
        BEFORE["annee_publiee"],
    )
    print(f"{'':<44} {'':>14} {'':>10}  ratio {_n(published / floor['seconds'], 1)} × le plancher")
    row("démo (comme make demo, processus compris)", demo, "≤ 90 s", demo <= 90, BEFORE["demo"])
    print(
        f"{'':<44} {'':>14} {'':>10}  dont travail des étapes {_n(work, 1)} s, comptes de démo et bilan "
        f"{_n(tail, 1)} s, démarrages {_n(demo - work - tail, 1)} s (5 processus ici, 1 dans make demo)"
    )
    row(
        "cycle quotidien (un jour nouveau)",
        cycle["seconds"],
        "≤ 30 s",
        cycle["seconds"] <= 30 and cycle["success"],
        BEFORE["cycle"],
    )
    # the publication job of the cycle: the lineage and the catalog open only new or changed files
    row(
        "cycle quotidien: publication",
        cycle["jobs"].get("publication", {}).get("seconds"),
        "mesuré dans la même exécution",
        None,
        BEFORE["cycle_publication"],
    )
    import_rows(imports)
    row("carte, 30 jours, p95", p95, "≤ 100 ms", p95 is not None and p95 <= 100, BEFORE["carte"], "ms")
    # the Dagster event log of a range run (one materialisation per asset and day): Dagster's own
    # SQLite storage measured in the same run as the reference
    row(
        "journal Dagster: 730 matérialisations (référence Dagster)",
        journal["dagster"]["seconds"],
        "mesuré dans la même exécution",
        None,
    )
    row(
        "journal Dagster: 730 matérialisations (plateforme)",
        journal["tranquillite"]["seconds"],
        f"< la référence ({_n(journal['dagster']['seconds'] / journal['tranquillite']['seconds'], 1)} × plus rapide)",
        journal["tranquillite"]["seconds"] < journal["dagster"]["seconds"],
    )
    if eight:
        long_run_rows(f"{years} ans", eight, BEFORE["huit_ans"], BEFORE["huit_ans_mo"], "pic mémoire d'une étape")
    if real:
        real_city_rows(real)
    if not eight:
        print(f"{'8 ans (BENCH_YEARS=8)':<44} {'non mesuré':>14}")
    print()
    print("pic mémoire par étape (processus de l'étape):")
    for s in [
        gen | {"job": "generation"},
        floor | {"job": "plancher"},
        *stages,
        cycle | {"job": "cycle quotidien"},
        carte | {"job": "carte"},
    ]:
        print(f"  {s['job']:<28} {_n(s['peak_mb']):>8} Mo")
    if os.environ.get("BENCH_DOC", "1") != "0":
        write_doc(f"{days} jours synthétiques, {os.cpu_count()} cœurs, charge moyenne {os.getloadavg()[0]:.1f}")
    print(
        json.dumps(
            {
                "plancher_s": floor["seconds"],
                "annee_publiee_s": published,
                "demo_s": round(demo, 1),
                "demo_travail_s": round(work, 1),
                "cycle_s": cycle["seconds"],
                "cycle_jobs": cycle["jobs"],
                "imports_s": imports,
                "carte_p95_ms": p95,
                "journal_s": {k: v["seconds"] for k, v in journal.items()},
                "etapes": {s["job"]: {"s": s["seconds"], "mo": s["peak_mb"]} for s in stages},
                "huit_ans": eight,
                "ville_reelle": real,
            },
            default=str,
        )
    )
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(base, ignore_errors=True)
    return 0


def imports_and_map(env: dict) -> tuple[dict, dict, float | None]:
    imports = {m: import_time(m, env) for m in IMPORTS}
    carte = _child(["--map"], env)
    p95 = max(carte["30"]["p95"], carte["30"]["logged_p95"]) if "30" in carte else None
    return imports, carte, p95


def import_rows(imports: dict) -> None:
    row("import dagster (référence)", imports["dagster"], "mesuré dans la même exécution", None)
    for m, t in imports.items():
        if m == SENSOR_OBJECT:  # the light modules do not import dagster: only the sensor object pays it
            row("objet Dagster landing_sensor (référence)", t, "dagster + le module", None)
            print(f"{'':<44} {'':>14} {'':>10}  au-delà de dagster: {_n(t - imports['dagster'], 2)} s")
        elif m == DEFINITIONS:
            row(f"import {m} (démarrage d'une exécution)", t, "référence: import dagster", None, BEFORE["definitions"])
        elif m != "dagster":
            row(f"import {m}", t, "< 0,5 s", t < 0.5, BEFORE["import"] if m.endswith("constants") else None)


def imports_and_map_only() -> int:
    """`--imports-carte`: the import budget and the map query on the current home (after `make demo`),
    without the rest of the run (minutes)."""
    imports, carte, p95 = imports_and_map(dict(os.environ))
    print(f"{'objectif':<44} {'mesuré':>14} {'avant':>10}  {'cible':<28} état")
    import_rows(imports)
    row("carte, 30 jours, p95", p95, "≤ 100 ms", p95 is not None and p95 <= 100, BEFORE["carte"], "ms")
    print(json.dumps({"imports_s": imports, "carte_p95_ms": p95}))
    return 0 if p95 is not None and p95 <= 100 and all(t < 0.5 for m, t in imports.items() if m not in NO_BUDGET) else 1


def long_run_rows(label: str, run: dict, before_s: float, before_mb: float, peak: str = "pic mémoire") -> bool:
    """A long run's two rows (end to end ≤ 10 min and successful, a step's peak ≤ 4 GB): both met?"""
    fast = run["seconds"] <= 600 and run["success"]
    small = run["peak_mb"] <= 4096
    row(f"{label} de bout en bout", run["seconds"], "≤ 600 s", fast, before_s)
    row(f"{label}, {peak}", run["peak_mb"], "≤ 4 096 Mo", small, before_mb, unit="Mo")
    return fast and small


def real_city_rows(real: dict) -> bool:
    label = f"ville réelle ({real['name']}) {real['years']} ans"
    return long_run_rows(label, real, BEFORE["ville_reelle"], BEFORE["ville_reelle_mo"])


def real_city_only() -> int:
    """`--ville-reelle`: the real-city path alone, in a temporary home (minutes; the docs are not rewritten)."""
    base = Path(tempfile.mkdtemp(prefix="tranquillite-bench-"))
    real = real_city(base)
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(base, ignore_errors=True)
    if real is None:
        return 1
    print(f"{'objectif':<44} {'mesuré':>14} {'avant':>10}  {'cible':<28} état")
    ok = real_city_rows(real)
    print(json.dumps({"ville_reelle": real}))
    return 0 if ok else 1


def eight_years(base: Path, years: int) -> dict:
    days = 365 * years
    home = base / f"{years}ans"
    home.mkdir()
    # the years END on the demo's last day: the partitions stop at tomorrow, so years starting on the demo's
    # first day would run into the future
    last = START + timedelta(days=364)
    first = last - timedelta(days=days - 1)
    env = _env(home, first)
    print(f"{years} ans: génération de {days} jours ({first} → {last})", flush=True)
    t0 = time.perf_counter()
    gen = _child(["--generate", str(home), str(days), first.isoformat()], env)
    print(f"  génération: {gen['seconds']} s, pic {gen['peak_mb']} Mo", flush=True)
    stages = chain(env, first, last, f"{years} ans")
    return {
        "seconds": round(time.perf_counter() - t0, 1),
        "success": all(s["success"] for s in stages),
        "peak_mb": max([gen["peak_mb"], *(s["peak_mb"] for s in stages)]),
        "etapes": {s["job"]: {"s": s["seconds"], "mo": s["peak_mb"]} for s in stages},
    }


def attribution(path: Path) -> str | None:
    """The attribution paragraph of the SOURCE.md beside a real-data file (its licence requires it)."""
    src = path.parent / "SOURCE.md"
    m = (
        re.search(r"\*\*Attribution[^*]*\*\*\s*(.+?)(?:\n\n|$)", src.read_text(encoding="utf-8"), re.S)
        if src.exists()
        else None
    )
    return " ".join(m.group(1).split()) if m else None


def real_city(base: Path) -> dict | None:
    """The real-city path end to end: the events file written as one `incidents` landing file per
    day (as a City drops its exports), the study area taken from the data (the H3 cells with an event
    before the backtest's first origin, as `make bench-real`), the zone's time zone and no holidays by
    settings only, then the chain with the product's default settings. None when the file is absent."""
    path = Path(os.environ.get("BENCH_REAL_FILE") or REAL_DEFAULT).resolve()
    if not path.exists():
        print(f"ville réelle: {path} introuvable (BENCH_REAL_FILE=…): non mesurée", flush=True)
        return None
    tz = os.environ.get("BENCH_REAL_TIMEZONE") or (REAL_DEFAULT_TIMEZONE if path == REAL_DEFAULT.resolve() else "")
    if not tz:
        raise SystemExit("erreur: BENCH_REAL_TIMEZONE=… (fuseau IANA de la ville) est requis avec BENCH_REAL_FILE")
    import bench_real as BR

    from tranquillite.forecasting.backtest import BacktestConfig
    from tranquillite.settings import settings as read_settings

    home = base / "ville_reelle"
    home.mkdir()
    t0 = time.perf_counter()
    df = BR.read_events(path, None)
    first, last = df["occurred_at"].min().date(), df["occurred_at"].max().date()
    area, cells = BR.training_area(df, home, BacktestConfig().n_origins, read_settings({}).h3_resolution)
    files = BR.write_landing(df, home / "landing")
    env = _env(home, first) | {
        "TRANQUILLITE_TIMEZONE": tz,
        "TRANQUILLITE_HOLIDAYS_COUNTRY": "aucun",
        "TRANQUILLITE_AREA": str(area),
    }
    years = round((last - first).days / 365.25)
    print(
        f"ville réelle: {path.parent.name}/{path.name}, {_n(df.height)} événements du {first} au {last} "
        f"({years} ans): {files} fichiers de dépôt, {cells} cellules en {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    if note := attribution(path):
        print(f"  {note}", flush=True)
    stages = chain(env, first, last, "ville réelle")
    return {
        "name": path.parent.name,
        "years": years,
        "events": df.height,
        "seconds": round(time.perf_counter() - t0, 1),
        "success": all(s["success"] for s in stages) and len(stages) == len(CHAIN),
        "peak_mb": max(s["peak_mb"] for s in stages),
        "etapes": {s["job"]: {"s": s["seconds"], "mo": s["peak_mb"]} for s in stages},
    }


if __name__ == "__main__":
    if sys.argv[1:] == ["--imports-carte"]:
        sys.exit(imports_and_map_only())
    if sys.argv[1:] == ["--ville-reelle"]:
        sys.exit(real_city_only())
    if len(sys.argv) > 1 and sys.argv[1].startswith("--"):
        flag, rest = sys.argv[1], sys.argv[2:]
        {
            "--floor": child_floor,
            "--job": child_job,
            "--cycle": child_cycle,
            "--generate": lambda h, d, *s: child_generate(h, int(d), *(date.fromisoformat(x) for x in s)),
            "--map": child_map,
            "--journal": child_event_log,
        }[flag](*rest)
        sys.exit(0)
    sys.exit(main())
