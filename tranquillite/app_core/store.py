"""The app's own store: `$TRANQUILLITE_HOME/app/platform.sqlite` (stdlib sqlite3, WAL).

Holds what the City administers in the app — profiles and what each may open, see and do,
activity natures, organisations, users — and the append-only records: the access log, the
history of the Préfecture list requests and the registry of Cortège saves. Append-only is
enforced by SQLite triggers that RAISE on UPDATE, DELETE and on an INSERT that reuses a key
(INSERT OR REPLACE would otherwise delete the old row silently), and the access log is an HMAC
chain with a key outside the database (`audit`), its head published by Dagster, so that an
edit made outside SQLite's rules — or a truncation, a replay — is detected too.

One short-lived connection per operation: safe under Streamlit's threads, and WAL lets the
readers run while one writer appends.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from tranquillite import retention
from tranquillite.app_core import audit
from tranquillite.app_core import rights as R
from tranquillite.conventions import schema as conventions_schema
from tranquillite.settings import paths

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS pages (code TEXT PRIMARY KEY, title TEXT NOT NULL, description TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS actions (code TEXT PRIMARY KEY, label TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS profiles (
    code TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    reason TEXT NOT NULL,
    organisation_kind TEXT NOT NULL CHECK (organisation_kind IN ('ville','prefecture','partenaire','public')),
    aggregated_only INTEGER NOT NULL DEFAULT 0,
    own_data_only INTEGER NOT NULL DEFAULT 0,
    requires_login INTEGER NOT NULL DEFAULT 1,
    own_entries_only INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS profile_pages (
    profile TEXT NOT NULL REFERENCES profiles(code), page TEXT NOT NULL REFERENCES pages(code),
    PRIMARY KEY (profile, page));
CREATE TABLE IF NOT EXISTS profile_actions (
    profile TEXT NOT NULL REFERENCES profiles(code), action TEXT NOT NULL REFERENCES actions(code),
    PRIMARY KEY (profile, action));
-- profile_sources, organisation_sources: no longer read nor written (issue 16: rights follow conventions)
CREATE TABLE IF NOT EXISTS profile_sources (
    profile TEXT NOT NULL REFERENCES profiles(code), source TEXT NOT NULL, PRIMARY KEY (profile, source));
CREATE TABLE IF NOT EXISTS profile_conventions (
    profile TEXT NOT NULL REFERENCES profiles(code), convention TEXT NOT NULL,
    PRIMARY KEY (profile, convention));

CREATE TABLE IF NOT EXISTS activity_natures (code TEXT PRIMARY KEY, label TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS activity_nature_sources (
    nature TEXT NOT NULL REFERENCES activity_natures(code), source TEXT NOT NULL, PRIMARY KEY (nature, source));

CREATE TABLE IF NOT EXISTS organisations (
    code TEXT PRIMARY KEY, label TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('ville','prefecture','partenaire','public')));
CREATE TABLE IF NOT EXISTS organisation_sources (
    organisation TEXT NOT NULL REFERENCES organisations(code), source TEXT NOT NULL,
    PRIMARY KEY (organisation, source));

CREATE TABLE IF NOT EXISTS users (
    login TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    email TEXT UNIQUE,
    profile TEXT NOT NULL REFERENCES profiles(code),
    activity_nature TEXT REFERENCES activity_natures(code),
    organisation TEXT NOT NULL REFERENCES organisations(code),
    active INTEGER NOT NULL DEFAULT 1,
    password_hash TEXT,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    demo INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS user_actions (
    login TEXT NOT NULL REFERENCES users(login), action TEXT NOT NULL REFERENCES actions(code),
    PRIMARY KEY (login, action));

CREATE TABLE IF NOT EXISTS auth_throttle (
    key TEXT PRIMARY KEY,            -- 'login:' or 'client:' + SHA-256 of the value (never a typed secret)
    window_start TEXT NOT NULL,
    attempts INTEGER NOT NULL
);

-- server-side sessions of local accounts (app_core.sessions): the only mutable security table
CREATE TABLE IF NOT EXISTS sessions (
    ref TEXT PRIMARY KEY,             -- not secret: names the session for the tab that opened it
    login TEXT NOT NULL REFERENCES users(login),
    method TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    bind_hash TEXT UNIQUE,            -- SHA-256 of the one-time binding code (cleared once used)
    bind_expires TEXT,
    token_hash TEXT UNIQUE,           -- SHA-256 of the cookie's token
    revoked_at TEXT,
    revoked_why TEXT
);
CREATE INDEX IF NOT EXISTS sessions_login ON sessions (login);

CREATE TABLE IF NOT EXISTS access_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    login TEXT,
    profile TEXT NOT NULL,
    page TEXT NOT NULL,
    action TEXT NOT NULL,
    filters TEXT NOT NULL DEFAULT '{}',
    export INTEGER NOT NULL DEFAULT 0,
    detail TEXT,
    prev_hash TEXT NOT NULL,
    row_hash TEXT NOT NULL,
    reads TEXT                -- what was read (issue 11): JSON [{table, conventions, rows, lectures}], never rows
);
CREATE INDEX IF NOT EXISTS access_log_at ON access_log (at);
CREATE TRIGGER IF NOT EXISTS access_log_no_update BEFORE UPDATE ON access_log
BEGIN SELECT RAISE(ABORT, 'journal d''accès en ajout seul: modification interdite'); END;
CREATE TRIGGER IF NOT EXISTS access_log_no_delete BEFORE DELETE ON access_log
BEGIN SELECT RAISE(ABORT, 'journal d''accès en ajout seul: suppression interdite'); END;
-- INSERT OR REPLACE deletes the old row without firing the DELETE trigger: refuse an existing id
CREATE TRIGGER IF NOT EXISTS access_log_no_replace BEFORE INSERT ON access_log
WHEN EXISTS (SELECT 1 FROM access_log WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'journal d''accès en ajout seul: réécriture interdite'); END;

CREATE TABLE IF NOT EXISTS habilitation_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('ajout','modification','retrait')),
    login TEXT NOT NULL,
    display_name TEXT,
    email TEXT,
    organisation TEXT NOT NULL REFERENCES organisations(code),
    profile TEXT REFERENCES profiles(code),
    activity_nature TEXT REFERENCES activity_natures(code),
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    comment TEXT
);
CREATE TABLE IF NOT EXISTS habilitation_request_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL REFERENCES habilitation_requests(id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('demandee','validee_prefecture','rejetee_prefecture',
                                            'habilitee','refusee')),
    comment TEXT
);
CREATE TRIGGER IF NOT EXISTS habilitation_requests_no_update BEFORE UPDATE ON habilitation_requests
BEGIN SELECT RAISE(ABORT, 'demande d''habilitation: historique en ajout seul'); END;
CREATE TRIGGER IF NOT EXISTS habilitation_requests_no_delete BEFORE DELETE ON habilitation_requests
BEGIN SELECT RAISE(ABORT, 'demande d''habilitation: historique en ajout seul'); END;
CREATE TRIGGER IF NOT EXISTS habilitation_events_no_update BEFORE UPDATE ON habilitation_request_events
BEGIN SELECT RAISE(ABORT, 'demande d''habilitation: historique en ajout seul'); END;
CREATE TRIGGER IF NOT EXISTS habilitation_events_no_delete BEFORE DELETE ON habilitation_request_events
BEGIN SELECT RAISE(ABORT, 'demande d''habilitation: historique en ajout seul'); END;
CREATE TRIGGER IF NOT EXISTS habilitation_requests_no_replace BEFORE INSERT ON habilitation_requests
WHEN EXISTS (SELECT 1 FROM habilitation_requests WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'demande d''habilitation: historique en ajout seul'); END;
CREATE TRIGGER IF NOT EXISTS habilitation_events_no_replace BEFORE INSERT ON habilitation_request_events
WHEN EXISTS (SELECT 1 FROM habilitation_request_events WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'demande d''habilitation: historique en ajout seul'); END;

CREATE TABLE IF NOT EXISTS cortege_entries (
    entry_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    record_type TEXT NOT NULL,
    login TEXT NOT NULL,
    saved_at TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (entry_id, version)
);
CREATE TRIGGER IF NOT EXISTS cortege_entries_no_update BEFORE UPDATE ON cortege_entries
BEGIN SELECT RAISE(ABORT, 'registre Cortège en ajout seul'); END;
CREATE TRIGGER IF NOT EXISTS cortege_entries_no_delete BEFORE DELETE ON cortege_entries
BEGIN SELECT RAISE(ABORT, 'registre Cortège en ajout seul'); END;
CREATE TRIGGER IF NOT EXISTS cortege_entries_no_replace BEFORE INSERT ON cortege_entries
WHEN EXISTS (SELECT 1 FROM cortege_entries WHERE entry_id = NEW.entry_id AND version = NEW.version)
BEGIN SELECT RAISE(ABORT, 'registre Cortège en ajout seul'); END;
"""

