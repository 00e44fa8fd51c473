"""Real Dagster materialisations in a temporary instance, on real Parquet and DuckDB files."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from tests.factories import VALID, VALID_CORTEGE, landing_file, write_csv, write_json
from tranquillite import runner
from tranquillite.assets import constants as K
from tranquillite.definitions import build_defs
from tranquillite.jobs import INGEST_JOB
from tranquillite.resources.warehouse import open_catalog
from tranquillite.settings import paths

REPO = Path(__file__).resolve().parent.parent
DAYS = ["2025-03-07", "2025-03-08", "2025-03-09"]


def _populate(landing):
    for i, day in enumerate(DAYS):
        good = [{**VALID["interventions"], "N° intervention": f"INT-{day}-{k}"} for k in range(5)]
        bad = {**VALID["interventions"], "N° intervention": f"INT-{day}-bad", "Début": "hier"}
        write_csv(landing_file(landing, "interventions", day), "interventions", [*good, bad, good[0]])
        write_csv(
            landing_file(landing, "signalements", day),
            "signalements",
            [{**VALID["signalements"], "N° signalement": f"SIG-{day}"}],
        )
        entries = [{**e, "id": f"{e['id']}-{i}"} for e in VALID_CORTEGE.values()]
        write_json(landing_file(landing, "cortege", day), entries)


def _checks(defs, instance) -> dict[str, bool]:
    """Latest result of every check of the graph (None: never evaluated)."""
    out = {}
    for ck in defs.resolve_asset_graph().asset_check_keys:
        rec = instance.get_latest_asset_check_evaluation_record(ck)
        out[f"{ck.asset_key.to_user_string()}:{ck.name}"] = None if rec is None else rec.status.value == "SUCCEEDED"
    return out


@pytest.fixture
def materialized(home, landing):
    _populate(landing)
    defs = build_defs()
    instance = runner.instance()
    outcomes = runner.materialize(defs, date(2025, 3, 7), date(2025, 3, 9), instance)
    return defs, instance, outcomes


def test_whole_graph_materialises_and_every_check_passes(materialized):
    defs, instance, outcomes = materialized
    assert [o.job for o in outcomes] == [
        "ingestion_quotidienne",
        "publication",
        "entrainement_hebdomadaire",
        "prevision",
        "indicateurs",
    ]
    assert all(o.success for o in outcomes), outcomes
    checks = _checks(defs, instance)
    ran = {k: v for k, v in checks.items() if v is not None}
    assert ran and all(ran.values()), {k: v for k, v in ran.items() if not v}
    # every check of the graph ran: ingestion, publication, forecasting and indicators — except
    # those of the sources with no landing file, left out of the ingestion run (#13)
    from tranquillite.jobs import source_selection

    idle = {"alertes_videoprotection", "evenements_publics", "incidents"}
    skipped = {k.to_user_string() for s in idle for k in source_selection(s)}
    assert {k for k, v in checks.items() if v is None} == {k for k in checks if k.split(":")[0] in skipped}
    assert not (paths().warehouse / "raw" / "incidents").exists()
    assert checks["quarantine/interventions:aucune_perte"] is True
    with open_catalog(paths().warehouse / "catalog.duckdb") as con:
        per_source = dict(con.execute("SELECT source, count(*) FROM clean.events GROUP BY 1").fetchall())
        assert per_source == {
            "interventions": 15,
            "signalements": 3,
            "manifestation_deambulatoire": 3,
            "manifestation_statique": 3,
            "operation_programmee": 3,
            "visite_officielle": 3,
        }
        q = con.execute("SELECT source, reason, records FROM governance.quarantine_reasons").fetchall()
        assert q == [("interventions", "date_invalide", 3)]
        ledger = con.execute(
            'SELECT sum("read"), sum(clean), sum(quarantined), sum(duplicates) '
            "FROM governance.ingestion_ledger WHERE source = 'interventions'"
        ).fetchall()[0]
        assert ledger == (21, 15, 3, 3)
        quarantined = con.execute(
            "SELECT source, partition, file, line, record_id, reasons FROM governance.quarantine ORDER BY partition"
        ).fetchall()
        assert [(r[0], r[1], r[4], r[5]) for r in quarantined] == [
            ("interventions", d, f"INT-{d}-bad", ["date_invalide:debut"]) for d in DAYS
        ]
        conv = dict(con.execute("SELECT source, any_value(convention) FROM clean.events GROUP BY 1").fetchall())
        assert conv["interventions"] == "internal" and conv["visite_officielle"] == "prefecture_police_13"
    _assert_columns_described(defs, instance)


def _parquet_columns(defs, key: dg.AssetKey) -> list[str] | None:
    """Columns of the Parquet file(s) of an asset (`warehouse/<group>/<name>[.parquet|/…]`, or its
    declared `table` shared by several assets), if any."""
    table = defs.resolve_asset_graph().get(key).metadata.get("table")
    base = paths().warehouse.joinpath(*(table.split(".") if isinstance(table, str) else key.path))
    files = (
        [base.with_suffix(".parquet")]
        if base.with_suffix(".parquet").is_file()
        else (sorted(base.rglob("*.parquet")) if base.is_dir() else [])
    )
    if not files:
        return None
    return list(pl.read_parquet_schema(files[-1]))


def _assert_columns_described(defs, instance) -> None:
    """The UI shows each table's columns with a readable type and a French description, matching
    the Parquet file's columns (issue 15) — never rows of data."""
    checked, missing, undescribed, mismatched = 0, [], [], []
    graph = defs.resolve_asset_graph()
    for key in graph.materializable_asset_keys:
        ev = instance.get_latest_materialization_event(key)
        if ev is None or key == K.CATALOG_KEY:  # the catalog is the DuckDB file of views: its tables listed
            continue
        # the materialisation's schema, or the definition's when the table has exactly its columns
        # (a daily-partitioned asset's result is not repeated on each day's event)
        schema = ev.asset_materialization.metadata.get("dagster/column_schema") or graph.get(key).metadata.get(
            "dagster/column_schema"
        )
        if schema is None:
            missing.append(key.to_user_string())
            continue
        cols = getattr(schema, "schema", schema).columns  # a metadata value, or the definition's TableSchema
        undescribed += [f"{key.to_user_string()}.{c.name}" for c in cols if not (c.description and c.type)]
        on_disk = _parquet_columns(defs, key)
        if on_disk is not None:
            checked += 1
            if sorted(c.name for c in cols) != sorted(on_disk):
                mismatched.append(key.to_user_string())
    assert (missing, undescribed, mismatched) == ([], [], [])
    assert checked >= 10, checked


