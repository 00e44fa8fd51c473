"""The app store on both databases (issue 14): Alembic migrations from an empty database (SQLite and a
real PostgreSQL server, tests/pg.py) and from a store of the previous code (its DDL kept as a fixture),
the same schema on both, every literal statement of the code valid on both, the app's PostgreSQL role
refused UPDATE/DELETE on the access log by PostgreSQL itself, and two app processes writing the access
log at once with one unbroken chain."""

from __future__ import annotations

import ast
import os
import sqlite3
import subprocess
import sys
import textwrap
from functools import lru_cache
from pathlib import Path

import psycopg2
import pytest
import sqlglot
from sqlglot import exp

from tests.pg import create_database, postgres_server
from tranquillite.app_core import audit, db, store

REPO = Path(__file__).resolve().parents[1]
OLD_DDL = Path(__file__).parent / "fixtures" / "app_store_v1.sql"
KEY = "k" * 64


@pytest.fixture(scope="module")
def server():
    with postgres_server() as url:
        yield url


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANQUILLITE_HOME", str(tmp_path))
    monkeypatch.setenv("TRANQUILLITE_ACCESS_LOG_KEY", KEY)
    for k in (
        "TRANQUILLITE_ENV",
        "TRANQUILLITE_APP_DB_URL",
        "TRANQUILLITE_APP_DB_OWNER_URL",
        "TRANQUILLITE_ACCESS_LOG_KEY_FILE",
        "TRANQUILLITE_ACCESS_LOG_HEADS_FILE",
    ):
        monkeypatch.delenv(k, raising=False)
    return tmp_path


_N = 0


def pg_store(server, monkeypatch, name: str | None = None) -> str:
    global _N
    _N += 1
    url = create_database(server, name or f"store_{os.getpid()}_{_N}")
    monkeypatch.setenv("TRANQUILLITE_APP_DB_URL", url)
    return url


def schema_of(con: db.Connection) -> dict[str, list[str]]:
    """Table → its columns, from the database's own catalog (PostgreSQL's emulated rowid left out)."""
    if con.dialect == "sqlite":
        tables = [
            r[0]
            for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        ]
        return {t: [r[1] for r in con.execute(f"PRAGMA table_info({t})")] for t in tables}
    rows = con.execute_native(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
    )
    out: dict[str, list[str]] = {}
    for t, c in rows:
        if c != "rowid":
            out.setdefault(t, []).append(c)
    return out


# --------------------------------------------------------------------------- the setting
def test_the_store_url_is_a_validated_secret_required_in_production(env, monkeypatch):
    from tranquillite.settings import SettingsError, settings

    s = settings({"TRANQUILLITE_APP_DB_URL": "postgresql://app:s3cret@db.ville.fr:5432/tranquillite"})
    assert s.app_db_url.get_secret_value() == "postgresql+psycopg2://app:s3cret@db.ville.fr:5432/tranquillite"
    assert settings({"TRANQUILLITE_APP_DB_URL": ""}).app_db_url is None  # empty: the SQLite file
    for bad in ("mysql://app:s3cret@h/db", "postgresql://app:s3cret@h:5432"):
        with pytest.raises(SettingsError, match="TRANQUILLITE_APP_DB_URL") as e:
            settings({"TRANQUILLITE_APP_DB_URL": bad})
        assert "s3cret" not in str(e.value)
    with pytest.raises(SettingsError, match="TRANQUILLITE_APP_DB_OWNER_URL sans"):
        settings({"TRANQUILLITE_APP_DB_OWNER_URL": "postgresql://o:p@h:5432/db"})
    assert store.url() == f"sqlite:///{env / 'app' / 'platform.sqlite'}" and not store.is_postgresql()
    monkeypatch.setenv("TRANQUILLITE_ENV", "production")
    with pytest.raises(store.StoreMisconfigured, match="TRANQUILLITE_APP_DB_URL"):
        store.url()
    monkeypatch.setenv("TRANQUILLITE_APP_DB_URL", "postgresql://app:s3cret@db.ville.fr:5432/tranquillite")
    assert store.is_postgresql() and store.describe() == "postgresql+psycopg2://app:***@db.ville.fr:5432/tranquillite"


