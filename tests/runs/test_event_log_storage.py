"""The local instance's event log (tranquillite/dagster_storage.py): Dagster's SQLite event log with
its connections kept open. A range run records one materialisation per asset and day; Dagster's
own storage opened four SQLite connections for each (issue 14: three quarters of a year's
ingestion). Same files, same records: Dagster's own storage reads what it wrote."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter

import dagster as dg
import pytest
import sqlalchemy
from dagster._check import CheckError
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from sqlalchemy import event

from tranquillite import runner
from tranquillite.dagster_storage import ENGINES_KEPT, LocalSqliteEventLogStorage

DAYS = dg.DailyPartitionsDefinition(start_date="2025-01-01", end_date="2025-02-01")


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def days_seen(context) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"partitions": len(context.partition_keys)})


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run(), deps=[days_seen])
def days_kept(context) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"partitions": len(context.partition_keys)})


class _PerFile:
    """SQLAlchemy's `connect` or `commit` events on the SQLite files under `root` while the block
    runs, per file name: the connections opened, or the transactions committed."""

    def __init__(self, root: str, what: str):
        self.root, self.what, self.count = root, what, Counter()

    def _on(self, first, *_):  # noqa: ANN001 - SQLAlchemy callback: (DBAPI connection, record) or (Connection)
        raw = first if self.what == "connect" else first.connection.dbapi_connection
        if type(raw).__module__.startswith("sqlite3"):
            path = raw.execute("PRAGMA database_list").fetchall()[0][2]
            if path.startswith(self.root):
                self.count[os.path.basename(path)] += 1

    def __enter__(self):
        event.listen(sqlalchemy.engine.Engine, self.what, self._on)
        return self

    def __exit__(self, *exc):
        event.remove(sqlalchemy.engine.Engine, self.what, self._on)


def _materialise(assets, instance: dg.DagsterInstance, first: str, last: str) -> dg.ExecuteInProcessResult:
    """One run over a range of days (the tags `tranquillite materialize` gives its runs)."""
    return dg.materialize(
        assets,
        instance=instance,
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
    )


def _materialise_january(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return _materialise([days_seen, days_kept], instance, "2025-01-01", "2025-01-31")


def test_the_local_instance_keeps_its_history_where_dagster_does(home):
    inst = runner.instance()
    storage = inst.event_log_storage
    assert isinstance(storage, LocalSqliteEventLogStorage)
    assert storage._base_dir == str(home / "dagster" / "history" / "runs")
    assert inst.event_log_storage.get_pool_config().default_pool_limit == 1  # pools: still the template's


def test_a_range_run_opens_a_few_connections_not_four_per_partition(home):
    inst = runner.instance()
    with _PerFile(str(home / "dagster"), "connect") as seen:
        assert _materialise_january(inst).success
    # 2 assets × 31 days = 62 materialisations: Dagster's own storage opened 357 connections (the
    # index ~4 times for each); this one opens each file's once (+ Dagster's creation of a new file)
    assert seen.count["index.db"] <= 3, seen.count
    events = {f: n for f, n in seen.count.items() if f != "runs.db"}  # runs.db: the run storage
    assert sum(events.values()) < 20, seen.count
    keys = inst.get_materialized_partitions(days_kept.key)
    assert len(keys) == 31


def test_dagster_reads_what_it_wrote_and_another_process_sees_each_write_at_once(home):
    inst = runner.instance()
    base = inst.event_log_storage._base_dir
    assert _materialise_january(inst).success
    plain = SqliteEventLogStorage(base)  # Dagster's own class, as an older install would read
    for key in (days_seen.key, days_kept.key):
        mine = inst.event_log_storage.fetch_materializations(key, limit=100).records
        theirs = plain.fetch_materializations(key, limit=100).records
        assert len(mine) == 31
        assert [(r.storage_id, r.partition_key) for r in mine] == [(r.storage_id, r.partition_key) for r in theirs]
        assert theirs[0].asset_materialization.metadata["partitions"] == dg.IntMetadataValue(31)
    # a second writer (another process's storage) on the same files, then the first one reads: its
    # kept connection sees the new rows (no stale snapshot)
    inst.event_log_storage.fetch_materializations(days_seen.key, limit=1)
    other = dg.DagsterInstance.get()
    assert other.event_log_storage is not inst.event_log_storage
    assert _materialise([days_seen], other, "2025-01-05", "2025-01-06").success
    assert len(inst.event_log_storage.fetch_materializations(days_seen.key, limit=100).records) == 33
    plain.dispose()


def test_it_keeps_a_bounded_number_of_open_databases_and_threads_take_turns(home):
    storage = LocalSqliteEventLogStorage(str(home / "events"))
    runs = [f"run{i}" for i in range(ENGINES_KEPT * 3)]

    def write(run_ids):
        for run_id in run_ids:
            storage.store_event(
                dg.EventLogEntry(
                    error_info=None,
                    level="INFO",
                    user_message="un message",
                    run_id=run_id,
                    timestamp=1.0,
                    step_key=None,
                    job_name="j",
                    dagster_event=None,
                )
            )

    threads = [threading.Thread(target=write, args=(runs[i::3],)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(storage._engines) <= ENGINES_KEPT
    assert {r: len(storage.get_logs_for_run(r)) for r in runs} == dict.fromkeys(runs, 1)
    storage.wipe()  # files unlinked: no connection left on them
    assert not [f for f in os.listdir(home / "events") if f.startswith("run")]
    write(["after"])
    assert len(storage.get_logs_for_run("after")) == 1
    storage.dispose()
    assert storage._engines == {}


def test_a_file_deleted_under_its_connection_is_created_again_not_written_in_the_void(home):
    """Another process wipes the history (or a restore replaces it) while this one keeps its
    connections: the next writes land in the new files, where every reader sees them."""
    mine = LocalSqliteEventLogStorage(str(home / "events"))
    other = LocalSqliteEventLogStorage(str(home / "events"))

    def write(run_id: str, text: str) -> None:
        mine.store_event(
            dg.EventLogEntry(
                error_info=None,
                level="INFO",
                user_message=text,
                run_id=run_id,
                timestamp=time.time(),
                step_key=None,
                job_name="j",
                dagster_event=None,
            )
        )

    write("r1", "avant")
    other.wipe()
    write("r1", "après")
    fresh = LocalSqliteEventLogStorage(str(home / "events"))
    assert [e.user_message for e in fresh.get_logs_for_run("r1")] == ["après"]
    for s in (mine, other, fresh):
        s.dispose()


def test_without_dagster_home_the_storage_says_what_is_missing(monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with pytest.raises(CheckError, match="DAGSTER_HOME"):
        LocalSqliteEventLogStorage()


def test_a_run_being_written_streams_to_a_watcher_in_another_process(home):
    """The UI follows a run's log by watching its file: each committed write must reach `<run>.db`
    (Dagster closed its connection, which wrote the WAL back), not stay in `<run>.db-wal`."""
    writer = LocalSqliteEventLogStorage(str(home / "events"))
    reader = LocalSqliteEventLogStorage(str(home / "events"))  # as the webserver's own storage

    def entry(i: int) -> dg.EventLogEntry:
        return dg.EventLogEntry(
            error_info=None,
            level="INFO",
            user_message=f"m{i}",
            run_id="r1",
            timestamp=time.time(),
            step_key=None,
            job_name="j",
            dagster_event=None,
        )

    writer.store_event(entry(0))
    seen: list[str] = []
    reader.watch("r1", None, lambda e, _cursor: seen.append(e.user_message))
    try:
        time.sleep(0.5)
        for i in range(1, 4):
            writer.store_event(entry(i))
            deadline = time.monotonic() + 10
            while f"m{i}" not in seen and time.monotonic() < deadline:
                time.sleep(0.05)
        assert [m for m in seen if m != "m0"] == ["m1", "m2", "m3"]
    finally:
        reader.end_watch("r1", next(iter(reader._watchers["r1"]), None))
        reader.dispose()
        writer.dispose()


@dg.asset_check(asset=days_seen, blocking=True)
def days_seen_counted() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def _planned_rows(storage) -> list[tuple]:
    from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable as T

    with storage.index_connection() as conn:
        rows = conn.execute(
            sqlalchemy.select(
                T.c.asset_key,
                T.c.check_name,
                T.c.partition,
                T.c.run_id,
                T.c.execution_status,
                T.c.evaluation_event,
                T.c.evaluation_event_timestamp,
            ).where(T.c.execution_status == "PLANNED")
        ).fetchall()
    return sorted(tuple(r) for r in rows)


def test_a_planned_check_of_a_range_is_serialised_once_and_stored_as_dagster_does(home, monkeypatch):
    """A check of a daily asset run over a range: one row per day, as Dagster's own storage writes
    them, but the event serialised once (Dagster serialises it again for each day)."""
    import dagster._core.storage.event_log.sql_event_log as dagster_sql
    import tranquillite.dagster_storage as local

    inst = runner.instance()
    result = _materialise([days_seen, days_seen_counted], inst, "2025-01-01", "2025-01-31")
    assert result.success
    planned = [
        e
        for e in inst.all_logs(result.run_id)
        if e.dagster_event and e.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION_PLANNED"
    ]
    assert len(planned) == 1
    assert [r[2] for r in _planned_rows(inst.event_log_storage)] == [f"2025-01-{d:02d}" for d in range(1, 32)]
    calls = []

    def counting(real):
        def serialize(value, *args, **kwargs):
            calls.append(type(value).__name__)
            return real(value, *args, **kwargs)

        return serialize

    monkeypatch.setattr(local, "serialize_value", counting(dagster_sql.serialize_value), raising=False)
    monkeypatch.setattr(dagster_sql, "serialize_value", counting(dagster_sql.serialize_value))
    stores = {
        "plateforme": LocalSqliteEventLogStorage(str(home / "events_local")),
        "dagster": SqliteEventLogStorage(str(home / "events_dagster")),
    }
    rows, serialised = {}, {}
    for name, storage in stores.items():
        calls.clear()
        storage.store_event(planned[0])
        serialised[name] = calls.count("EventLogEntry")
        rows[name] = _planned_rows(storage)
        storage.dispose()
    assert len(rows["plateforme"]) == 31 and rows["plateforme"] == rows["dagster"]
    # the event log's own row, and the planned rows' shared copy: not one more per day
    assert serialised["plateforme"] <= 2 and serialised["dagster"] > 31, serialised


def _table_rows(storage, shard: str, table: str) -> list[tuple]:
    """Every row of one table of one of the storage's files (`index` or a run id), in id order,
    without the database's own clock (`create_timestamp`: when the row was written)."""
    connect = storage.index_connection if shard == "index" else lambda: storage.run_connection(shard)
    with connect() as conn:
        t = sqlalchemy.Table(table, sqlalchemy.MetaData(), autoload_with=conn)
        columns = [c for c in t.c if c.name != "create_timestamp"]
        order = [t.c.id] if "id" in t.c else columns
        return [tuple(r) for r in conn.execute(sqlalchemy.select(*columns).order_by(*order)).fetchall()]