def test_backfill_of_a_range_is_a_single_run(materialized):
    defs, instance, _ = materialized
    runs = instance.get_runs(dg.RunsFilter(job_name=INGEST_JOB))
    assert len(runs) == 1
    assert runs[0].tags["dagster/asset_partition_range_start"] == "2025-03-07"
    done = instance.get_materialized_partitions(K.clean_key("interventions"))
    assert done == set(DAYS)
    # the UI lists it under Backfills (not as a "Manually launched" run): one backfill per chain
    # step covering partitions, with its range, its status and its run (issue 15)
    from dagster._core.execution.backfill import BulkActionStatus

    bfs = {b.tags["tranquillite/job"]: b for b in instance.get_backfills()}
    assert set(bfs) == {"ingestion_quotidienne", "entrainement_hebdomadaire", "prevision"}
    ingest = bfs["ingestion_quotidienne"]
    assert runs[0].tags["dagster/backfill"] == ingest.backfill_id
    assert ingest.status == BulkActionStatus.COMPLETED_SUCCESS and ingest.is_asset_backfill
    parts = ingest.asset_backfill_data.target_subset.get_partitions_subset(K.clean_key("interventions"))
    assert sorted(parts.get_partition_keys()) == DAYS
    assert ingest.asset_backfill_data.materialized_subset == ingest.asset_backfill_data.target_subset
    assert [r.run_id for r in instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": ingest.backfill_id}))] == [
        runs[0].run_id
    ]
    assert "2025-03-07" in ingest.title and "2025-03-09" in ingest.title
    forecast = bfs["prevision"].asset_backfill_data.target_subset.get_partitions_subset(K.OBSERVED_COUNTS_KEY)
    assert sorted(forecast.get_partition_keys()) == ["2025-03-09"]


