"""The app's own store: accounts, rights, the access log, the Cortège registry, the conventions.

Where: the SQLite file `$TRANQUILLITE_HOME/app/platform.sqlite` (the default, `make demo`), or a
PostgreSQL database (`TRANQUILLITE_APP_DB_URL`, required with `TRANQUILLITE_ENV=production`),
both through SQLAlchemy (`app_core.db`: the call sites keep their sqlite3-like interface and
their SQL written once in SQLite's dialect).

Holds what the City administers in the app — profiles and what each may open, see and do,
activity natures, organisations, users — and the append-only records: the access log, the
history of the Préfecture list requests and the registry of Cortège saves. Append-only is
enforced by triggers that refuse UPDATE, DELETE and an INSERT that reuses a key (SQLite's
INSERT OR REPLACE would otherwise delete the old row silently) — and on PostgreSQL also by the
privileges of the app's role (INSERT and SELECT only, `grant_app_role`) — and the access log is
an HMAC chain with a key outside the database (`audit`), its head published by Dagster, so that
an edit made outside those rules — or a truncation, a replay — is detected too.

The schema is Alembic's (`app_core/migrations`), brought to its head by `init_store` on first use
in each process: revision 0001 is the schema of the hand-written store (SCHEMA_VERSION 1), and a
SQLite store created by that code (no `alembic_version`) is brought up and stamped. The
conventions' tables and the DPO's retention are in the same migrations; what `init_store` then
writes (the pages and actions of the code, the seed of rights, the conventions' registry) is
data, written by the app's role.

One short-lived connection per operation (pooled on PostgreSQL): safe under Streamlit's threads;
on SQLite, WAL lets the readers run while one writer appends.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from tranquillite.app_core import audit, db
from tranquillite.app_core import rights as R
from tranquillite.app_core.db import DatabaseError, IntegrityError, OperationalError  # noqa: F401 - for the call sites
from tranquillite.conventions import schema as conventions_schema
from tranquillite.settings import SettingsError, paths, settings

SCHEMA_VERSION = 1  # the hand-written store's version (meta 'schema_version'); the schema is Alembic's now
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK = 0x7472616E6D  # PostgreSQL advisory lock: one process migrates at a time

GENESIS = audit.GENESIS
Connection = db.Connection


class StoreMisconfigured(SettingsError):
    """The store cannot be reached as configured (French message)."""


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat(timespec="microseconds")


def store_path() -> Path:
    """The SQLite file of the store (the default when TRANQUILLITE_APP_DB_URL is unset)."""
    return paths().home / "app" / "platform.sqlite"


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def url(target: Path | str | None = None, owner: bool = False) -> str:
    """The store's SQLAlchemy URL: `target` (a SQLite file or a URL) or the settings'.

    `owner`: the role that owns the schema (migrations, a destruction's purge), when the
    deployment gives one (`TRANQUILLITE_APP_DB_OWNER_URL`); else the app's."""
    if target is not None:
        t = str(target)
        return t if "://" in t else _sqlite_url(Path(t))
    s = settings()
    if s.app_db_url is not None:
        if owner and s.app_db_owner_url is not None:
            return s.app_db_owner_url.get_secret_value()
        return s.app_db_url.get_secret_value()
    if s.is_production:
        raise StoreMisconfigured(
            "TRANQUILLITE_ENV=production: TRANQUILLITE_APP_DB_URL (l'URL de la base PostgreSQL "
            "du magasin de l'application) est obligatoire — voir docs/deploiement.md"
        )
    return _sqlite_url(store_path())


def is_postgresql(target: Path | str | None = None) -> bool:
    return make_url(url(target)).get_backend_name() == "postgresql"


def _sqlite_file(u: str) -> Path | None:
    parsed = make_url(u)
    return Path(parsed.database) if parsed.get_backend_name() == "sqlite" else None


def exists(target: Path | str | None = None) -> bool:
    """Is there a store to read (a SQLite file that exists; a configured PostgreSQL database)?"""
    f = _sqlite_file(url(target))
    return f is None or f.exists()


def describe(target: Path | str | None = None) -> str:
    """Where the store is, for a message (never the password)."""
    u = url(target)
    f = _sqlite_file(u)
    return str(f) if f is not None else make_url(u).render_as_string(hide_password=True)


_READY: set[str] = set()  # stores brought up to this schema by this process (SQLite file or URL)
_INIT = threading.Lock()


def _ready_key(u: str) -> str:
    f = _sqlite_file(u)
    return str(f) if f is not None else u


@contextmanager
def connect(path: Path | str | None = None, owner: bool = False) -> Iterator[db.Connection]:
    """A connection to an initialised store (created and seeded on first use, migrated once per process).

    `path`: a SQLite file or a URL (default: the settings'); `owner`: the schema owner's role
    (a destruction's purge on PostgreSQL, where the app's role may not rewrite the append-only tables)."""
    target = url(path)
    f, key = _sqlite_file(target), _ready_key(target)
    if key not in _READY or (f is not None and not f.exists()):
        with _INIT:  # the first requests of a process arrive together
            if key not in _READY or (f is not None and not f.exists()):
                init_store(path)
    con = db.open_connection(url(path, owner=True) if owner and path is None else target)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: db.Connection) -> Iterator[db.Connection]:
    """The write transaction: one writer at a time (SQLite's BEGIN IMMEDIATE; on PostgreSQL an
    advisory lock taken at BEGIN), committed at the end, rolled back on any error."""
    with con.transaction():
        yield con


