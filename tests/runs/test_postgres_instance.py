"""Production profile (issue 14): with TRANQUILLITE_ENV=production, Dagster's runs, event log and
schedules live in a real PostgreSQL server (dagster-postgres) configured by the committed
`deploy/dagster.yaml`, which the CLI never writes; a real materialisation goes through it."""

from __future__ import annotations

import shutil
from datetime import date

import dagster as dg
import psycopg2
import pytest

from tests.pg import create_database, postgres_server
from tranquillite import runner
from tranquillite.synthetic import generate

FIRST = date(2025, 3, 3)


@pytest.fixture(scope="module")
def server():
    with postgres_server() as url:
        yield url


@pytest.fixture
def production(home, monkeypatch, server, request):
    url = create_database(server, f"dagster_{request.node.name.lower()[:40]}")
    monkeypatch.setenv("TRANQUILLITE_ENV", "production")
    monkeypatch.setenv("TRANQUILLITE_DAGSTER_PG_URL", url)
    return url


def _install(home):
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    shutil.copy(runner.PRODUCTION_INSTANCE, home / "dagster" / "dagster.yaml")


def test_production_refuses_a_missing_or_local_instance(home, production, monkeypatch):
    with pytest.raises(runner.InstanceMisconfigured, match="dagster.yaml manque"):
        runner.instance()
    assert not (home / "dagster" / "dagster.yaml").exists()        # never written in production
    runner.install_instance_config(home / "dagster")               # the development (SQLite) template
    with pytest.raises(runner.InstanceMisconfigured, match="PostgreSQL"):
        runner.instance()
    _install(home)
    monkeypatch.delenv("TRANQUILLITE_DAGSTER_PG_URL")
    with pytest.raises(runner.InstanceMisconfigured, match="TRANQUILLITE_DAGSTER_PG_URL"):
        runner.instance()


def test_a_materialisation_is_recorded_in_postgresql(home, production):
    from tranquillite.definitions import build_defs

    _install(home)
    generate(home, start=FIRST, days=2, seed=3, scale=0.2)
    inst = runner.instance()
    assert type(inst.run_storage).__module__.startswith("dagster_postgres")
    assert type(inst.event_log_storage).__module__.startswith("dagster_postgres")
    assert type(inst.schedule_storage).__module__.startswith("dagster_postgres")
    assert isinstance(inst.run_coordinator, dg.QueuedRunCoordinator)
    outcomes = runner.materialize(build_defs(), FIRST, date(2025, 3, 4), instance_=inst, forecast=False)
    assert outcomes and all(o.success for o in outcomes), [(o.job, o.reason, o.failed_checks) for o in outcomes]
    # the runs and their materialisations are rows of the PostgreSQL database, not SQLite files
    with psycopg2.connect(production) as con, con.cursor() as cur:
        cur.execute("SELECT count(*) FROM runs WHERE status = 'SUCCESS'")
        assert cur.fetchone()[0] == len(outcomes)
        cur.execute("SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'")
        assert cur.fetchone()[0] > 0
    assert not list((home / "dagster").glob("**/*.db"))
    assert inst.get_latest_materialization_event(dg.AssetKey(["clean", "events"])) is not None
