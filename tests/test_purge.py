"""Quarantined personal data kept only as long as the DPO sets (issue #9, C2): a real Dagster run of
the purge job on a real ingested home; every purge recorded without content; the ledger stays whole."""

from __future__ import annotations

from datetime import date

import dagster as dg
import polars as pl
import pytest

from tests.factories import VALID, landing_file, write_csv
from tranquillite import retention as R
from tranquillite import runner
from tranquillite.app_core import store
from tranquillite.definitions import build_defs
from tranquillite.jobs import PURGE_JOB
from tranquillite.resources.warehouse import open_catalog
from tranquillite.sensors.schedules import PURGE_SCHEDULE
from tranquillite.settings import paths
from tranquillite.summary import quarantine_vs_injected

DAYS = ["2025-03-07", "2025-03-08"]


@pytest.fixture
def ingested(home, landing):
    for day in DAYS:
        rows = [
            {**VALID["interventions"], "N° intervention": f"INT-{day}-ok"},
            {
                **VALID["interventions"],
                "N° intervention": f"INT-{day}-pii",
                "Observations": "Rappeler Mme Martin au 06 12 34 56 78",
            },
            {**VALID["interventions"], "N° intervention": f"INT-{day}-date", "Début": "hier soir"},
        ]
        write_csv(landing_file(landing, "interventions", day), "interventions", rows)
    defs = build_defs()
    instance = runner.instance()
    outcomes = runner.materialize(defs, date(2025, 3, 7), date(2025, 3, 8), instance, forecast=False)
    assert all(o.success for o in outcomes), outcomes
    return defs, instance


def _purge(defs, instance) -> dg.ExecuteInProcessResult:
    res = defs.resolve_job_def(PURGE_JOB).execute_in_process(
        instance=instance, run_config=runner.QUIET, raise_on_error=False
    )
    assert res.success
    return res


def _quarantine() -> pl.DataFrame:
    return pl.read_parquet(str(paths().warehouse / "quarantine" / "interventions" / "*.parquet"))


def test_personal_data_past_the_retention_is_purged_and_recorded(ingested):
    defs, instance = ingested
    before = _quarantine()
    assert before.height == 4
    store.init_store()
    with store.connect() as con:
        R.set_days(con, 30, "demo.dpo")
    _purge(defs, instance)
    after = _quarantine()
    # the personal data is gone, the other rejects stay whole
    assert after.get_column("record_id").sort().to_list() == ["INT-2025-03-07-date", "INT-2025-03-08-date"]
    assert not any("06 12 34 56 78" in r for r in after.get_column("raw").to_list())
    with open_catalog(paths().warehouse / "catalog.duckdb") as con:
        log = con.execute(
            "SELECT source, partition, records, retention_days FROM governance.quarantine_purges ORDER BY partition"
        ).fetchall()
        cols = [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'quarantine_purges'"
            ).fetchall()
        ]
        reasons = dict(con.execute("SELECT reason, records FROM governance.quarantine_reasons").fetchall())
        ledger_ok = con.execute("SELECT sum(unbalanced_partitions) FROM governance.data_quality").fetchall()[0][0]
    assert log == [("interventions", d, 1, 30) for d in DAYS]
    assert "raw" not in cols and "reasons" not in cols  # when, where, how many: never the content
    assert reasons == {"date_invalide": 2}
    assert ledger_ok == 0
    checks = {
        ck.name: instance.get_latest_asset_check_evaluation_record(ck)
        for ck in defs.resolve_asset_graph().asset_check_keys
        if ck.asset_key.path == ["governance", "data_quality"]
    }
    assert checks["aucune_perte"].status.value == "SUCCEEDED"
    # the ledger stays explainable: the purged records are counted, once, by their identity
    purged = pl.read_parquet(paths().warehouse / "governance" / R.PURGED_TABLE / "data.parquet")
    assert R.purged_counts(purged).rows() == [("interventions", d, 1) for d in DAYS]
    found = quarantine_vs_injected(paths())
    assert dict(found.select("kind", "found").iter_rows()) == {
        "date_invalide": 2,
        "doublon_exact": 0,
        "donnee_personnelle": 2,
    }
    # a second purge finds nothing new and counts nothing twice
    _purge(defs, instance)
    purged = pl.read_parquet(paths().warehouse / "governance" / R.PURGED_TABLE / "data.parquet")
    assert R.purged_counts(purged).get_column("purged").to_list() == [1, 1]


def test_records_younger_than_the_retention_are_kept(ingested):
    defs, instance = ingested
    store.init_store()
    with store.connect() as con:
        R.set_days(con, 3650, "demo.dpo")
    _purge(defs, instance)
    assert _quarantine().height == 4
    with open_catalog(paths().warehouse / "catalog.duckdb") as con:
        assert con.execute("SELECT count(*) FROM governance.quarantine_purges").fetchall()[0][0] == 0


def test_retention_is_validated_and_append_only(home):
    store.init_store()
    with store.connect() as con:
        assert R.current(con)["days"] == R.DEFAULT_DAYS
        for bad in (0, -3, 4000, 7.5, "30", True):
            with pytest.raises(R.RetentionError):
                R.set_days(con, bad, "demo.dpo")
        R.set_days(con, 45, "demo.dpo")
        assert R.current(con)["days"] == 45 and R.retention_days() == 45
        with pytest.raises(Exception, match="ajout seul"):
            con.execute("UPDATE quarantine_retention SET days = 1")
        with pytest.raises(Exception, match="ajout seul"):
            con.execute("DELETE FROM quarantine_retention")


def test_the_purge_runs_every_night(home):
    sched = build_defs().resolve_schedule_def(PURGE_SCHEDULE)
    assert sched.job_name == PURGE_JOB and sched.cron_schedule == "15 3 * * *"
    assert sched.execution_timezone == "Europe/Paris" and sched.default_status == dg.DefaultScheduleStatus.RUNNING