# --------------------------------------------------------------------------- migrations
def _alembic_config(sa_con):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = sa_con
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config(None)).get_current_head()


def revision(target: Path | str | None = None) -> str | None:
    """The store's Alembic revision (None: empty, or created before Alembic)."""
    from alembic.runtime.migration import MigrationContext

    with db.engine(url(target)).connect() as sa_con:
        return MigrationContext.configure(sa_con).get_current_revision()


def migrate(target: Path | str | None = None) -> dict:
    """Bring the store's schema to the head revision, under a lock (two processes never both
    migrate). On PostgreSQL it runs as the owner's role, then grants the app's role its rights.
    Returns {'avant': revision, 'apres': revision, 'ancien_magasin': created by the previous code}."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    app_url = url(target)
    owner_url = url(target, owner=True) if target is None else app_url
    head = head_revision()
    eng = db.engine(owner_url)
    with eng.connect() as sa_con:
        if eng.dialect.name == "sqlite":
            sa_con.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            sa_con.exec_driver_sql("BEGIN")
            sa_con.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        try:
            before = MigrationContext.configure(sa_con).get_current_revision()
            legacy = before is None and db.Connection(sa_con).has_table("meta")
            if before != head:
                command.upgrade(_alembic_config(sa_con), "head")
        except BaseException:
            sa_con.exec_driver_sql("ROLLBACK")
            raise
        if eng.dialect.name != "sqlite" or sa_con.connection.dbapi_connection.in_transaction:
            sa_con.exec_driver_sql("COMMIT")
    if (
        eng.dialect.name == "postgresql"
        and before != head
        and make_url(owner_url).username != make_url(app_url).username
    ):
        grant_app_role(make_url(app_url).username, owner_url)
    return {"avant": before, "apres": head, "ancien_magasin": legacy}


# what the app's role may do on PostgreSQL: the append-only records are INSERT and SELECT only
APPEND_ONLY_TABLES = (
    "access_log",
    "habilitation_requests",
    "habilitation_request_events",
    "cortege_entries",
    "quarantine_retention",
    "convention_history",
    "access_log_reanchors",
    "contract_fingerprints",
    "contractor_events",
    "alert_events",
    "alert_notifications",
)
MUTABLE_TABLES = (
    "meta",
    "pages",
    "actions",
    "profiles",
    "profile_pages",
    "profile_actions",
    "profile_conventions",
    "activity_natures",
    "activity_nature_sources",
    "organisations",
    "users",
    "user_actions",
    "auth_throttle",
    "sessions",
    "convention_registry",
    "convention_purge_open",
    "alert_followups",
    "alert_thresholds",
    "alert_reads",
)
# a purge is opened and closed by the app's code (its rows: no DELETE; triggers: only the closing)
INSERT_UPDATE_TABLES = ("convention_purges", "contractor_handovers")
READ_ONLY_TABLES = ("alembic_version", "autoincrement_sequences")


def grant_app_role(role: str, owner_url: str | None = None) -> list[str]:
    """GRANT the app's PostgreSQL role what it may do (run as the schema's owner); the statements run."""
    from sqlalchemy import text

    q = '"' + role.replace('"', '""') + '"'
    stmts = [f"GRANT USAGE ON SCHEMA {{schema}} TO {q}"]
    stmts += [
        f"REVOKE ALL ON {t} FROM {q}"
        for t in (*APPEND_ONLY_TABLES, *MUTABLE_TABLES, *INSERT_UPDATE_TABLES, *READ_ONLY_TABLES)
    ]
    stmts += [f"GRANT SELECT, INSERT ON {t} TO {q}" for t in APPEND_ONLY_TABLES]
    stmts += [f"GRANT SELECT, INSERT, UPDATE, DELETE ON {t} TO {q}" for t in MUTABLE_TABLES]
    stmts += [f"GRANT SELECT, INSERT, UPDATE ON {t} TO {q}" for t in INSERT_UPDATE_TABLES]
    stmts += [f"GRANT SELECT ON {t} TO {q}" for t in READ_ONLY_TABLES]
    stmts += [f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {{schema}} TO {q}"]
    eng = db.engine(owner_url or url(owner=True))
    if eng.dialect.name != "postgresql":
        raise StoreMisconfigured("les rôles ne concernent que le magasin sur PostgreSQL (TRANQUILLITE_APP_DB_URL)")
    with eng.connect() as sa_con:
        schema = sa_con.execute(text("SELECT current_schema()")).scalar()
        qs = '"' + schema.replace('"', '""') + '"'
        stmts = [s.replace("{schema}", qs) for s in stmts]
        sa_con.exec_driver_sql("BEGIN")
        try:
            for s in stmts:
                sa_con.exec_driver_sql(s)
        except BaseException:
            sa_con.exec_driver_sql("ROLLBACK")
            raise
        sa_con.exec_driver_sql("COMMIT")
    return stmts


def init_store(path: Path | str | None = None) -> Path | str:
    """Migrate the schema to its head, bring the pages and actions the code knows up to date
    (a store created before a page existed learns it here, not granted to any profile), and
    write the seed of rights once. Returns the SQLite file, or the URL on PostgreSQL."""
    target = url(path)
    f = _sqlite_file(target)
    if f is not None:
        f.parent.mkdir(parents=True, exist_ok=True)
        con = db.open_connection(target)
        try:
            con.execute("PRAGMA journal_mode = WAL")  # a setting of the file, outside any transaction
        finally:
            con.close()
    if revision(path) != head_revision():
        try:
            migrate(path)
        except (*db.DatabaseError, DBAPIError) as exc:  # the driver's, or SQLAlchemy's around Alembic's DDL
            if f is not None or "permission denied" not in str(exc):
                raise
            raise StoreMisconfigured(
                f"le rôle de l'application ne peut pas migrer le schéma du magasin ({str(exc).splitlines()[0]}): "
                "donner TRANQUILLITE_APP_DB_OWNER_URL (le rôle propriétaire) ou lancer `tranquillite magasin "
                "migrer` avec le rôle propriétaire — voir docs/deploiement.md"
            ) from None
    con = db.open_connection(target)
    try:
        with transaction(con):
            seeded = con.execute("SELECT value FROM meta WHERE key = 'seeded_at'").fetchone()
            if seeded is not None:
                _grant_tracabilite_once(con)
                _grant_alertes_once(con)
            _sync_catalogue(con)
            if seeded is not None:
                _grant_page_once(con, "fiche_modele")
            if seeded is None:
                _seed(con)
                con.execute("INSERT INTO meta VALUES ('seeded_at', ?)", (iso(now_utc()),))
                con.execute("INSERT OR IGNORE INTO meta VALUES ('granted_tracabilite', ?)", (iso(now_utc()),))
                con.execute("INSERT OR IGNORE INTO meta VALUES ('granted_alertes', ?)", (iso(now_utc()),))
                con.execute("INSERT OR IGNORE INTO meta VALUES ('granted_fiche_modele', ?)", (iso(now_utc()),))
                con.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        conventions_schema.install(con)  # the conventions' registry (#12): seeded from conventions.yaml
    finally:
        con.close()
    if f is not None:
        try:
            f.chmod(0o600)
        except OSError:
            pass
    _READY.add(_ready_key(target))
    return f if f is not None else target


def _grant_tracabilite_once(con: db.Connection) -> None:
    """The Traçabilité page (issue 11), granted once to the profiles of the seed that have it, in
    a store seeded before the page existed; from then on the City administers it like any page."""
    if con.execute("SELECT 1 FROM meta WHERE key = 'granted_tracabilite'").fetchone():
        return
    con.execute(
        "INSERT OR IGNORE INTO pages VALUES (?, ?, ?)",
        ("tracabilite", R.PAGES["tracabilite"]["title"], R.PAGES["tracabilite"]["description"]),
    )
    for prof in R.PROFILES:
        if "tracabilite" in prof.pages:
            con.execute(
                "INSERT INTO profile_pages SELECT ?, 'tracabilite' WHERE EXISTS "
                "(SELECT 1 FROM profiles WHERE code = ?) ON CONFLICT DO NOTHING",
                (prof.code, prof.code),
            )
    con.execute("INSERT INTO meta VALUES ('granted_tracabilite', ?)", (iso(now_utc()),))


def _grant_page_once(con: db.Connection, page: str) -> None:
    """A page added after a store was seeded, granted once to the profiles of the seed that have it;
    from then on the City administers it like any page (the catalogue of pages is synced before)."""
    key = f"granted_{page}"
    if con.execute("SELECT 1 FROM meta WHERE key = ?", (key,)).fetchone():
        return
    for prof in R.PROFILES:
        if page in prof.pages:
            con.execute(
                "INSERT INTO profile_pages SELECT ?, ? WHERE EXISTS "
                "(SELECT 1 FROM profiles WHERE code = ?) ON CONFLICT DO NOTHING",
                (prof.code, page, prof.code),
            )
    con.execute("INSERT INTO meta VALUES (?, ?)", (key, iso(now_utc())))


def _grant_alertes_once(con: db.Connection) -> None:
    """The Alertes page and its actions (issue 15), granted once to the profiles of the seed that
    have them, in a store seeded before they existed; then administered by the City like any right."""
    if con.execute("SELECT 1 FROM meta WHERE key = 'granted_alertes'").fetchone():
        return
    for prof in R.PROFILES:
        if "alertes" in prof.pages:
            con.execute(
                "INSERT INTO profile_pages SELECT ?, 'alertes' WHERE EXISTS "
                "(SELECT 1 FROM profiles WHERE code = ?) ON CONFLICT DO NOTHING",
                (prof.code, prof.code),
            )
        for a in set(prof.actions) & {"suivre_alertes", "fixer_seuils"}:
            con.execute(
                "INSERT INTO profile_actions SELECT ?, ? WHERE EXISTS "
                "(SELECT 1 FROM profiles WHERE code = ?) ON CONFLICT DO NOTHING",
                (prof.code, a, prof.code),
            )
    con.execute("INSERT INTO meta VALUES ('granted_alertes', ?)", (iso(now_utc()),))


def _sync_catalogue(con: db.Connection) -> None:
    """The pages and actions of the code (reference data, not rights)."""
    con.executemany(
        "INSERT INTO pages VALUES (?, ?, ?) ON CONFLICT (code) DO UPDATE SET title = excluded.title, "
        "description = excluded.description",
        [(code, p["title"], p["description"]) for code, p in R.PAGES.items()],
    )
    con.executemany(
        "INSERT INTO actions VALUES (?, ?) ON CONFLICT (code) DO UPDATE SET label = excluded.label",
        list(R.ACTIONS.items()),
    )


def _seed(con: db.Connection) -> None:
    for o in R.ORGANISATIONS:
        con.execute("INSERT OR IGNORE INTO organisations VALUES (?, ?, ?)", (o["code"], o["label"], o["kind"]))
    for n in R.ACTIVITY_NATURES:
        con.execute("INSERT OR IGNORE INTO activity_natures VALUES (?, ?)", (n["code"], n["label"]))
        for s in n["sources"]:
            con.execute("INSERT OR IGNORE INTO activity_nature_sources VALUES (?, ?)", (n["code"], s))
    for p in R.PROFILES:
        con.execute(
            "INSERT OR IGNORE INTO profiles (code, label, reason, organisation_kind, aggregated_only, "
            "own_data_only, requires_login, own_entries_only) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                p.code,
                p.label,
                p.reason,
                p.organisation_kind,
                int(p.aggregated_only),
                int(p.own_data_only),
                int(p.requires_login),
                int(p.own_entries_only),
            ),
        )
        for page in p.pages:
            con.execute("INSERT OR IGNORE INTO profile_pages VALUES (?, ?)", (p.code, page))
        for a in p.actions:
            con.execute("INSERT OR IGNORE INTO profile_actions VALUES (?, ?)", (p.code, a))
        for c in R.seed_conventions(p):  # its sources follow (rights.sources_of_conventions, issue 16)
            con.execute("INSERT OR IGNORE INTO profile_conventions VALUES (?, ?)", (p.code, c))


# --------------------------------------------------------------------------- access log
def log_access(
    con: db.Connection,
    *,
    login: str | None,
    profile: str,
    page: str,
    action: str = "consultation",
    filters: dict[str, Any] | None = None,
    export: bool = False,
    detail: str | None = None,
    at: datetime | None = None,
    reads: str | None = None,
) -> int:
    """Append one line to the access log (the only write path: there is no update or delete).

    `reads`: what the line's view, query or export read (`app_core.reads.to_json`: per table, the
    conventions of the rows returned and their count — never rows). The line's hash is an HMAC of
    its id, the previous hash and its fields, `reads` included when given (`audit`)."""
    stamp = iso(at or now_utc())
    f = json.dumps(filters or {}, ensure_ascii=False, sort_keys=True, default=str)
    with transaction(con):
        key = audit.writing_key(con)
        last = con.execute("SELECT id, row_hash FROM access_log ORDER BY id DESC LIMIT 1").fetchone()
        line_id = max(last[0] if last else 0, con.sequence("access_log") or 0) + 1
        prev = last[1] if last else GENESIS
        h = audit.line_mac(key, line_id, prev, stamp, login, profile, page, action, f, int(export), detail, reads)
        con.execute(
            "INSERT INTO access_log (id, at, login, profile, page, action, filters, export, detail, prev_hash, "
            "row_hash, reads) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (line_id, stamp, login, profile, page, action, f, int(export), detail, prev, h, reads),
        )
        return line_id


def verify_access_log(con: db.Connection) -> tuple[bool, int | None]:
    """(intact, id of the first broken line): the full verification is `audit.verify`."""
    v = audit.verify(con)
    return v.intact, v.first_broken


def access_log(
    con: db.Connection,
    *,
    since: str | None = None,
    until: str | None = None,
    login: str | None = None,
    profile: str | None = None,
    page: str | None = None,
    exports_only: bool = False,
    limit: int = 5000,
) -> list[dict]:
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
    sql = (
        "SELECT id, at, login, profile, page, action, filters, export, detail, reads FROM access_log WHERE "
        + " AND ".join(where)
        + " ORDER BY id DESC LIMIT ?"
    )
    return [dict(r) for r in con.execute(sql, params)]
