"""Crash and gap figures, against a baseline measured in the same run.

1. kill -9: a `tranquillite materialize --sans-prevision` over 7 generated days is killed while
   it holds the `warehouse_writer` slot; the next one sweeps the dead run and proceeds. Printed:
   how long after its start the dead run was failed, how long its first step waited for the
   slot, and its duration — against an undisturbed run of the same range.
2. (--gap) four weeks, then an isolated day after 42 days without data: the duration of the
   isolated day's chain (ingestion, publication, forecast, indicators) against the same day
   without the gap (the day right after the four weeks).

    .venv/bin/python scripts/bench_crash.py [--gap]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RANGE = ["--from", "2025-03-03", "--to", "2025-03-09", "--sans-prevision"]


def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRANQUILLITE_")}
    return {**env, "TRANQUILLITE_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}


def _use(home: Path):
    os.environ.update({"TRANQUILLITE_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")})
    from tranquillite import runner

    return runner.instance()


def _cli(home: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tranquillite.cli", "materialize", *args],
        cwd=REPO,
        env=_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _first_wait(instance, run_id: str) -> float:
    import dagster as dg

    logs = instance.all_logs(run_id)
    start = next(
        e.timestamp for e in logs if e.dagster_event and e.dagster_event.event_type == dg.DagsterEventType.RUN_START
    )
    step = next(
        e.timestamp for e in logs if e.dagster_event and e.dagster_event.event_type == dg.DagsterEventType.STEP_START
    )
    return step - start


def crash(root: Path) -> None:
    import dagster as dg
    from tranquillite.synthetic import generate

    src = root / "landing_src"
    generate(src, start=date(2025, 3, 3), days=7, seed=5, scale=0.3)
    homes = {}
    for name in ("baseline", "crash"):
        homes[name] = root / name
        shutil.copytree(src / "landing", homes[name] / "landing")
    inst = _use(homes["baseline"])
    t0 = time.monotonic()
    p = _cli(homes["baseline"], *RANGE)
    p.communicate()
    base_s = time.monotonic() - t0
    base_run = inst.get_runs(dg.RunsFilter(job_name="ingestion_quotidienne"))[0].run_id
    base_wait = _first_wait(inst, base_run)

    inst = _use(homes["crash"])
    p = _cli(homes["crash"], *RANGE)
    while not inst.event_log_storage.get_concurrency_info("warehouse_writer").claimed_slots:
        time.sleep(0.02)
    dead = inst.event_log_storage.get_concurrency_info("warehouse_writer").claimed_slots[0].run_id
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    t0 = time.time()
    p = _cli(homes["crash"], *RANGE)
    p.communicate()
    crash_s = time.time() - t0
    failed_at = next(e.timestamp for e in inst.all_logs(dead, of_type=dg.DagsterEventType.RUN_FAILURE))
    run = inst.get_runs(dg.RunsFilter(job_name="ingestion_quotidienne"))[0].run_id
    print("kill -9 while holding warehouse_writer, then the next materialize (7 days, --sans-prevision):")
    print(
        f"  dead run failed and slot freed  {failed_at - t0:6.1f} s after the next process started "
        "(start-up: imports, definitions)"
    )
    print(f"  first step's wait for a slot     {_first_wait(inst, run):6.2f} s   (undisturbed run: {base_wait:.2f} s)")
    print(f"  whole chain                      {crash_s:6.1f} s   (undisturbed run: {base_s:.1f} s)")
    print(
        "  before this change: the next run waited forever (a core at 100 %); now bounded by "
        "TRANQUILLITE_POOL_WAIT_SECONDS even for a live holder"
    )


def gap(root: Path) -> None:
    from tranquillite import runner
    from tranquillite.definitions import build_defs
    from tranquillite.synthetic import generate

    small = {"n_origins": 2, "train_weeks": 2, "lgbm_rounds": 20, "workers": 1, "threads": 1}
    first, days = date(2025, 3, 3), 28
    out = {}
    for name, extra in (("contigu", first + timedelta(days=days)), ("après 42 j", date(2025, 5, 12))):
        home = root / f"gap_{extra.isoformat()}"
        generate(home, start=first, days=days, seed=11, scale=0.2)
        late = root / f"late_{extra.isoformat()}"
        generate(late, start=extra, days=1, seed=12, scale=0.2)
        for f in (late / "landing").rglob("*"):
            if f.is_file():
                dst = home / "landing" / f.relative_to(late / "landing")
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, dst)
        inst = _use(home)
        defs = build_defs()
        runner.materialize(defs, first, first + timedelta(days=days - 1), inst, forecast_settings=small)
        t0 = time.perf_counter()
        res = runner.materialize(defs, extra, extra, inst, forecast_settings=small)
        out[name] = (time.perf_counter() - t0, ", ".join(f"{o.job} {'ok' if o.success else 'ÉCHEC'}" for o in res))
    print("one more day after 4 weeks (small forecast settings):")
    for name, (s, jobs) in out.items():
        print(f"  {name:12} {s:6.1f} s   {jobs}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gap", action="store_true", help="also the gap scenario (a few minutes)")
    a = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-crash-"))
    try:
        crash(root)
        if a.gap:
            gap(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
