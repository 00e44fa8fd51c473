"""Production profile (issue 14): with TRANQUILLITE_ENV=production, Dagster's runs, event log and
schedules live in a real PostgreSQL server (dagster-postgres) configured by the committed
`deploy/dagster.yaml`, which the CLI never writes; a real materialisation goes through it — the
whole chain: ingestion, publication, the weekly training (backtest, champion, models in service),
the daily forecast, the indicators — and a backup of the deployment (PostgreSQL dump, app store,
warehouse, models) restores into a new home and an empty database with the same runs, tables and
access log, where the daily forecast runs again from the restored models."""

from __future__ import annotations

import shutil
from datetime import date

import dagster as dg
import psycopg2
import pytest

from tests.pg import create_database, postgres_server
from tests.factories import SMALL_FORECAST
from tranquillite import backup, runner
from tranquillite.jobs import PREVISION_JOB, TRAINING_JOB
from tranquillite.synthetic import generate

FIRST, LAST = date(2025, 3, 3), date(2025, 3, 30)  # 4 weeks: the small backtest's two origins
CHAIN = ["ingestion_quotidienne", "publication", TRAINING_JOB, PREVISION_JOB, "indicateurs"]


@pytest.fixture(scope="module")
def server():
    with postgres_server() as url:
        yield url


def _install(home):
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    shutil.copy(runner.PRODUCTION_INSTANCE, home / "dagster" / "dagster.yaml")


def _production(mp: pytest.MonkeyPatch, home, url, app_url: str | None = None) -> None:
    mp.setenv("TRANQUILLITE_HOME", str(home))
    mp.setenv("DAGSTER_HOME", str(home / "dagster"))
    mp.setenv("TRANQUILLITE_ENV", "production")
    mp.setenv("TRANQUILLITE_DAGSTER_PG_URL", url)
    if app_url:  # the app's store on PostgreSQL too (required in production)
        mp.setenv("TRANQUILLITE_APP_DB_URL", app_url)


def _runs(url: str) -> list[tuple]:
    with psycopg2.connect(backup._libpq_url(url)) as con, con.cursor() as cur:
        cur.execute("SELECT run_id, status FROM runs ORDER BY run_id")
        return cur.fetchall()


@pytest.fixture(scope="module")
def deployed(server, tmp_path_factory):
    """A production home: four weeks ingested, published, trained, forecast and indicated through
    PostgreSQL."""
    from tranquillite.app_core import store
    from tranquillite.definitions import build_defs

    home, url = tmp_path_factory.mktemp("prod"), create_database(server, "dagster_prod")
    app_url = create_database(server, "app_prod")
    with pytest.MonkeyPatch.context() as mp:
        _production(mp, home, url, app_url)
        _install(home)
        generate(home, start=FIRST, days=(LAST - FIRST).days + 1, seed=3, scale=0.2)
        inst = runner.instance()
        outcomes = runner.materialize(build_defs(), FIRST, LAST, instance_=inst, forecast_settings=SMALL_FORECAST)
        with store.connect() as con:
            store.log_access(con, login="admin", profile="administrateur", page="carte")
        yield {"home": home, "url": url, "app_url": app_url, "instance": inst, "outcomes": outcomes, "server": server}


def test_production_refuses_a_missing_or_local_instance(tmp_path, server, monkeypatch):
    _production(monkeypatch, tmp_path, create_database(server, "dagster_refus"))
    with pytest.raises(runner.InstanceMisconfigured, match="dagster.yaml manque"):
        runner.instance()
    assert not (tmp_path / "dagster" / "dagster.yaml").exists()  # never written in production
    runner.install_instance_config(tmp_path / "dagster")  # the development (SQLite) template
    with pytest.raises(runner.InstanceMisconfigured, match="PostgreSQL"):
        runner.instance()
    _install(tmp_path)
    monkeypatch.delenv("TRANQUILLITE_DAGSTER_PG_URL")
    with pytest.raises(runner.InstanceMisconfigured, match="TRANQUILLITE_DAGSTER_PG_URL"):
        runner.instance()


