"""The daily forecast job (`prevision`) of one day, before and after, back to back (issue 14).

    python scripts/bench_prevision.py HOME DAY [--avant /work/main] [--apres .] [--repetitions 2]
                                      [--profil] [--cycle]

HOME: a home where the demo year was materialised (`tranquillite generate`, then `tranquillite
materialize`: models in service). For each code tree (`--avant`: the former code, `--apres`: this
one) and each repetition, HOME is copied (`cp -a`) and the `prevision` job of DAY is run in a fresh
process through `tranquillite.runner.run_job`, as the CLI runs it; the seconds of the job and of
its `cell_slot` and `forecast` steps are printed, then the median of each tree. The published
`features.cell_slot` partition of DAY and `models.forecast` of the two trees are compared (they
must be identical). `--profil` runs pyinstrument (PYTHONPATH must hold it) around each job and
writes its text report next to the copies. `--cycle` also times, on other copies, the whole daily
cycle of DAY (`runner.materialize` of DAY, models in service: ingestion, publication, prevision,
indicators — the ≤ 30 s of issue 14), per job.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child_cycle(day: str) -> None:
    from datetime import date

    from tranquillite import runner
    from tranquillite.definitions import build_defs

    t0 = time.perf_counter()
    inst = runner.instance()
    outs = runner.materialize(build_defs(), date.fromisoformat(day), date.fromisoformat(day), inst)
    jobs = {}
    for o in outs:
        st = inst.get_run_stats(o.run_id) if o.run_id else None
        jobs[o.job] = round(st.end_time - st.start_time, 2) if st and st.end_time else None
    print(
        "RESULT "
        + json.dumps(
            {
                "success": all(o.success for o in outs),
                "reason": None,
                "seconds": round(time.perf_counter() - t0, 2),
                "steps": jobs,
            }
        ),
        flush=True,
    )


def child(day: str, profile: str | None) -> None:
    from datetime import date

    from tranquillite import runner
    from tranquillite.definitions import build_defs

    prof = None
    if profile:
        from pyinstrument import Profiler

        prof = Profiler(interval=0.005)
        prof.start()
    t0 = time.perf_counter()
    inst = runner.instance()
    out = runner.run_job(build_defs(), "prevision", date.fromisoformat(day), date.fromisoformat(day), inst)
    seconds = time.perf_counter() - t0
    if prof:
        prof.stop()
        Path(profile).write_text(prof.output_text(unicode=False, color=False, show_all=False), encoding="utf-8")
    steps = {}
    for ev in inst.all_logs(out.run_id):
        d = ev.dagster_event
        if d is None or not ev.step_key:
            continue
        if d.event_type_value == "STEP_START":
            steps[ev.step_key] = [ev.timestamp, None]
        elif d.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and ev.step_key in steps:
            steps[ev.step_key][1] = ev.timestamp
    print(
        "RESULT "
        + json.dumps(
            {
                "success": out.success,
                "reason": out.reason,
                "seconds": round(seconds, 2),
                "steps": {k: round(b - a, 2) for k, (a, b) in steps.items() if b},
            }
        ),
        flush=True,
    )


def run_tree(
    tree: Path, home: Path, base: Path, label: str, day: str, profile: bool, cycle: bool = False
) -> tuple[dict, Path]:
    copy = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=base)) / "home"
    subprocess.run(["cp", "-a", str(home), str(copy)], check=True)
    env = {
        **os.environ,
        "TRANQUILLITE_HOME": str(copy),
        "DAGSTER_HOME": str(copy / "dagster"),
        "PYTHONPATH": os.pathsep.join([str(tree), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    env.pop("TRANQUILLITE_ENV", None)
    args = [sys.executable, str(Path(__file__).resolve()), "--child-cycle" if cycle else "--child", day]
    if profile and not cycle:
        args += ["--profil-vers", str(copy.parent / "profil.txt")]
    res = subprocess.run(args, env=env, cwd=tree, capture_output=True, text=True)
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        print(res.stdout[-3000:], res.stderr[-5000:], sep="\n", file=sys.stderr)
        sys.exit(f"erreur: {label} s'est arrêté (code {res.returncode})")
    return json.loads(line[7:]), copy


def same_tables(a: Path, b: Path, day: str) -> dict:
    import polars as pl
    from polars.testing import assert_frame_equal

    out = {}
    for name, rel in (
        ("cell_slot", f"warehouse/features/cell_slot/{day}.parquet"),
        ("forecast", "warehouse/models/forecast"),
    ):
        fa, fb = a / rel, b / rel
        read = (lambda p: pl.read_parquet(p)) if fa.suffix else (lambda p: pl.read_parquet(p / "*.parquet"))
        try:
            ta, tb = read(fa), read(fb)
            sort = [c for c in ("model", "variant", "category", "cell_idx", "slot", "target") if c in ta.columns]
            ta, tb = (t.sort(sort) if sort else t for t in (ta, tb))
            assert_frame_equal(ta, tb, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
            out[name] = f"identiques ({ta.height} lignes)"
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            out[name] = f"DIFFÉRENTS: {str(exc).splitlines()[0][:200]}"
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("home", nargs="?")
    ap.add_argument("day", nargs="?")
    ap.add_argument("--avant", default="/work/main")
    ap.add_argument("--apres", default=str(ROOT))
    ap.add_argument("--repetitions", type=int, default=2)
    ap.add_argument("--profil", action="store_true")
    ap.add_argument("--cycle", action="store_true")
    ap.add_argument("--child")
    ap.add_argument("--child-cycle")
    ap.add_argument("--profil-vers")
    a = ap.parse_args()
    if a.child:
        child(a.child, a.profil_vers)
        return 0
    if a.child_cycle:
        child_cycle(a.child_cycle)
        return 0
    home = Path(a.home).resolve()
    base = Path(tempfile.mkdtemp(prefix="bench-prevision-", dir=home.parent))
    trees = {"avant": Path(a.avant).resolve(), "apres": Path(a.apres).resolve()}
    runs: dict[str, list[dict]] = {k: [] for k in trees}
    copies: dict[str, Path] = {}
    print(f"prevision du {a.day} sur des copies de {home} (dans {base})", flush=True)
    for r in range(a.repetitions):
        for label, tree in trees.items():  # back to back, alternating
            res, copy = run_tree(tree, home, base, label, a.day, a.profil)
            runs[label].append(res)
            print(
                f"  {label} #{r + 1}: {'succès' if res['success'] else 'ÉCHEC ' + str(res['reason'])} en "
                f"{res['seconds']} s — étapes " + ", ".join(f"{k} {v} s" for k, v in res["steps"].items()),
                flush=True,
            )
            if label in copies:
                shutil.rmtree(copy.parent)
            else:
                copies[label] = copy
    med = {k: statistics.median(x["seconds"] for x in v) for k, v in runs.items()}
    step = {
        k: {s: statistics.median(x["steps"].get(s, 0) for x in v) for s in ("features__cell_slot", "forecast")}
        for k, v in runs.items()
    }
    print(
        f"prevision (médiane de {a.repetitions}): avant {med['avant']:.2f} s → après {med['apres']:.2f} s "
        f"(× {med['avant'] / med['apres']:.1f})"
    )
    for s in ("features__cell_slot", "forecast"):
        print(f"  étape {s}: avant {step['avant'][s]:.2f} s → après {step['apres'][s]:.2f} s")
    for name, verdict in same_tables(copies["avant"], copies["apres"], a.day).items():
        print(f"  {name}: {verdict}")
    if a.cycle:
        cyc: dict[str, list[dict]] = {k: [] for k in trees}
        for r in range(a.repetitions):
            for label, tree in trees.items():
                res, copy = run_tree(tree, home, base, label, a.day, False, cycle=True)
                cyc[label].append(res)
                shutil.rmtree(copy.parent)
                print(
                    f"  cycle {label} #{r + 1}: {'succès' if res['success'] else 'ÉCHEC'} en {res['seconds']} s — "
                    + ", ".join(f"{k} {v} s" for k, v in res["steps"].items()),
                    flush=True,
                )
        med = {k: statistics.median(x["seconds"] for x in v) for k, v in cyc.items()}
        print(f"cycle quotidien (médiane de {a.repetitions}): avant {med['avant']:.2f} s → après {med['apres']:.2f} s")
    if a.profil:
        print("profils: " + ", ".join(str(c.parent / "profil.txt") for c in copies.values()))
    else:
        for c in copies.values():
            shutil.rmtree(c.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
