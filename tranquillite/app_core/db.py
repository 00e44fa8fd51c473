"""The app store's connections, on SQLite or PostgreSQL, through one SQLAlchemy engine per URL.

The call sites (`app_core`, `conventions`, `retention`, the views…) write their SQL once, in
SQLite's dialect with `?` placeholders, and use the small interface of the stdlib's sqlite3 that
they always used: `con.execute(sql, params)` / `con.executemany`, then `fetchone`, `fetchall` or
iteration, `rowcount`, `lastrowid`, rows read as `r["col"]`, `r[0]` or `dict(r)`. `Connection`
below gives them exactly that on both databases:

* SQLite: the statement goes to the driver unchanged (`exec_driver_sql`), errors are sqlite3's.
* PostgreSQL: each distinct statement is translated ONCE (cached) by sqlglot from SQLite's dialect
  to PostgreSQL's (placeholders, `INSERT OR IGNORE`, `IS NOT`, `max(a, b)`…), plus the few
  rewrites sqlglot does not make (below, `_rewrite`); errors are psycopg2's. What has no
  equivalent is handled here and only here: `PRAGMA` (SQLite's engine settings) is a no-op, the
  hidden `rowid` of three tables is a real column that `SELECT *` does not show, `sqlite_master`
  and `sqlite_sequence` are read through `has_table`, `triggers` and `sequence`.

Both connections are in autocommit: a statement outside `transaction()` is committed at once (as
sqlite3 with `isolation_level=None`); `transaction()` opens the write transaction itself —
`BEGIN IMMEDIATE` on SQLite, `BEGIN` plus a transaction-level advisory lock on PostgreSQL, so
that writers run one at a time on both (the access log's HMAC chain reads its last line and
appends under that lock: two app processes keep one unbroken chain).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

try:  # the PostgreSQL driver (a dependency; imported lazily elsewhere by dagster-postgres)
    import psycopg2
    import psycopg2.extensions
except ImportError:  # pragma: no cover - psycopg2-binary is pinned
    psycopg2 = None

# errors the call sites catch, whichever the database (a trigger's refusal is an integrity error on both)
IntegrityError: tuple[type[Exception], ...] = (sqlite3.IntegrityError,) + (
    (psycopg2.IntegrityError,) if psycopg2 else ()
)
OperationalError: tuple[type[Exception], ...] = (sqlite3.OperationalError,) + (
    (psycopg2.OperationalError, psycopg2.ProgrammingError) if psycopg2 else ()
)
DatabaseError: tuple[type[Exception], ...] = (sqlite3.DatabaseError,) + ((psycopg2.DatabaseError,) if psycopg2 else ())

# the key of PostgreSQL's transaction-level advisory lock taken by every write transaction
WRITE_LOCK = 0x7472616E71  # "tranq"
# tables given a hidden `rowid` (insertion order) on PostgreSQL by the migrations
ROWID_TABLES = frozenset({"profiles", "activity_natures", "organisations"})


# --------------------------------------------------------------------------- engines
_ENGINES: dict[str, sa.Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _sqlite_connect(dbapi_con, _record) -> None:
    dbapi_con.execute("PRAGMA foreign_keys = ON")
    dbapi_con.execute("PRAGMA busy_timeout = 10000")


def _to_number(value: str | None, _cur) -> int | float | None:
    """PostgreSQL's NUMERIC (sum of integers, avg) as SQLite gives it: int when whole, else float."""
    if value is None:
        return None
    return float(value) if any(c in value for c in ".eE") else int(value)


def _pg_connect(dbapi_con, _record) -> None:
    numeric = psycopg2.extensions.new_type(psycopg2.extensions.DECIMAL.values, "TQ_NUMERIC", _to_number)
    psycopg2.extensions.register_type(numeric, dbapi_con)


def normalise(url: str) -> str:
    """The URL with the driver the store uses (psycopg2, the pinned one, for PostgreSQL)."""
    u = make_url(url)
    if u.get_backend_name() == "postgresql" and u.drivername != "postgresql+psycopg2":
        return u.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)
    return url


