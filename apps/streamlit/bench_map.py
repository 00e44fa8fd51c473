"""Benchmark of the map page's data query (all filtering and aggregation in DuckDB).

    python apps/streamlit/bench_map.py                 # on the catalog of $TRANQUILLITE_HOME (make demo)
    python apps/streamlit/bench_map.py --generer       # 31 days of synthetic data in a temporary home

Times `tranquillite.app_core.carte.map_data` — exactly what the Carte page runs on a cache miss —
for 1 day and 30 days, with a profile that sees every source, without and with the reads recorded
for the access log (as on the page, issue 11). Target (issue 14): p95 ≤ 100 ms for 30 days.
`scripts/bench.py` (`make bench`) calls `measure`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

TARGET_P95_MS = 100.0


def _generate(days: int) -> Path:
    home = Path(tempfile.mkdtemp(prefix="tranquillite-bench-"))
    os.environ["TRANQUILLITE_HOME"] = str(home)
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    (home / "dagster").mkdir()
    from tranquillite import runner
    from tranquillite.definitions import build_defs
    from tranquillite.synthetic import generate

    start = date(2025, 1, 1)
    t0 = time.perf_counter()
    generate(home, start=start, days=days)
    runner.materialize(build_defs(), start, start + timedelta(days=days - 1), runner.instance(), forecast=False)
    print(f"données synthétiques: {days} jours générés et matérialisés en {time.perf_counter() - t0:.0f} s ({home})")
    return home


def _percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def measure(repetitions: int = 30) -> dict | None:
    """Per window (1 and 30 days): facts, objects on the map, median and p95 in ms without and
    with the reads recorded for the access log; None without a catalog or facts."""
    from tranquillite.app_core import carte, reads
    from tranquillite.app_core.queries import Catalog
    from tranquillite.app_core.rights import Scope, all_conventions, all_sources

    cat = Catalog.open()
    if not cat.available:
        return None
    scope = Scope(
        row_sources=all_sources(), aggregate_sources=all_sources(), conventions=all_conventions(), aggregated_only=False
    )
    bounds = carte.date_bounds(cat, scope)
    if bounds is None:
        return None
    last = bounds[1]
    out = {"catalog": str(cat.path), "last": last}
    for days in (1, 30):
        f = carte.MapFilters(start=last - timedelta(days=days - 1), end=last)
        for _ in range(2):
            carte.map_data(cat, scope, f)
        times, d = [], None
        for _ in range(repetitions):
            t0 = time.perf_counter()
            d = carte.map_data(cat, scope, f)
            times.append((time.perf_counter() - t0) * 1000)
        logged = []  # the page's situation: every read recorded for the access log (issue 11)
        for _ in range(repetitions):
            with reads.collecting():
                t0 = time.perf_counter()
                carte.map_data(cat, scope, f)
                logged.append((time.perf_counter() - t0) * 1000)
        out[days] = {
            "n_facts": d.n_facts,
            "mode": d.facts_mode,
            "objects": len(d.points) + len(d.hexagons) + len(d.routes) + len(d.footprints) + len(d.markers),
            "median": statistics.median(times),
            "p95": _percentile(times, 0.95),
            "logged_median": statistics.median(logged),
            "logged_p95": _percentile(logged, 0.95),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--generer", action="store_true", help="générer 31 jours de données synthétiques d'abord")
    p.add_argument("--repetitions", type=int, default=30)
    a = p.parse_args(argv)
    if a.generer:
        _generate(31)
    m = measure(a.repetitions)
    if m is None:
        print("aucun catalogue (ou catalogue vide): lancer `make demo` ou passer --generer", file=sys.stderr)
        return 2
    print(f"catalogue: {m['catalog']} — dernier jour {m['last']:%d/%m/%Y}; {a.repetitions} répétitions après 2 à blanc")
    ok = True
    for days in (1, 30):
        r = m[days]
        print(
            f"{days:>2} jour(s): {r['n_facts']:>6} faits ({r['mode']}), {r['objects']:>5} objets sur la carte — "
            f"médiane {r['median']:6.1f} ms, p95 {r['p95']:6.1f} ms; lectures journalisées: médiane "
            f"{r['logged_median']:6.1f} ms, p95 {r['logged_p95']:6.1f} ms (×{r['logged_median'] / r['median']:.2f})"
        )
        if days == 30 and max(r["p95"], r["logged_p95"]) > TARGET_P95_MS:
            ok = False
    print(f"objectif p95 ≤ {TARGET_P95_MS:.0f} ms sur 30 jours: " + ("atteint" if ok else "NON ATTEINT"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
