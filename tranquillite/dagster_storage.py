"""Dagster's SQLite event log with its index connection kept open (the local instance's storage).

Dagster's `SqliteEventLogStorage` builds a new SQLAlchemy engine for every statement it runs: a
new `sqlite3` connection, and every INSERT compiled again (the compiled cache belongs to the
engine). A partitioned run records one materialisation per asset and day — 10,220 for a year of
ingestion, four connections each — so a year's ingestion spent three quarters of its time there.
This storage keeps one engine with one open connection per database file (the index, written
for every asset event, and the few runs being written), so each statement is compiled once.
Two things Dagster's relied on are kept:

* the UI follows a run's log by watching `<run>.db`, which Dagster's closing of each connection
  updated (the WAL written back): after a write to a run's file, its WAL is checkpointed;
* no connection outlives its file: a file deleted or replaced (`wipe`, a restore, another
  process) is noticed by its inode, and the file created again as Dagster would.

A range run's materialisations of one output (one per day) reach the storage as one batch when
`DAGSTER_EVENT_BATCH_SIZE` is set (`runner.instance` sets it): Dagster's SQLite storage then still
wrote them one by one, two transactions each and the asset's entry serialised again each time; here
a batch is one transaction per file, the entry updated once (same rows, tested).

Behaviour is otherwise Dagster's: same files (`history/runs/*.db`), schema and lock. Production
keeps its history in PostgreSQL (`deploy/dagster.yaml`).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import groupby

import dagster._check as check
from dagster import Field, StringSource
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.events import DagsterEventType
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._serdes import serialize_value
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool, StaticPool

ENGINES_KEPT = 4  # the index and the runs being written (a run writes to its own file)
SQLITE_BUSY_TIMEOUT_SECONDS = 30


_BATCHED = frozenset(
    {
        DagsterEventType.ASSET_MATERIALIZATION,
        DagsterEventType.ASSET_OBSERVATION,
        DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
    }
)


def _batched(event) -> bool:  # noqa: ANN001 - Dagster's type
    return event.is_dagster_event and event.dagster_event_type in _BATCHED and event.dagster_event.asset_key is not None


def _events_directory() -> str:
    """Where Dagster's default SQLite storage keeps the event log of `$DAGSTER_HOME`."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise check.CheckError("DAGSTER_HOME n'est pas défini: l'instance Dagster locale n'a pas de dossier")
    return os.path.join(home, "history", "runs")


class LocalSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` that reuses one engine per file, the index's connection kept open."""

    def __init__(self, base_dir: str | None = None, inst_data=None):  # noqa: ANN001 - Dagster's type
        self._engines: OrderedDict[str, tuple[Engine, int | None]] = OrderedDict()  # shard → engine, inode
        self._tables: set[str] = set()  # index tables seen: a table, once created, stays
        self._inherited: list[OrderedDict] = []
        self._pid = os.getpid()
        super().__init__(base_dir or _events_directory(), inst_data=inst_data)

    @classmethod
    def config_type(cls) -> dict:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> LocalSqliteEventLogStorage:  # noqa: ANN001
        return cls(inst_data=inst_data, **dict(config_value or {}))

    def _inode(self, shard: str) -> int | None:
        try:
            return os.stat(self.path_for_shard(shard)).st_ino
        except FileNotFoundError:
            return None

    def _engine(self, shard: str) -> Engine:
        kept = self._engines.get(shard)
        if kept is not None:
            self._engines.move_to_end(shard)
            return kept[0]
        # one connection, kept; the storage's lock makes threads take turns on it
        engine = create_engine(
            self.conn_string_for_shard(shard),
            poolclass=StaticPool,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )
        self._engines[shard] = (engine, self._inode(shard))
        while len(self._engines) > ENGINES_KEPT:
            oldest = next(k for k in self._engines if k != INDEX_SHARD_NAME)
            self._engines.pop(oldest)[0].dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            check.str_param(shard, "shard")
            if self._pid != os.getpid():
                # a forked child: the parent's connections are not its own, and closing them here
                # would close the parent's; they are left alone (kept referenced, never used)
                self._inherited.append(self._engines)
                self._engines = OrderedDict()
                self._pid = os.getpid()
            kept = self._engines.get(shard)
            if kept is not None and (shard not in self._initialized_dbs or kept[1] != self._inode(shard)):
                # wiped, or the file deleted or replaced under the connection (a restore, another
                # process): forget the connection, and create the file again as Dagster would
                self._engines.pop(shard)[0].dispose()
                self._initialized_dbs.discard(shard)
            if shard not in self._initialized_dbs:  # first use, or after a wipe
                # Dagster's own creation (nested connections: not on the one-connection engine)
                init = create_engine(
                    self.conn_string_for_shard(shard),
                    poolclass=NullPool,
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                )
                self._initdb(init)
                init.dispose()
                self._initialized_dbs.add(shard)
            engine = self._engine(shard)
            with engine.connect() as conn:
                raw = conn.connection.dbapi_connection
                changes = raw.total_changes
                with conn.begin():
                    yield conn
                if shard != INDEX_SHARD_NAME and raw.total_changes != changes:
                    # the UI's watcher of a run's log is woken by `<run>.db` (Dagster closed its
                    # connection, which wrote the WAL back): the committed write is copied there now
                    raw.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _store_asset_check_evaluation_planned(self, event, event_id: int | None) -> None:  # noqa: ANN001
        """Dagster's rows (one per planned partition), with the event serialised once for all of
        them and inserted as one `executemany`: Dagster serialises the same event again for every
        day of the range (a year of `clean_cortege`, 17 checks × 365 days: 3.5 s of its 47)."""
        planned = check.not_none(event.dagster_event).event_specific_data
        keys = planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
        row = {
            "asset_key": planned.asset_key.to_string(),
            "check_name": planned.check_name,
            "run_id": event.run_id,
            "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
            "evaluation_event": serialize_value(event),
            "evaluation_event_timestamp": self._event_insert_timestamp(event),
            "evaluation_event_storage_id": event_id,
        }
        with self.index_connection() as conn:
            conn.execute(AssetCheckExecutionsTable.insert(), [{**row, "partition": k} for k in keys])

    def store_event_batch(self, events) -> None:  # noqa: ANN001 - Dagster's type
        """A batch Dagster hands over (the materialisations of one output over a range of days, the
        planned events of a run; `DAGSTER_EVENT_BATCH_SIZE`) written in one transaction per file
        instead of two per event; events that are not asset events are stored one by one, in order."""
        for (batched, _), run in groupby(events, key=lambda e: (_batched(e), e.run_id)):
            if batched:
                self._store_asset_events(list(run))
            else:
                for event in run:
                    self.store_event(event)

    def _store_asset_events(self, events) -> None:  # noqa: ANN001 - Dagster's type
        """What `store_event` does for each asset event, for a run's consecutive asset events at
        once: the rows inserted together in the run's file and mirrored in the index, their tags,
        and the asset's entry updated by the last event of each kind (each update overwrites the
        previous one's columns, so the last of each kind, in order, leaves the same entry)."""
        rows = [self._event_to_row(e) for e in events]
        table = SqlEventLogStorageTable
        insert = table.insert().returning(table.c.id, sort_by_parameter_order=True)
        run_id = events[0].run_id
        with self.run_connection(run_id) as conn:
            in_run = [r[0] for r in conn.execute(insert, rows)]
        try:
            with self.index_transaction() as conn:
                ids = [r[0] for r in conn.execute(insert, rows)]
                self._store_asset_event_tags(conn, events, ids)
                last: dict = {}
                for n, (e, event_id) in enumerate(zip(events, ids)):
                    last[(e.dagster_event.asset_key, e.dagster_event_type)] = (n, e, event_id)
                for _, e, event_id in sorted(last.values(), key=lambda t: t[0]):
                    self._store_asset_event(conn, e, event_id)
        except Exception:
            # Dagster stores a failed batch again event by event: the run's rows go first (the
            # index's transaction was rolled back), or they would be there twice
            with self.run_connection(run_id) as conn:
                conn.execute(table.delete().where(table.c.id.in_(in_run)))
            raise

    def has_table(self, table_name: str) -> bool:
        """Dagster asks, on every materialisation, whether the index has its optional tables
        (a new engine and a schema query each time); a table seen once is remembered."""
        if table_name in self._tables:
            return True
        present = super().has_table(table_name)
        if present:
            self._tables.add(table_name)
        return present

    def _close_all(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1][0].dispose()

    def wipe(self) -> None:
        self._close_all()
        super().wipe()

    def dispose(self) -> None:
        self._close_all()
        super().dispose()