# --------------------------------------------------------------------------- migrations
def test_an_empty_sqlite_store_is_migrated_to_the_head(env):
    path = store.init_store()
    assert path == env / "app" / "platform.sqlite" and store.revision() == store.head_revision() == "0003"
    with store.connect() as con:
        tables = schema_of(con)
        assert {
            "access_log",
            "users",
            "convention_registry",
            "quarantine_retention",
            "alembic_version",
            "alert_followups",
            "alert_events",
            "alert_thresholds",
            "alert_reads",
            "alert_notifications",
        } <= set(tables)
        assert set(audit.TRIGGERS) <= set(con.triggers())
        assert con.execute("SELECT count(*) FROM profiles").fetchone()[0] > 0  # seeded
        store.log_access(con, login="a", profile="analyste", page="carte")
        assert audit.verify(con).intact
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_an_empty_postgresql_store_gets_the_same_schema(env, server, monkeypatch):
    with store.connect(env / "ref.sqlite") as con:
        sqlite_schema = schema_of(con)
        sqlite_triggers = set(con.triggers())
    pg_store(server, monkeypatch)
    assert store.init_store().startswith("postgresql") and store.revision() == "0003"
    with store.connect() as con:
        pg_schema = schema_of(con)
        # the same tables with the same columns in the same order; PostgreSQL adds the emulation of
        # SQLite's sqlite_sequence
        assert set(pg_schema) - set(sqlite_schema) == {"autoincrement_sequences"}
        assert {t: pg_schema[t] for t in sqlite_schema} == sqlite_schema
        # every SQLite trigger has its PostgreSQL counterpart of the same name (plus TRUNCATE and the sequence)
        assert sqlite_triggers <= set(con.triggers())
        assert all("RAISE" in con.triggers()[t].upper() for t in audit.TRIGGERS)
        assert con.execute("SELECT count(*) FROM profiles").fetchone()[0] > 0
        # SQLite's insertion order (rowid) is kept and hidden from SELECT *
        orgs = con.execute("SELECT * FROM organisations ORDER BY rowid").fetchall()
        assert "rowid" not in orgs[0].keys() and orgs[0]["code"] == "ville_dgsec"
        for i in range(3):
            store.log_access(con, login="a", profile="analyste", page="carte", filters={"i": i})
        assert audit.verify(con).intact and con.sequence("access_log") == 3
    # a second process start finds the head: nothing to migrate
    assert store.migrate()["avant"] == "0003"


def _old_store(path: Path, *, before_reads: bool) -> None:
    """A store as the previous code left it: its DDL, its seed, lines of the access log (keyed)."""
    con = sqlite3.connect(path, isolation_level=None)
    con.executescript(OLD_DDL.read_text(encoding="utf-8"))
    con.execute("INSERT INTO meta VALUES ('seeded_at', '2025-01-01T00:00:00+00:00')")
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.execute("INSERT INTO meta VALUES ('conventions_schema_version', '1')")
    con.execute("INSERT INTO organisations VALUES ('ville_dgsec', 'Ville — DGSEC', 'ville')")
    con.execute(
        "INSERT INTO profiles (code, label, reason, organisation_kind) VALUES "
        "('agent_cortege', 'Agent Cortège', 'saisie', 'prefecture')"
    )
    if before_reads:  # a store older than issues 10 and 11
        con.execute("ALTER TABLE access_log DROP COLUMN reads")
        con.execute("ALTER TABLE profiles DROP COLUMN own_entries_only")
    key = KEY.encode()
    con.execute("INSERT INTO meta VALUES ('access_log_key_id', ?)", (audit.key_id(key),))
    con.execute("INSERT INTO meta VALUES ('access_log_keyed_from', '1')")
    prev = audit.GENESIS
    for i in range(1, 4):
        fields = (f"2025-01-0{i}T10:00:00+00:00", "demo.analyste", "analyste", "carte", "consultation", "{}", 0, None)
        h = audit.line_mac(key, i, prev, *fields)
        con.execute(
            "INSERT INTO access_log (id, at, login, profile, page, action, filters, export, detail, prev_hash, "
            "row_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (i, *fields, prev, h),
        )
        prev = h
    con.close()


