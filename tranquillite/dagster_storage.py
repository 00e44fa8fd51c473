"""Dagster's SQLite event log with its connections kept open (the local instance's storage).

Dagster's `SqliteEventLogStorage` builds a new SQLAlchemy engine for every statement it runs: a
new `sqlite3` connection, and every INSERT compiled again (the compiled cache belongs to the
engine). A partitioned run records one materialisation per asset and day — 10,220 for a year of
ingestion, four connections each — so a year's ingestion spent three quarters of its time there.
This storage keeps one engine per database file (the index and the few runs being written), each
with one open connection, and so compiles each statement once. Behaviour is otherwise Dagster's:
same files (`history/runs/*.db`), same schema, same locking.

Production keeps its history in PostgreSQL (`deploy/dagster.yaml`), where Dagster pools itself.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import dagster._check as check
from dagster import Field, StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool, QueuePool

ENGINES_KEPT = 4          # the index shard and the runs being written (a run writes to one shard)
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def _events_directory() -> str:
    """Where Dagster's default SQLite storage keeps the event log of `$DAGSTER_HOME`."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise check.CheckError("DAGSTER_HOME n'est pas défini: l'instance Dagster locale n'a pas de dossier")
    return os.path.join(home, "history", "runs")


class LocalSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` that reuses one engine (one connection) per shard."""

    def __init__(self, base_dir: str | None = None, inst_data=None):  # noqa: ANN001 - Dagster's type
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._tables: set[str] = set()      # index tables seen: a table, once created, stays
        self._pid = os.getpid()
        super().__init__(base_dir or _events_directory(), inst_data=inst_data)

    @classmethod
    def config_type(cls) -> dict:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> LocalSqliteEventLogStorage:  # noqa: ANN001
        return cls(inst_data=inst_data, **dict(config_value or {}))

    def _engine(self, shard: str) -> Engine:
        if self._pid != os.getpid():          # a forked child: its parent's connections are not its own
            self._engines.clear()
            self._pid = os.getpid()
        engine = self._engines.get(shard)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                poolclass=QueuePool, pool_size=1, max_overflow=0,
                # the storage's lock serialises the connections; threads take turns on the one connection
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            self._engines[shard] = engine
            while len(self._engines) > ENGINES_KEPT:
                _, old = self._engines.popitem(last=False)
                old.dispose()
        else:
            self._engines.move_to_end(shard)
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            check.str_param(shard, "shard")
            if shard not in self._initialized_dbs:
                # Dagster's own creation (nested connections: not on the one-connection engine)
                init = create_engine(self.conn_string_for_shard(shard), poolclass=NullPool,
                                     connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
                self._initdb(init)
                init.dispose()
                self._initialized_dbs.add(shard)
            engine = self._engine(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn

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
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._close_all()          # the files are unlinked: no connection may keep them alive
        super().wipe()

    def dispose(self) -> None:
        self._close_all()
        super().dispose()