def engine(url: str) -> sa.Engine:
    """One engine per URL and process (a pool of connections for PostgreSQL, none for SQLite)."""
    url = normalise(url)
    with _ENGINES_LOCK:
        eng = _ENGINES.get(url)
        if eng is None:
            u = make_url(url)
            if u.get_backend_name() == "sqlite":
                eng = sa.create_engine(
                    u,
                    poolclass=sa.pool.NullPool,
                    isolation_level="AUTOCOMMIT",
                    connect_args={"timeout": 10, "check_same_thread": False},
                )
                sa.event.listen(eng, "connect", _sqlite_connect)
            else:
                eng = sa.create_engine(
                    u, isolation_level="AUTOCOMMIT", pool_pre_ping=True, pool_size=5, max_overflow=10
                )
                sa.event.listen(eng, "connect", _pg_connect)
            _ENGINES[url] = eng
        return eng


def dispose_all() -> None:
    """Close every pooled connection of this process (tests; after a database is dropped)."""
    with _ENGINES_LOCK:
        for eng in _ENGINES.values():
            eng.dispose()
        _ENGINES.clear()


def _after_fork() -> None:  # a child must not reuse its parent's sockets
    for eng in list(_ENGINES.values()):
        eng.dispose(close=False)


os.register_at_fork(after_in_child=_after_fork)


# --------------------------------------------------------------------------- translation
@dataclass(frozen=True)
class Statement:
    sql: str
    noop: bool = False  # nothing to run on this database (a PRAGMA on PostgreSQL)
    hide_rowid: bool = False  # a `SELECT *` over a table whose emulated rowid must not show


def _rewrite(node):
    from sqlglot import exp  # sqlglot only where PostgreSQL is used (0.1 s of import)

    if isinstance(node, exp.Insert):
        alt = (node.args.get("alternative") or "").upper()
        if alt == "IGNORE":
            node.set("alternative", None)
            if node.args.get("conflict") is None:
                node.set("conflict", exp.OnConflict(action=exp.var("DO NOTHING")))
        elif alt:
            raise ValueError(f"INSERT OR {alt} n'a pas d'équivalent PostgreSQL: écrire ON CONFLICT …")
        conflict = node.args.get("conflict")
        if conflict is not None:
            # SQLite reads an unqualified column of DO UPDATE as the target row's; PostgreSQL calls it
            # ambiguous (the target or `excluded`): name the target (not on the left of SET)
            table = node.this.this if isinstance(node.this, exp.Schema) else node.this
            name = exp.to_identifier(table.alias_or_name)
            parts = [eq.expression for eq in conflict.expressions or [] if isinstance(eq, exp.EQ)]
            if conflict.args.get("where") is not None:
                parts.append(conflict.args["where"])
            for part in parts:
                for col in list(part.find_all(exp.Column)):
                    if not col.table:
                        col.set("table", name.copy())
    elif isinstance(node, exp.OnConflict) and node.args.get("conflict_keys"):
        # sqlglot writes SQLite's null ordering as `NULLS FIRST`, which ON CONFLICT refuses
        node.set("conflict_keys", [k.this if isinstance(k, exp.Ordered) else k for k in node.args["conflict_keys"]])
    elif isinstance(node, exp.Anonymous) and str(node.this).lower() == "json_each" and len(node.expressions) == 1:
        # `SELECT value FROM json_each(?)` over a JSON array: the same column name on PostgreSQL
        return exp.Anonymous(
            this="JSON_ARRAY_ELEMENTS_TEXT",
            expressions=[exp.Cast(this=node.expressions[0], to=exp.DataType.build("json"))],
        )
    elif isinstance(node, exp.Where) and (
        isinstance(node.this, exp.Column) or (isinstance(node.this, exp.Literal) and not node.this.is_string)
    ):
        # SQLite's integer truth (`WHERE 0`, `WHERE active`): PostgreSQL wants a boolean
        node.set("this", exp.NEQ(this=node.this, expression=exp.Literal.number(0)))
    elif isinstance(node, exp.Literal) and node.is_string and "%" in node.this:
        node.set("this", node.this.replace("%", "%%"))  # psycopg2 reads % as its own placeholders
    return node