@pytest.mark.parametrize("before_reads", [False, True], ids=["version_1", "avant_issue_11"])
def test_a_store_of_the_previous_code_is_brought_up_and_stamped(env, before_reads):
    path = env / "app" / "platform.sqlite"
    path.parent.mkdir()
    _old_store(path, before_reads=before_reads)
    assert store.revision() is None
    out = store.migrate()
    assert out == {"avant": None, "apres": "0003", "ancien_magasin": True}
    store.init_store()
    with store.connect() as con, store.connect(env / "fresh.sqlite") as fresh:
        assert schema_of(con) == schema_of(fresh)  # the missing columns added
        assert not {"profile_sources", "organisation_sources"} & set(schema_of(con))  # dropped by 0003
        assert con.triggers() == fresh.triggers()  # the same append-only rules
        # the step of issue 10 ran where the column was missing (the fixture's row left it at its default)
        own = con.execute("SELECT own_entries_only FROM profiles WHERE code = 'agent_cortege'").fetchone()[0]
        assert own == (1 if before_reads else 0)
        assert con.execute("SELECT value FROM meta WHERE key = 'seeded_at'").fetchone()[0].startswith("2025-01-01")
        v = audit.verify(con)
        assert v.intact and v.lines == 3  # the old lines verify as written
        store.log_access(con, login="demo.analyste", profile="analyste", page="journal")
        assert audit.verify(con).intact and audit.verify(con).lines == 4
        with pytest.raises(sqlite3.IntegrityError, match="ajout seul"):
            con.execute("DELETE FROM access_log")


def _migrate_to(revision: str) -> None:
    """The store brought to an older revision (a store in service before the latest ones)."""
    from alembic import command

    (Path(os.environ["TRANQUILLITE_HOME"]) / "app").mkdir(exist_ok=True)
    eng = db.engine(store.url())
    with eng.connect() as sa_con:
        sa_con.exec_driver_sql("BEGIN IMMEDIATE" if eng.dialect.name == "sqlite" else "BEGIN")
        command.upgrade(store._alembic_config(sa_con), revision)
        sa_con.exec_driver_sql("COMMIT")
    eng.dispose()


