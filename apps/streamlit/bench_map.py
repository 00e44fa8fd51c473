"""Benchmark of the map page's data query (all filtering and aggregation in DuckDB).

    python apps/streamlit/bench_map.py                 # on the catalog of $TRANQUILLITE_HOME (make demo)
    python apps/streamlit/bench_map.py --generer       # 31 days of synthetic data in a temporary home

Times `tranquillite.app_core.carte.map_data` — exactly what the Carte page runs on a cache miss —
for 1 day and 30 days, with a profile that sees every source, without and with the reads recorded
for the access log (as on the page, issue 11). Target: p95 < 300 ms for 30 days.
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

TARGET_P95_MS = 300.0


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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--generer", action="store_true", help="générer 31 jours de données synthétiques d'abord")
    p.add_argument("--repetitions", type=int, default=30)
    a = p.parse_args(argv)
    if a.generer:
        _generate(31)
    from tranquillite.app_core import carte, reads
    from tranquillite.app_core.queries import Catalog
    from tranquillite.app_core.rights import Scope, all_conventions, all_sources

    cat = Catalog.open()
    if not cat.available:
        print(f"aucun catalogue dans {cat.path}: lancer `make demo` ou passer --generer", file=sys.stderr)
        return 2
    scope = Scope(row_sources=all_sources(), aggregate_sources=all_sources(), conventions=all_conventions(),
                  aggregated_only=False)
    bounds = carte.date_bounds(cat, scope)
    if bounds is None:
        print("catalogue vide", file=sys.stderr)
        return 2
    last = bounds[1]
    ok = True
    print(f"catalogue: {cat.path} — dernier jour {last:%d/%m/%Y}; {a.repetitions} répétitions après 2 à blanc")
    for days in (1, 30):
        f = carte.MapFilters(start=last - timedelta(days=days - 1), end=last)
        for _ in range(2):
            carte.map_data(cat, scope, f)
        times, d = [], None
        for _ in range(a.repetitions):
            t0 = time.perf_counter()
            d = carte.map_data(cat, scope, f)
            times.append((time.perf_counter() - t0) * 1000)
        logged = []  # the page's situation: every read recorded for the access log (issue 11)
        for _ in range(a.repetitions):
            with reads.collecting():
                t0 = time.perf_counter()
                carte.map_data(cat, scope, f)
                logged.append((time.perf_counter() - t0) * 1000)
        med, p95 = statistics.median(times), _percentile(times, 0.95)
        lmed, lp95 = statistics.median(logged), _percentile(logged, 0.95)
        objects = len(d.points) + len(d.hexagons) + len(d.routes) + len(d.footprints) + len(d.markers)
        print(f"{days:>2} jour(s): {d.n_facts:>6} faits ({d.facts_mode}), {objects:>5} objets sur la carte — "
              f"médiane {med:6.1f} ms, p95 {p95:6.1f} ms; lectures journalisées: médiane {lmed:6.1f} ms, "
              f"p95 {lp95:6.1f} ms (×{lmed / med:.2f})")
        p95 = max(p95, lp95)
        if days == 30 and p95 >= TARGET_P95_MS:
            ok = False
    print("objectif p95 < 300 ms sur 30 jours: " + ("atteint" if ok else "NON ATTEINT"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