@functools.lru_cache(maxsize=4096)
def to_postgres(sql: str) -> Statement:
    """The PostgreSQL form of one statement written in SQLite's dialect (cached per statement)."""
    import sqlglot
    from sqlglot import exp

    if sql.lstrip()[:6].upper() == "PRAGMA":
        return Statement("", noop=True)
    tree = sqlglot.parse_one(sql, read="sqlite")
    if isinstance(tree, exp.Command) and ("?" in sql or ":" in sql):
        raise ValueError(f"instruction non traduisible pour PostgreSQL: {sql[:120]}")
    hide = False
    if isinstance(tree, exp.Select) and any(isinstance(e, exp.Star) for e in tree.expressions):
        froms = {t.name for t in tree.find_all(exp.Table)}
        hide = bool(froms & ROWID_TABLES)
    tree = tree.transform(_rewrite, copy=False)
    return Statement(tree.sql(dialect="postgres"), hide_rowid=hide)


def _param(v: Any) -> Any:
    """Parameters as sqlite3 adapts them (booleans as integers, dates as ISO text)."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, dt.datetime):
        return v.isoformat(" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def _params(params: Sequence[Any] | dict[str, Any] | None) -> tuple | dict:
    """Positional (`?`) or named (`:name`, a dict) parameters, as sqlite3 takes them."""
    if params is None:
        return ()
    if isinstance(params, dict):
        return {k: _param(v) for k, v in params.items()}
    return tuple(_param(v) for v in params)


# --------------------------------------------------------------------------- rows and cursors
@functools.lru_cache(maxsize=1024)
def _row_class(keys: tuple[str, ...]) -> type:
    index = {k: i for i, k in enumerate(keys)}

    class Row(tuple):
        """A row read like sqlite3.Row: by name, by position, `keys()` and `dict(row)`."""

        __slots__ = ()

        def __getitem__(self, k):
            if isinstance(k, str):
                try:
                    return tuple.__getitem__(self, index[k])
                except KeyError:
                    raise IndexError(f"pas de colonne {k!r}") from None
            return tuple.__getitem__(self, k)

        def keys(self) -> list[str]:
            return list(keys)

    return Row


class Cursor:
    """The result of one statement."""

    def __init__(self, con: "Connection", result: sa.CursorResult | None, hide_rowid: bool = False):
        self._con, self._result = con, result
        self.rowcount = result.rowcount if result is not None else -1
        self._rows: Iterator | None = None
        self._keep: list[int] | None = None
        if result is not None and result.returns_rows:
            keys = list(result.keys())
            if hide_rowid and "rowid" in keys:
                self._keep = [i for i, k in enumerate(keys) if k != "rowid"]
                keys = [keys[i] for i in self._keep]
            self._cls = _row_class(tuple(keys))
            self._rows = iter(result)
        self._lastrowid = result.lastrowid if result is not None and con.dialect == "sqlite" else None

    @property
    def description(self):
        return [(k, None, None, None, None, None, None) for k in self._cls(()).keys()] if self._rows else None

    @property
    def lastrowid(self) -> int | None:
        if self._con.dialect == "sqlite":
            return self._lastrowid
        # the id the last INSERT took from its identity column, in this session (read at once by the callers)
        return self._con._sa.exec_driver_sql("SELECT lastval()").scalar()

    def _make(self, row) -> tuple:
        vals = tuple(row)
        if self._keep is not None:
            vals = tuple(vals[i] for i in self._keep)
        return self._cls(vals)

    def __iter__(self):
        if self._rows is None:
            return iter(())
        return (self._make(r) for r in self._rows)

    def fetchone(self):
        if self._rows is None:
            return None
        r = next(self._rows, None)
        return None if r is None else self._make(r)

    def fetchall(self) -> list:
        return list(self)


class Connection:
    """One connection to the store: the sqlite3-like interface of the call sites, on both databases."""

    def __init__(self, sa_con: sa.Connection):
        self._sa = sa_con
        self.dialect = sa_con.dialect.name  # "sqlite" | "postgresql"
        self.in_transaction = False

    # the DBAPI errors themselves, so that the call sites catch sqlite3's or psycopg2's classes
    def _run(self, sql: str, params):
        try:
            return self._sa.exec_driver_sql(sql, params)
        except sa_exc.DBAPIError as e:
            if e.orig is not None:
                raise e.orig from None
            raise

    def _statement(self, sql: str) -> Statement:
        return Statement(sql) if self.dialect == "sqlite" else to_postgres(sql)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Cursor:
        st = self._statement(sql)
        if st.noop:
            return Cursor(self, None)
        return Cursor(self, self._run(st.sql, _params(params)), st.hide_rowid)

    def execute_native(self, sql: str, params: Sequence[Any] | None = None) -> Cursor:
        """A statement already written in this database's own dialect and placeholders (a branch
        on `dialect` at the call site, for what cannot be portable)."""
        return Cursor(self, self._run(sql, _params(params)))

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> Cursor:
        st = self._statement(sql)
        rows = [_params(p) for p in seq]
        if st.noop or not rows:
            return Cursor(self, None)
        return Cursor(self, self._run(st.sql, rows))

    # ------------------------------------------------------------ SQLite's catalog, on both
    def has_table(self, name: str) -> bool:
        if self.dialect == "sqlite":
            sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
            return self._run(sql, (name,)).first() is not None
        return self._run("SELECT to_regclass(%s) IS NOT NULL", (name,)).scalar()

    def triggers(self) -> dict[str, str]:
        """Each trigger's name and its definition (with its function's body on PostgreSQL)."""
        if self.dialect == "sqlite":
            return {
                r[0]: (r[1] or "") for r in self._run("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'", ())
            }
        rows = self._run(
            "SELECT t.tgname, pg_get_triggerdef(t.oid) || ' ' || p.prosrc FROM pg_trigger t "
            "JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace",
            (),
        )
        return {r[0]: r[1] or "" for r in rows}

    def sequence(self, table: str) -> int | None:
        """The highest id the table ever gave (SQLite's sqlite_sequence), None if it never gave one."""
        if self.dialect == "sqlite":
            if not self.has_table("sqlite_sequence"):
                return None
            r = self._run("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).first()
        else:
            r = self._run("SELECT seq FROM autoincrement_sequences WHERE name = %s", (table,)).first()
        return int(r[0]) if r else None

    # ------------------------------------------------------------ transactions
    @contextmanager
    def transaction(self) -> Iterator["Connection"]:
        if self.in_transaction:  # as sqlite3: no transaction within a transaction
            raise sqlite3.OperationalError("cannot start a transaction within a transaction")
        if self.dialect == "sqlite":
            self._run("BEGIN IMMEDIATE", ())
        else:
            self._run("BEGIN", ())
            self._run("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
        self.in_transaction = True
        try:
            yield self
        except BaseException:
            self.in_transaction = False
            self._end("ROLLBACK")
            raise
        else:
            self.in_transaction = False
            self._end("COMMIT")

    def _end(self, verb: str) -> None:
        dbapi = self._sa.connection.dbapi_connection
        if self.dialect == "sqlite" and not dbapi.in_transaction:
            return  # a failed statement already ended it
        self._run(verb, ())

    def close(self) -> None:
        if self.in_transaction:
            self.in_transaction = False
            self._end("ROLLBACK")
        self._sa.close()


def open_connection(url: str) -> Connection:
    return Connection(engine(url).connect())