def _purge_open(con, tables: tuple[str, ...]) -> int:
    with store.transaction(con):
        cur = con.execute(
            "INSERT INTO convention_purges (convention, ordered_by, run_by, started_at, status) "
            "VALUES ('prefecture_police_13', 'x', 'y', ?, 'en_cours')",
            (store.iso(store.now_utc()),),
        )
        pid = int(cur.lastrowid)
        con.executemany("INSERT INTO convention_purge_open VALUES (?, ?)", [(t, pid) for t in tables])
    return pid


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_store_at_0002_is_brought_to_0003(env, server, monkeypatch, kind):
    """Revision 0003: the lists of sources dropped, the alerts' history and e-mails open to a
    destruction's purge exemption only — their rows kept, `audit.verify` intact."""
    if kind == "postgresql":
        pg_store(server, monkeypatch)
    _migrate_to("0002")
    con = db.open_connection(store.url())
    try:
        assert {"profile_sources", "organisation_sources"} <= set(schema_of(con))
        with store.transaction(con):
            con.execute(
                "INSERT INTO profiles (code, label, reason, organisation_kind) VALUES "
                "('analyste', 'Analyste', 'r', 'ville')"
            )
            con.execute("INSERT INTO profile_sources VALUES ('analyste', 'interventions')")
            con.execute(
                "INSERT INTO alert_events (alert_id, at, login, what, comment) VALUES "
                "('A0', '2025-01-01T00:00:00+00:00', 'demo.analyste', 'commentaire', 'vu')"
            )
            con.execute("INSERT INTO alert_notifications VALUES ('a@ville.fr', 'A0', '2025-01-01T00:00:00+00:00')")
        pid = _purge_open(con, ("alert_events", "alert_notifications"))
        with pytest.raises(store.IntegrityError, match="ajout seul"):  # 0002: no exemption
            con.execute("UPDATE alert_events SET comment = '[supprimé]'")
        with store.transaction(con):
            con.execute("DELETE FROM convention_purge_open WHERE purge_id = ?", (pid,))
    finally:
        con.close()
    assert store.migrate() == {"avant": "0002", "apres": "0003", "ancien_magasin": False}
    store.init_store()
    with store.connect() as con, store.connect(env / "fresh.sqlite") as fresh:
        schema = schema_of(con)
        assert "profile_sources" not in schema and "organisation_sources" not in schema
        assert {t: schema[t] for t in schema_of(fresh)} == schema_of(fresh)
        assert set(audit.TRIGGERS) <= set(con.triggers())
        if kind == "sqlite":
            assert con.triggers() == fresh.triggers()
        assert audit.verify(con).intact
        assert con.execute("SELECT comment FROM alert_events").fetchone()[0] == "vu"  # rows kept
        # outside a destruction: append-only as before
        for sql in (
            "UPDATE alert_events SET comment = 'x'",
            "DELETE FROM alert_events",
            "DELETE FROM alert_notifications",
            "UPDATE alert_notifications SET mailed_at = 'x'",
        ):
            with pytest.raises(store.IntegrityError, match="ajout seul"):
                con.execute(sql)
        # under a destruction's exemption: the texts of a line redacted, the e-mail records deleted
        pid = _purge_open(con, ("alert_events", "alert_notifications"))
        for sql in (
            "UPDATE alert_events SET login = 'quelqu.un'",
            "UPDATE alert_events SET what = 'cloture'",
            "UPDATE alert_events SET at = 'x'",
            "DELETE FROM alert_events",
            "UPDATE alert_notifications SET mailed_at = 'x'",
        ):
            with pytest.raises(store.IntegrityError, match="ajout seul"):  # never who, when, what
                con.execute(sql)
        with store.transaction(con):
            con.execute("UPDATE alert_events SET comment = '[supprimé]', detail = '{}'")
            con.execute("DELETE FROM alert_notifications")
        with store.transaction(con):
            con.execute("DELETE FROM convention_purge_open WHERE purge_id = ?", (pid,))
        assert con.execute("SELECT comment FROM alert_events").fetchone()[0] == "[supprimé]"
        assert con.execute("SELECT count(*) FROM alert_notifications").fetchone()[0] == 0
        with pytest.raises(store.IntegrityError, match="ajout seul"):
            con.execute("UPDATE alert_events SET comment = 'x'")


# --------------------------------------------------------------------------- every statement on both
STORE_CODE = ["tranquillite", "apps"]


