"""Fixtures of the restitution-app tests: one real catalog per test session, a fresh store per test.

The catalog is built ONCE (per pytest session, shared by the xdist workers through a file
lock) by the real pipeline: landing files in the partners' formats → `runner.materialize` →
Parquet + `catalog.duckdb`. Each test then gets its own `$TRANQUILLITE_HOME` whose `warehouse`
links to that catalog, with an empty landing zone and a fresh `app/platform.sqlite` holding the
demo accounts.
"""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import pytest
from filelock import FileLock
from streamlit import config as st_config


from tests.factories import VALID, VALID_CORTEGE, write_csv, write_json

from tests.app.helpers import DAYS, N_INTERVENTIONS

# as apps/streamlit/.streamlit/config.toml (which AppTest, run from the repository root, does not
# read): no magic, whose ast.parse races in CPython 3.11 when two script threads compile at once
st_config.set_option("runner.magicEnabled", False)


def _landing(landing: Path) -> None:
    """Small deterministic data in the real landing formats (distinct file names, `T-` ids)."""
    for i, day in enumerate(DAYS):
        d, m, y = day[8:], day[5:7], day[:4]
        rows = [
            {
                **VALID["interventions"],
                "N° intervention": f"T-INT-{day}-{k}",
                "Début": f"{d}/{m}/{y} {10 + k % 12:02d}:15",
                "Fin": f"{d}/{m}/{y} {10 + k % 12:02d}:45",
            }
            for k in range(N_INTERVENTIONS[day])
        ]
        rows.append(
            {
                **VALID["interventions"],
                "N° intervention": f"T-INT-{day}-nuit",
                "Début": f"{d}/{m}/{y} 23:10",
                "Fin": f"{d}/{m}/{y} 23:50",
                "Adresse": "Rue de Rome, 13006 Marseille",
                "Code postal": "13006",
                "Longitude": "5.3800",
                "Latitude": "43.2890",
            }
        )
        write_csv(landing / "interventions" / f"tests_interventions_{day}.csv", "interventions", rows)
        write_csv(
            landing / "signalements" / f"tests_signalements_{day}.csv",
            "signalements",
            [{**VALID["signalements"], "N° signalement": f"T-SIG-{day}"}],
        )
        write_csv(
            landing / "alertes_videoprotection" / f"tests_alertes_{day}.csv",
            "alertes_videoprotection",
            [
                {
                    **VALID["alertes_videoprotection"],
                    "Identifiant alerte": f"T-ALR-{day}",
                    "Date et heure": f"{d}/{m}/{y} 22:15",
                }
            ],
        )
        write_csv(
            landing / "evenements_publics" / f"tests_evenements_{day}.csv",
            "evenements_publics",
            [
                {
                    **VALID["evenements_publics"],
                    "Identifiant": f"T-EVT-{day}",
                    "Début": f"{d}/{m}/{y} 21:00",
                    "Fin": f"{d}/{m}/{y} 23:00",
                }
            ],
        )
        entries = []
        for e in VALID_CORTEGE.values():
            e = {**e, "id": f"T-{e['id']}-{i}"}
            for k in ("date_debut", "date_fin"):
                e[k] = day + e[k][10:]
            entries.append(e)
        write_json(landing / "cortege" / f"tests_prefecture_{day}.json", entries)


