"""Benchmark: destroying the Préfecture convention's data from a full demo year (issue #12).

    make bench-destruction            # reuses $TRANQUILLITE_HOME (make demo) on a COPY, else builds a year
    python scripts/bench_destruction.py --days 60 --scale 0.3   # a smaller home

The destruction is destructive, so it always runs on a copy in a temporary directory. Printed, in
the same run: the baseline (reading every byte of every file of the home once — what any
verification must at least do), the time of each phase of the destruction job (inventory and
fingerprints, purge per store, independent scan), the total against the target (well under an
hour: the convention gives 15 days), and the counts destroyed per store and the scan's figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

TARGET_S = 3600.0
PREF = "prefecture_police_13"


def _build(home: Path, days: int, scale: float) -> None:
    from tranquillite import runner
    from tranquillite.definitions import build_defs
    from tranquillite.synthetic import generate

    start = date(2025, 1, 1)
    generate(home, start=start, days=days, scale=scale)
    out = runner.materialize(build_defs(), start, start + timedelta(days=days - 1), runner.instance())
    if not all(o.success for o in out):
        sys.exit(f"matérialisation en échec: {out}")


def _read_all(home: Path) -> tuple[int, int, float]:
    t0 = time.perf_counter()
    n = size = 0
    for root, _, files in os.walk(home, followlinks=True):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                while block := fh.read(1 << 20):
                    size += len(block)
            n += 1
    return n, size, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--recalcul", action="store_true", help="also time the recomputation without the convention")
    a = ap.parse_args()
    src = Path(os.environ.get("TRANQUILLITE_HOME", "data"))
    tmp = Path(tempfile.mkdtemp(prefix="bench-destruction-"))
    home = tmp / "home"
    os.environ["TRANQUILLITE_HOME"] = str(home)
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    try:
        t0 = time.perf_counter()
        if (src / "warehouse" / "clean" / "events").exists() and (src / "landing" / "cortege").exists():
            shutil.copytree(src, home, symlinks=True)
            origin = f"copie de {src}"
        else:
            _build(home, a.days, a.scale)
            origin = f"année générée ({a.days} jours, échelle {a.scale})"
        print(f"home: {origin} en {time.perf_counter() - t0:.0f} s (non chronométré)")
        from tranquillite import runner
        from tranquillite.app_core import store
        from tranquillite.app_core.seed_demo import seed_demo
        from tranquillite.assets.destruction import destruction_job, recompute_without_ended
        from tranquillite.conventions import registry, usage
        from tranquillite.conventions.lifecycle import add_months
        from tranquillite.definitions import build_defs

        seed_demo()
        n_files, n_bytes, t_read = _read_all(home)
        print(
            f"référence: lecture de tous les fichiers du home — {n_files} fichiers, {n_bytes / 1e6:.0f} Mo en "
            f"{t_read:.1f} s"
        )
        with store.connect() as con:
            registry.give_notice(
                con,
                PREF,
                add_months(date.today(), -2) - timedelta(days=1),
                "partenaire",
                login="bench",
                profile="console",
            )
            usage.apply_end_effects(con, PREF)
            registry.order_destruction(con, PREF, login="bench", profile="console")
        inst = runner.instance()
        if a.recalcul:
            t = time.perf_counter()
            out = recompute_without_ended(build_defs(), inst)
            print(f"recalcul sans la convention: {time.perf_counter() - t:.1f} s ({[o.success for o in out]})")
        t = time.perf_counter()
        res = destruction_job.execute_in_process(
            instance=inst,
            run_config={
                **runner.QUIET,
                "ops": {"detruire_convention": {"config": {"convention": PREF, "executee_par": "bench"}}},
            },
        )
        t_job = time.perf_counter() - t
        m = json.loads(Path(res.output_for_node("detruire_convention")).read_text())["manifest"]
        scan = m["verification"]["resultat"]
        t_scan = scan["duree_s"]
        print(
            f"destruction (job complet): {t_job:.1f} s — dont contrôle indépendant {t_scan:.1f} s, "
            f"inventaire + purge {t_job - t_scan:.1f} s"
        )
        print(
            f"  = {t_job / t_read:.1f} × la lecture de référence; objectif < {TARGET_S:.0f} s: "
            f"{'atteint' if t_job < TARGET_S else 'NON ATTEINT'} ({t_job / TARGET_S:.1%} de l'objectif)"
        )
        print("détruit, par magasin:")
        for store_name, counts in m["totaux"].items():
            print(f"  {store_name:<26} " + ", ".join(f"{k}={v}" for k, v in counts.items()))
        fp = m["verification"]["fingerprints"]
        print(
            f"contrôle: {len(fp['identifiants'])} identifiants, {len(fp['valeurs'])} valeurs, "
            f"{len(fp['fichiers_sha256'])} fichiers recherchés; {scan['fichiers_total']} fichiers, "
            f"{scan['octets_examines'] / 1e6:.0f} Mo, {scan['chaines_examinees']} chaînes examinés; "
            f"traces: {scan['traces_trouvees']}"
        )
        print(f"tables non traçables: {', '.join(t['table'] for t in m['non_tracable']) or 'aucune'}")
        return 0 if scan["traces_trouvees"] == 0 else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