@lru_cache(maxsize=1)
def _execute_calls() -> tuple[tuple[str, ast.Module, ast.Call], ...]:
    """Every `.execute(...)`/`.executemany(...)` call of the code with an argument: (file relative
    to the repository, its parsed module, the call), each file parsed once."""
    out = []
    for root in STORE_CODE:
        for path in sorted((REPO / root).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            rel = path.relative_to(REPO).as_posix()
            out += [
                (rel, tree, n)
                for n in ast.walk(tree)
                if isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and n.func.attr in ("execute", "executemany")
                and n.args
            ]
    return tuple(out)


def _literal_statements() -> set[str]:
    """Every SQL string literal passed to `.execute`/`.executemany` in the code (module constants too)."""
    found: set[str] = set()
    consts_of: dict[str, dict[str, str]] = {}
    for rel, tree, n in _execute_calls():
        if rel not in consts_of:
            consts_of[rel] = {
                t.id: a.value.value
                for a in ast.walk(tree)
                if isinstance(a, ast.Assign)
                for t in a.targets
                if isinstance(t, ast.Name) and isinstance(a.value, ast.Constant) and isinstance(a.value.value, str)
            }
        a = n.args[0]
        if isinstance(a, ast.Constant) and isinstance(a.value, str):
            found.add(a.value)
        elif isinstance(a, ast.Name) and a.id in consts_of[rel]:
            found.add(consts_of[rel][a.id])
    return found


def _store_statements(tables: set[str], candidates: set[str] | None = None) -> list[str]:
    """The statements (default: the code's literal ones) that read or write the store's tables only
    (not DuckDB's, not PRAGMAs)."""
    out = []
    for sql in sorted(_literal_statements() if candidates is None else candidates):
        if (
            sql.lstrip()[:6].upper() in ("PRAGMA", "BEGIN", "COMMIT", "ROLLB")
            or "?" not in sql
            and "FROM" not in sql.upper()
        ):
            continue
        try:
            tree = sqlglot.parse_one(sql, read="sqlite")
        except sqlglot.errors.ParseError:
            continue
        names = {t.name for t in tree.find_all(exp.Table) if t.name}
        ctes = {c.alias for c in tree.find_all(exp.CTE)}
        if names - ctes and (names - ctes) <= tables:
            out.append(sql)
    return out


# f-string statements that are not the store's: their names come from elsewhere (module → why)
NOT_STORE = {
    "tranquillite/app_core/queries.py": "DuckDB: the warehouse's catalog, read by the app's gateway",
    "tranquillite/resources/warehouse.py": "DuckDB: the warehouse's catalog",
    "tranquillite/summary.py": "DuckDB: the warehouse's catalog",
    "tranquillite/conventions/destruction.py:redact_sqlite": "every table of a SQLite file, named by its catalog",
    "tranquillite/conventions/scanner.py:_sqlite": "every table of a SQLite file, named by its catalog",
}
_SETS = "\x00sets\x00"


def _loop_bindings(fn: ast.AST | None, call: ast.Call, mod) -> list[dict[str, str]]:
    """The names the `for` loops around `call` bind, one dict per combination of their elements
    (each loop over a module constant or a literal tuple of strings)."""
    envs: list[dict[str, str]] = [{}]
    for loop in (n for n in ast.walk(fn) if isinstance(n, ast.For)) if fn else []:
        if not loop.lineno <= call.lineno <= loop.end_lineno:
            continue
        items = _constant_tuple(loop.iter, mod)
        targets = [loop.target] if isinstance(loop.target, ast.Name) else list(getattr(loop.target, "elts", []))
        if items is None or not all(isinstance(t, ast.Name) for t in targets):
            continue  # its names stay unknown (the statement is then reported, not guessed)
        rows = [dict(zip([t.id for t in targets], item if len(targets) > 1 else (item,))) for item in items]
        envs = [{**e, **r} for e in envs for r in rows]
    return envs


def _constant_tuple(node: ast.AST, mod) -> tuple | None:
    if isinstance(node, ast.Name):
        value = getattr(mod, node.id, None)
        ok = isinstance(value, tuple) and all(
            isinstance(v, str) or isinstance(v, tuple) and all(isinstance(x, str) for x in v) for v in value
        )
        return value if ok else None
    if isinstance(node, (ast.Tuple, ast.List)):
        out = [_name_or_str(e, mod) for e in node.elts]
        return None if None in out else tuple(out)
    return None


def _name_or_str(node: ast.AST, mod) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and isinstance(getattr(mod, node.id, None), str):
        return getattr(mod, node.id)
    return None


def _renderings(node: ast.AST, fn: ast.AST | None, call: ast.Call, mod, env: dict) -> list[str] | None:
    """Every string an interpolated expression can be, or None when the code does not say:
    a loop's name, a module constant, a local assigned a literal (or either of two), a list of
    placeholders (`",".join("?" * n)`) or of assignments (`", ".join(f"{c} = ?" …)`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        a, b = _renderings(node.body, fn, call, mod, env), _renderings(node.orelse, fn, call, mod, env)
        return None if a is None or b is None else a + b
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join" and node.args:
        sep, arg = node.func.value, node.args[0]
        if isinstance(arg, ast.GeneratorExp) and isinstance(arg.elt, ast.JoinedStr):
            if ast.unparse(arg.elt).endswith(" = ?'"):
                return [_SETS]
        if isinstance(sep, ast.Constant) and isinstance(arg, ast.BinOp) and ast.unparse(arg.left) == "'?'":
            return [sep.value.join("??")]
        return None
    if isinstance(node, ast.Name):
        if node.id in env:
            return [env[node.id]]
        assigned = [
            n
            for n in (ast.walk(fn) if fn else [])
            if isinstance(n, ast.Assign)
            and n.lineno < call.lineno
            and any(isinstance(t, ast.Name) and t.id == node.id for t in n.targets)
        ]
        if assigned:
            return _renderings(max(assigned, key=lambda n: n.lineno).value, fn, call, mod, env)
        value = _name_or_str(node, mod)
        return None if value is None else [value]
    return None


def _fstring_statements(columns: dict[str, list[str]]) -> tuple[set[str], list[str]]:
    """The f-string statements passed to `.execute`/`.executemany`, rendered with every value the
    code gives their names (`col = ?` lists with a column of the updated table), and those whose
    names the code does not say (`file:line`), outside `NOT_STORE`."""
    import importlib
    import itertools
    import re

    rendered: set[str] = set()
    unknown: list[str] = []
    modules: dict[str, object] = {}
    funcs_of: dict[str, list[ast.AST]] = {}
    for rel, tree, n in _execute_calls():
        if not isinstance(n.args[0], ast.JoinedStr):
            continue
        if rel not in funcs_of:
            funcs_of[rel] = [f for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))]
        fn = min(
            (f for f in funcs_of[rel] if f.lineno <= n.lineno <= f.end_lineno),
            key=lambda f: f.end_lineno - f.lineno,
            default=None,
        )
        if rel in NOT_STORE or (fn is not None and f"{rel}:{fn.name}" in NOT_STORE):
            continue
        if rel not in modules:
            modules[rel] = importlib.import_module(".".join(Path(rel).with_suffix("").parts))
        mod = modules[rel]
        for env in _loop_bindings(fn, n, mod):
            parts = [
                [v.value] if isinstance(v, ast.Constant) else _renderings(v.value, fn, n, mod, env)
                for v in n.args[0].values
            ]
            if any(p is None for p in parts):
                unknown.append(f"{rel}:{n.lineno}")
                break
            for combo in itertools.product(*parts):
                sql = "".join(combo)
                if _SETS in sql:
                    table = re.match(r'\s*UPDATE\s+"?(\w+)', sql).group(1)
                    col = next(c for c in columns[table] if c != "id")
                    sql = sql.replace(_SETS, f"{col} = ?")
                rendered.add(sql)
    return rendered, unknown


# SQL in one dialect on purpose (a branch on con.dialect at its call site: `execute_native` on PostgreSQL)
SQLITE_ONLY = {"READS_SQL", "OLD_EXPORTS_SQL"}


def test_every_statement_of_the_code_is_valid_on_both_databases(env, server, monkeypatch):
    from tranquillite.app_core import tracabilite

    sqlite_only = {getattr(tracabilite, n) for n in SQLITE_ONLY}
    with store.connect(env / "s.sqlite") as lite:
        columns = schema_of(lite)
        tables = set(columns) | {"sqlite_master", "sqlite_sequence"}
        formatted, unknown = _fstring_statements(columns)
        assert not unknown, f"f-strings dont le code ne dit pas les valeurs (à rendre ou NOT_STORE): {unknown}"
        statements = _store_statements(tables)
        built = _store_statements(tables, formatted)
        assert len(statements) > 100, len(statements)  # the store's statements were found
        assert len(built) >= 20, len(built)  # …and those built by f-strings, rendered
        statements = sorted(set(statements) | set(built))
        for sql in statements:
            n = sql.count("?") if ":" not in sql else 0
            params = {k: None for k in _named(sql)} if ":" in sql and not n else (None,) * n
            lite.execute("EXPLAIN " + sql, params)  # SQLite prepares it: tables, columns, syntax
    pg_store(server, monkeypatch)
    problems = []
    with store.connect() as con:
        for sql in statements:
            if sql in sqlite_only or "sqlite_master" in sql or "sqlite_sequence" in sql:
                continue
            n = sql.count("?") if ":" not in sql else 0
            params = {k: None for k in _named(sql)} if ":" in sql and not n else (None,) * n
            try:
                with store.transaction(con):  # EXPLAIN plans, never runs, the statement
                    con.execute_native("EXPLAIN " + db.to_postgres(sql).sql, params)
            except Exception as exc:  # noqa: BLE001 - collected, all shown at once
                problems.append(f"{sql[:100]!r}: {str(exc).splitlines()[0]}")
    assert not problems, "\n".join(problems)
    print(f"{len(statements)} instructions du magasin valides sur SQLite et PostgreSQL")


def _named(sql: str) -> list[str]:
    import re

    return re.findall(r"(?<!:):([a-z_]+)", sql)


# --------------------------------------------------------------------------- the app's role
def test_the_app_role_may_only_append_to_the_access_log(env, server, monkeypatch):
    owner_url = pg_store(server, monkeypatch, "store_roles")
    with psycopg2.connect(owner_url) as c, c.cursor() as cur:
        cur.execute("CREATE ROLE tq_app LOGIN")
    app_url = owner_url.replace("://tranquillite@", "://tq_app@")
    monkeypatch.setenv("TRANQUILLITE_APP_DB_URL", app_url)
    monkeypatch.setenv("TRANQUILLITE_APP_DB_OWNER_URL", owner_url)
    store.init_store()  # migrated by the owner, then granted
    with store.connect() as con:
        assert con.execute("SELECT current_user").fetchone()[0] == "tq_app"
        for i in range(3):
            store.log_access(con, login="demo.analyste", profile="analyste", page="carte", filters={"i": i})
        assert audit.verify(con).intact
    # the owner removes the trigger: PostgreSQL's privileges still refuse the app's role
    with psycopg2.connect(owner_url) as c, c.cursor() as cur:
        cur.execute("DROP TRIGGER access_log_no_update ON access_log")
        cur.execute("DROP TRIGGER access_log_no_delete ON access_log")
        cur.execute("DROP TRIGGER access_log_no_truncate ON access_log")
    with store.connect() as con:
        for sql in (
            "UPDATE access_log SET login = 'quelqu.un'",
            "DELETE FROM access_log",
            "UPDATE autoincrement_sequences SET seq = 0",
            "DELETE FROM habilitation_request_events",
            "UPDATE cortege_entries SET login = 'x'",
        ):
            with pytest.raises(psycopg2.errors.InsufficientPrivilege, match="permission denied"):
                con.execute(sql)
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            con.execute_native("TRUNCATE access_log")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            con.execute_native("DROP TRIGGER access_log_no_replace ON access_log")
        assert con.execute("SELECT count(*) FROM access_log").fetchone()[0] == 3
        # what the app administers stays writable
        con.execute("UPDATE users SET active = active")
        con.execute("INSERT INTO auth_throttle VALUES ('k', 'x', 1)")
        con.execute("DELETE FROM auth_throttle WHERE key = 'k'")


def test_without_an_owner_url_the_app_role_cannot_migrate_and_says_so(env, server, monkeypatch):
    owner_url = pg_store(server, monkeypatch, "store_no_owner")
    with psycopg2.connect(owner_url) as c, c.cursor() as cur:
        cur.execute("CREATE ROLE tq_app2 LOGIN")
        cur.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    monkeypatch.setenv("TRANQUILLITE_APP_DB_URL", owner_url.replace("://tranquillite@", "://tq_app2@"))
    with pytest.raises(store.StoreMisconfigured, match="tranquillite magasin migrer"):
        store.init_store()


# --------------------------------------------------------------------------- two processes at once
WRITER = textwrap.dedent("""
    import sys, time
    from tranquillite.app_core import store
    n, start = int(sys.argv[1]), float(sys.argv[2])
    with store.connect() as con:
        con.execute("SELECT 1").fetchone()
        while time.time() < start:
            time.sleep(0.001)
        for i in range(n):
            store.log_access(con, login=sys.argv[3], profile="analyste", page="carte", filters={"i": i})
""")


def test_two_app_processes_write_the_access_log_at_once_into_one_chain(env, server, monkeypatch):
    import time

    pg_store(server, monkeypatch, "store_two_processes")
    store.init_store()
    n = 150
    start = time.time() + 4
    environ = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(n), str(start), f"agent.{k}"],
            env=environ,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(2)
    ]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    with store.connect() as con:
        rows = con.execute("SELECT id, login FROM access_log ORDER BY id").fetchall()
        assert [r["id"] for r in rows] == list(range(1, 2 * n + 1))  # every line, no gap
        by = {}
        for r in rows:
            by[r["login"]] = by.get(r["login"], 0) + 1
        assert by == {"agent.0": n, "agent.1": n}
        logins = [r["login"] for r in rows]
        switches = sum(a != b for a, b in zip(logins, logins[1:]))
        assert switches > 2, "les deux processus n'ont pas écrit en même temps"
        v = audit.verify(con)
        assert v.intact and v.lines == 2 * n, v.problems


def _run_roles_script(server: str) -> tuple[str, str]:
    """deploy/app_store_roles.sql on `server` as the guide runs it (psql, the two passwords as
    variables — one with a quote and a `;--`); returns the owner's and the app's URLs."""
    from tests.pg import pg_bin

    out = subprocess.run(
        [
            str(pg_bin() / "psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-v",
            "app_pw=mot de passe d'appli",
            "-v",
            "owner_pw=Pr0priétaire;--",
            "-f",
            str(REPO / "deploy" / "app_store_roles.sql"),
            server,
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    base = server.rsplit("@", 1)[1].rsplit("/", 1)[0]
    owner_url, app_url = (
        f"postgresql://{role}@{base}/tranquillite" for role in ("tranquillite_owner", "tranquillite_app")
    )
    return owner_url, app_url


def test_the_committed_roles_script_sets_up_the_store_the_guide_describes(env, server, monkeypatch):
    """deploy/app_store_roles.sql, then `tranquillite magasin migrer` and `magasin droits` as the
    owner: the app's role appends to the access log and can do nothing else to it. Then the store
    is backed up and restored on a new server set up by the same script, as the guide's restore:
    the app's role gets its rights again there."""
    from tranquillite import backup
    from tranquillite.cli import main as cli

    owner_url, app_url = _run_roles_script(server)
    with psycopg2.connect(server) as c, c.cursor() as cur:
        cur.execute(
            "SELECT rolname, rolpassword IS NOT NULL, rolsuper, rolcreatedb FROM pg_authid "
            "WHERE rolname LIKE 'tranquillite\\_%' ORDER BY rolname"
        )
        assert cur.fetchall() == [("tranquillite_app", True, False, False), ("tranquillite_owner", True, False, False)]
    monkeypatch.setenv("TRANQUILLITE_APP_DB_URL", app_url)
    monkeypatch.setenv("TRANQUILLITE_APP_DB_OWNER_URL", owner_url)
    assert cli(["magasin", "migrer"]) == 0
    assert cli(["magasin", "droits", "--role", "tranquillite_app"]) == 0
    with store.connect() as con:
        assert con.execute("SELECT current_user").fetchone()[0] == "tranquillite_app"
        store.log_access(con, login="demo.analyste", profile="analyste", page="carte", filters={})
        assert audit.verify(con).intact
        for sql in ("UPDATE access_log SET login = 'x'", "DELETE FROM access_log", "CREATE TABLE t (x int)"):
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                con.execute_native(sql)
    with psycopg2.connect(owner_url) as c, c.cursor() as cur:
        cur.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'access_log'")
        assert cur.fetchone() == ("tranquillite_owner",)
        cur.execute("SELECT count(*) FROM access_log")
        assert cur.fetchone() == (1,)
    # the guide's restore: a new server, the same roles script, an empty home
    manifest = backup.backup(env.parent / f"{env.name}-sauvegarde", env)
    assert manifest["base_application"] and not manifest["base_dagster"]
    with postgres_server() as second:
        owner2, app2 = _run_roles_script(second)
        monkeypatch.setenv("TRANQUILLITE_APP_DB_URL", app2)
        monkeypatch.setenv("TRANQUILLITE_APP_DB_OWNER_URL", owner2)
        backup.restore(env.parent / f"{env.name}-sauvegarde", env.parent / f"{env.name}-restaure")
        with store.connect() as con:
            assert con.execute("SELECT current_user").fetchone()[0] == "tranquillite_app"
            assert con.execute("SELECT count(*) FROM access_log").fetchone()[0] == 1
            store.log_access(con, login="demo.analyste", profile="analyste", page="carte", filters={})
            assert audit.verify(con).intact
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                con.execute_native("DELETE FROM access_log")
        with psycopg2.connect(owner2) as c, c.cursor() as cur:
            cur.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'access_log'")
            assert cur.fetchone() == ("tranquillite_owner",)