def test_a_materialisation_is_recorded_in_postgresql(deployed):
    inst, outcomes = deployed["instance"], deployed["outcomes"]
    assert type(inst.run_storage).__module__.startswith("dagster_postgres")
    assert type(inst.event_log_storage).__module__.startswith("dagster_postgres")
    assert type(inst.schedule_storage).__module__.startswith("dagster_postgres")
    assert isinstance(inst.run_coordinator, dg.QueuedRunCoordinator)
    # the event log keeps its connection (dagster-postgres' default opens one per statement)
    assert type(inst.event_log_storage._engine.pool).__name__ == "QueuePool"
    assert [o.job for o in outcomes] == CHAIN
    assert all(o.success for o in outcomes), [(o.job, o.reason, o.failed_checks) for o in outcomes]
    # the runs and their materialisations are rows of the PostgreSQL database, not SQLite files
    assert [s for _, s in _runs(deployed["url"])] == ["SUCCESS"] * len(outcomes)
    with psycopg2.connect(backup._libpq_url(deployed["url"])) as con, con.cursor() as cur:
        cur.execute("SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'")
        assert cur.fetchone()[0] > 0
    assert not list((deployed["home"] / "dagster").glob("**/*.db"))
    assert inst.get_latest_materialization_event(dg.AssetKey(["clean", "events"])) is not None
    # the training's and the forecast's materialisations too (their metadata went through PostgreSQL)
    for key in (["models", "backtest"], ["models", "model_registry"], ["models", "forecast"]):
        event = inst.get_latest_materialization_event(dg.AssetKey(key))
        assert event is not None and event.asset_materialization.metadata, key
    assert list((deployed["home"] / "models").glob("*/*/*/meta.json"))


def test_a_backup_restores_into_a_new_home_and_database(deployed, tmp_path, monkeypatch):
    from tranquillite.app_core import store

    home, url = deployed["home"], deployed["url"]
    with monkeypatch.context() as mp:
        _production(mp, home, url, deployed["app_url"])
        manifest = backup.backup(tmp_path / "sauvegarde")
    assert manifest["base_dagster"] and "dagster.dump" in manifest["fichiers"]
    # the app's store is its PostgreSQL database's dump, no SQLite file anywhere
    assert manifest["base_application"] and "application.dump" in manifest["fichiers"]
    assert not any(f.endswith(".sqlite") for f in manifest["fichiers"])
    assert any(f.startswith("home/warehouse/") for f in manifest["fichiers"])
    # a tampered backup is refused before anything is restored
    parquet = next(f for f in manifest["fichiers"] if f.endswith(".parquet"))
    victim = tmp_path / "sauvegarde" / parquet
    original = victim.read_bytes()
    victim.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(backup.BackupError, match="modifiés"):
        backup.verify(tmp_path / "sauvegarde")
    victim.write_bytes(original)

    new_home, new_url = tmp_path / "restaure", create_database(deployed["server"], "dagster_restaure")
    _production(monkeypatch, new_home, new_url)
    monkeypatch.delenv("TRANQUILLITE_APP_DB_URL")
    with pytest.raises(backup.BackupError, match="TRANQUILLITE_APP_DB_URL"):  # the app's database is needed
        backup.restore(tmp_path / "sauvegarde")
    _production(monkeypatch, new_home, new_url, deployed["app_url"])
    with pytest.raises(backup.BackupError, match="pas vide"):  # and it must be a new one
        backup.restore(tmp_path / "sauvegarde")
    _production(monkeypatch, new_home, new_url, create_database(deployed["server"], "app_restaure"))
    backup.restore(tmp_path / "sauvegarde")
    assert _runs(new_url) == _runs(url)
    warehouse = sorted(p.relative_to(home) for p in (home / "warehouse").rglob("*") if p.is_file())
    assert warehouse and warehouse == sorted(
        p.relative_to(new_home) for p in (new_home / "warehouse").rglob("*") if p.is_file()
    )
    assert all((home / p).read_bytes() == (new_home / p).read_bytes() for p in warehouse)
    with store.connect() as con:
        assert [r["page"] for r in store.access_log(con, login="admin")] == ["carte"]
        assert store.verify_access_log(con)[0]
    inst = runner.instance()
    assert inst.get_latest_materialization_event(dg.AssetKey(["clean", "events"])) is not None
    # the restored deployment forecasts the next day from the restored models, without training
    from tranquillite.definitions import build_defs

    before = inst.get_latest_materialization_event(dg.AssetKey(["models", "forecast"]))
    daily = runner.run_job(build_defs(), PREVISION_JOB, LAST, LAST, forecast_settings=SMALL_FORECAST)
    assert daily.success, (daily.reason, daily.failed_checks)
    after = inst.get_latest_materialization_event(dg.AssetKey(["models", "forecast"]))
    assert before is not None and after.run_id == daily.run_id != before.run_id
    assert (daily.run_id, "SUCCESS") in _runs(new_url)  # recorded in the restored database
    # a second restore over a home that holds files is refused
    with pytest.raises(backup.BackupError, match="déjà des fichiers"):
        backup.restore(tmp_path / "sauvegarde")