def test_a_range_runs_materialisations_are_written_as_one_batch_with_dagsters_rows(home):
    """A range run hands Dagster's event log the materialisations of an output over its days (and
    its planned events) as batches: one transaction per file instead of two per day, and the same
    rows as Dagster's own storage storing each event on its own."""
    inst = runner.instance()
    commits = {}
    for last in ("2025-01-03", "2025-01-31"):
        with _PerFile(str(home / "dagster"), "commit") as seen:
            result = _materialise([days_seen, days_kept, days_seen_counted], inst, "2025-01-01", last)
        assert result.success
        commits[last] = (seen.count["index.db"], seen.count[f"{result.run_id}.db"])
    logs = inst.all_logs(result.run_id)
    materialised = [e for e in logs if e.dagster_event and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"]
    assert len(materialised) == 62
    # Dagster's loop: a transaction on the index and one on the run's file per asset and day (3 →
    # 31 days: +56 each); here the transactions do not grow with the days
    (index_3, run_3), (index_31, run_31) = commits.values()
    assert index_31 - index_3 <= 4 and run_31 - run_3 <= 4, commits
    theirs = SqliteEventLogStorage(str(home / "events_dagster"))
    for run in reversed(inst.get_runs()):  # both runs, in order, each event on its own
        for entry in inst.all_logs(run.run_id):
            theirs.store_event(entry)
    mine = inst.event_log_storage
    for shard, table in [
        (result.run_id, "event_logs"),
        ("index", "event_logs"),
        ("index", "asset_keys"),
        ("index", "asset_event_tags"),
        ("index", "asset_check_executions"),
    ]:
        assert _table_rows(mine, shard, table) == _table_rows(theirs, shard, table), (shard, table)
    assert len(inst.get_materialized_partitions(days_kept.key)) == 31
    theirs.dispose()


def test_a_batch_whose_index_write_fails_leaves_nothing_behind_for_dagsters_retry(home, monkeypatch):
    """Dagster stores a failed batch again event by event: the run's file must not keep the
    batch's rows written before the index failed (they would be there twice)."""
    inst = runner.instance()
    result = _materialise([days_seen], inst, "2025-01-01", "2025-01-03")
    batch = [
        e
        for e in inst.all_logs(result.run_id)
        if e.dagster_event and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"
    ]
    storage = LocalSqliteEventLogStorage(str(home / "events"))

    def failing(*_args, **_kwargs):
        raise sqlalchemy.exc.OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(storage, "_store_asset_event_tags", failing)
    with pytest.raises(sqlalchemy.exc.OperationalError):
        storage.store_event_batch(batch)
    assert storage.get_logs_for_run(result.run_id) == []
    assert _table_rows(storage, "index", "event_logs") == []
    monkeypatch.undo()
    storage.store_event_batch(batch)
    assert len(storage.get_logs_for_run(result.run_id)) == 3
    assert len(storage.get_materialized_partitions(days_seen.key)) == 3
    storage.dispose()