GENESIS = audit.GENESIS


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat(timespec="microseconds")


def store_path() -> Path:
    return paths().home / "app" / "platform.sqlite"


def _connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=10, isolation_level=None)  # autocommit; explicit BEGIN
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA foreign_keys = ON")
    con.execute("PRAGMA busy_timeout = 10000")
    return con


_READY: set[str] = set()  # stores brought up to this schema by this process
_INIT = threading.Lock()


@contextmanager
def connect(path: Path | None = None) -> Iterator[sqlite3.Connection]:
    """A connection to an initialised store (created and seeded on first use, migrated once per process)."""
    path = Path(path) if path else store_path()
    if not path.exists() or str(path) not in _READY:
        with _INIT:  # the first requests of a process arrive together
            if not path.exists() or str(path) not in _READY:
                init_store(path)
    con = _connect(path)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE: one writer at a time, serialised by SQLite itself."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    else:
        con.execute("COMMIT")


def init_store(path: Path | None = None) -> Path:
    """Create the schema (idempotent), bring the pages and actions the code knows up to date
    (a store created before a page existed learns it here, not granted to any profile), and
    write the seed of rights once."""
    path = Path(path) if path else store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _connect(path)
    try:
        con.execute("PRAGMA journal_mode = WAL")
        _migrate(con)
        con.executescript(SCHEMA)
        retention.init_schema(con)  # the DPO's retention of quarantined personal data (its own DDL)
        with transaction(con):
            _sync_catalogue(con)
            seeded = con.execute("SELECT value FROM meta WHERE key = 'seeded_at'").fetchone()
            if seeded is None:
                _seed(con)
                con.execute("INSERT INTO meta VALUES ('seeded_at', ?)", (iso(now_utc()),))
                con.execute("INSERT OR IGNORE INTO meta VALUES ('granted_tracabilite', ?)", (iso(now_utc()),))
                con.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        conventions_schema.install(con)  # the conventions' tables (#12)
    finally:
        con.close()
    try:
        path.chmod(0o600)
    except OSError:
        pass
    _READY.add(str(path))
    return path


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in con.execute(f"PRAGMA table_info({table})")}  # our own table names