def test_rerun_is_idempotent(materialized):
    defs, instance, _ = materialized
    wh = paths().warehouse
    before = pl.read_parquet(wh / "clean" / "events" / "data.parquet")
    q_before = pl.read_parquet(str(wh / "quarantine" / "interventions" / "*.parquet"))
    runner.materialize(defs, date(2025, 3, 7), date(2025, 3, 9), instance)
    runner.materialize(defs, date(2025, 3, 8), date(2025, 3, 8), instance)
    after = pl.read_parquet(wh / "clean" / "events" / "data.parquet")
    assert after.equals(before)
    assert pl.read_parquet(str(wh / "quarantine" / "interventions" / "*.parquet")).equals(q_before)


def test_changed_partition_is_replaced_not_appended(materialized, landing):
    defs, instance, _ = materialized
    write_csv(
        landing_file(landing, "interventions", "2025-03-08"),
        "interventions",
        [{**VALID["interventions"], "N° intervention": "INT-only"}],
    )
    runner.materialize(defs, date(2025, 3, 8), date(2025, 3, 8), instance)
    with open_catalog(paths().warehouse / "catalog.duckdb") as con:
        ids = [
            r[0]
            for r in con.execute(
                "SELECT record_id FROM clean.events WHERE source = 'interventions' AND _partition = '2025-03-08'"
            ).fetchall()
        ]
        assert ids == ["INT-only"]
        assert con.execute("SELECT count(*) FROM clean.events WHERE source = 'interventions'").fetchall()[0][0] == 11


def test_readers_are_never_blocked_by_a_materialisation(materialized):
    defs, instance, _ = materialized
    cat = paths().warehouse / "catalog.duckdb"
    held = open_catalog(cat)  # a reader that stays open during the whole rebuild
    errors: list[Exception] = []
    counts: list[int] = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                with open_catalog(cat) as con:
                    counts.append(con.execute("SELECT count(*) FROM clean.events").fetchall()[0][0])
            except Exception as exc:  # noqa: BLE001 - any error is a failure of the design
                errors.append(exc)

    t = threading.Thread(target=reader)
    t.start()
    try:
        outcomes = runner.materialize(defs, date(2025, 3, 7), date(2025, 3, 9), instance)
    finally:
        stop.set()
        t.join()
    assert all(o.success for o in outcomes)
    assert errors == [] and counts and set(counts) == {30}
    assert held.execute("SELECT count(*) FROM clean.events").fetchall()[0][0] == 30
    held.close()
    with pytest.raises(duckdb.Error):  # and the catalog is read-only for readers
        with open_catalog(cat) as con:
            con.execute("CREATE TABLE clean.x AS SELECT 1")


def test_blocking_check_stops_publication_when_a_record_is_lost(home, landing, monkeypatch):
    _populate(landing)
    import tranquillite.assets.clean as clean_mod

    real = clean_mod.validate

    def lossy(raw, contracts, **kw):
        out = real(raw, contracts, **kw)
        name = next(iter(out.clean))
        out.clean[name] = out.clean[name].head(max(out.clean[name].height - 1, 0))  # a record vanishes
        return out

    monkeypatch.setattr(clean_mod, "validate", lossy)
    defs = build_defs()
    instance = runner.instance()
    outcomes = runner.materialize(defs, date(2025, 3, 7), date(2025, 3, 9), instance)
    ran = [o.job for o in outcomes if not o.skipped]
    assert ran == ["ingestion_quotidienne"]  # nothing published after the failure
    assert [o.job for o in outcomes if o.skipped] == [
        "publication",
        "entrainement_hebdomadaire",
        "prevision",
        "indicateurs",
    ]
    assert not outcomes[0].success
    assert "quarantine/interventions:aucune_perte" in outcomes[0].failed_checks
    assert not (paths().warehouse / "catalog.duckdb").exists()


def test_definitions_validate_from_the_workspace(home):
    runner.instance()  # creates $DAGSTER_HOME
    res = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Validation successful" in (res.stdout + res.stderr)