@pytest.fixture(scope="session")
def catalog_home(tmp_path_factory) -> Path:
    """A home with a real published catalog, built once for every worker."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "app_catalog"
    if os.environ.get("TQ_TEST_CATALOG_DIR"):  # developers: keep the built catalog between runs
        root = Path(os.environ["TQ_TEST_CATALOG_DIR"])
    with FileLock(str(root) + ".lock"):
        if not (root / "warehouse" / "catalog.duckdb").exists():
            from tranquillite import runner
            from tranquillite.definitions import build_defs

            saved = {k: os.environ.get(k) for k in ("TRANQUILLITE_HOME", "DAGSTER_HOME")}
            os.environ["TRANQUILLITE_HOME"] = str(root)
            os.environ["DAGSTER_HOME"] = str(root / "dagster")
            try:
                (root / "dagster").mkdir(parents=True, exist_ok=True)
                _landing(root / "landing")
                outcomes = runner.materialize(build_defs(), date(2025, 3, 7), date(2025, 3, 8), runner.instance())
                assert all(o.success for o in outcomes), outcomes
                from tranquillite.app_core.seed_demo import seed_demo

                seed_demo(root / "store_template" / "platform.sqlite")  # argon2 hashing once, copied per test
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
    return root


@pytest.fixture(scope="session")
def pg_app_template(catalog_home: Path, pg_server: str):
    """A real PostgreSQL server (tests/pg.py) holding `app_template`: a store migrated and seeded
    with the demo accounts (same access-log key as the SQLite template), copied for each test."""
    from tests.pg import create_database
    from tranquillite.app_core import db
    from tranquillite.app_core.seed_demo import seed_demo

    template = create_database(pg_server, "app_template")
    with pytest.MonkeyPatch.context() as mp:
        for k in (
            "TRANQUILLITE_ENV",
            "TRANQUILLITE_ACCESS_LOG_KEY",
            "TRANQUILLITE_ACCESS_LOG_KEY_FILE",
            "TRANQUILLITE_APP_DB_OWNER_URL",
        ):
            mp.delenv(k, raising=False)
        mp.setenv("TRANQUILLITE_HOME", str(catalog_home))
        mp.setenv("TRANQUILLITE_APP_DB_URL", template)
        seed_demo()
    db.engine(template).dispose()  # a template database copies only with no one connected
    return pg_server


@pytest.fixture
def app_home(catalog_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request) -> Path:
    """A fresh home: the shared catalog, an empty landing zone, a store with the demo accounts —
    the SQLite file (default) or, with the indirect parameter "postgresql", a PostgreSQL database."""
    kind = getattr(request, "param", "sqlite")
    home = tmp_path / "home"
    home.mkdir()
    (home / "warehouse").symlink_to(catalog_home / "warehouse", target_is_directory=True)
    (home / "landing").mkdir()
    monkeypatch.setenv("TRANQUILLITE_HOME", str(home))
    for k in (
        "TRANQUILLITE_ENV",
        "TRANQUILLITE_BEHIND_TLS_PROXY",
        "TRANQUILLITE_SESSION_IDLE_MINUTES",
        "TRANQUILLITE_ACCESS_LOG_KEY",
        "TRANQUILLITE_ACCESS_LOG_KEY_FILE",
        "TRANQUILLITE_ACCESS_LOG_HEADS_FILE",
        "TRANQUILLITE_ALLOW_PUBLIC_BIND",
        "TRANQUILLITE_APP_DB_URL",
        "TRANQUILLITE_APP_DB_OWNER_URL",
    ):
        monkeypatch.delenv(k, raising=False)
    (home / "app").mkdir()
    if kind == "postgresql":
        import uuid

        from tests.pg import create_database
        from tranquillite.app_core import db

        server = request.getfixturevalue("pg_app_template")
        url = create_database(server, f"app_{uuid.uuid4().hex[:12]}", template="app_template")
        monkeypatch.setenv("TRANQUILLITE_APP_DB_URL", url)
        request.addfinalizer(lambda: db.engine(url).dispose())  # its pooled connections, closed after the test
    else:
        shutil.copy(catalog_home / "store_template" / "platform.sqlite", home / "app" / "platform.sqlite")
    if (catalog_home / "secrets").exists():  # the access log's HMAC key goes with its store
        shutil.copytree(catalog_home / "secrets", home / "secrets")
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    return home


@pytest.fixture
def con(app_home):
    from tranquillite.app_core import store

    with store.connect() as c:
        yield c