def _migrate(con: sqlite3.Connection) -> None:
    """Bring a store created by an earlier version up to this schema (idempotent)."""
    with transaction(con):  # checked under the write lock: two processes never both migrate
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "profiles" in tables and "own_entries_only" not in _columns(con, "profiles"):
            # Cortège agents read only their own entries, in the gateway too (issue #10)
            con.execute("ALTER TABLE profiles ADD COLUMN own_entries_only INTEGER NOT NULL DEFAULT 0")
            con.execute("UPDATE profiles SET own_entries_only = 1 WHERE code = 'agent_cortege'")
        if "access_log" in tables and "reads" not in _columns(con, "access_log"):
            # what each line read (issue 11); earlier lines keep NULL, and their MAC without it
            con.execute("ALTER TABLE access_log ADD COLUMN reads TEXT")
        if "profile_pages" in tables and "pages" in tables and not con.execute(
                "SELECT 1 FROM meta WHERE key = 'granted_tracabilite'").fetchone():
            # the Traçabilité page (issue 11), granted once to the profiles of the seed that have it;
            # from then on the City administers it like any page
            con.execute("INSERT OR IGNORE INTO pages VALUES (?, ?, ?)",
                        ("tracabilite", R.PAGES["tracabilite"]["title"], R.PAGES["tracabilite"]["description"]))
            for prof in R.PROFILES:
                if "tracabilite" in prof.pages:
                    con.execute("INSERT INTO profile_pages SELECT ?, 'tracabilite' WHERE EXISTS "
                                "(SELECT 1 FROM profiles WHERE code = ?) ON CONFLICT DO NOTHING", (prof.code, prof.code))
            con.execute("INSERT INTO meta VALUES ('granted_tracabilite', ?)", (iso(now_utc()),))


def _sync_catalogue(con: sqlite3.Connection) -> None:
    """The pages and actions of the code (reference data, not rights)."""
    con.executemany("INSERT INTO pages VALUES (?, ?, ?) ON CONFLICT (code) DO UPDATE SET title = excluded.title, "
                    "description = excluded.description",
                    [(code, p["title"], p["description"]) for code, p in R.PAGES.items()])
    con.executemany("INSERT INTO actions VALUES (?, ?) ON CONFLICT (code) DO UPDATE SET label = excluded.label",
                    list(R.ACTIONS.items()))


