"""Banc d'essai du magasin de l'application (issue 14): SQLite (référence, mesurée dans la même exécution)
et PostgreSQL (un vrai serveur, tests/pg.py), par le même code.

    python scripts/bench_app_store.py [--lignes 400]

Mesures: création du magasin (migrations Alembic depuis une base vide, amorçage), écriture du journal
d'accès (une ligne = une transaction d'écriture, chaîne HMAC) par un processus puis par deux processus
à la fois (verrou des écrivains), vérification complète de la chaîne, chargement d'un principal (ce
que coûte chaque clic), et la traduction SQLite → PostgreSQL d'une instruction (une fois, en cache).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WRITER = """
import sys, time
from tranquillite.app_core import store
n, start = int(sys.argv[1]), float(sys.argv[2])
with store.connect() as con:
    while time.time() < start:
        time.sleep(0.001)
    for i in range(n):
        store.log_access(con, login=sys.argv[3], profile="analyste", page="carte", filters={"i": i})
"""


def fr(x: float, digits: int = 1) -> str:
    return f"{x:,.{digits}f}".replace(",", "\u202f").replace(".", ",")


def measure(label: str, n: int) -> dict:
    from tranquillite.app_core import audit, db, store
    from tranquillite.app_core.rights import load_principal
    from tranquillite.app_core.seed_demo import seed_demo

    out = {}
    t = time.perf_counter()
    store.init_store()
    out["création (s)"] = time.perf_counter() - t
    seed_demo()
    with store.connect() as con:
        t = time.perf_counter()
        for i in range(n):
            store.log_access(con, login="demo.analyste", profile="analyste", page="carte", filters={"i": i})
        out["journal, 1 processus (lignes/s)"] = n / (time.perf_counter() - t)
    start = time.time() + 3
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(n // 2), str(start), f"agent.{k}"], env=env)
        for k in range(2)
    ]
    for p in procs:
        p.wait()
    end = time.time()
    out["journal, 2 processus (lignes/s)"] = n / (end - start)
    with store.connect() as con:
        t = time.perf_counter()
        v = audit.verify(con, heads=[])
        out["vérification (ms)"] = (time.perf_counter() - t) * 1000
        assert v.intact and v.lines >= 2 * n, v.problems
        t = time.perf_counter()
        for _ in range(100):
            load_principal(con, "demo.analyste")
        out["principal (ms)"] = (time.perf_counter() - t) * 10
    if label == "PostgreSQL":
        db.to_postgres.cache_clear()
        sql = (
            "INSERT INTO auth_throttle (key, window_start, attempts) VALUES (?, ?, 1) ON CONFLICT (key) DO UPDATE "
            "SET attempts = CASE WHEN window_start <= ? THEN 1 ELSE attempts + 1 END RETURNING attempts"
        )
        t = time.perf_counter()
        db.to_postgres(sql)
        out["traduction, 1re fois (ms)"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        for _ in range(1000):
            db.to_postgres(sql)
        out["traduction, en cache (µs)"] = (time.perf_counter() - t) * 1000
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lignes", type=int, default=400)
    a = ap.parse_args()
    from tests.pg import create_database, postgres_server

    results = {}
    for label in ("SQLite", "PostgreSQL"):
        with tempfile.TemporaryDirectory(prefix="tq-bench-store-") as home:
            os.environ["TRANQUILLITE_HOME"] = home
            os.environ["TRANQUILLITE_ACCESS_LOG_KEY"] = "b" * 64
            os.environ.pop("TRANQUILLITE_APP_DB_URL", None)
            if label == "PostgreSQL":
                with postgres_server() as server:
                    os.environ["TRANQUILLITE_APP_DB_URL"] = create_database(server, "bench_store")
                    results[label] = measure(label, a.lignes)
                    from tranquillite.app_core import db

                    db.dispose_all()
            else:
                results[label] = measure(label, a.lignes)
    print(f"Magasin de l'application — {a.lignes} lignes du journal par mesure (référence: SQLite, même exécution)")
    print(f"{'mesure':<34} {'SQLite':>12} {'PostgreSQL':>12} {'rapport':>9}")
    for k, v in results["PostgreSQL"].items():
        base = results["SQLite"].get(k)
        ratio = f"× {fr(v / base, 2)}" if base else ""
        print(f"{k:<34} {fr(base) if base is not None else '—':>12} {fr(v):>12} {ratio:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