def _seed(con: sqlite3.Connection) -> None:
    for o in R.ORGANISATIONS:
        con.execute("INSERT OR IGNORE INTO organisations VALUES (?, ?, ?)", (o["code"], o["label"], o["kind"]))
    for n in R.ACTIVITY_NATURES:
        con.execute("INSERT OR IGNORE INTO activity_natures VALUES (?, ?)", (n["code"], n["label"]))
        for s in n["sources"]:
            con.execute("INSERT OR IGNORE INTO activity_nature_sources VALUES (?, ?)", (n["code"], s))
    for p in R.PROFILES:
        con.execute("INSERT OR IGNORE INTO profiles (code, label, reason, organisation_kind, aggregated_only, "
                    "own_data_only, requires_login, own_entries_only) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (p.code, p.label, p.reason, p.organisation_kind, int(p.aggregated_only),
                     int(p.own_data_only), int(p.requires_login), int(p.own_entries_only)))
        for page in p.pages:
            con.execute("INSERT OR IGNORE INTO profile_pages VALUES (?, ?)", (p.code, page))
        for a in p.actions:
            con.execute("INSERT OR IGNORE INTO profile_actions VALUES (?, ?)", (p.code, a))
        for c in R.seed_conventions(p):  # its sources follow (rights.sources_of_conventions, issue 16)
            con.execute("INSERT OR IGNORE INTO profile_conventions VALUES (?, ?)", (p.code, c))


# --------------------------------------------------------------------------- access log
def log_access(con: sqlite3.Connection, *, login: str | None, profile: str, page: str,
               action: str = "consultation", filters: dict[str, Any] | None = None, export: bool = False,
               detail: str | None = None, at: datetime | None = None, reads: str | None = None) -> int:
    """Append one line to the access log (the only write path: there is no update or delete).

    `reads`: what the line's view, query or export read (`app_core.reads.to_json`: per table, the
    conventions of the rows returned and their count — never rows). The line's hash is an HMAC of
    its id, the previous hash and its fields, `reads` included when given (`audit`)."""
    stamp = iso(at or now_utc())
    f = json.dumps(filters or {}, ensure_ascii=False, sort_keys=True, default=str)
    with transaction(con):
        key = audit.writing_key(con)
        last = con.execute("SELECT id, row_hash FROM access_log ORDER BY id DESC LIMIT 1").fetchone()
        seq = con.execute("SELECT seq FROM sqlite_sequence WHERE name = 'access_log'").fetchone()
        line_id = max(last[0] if last else 0, seq[0] if seq else 0) + 1
        prev = last[1] if last else GENESIS
        h = audit.line_mac(key, line_id, prev, stamp, login, profile, page, action, f, int(export), detail, reads)
        con.execute(
            "INSERT INTO access_log (id, at, login, profile, page, action, filters, export, detail, prev_hash, "
            "row_hash, reads) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (line_id, stamp, login, profile, page, action, f, int(export), detail, prev, h, reads))
        return line_id


def verify_access_log(con: sqlite3.Connection) -> tuple[bool, int | None]:
    """(intact, id of the first broken line): the full verification is `audit.verify`."""
    v = audit.verify(con)
    return v.intact, v.first_broken


def access_log(con: sqlite3.Connection, *, since: str | None = None, until: str | None = None,
               login: str | None = None, profile: str | None = None, page: str | None = None,
               exports_only: bool = False, limit: int = 5000) -> list[dict]:
    """Filtered read of the access log, newest first (parameters only, no string building of values)."""
    where, params = ["1 = 1"], []
    if since:
        where.append("at >= ?")
        params.append(since)
    if until:
        where.append("at < ?")
        params.append(until)
    if login:
        where.append("login = ?")
        params.append(login)
    if profile:
        where.append("profile = ?")
        params.append(profile)
    if page:
        where.append("page = ?")
        params.append(page)
    if exports_only:
        where.append("export = 1")
    params.append(int(limit))
    sql = ("SELECT id, at, login, profile, page, action, filters, export, detail, reads FROM access_log WHERE "
           + " AND ".join(where) + " ORDER BY id DESC LIMIT ?")
    return [dict(r) for r in con.execute(sql, params)]
