"""How long quarantined records holding personal data are kept (C2), and which were purged.

The DPO sets the retention in the app (page *Quarantaine*); it is stored in the app's store
(`app_core.store`: the SQLite file `$TRANQUILLITE_HOME/app/platform.sqlite` or PostgreSQL, table `quarantine_retention`, append-only: every change
is a new line, who and when) and read by the purge asset `governance/quarantine_purge`, which
removes the quarantine rows with a `donnee_personnelle` reason whose partition day is older than
the retention. What a purge removed is recorded without any content: the purge log
(`governance.quarantine_purges`: when, source, partition, how many, retention) and the identities
of the purged rows (`governance/quarantine_purged`: source, partition, file, line, record id), so
that the ledger stays explainable: read = clean + quarantined + duplicates + purged
(`purged_counts`).
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl

from tranquillite.app_core.db import OperationalError
from tranquillite.timezones import PARIS

DEFAULT_DAYS = 30
MIN_DAYS, MAX_DAYS = 1, 3650
PII_REASON = "donnee_personnelle"
PURGES_TABLE = "quarantine_purges"
PURGED_TABLE = "quarantine_purged"

# the table `quarantine_retention` (append-only) is created by the store's migrations
PURGES_SCHEMA = {
    "purged_at": pl.Utf8,
    "source": pl.Utf8,
    "partition": pl.Utf8,
    "records": pl.Int64,
    "retention_days": pl.Int64,
    "cutoff": pl.Utf8,
}
PURGED_SCHEMA = {
    "source": pl.Utf8,
    "partition": pl.Utf8,
    "file": pl.Utf8,
    "line": pl.Int64,
    "record_id": pl.Utf8,
    "purged_at": pl.Utf8,
}


class RetentionError(ValueError):
    """A retention the platform refuses (French message)."""


def store_file(home: Path | None = None) -> Path:
    if home is None:
        from tranquillite.settings import paths

        home = paths().home
    return Path(home) / "app" / "platform.sqlite"


def current(con: sqlite3.Connection) -> dict:
    """The retention in force: {'days', 'set_by', 'set_at'} (the default when never set)."""
    try:
        row = con.execute("SELECT days, set_by, set_at FROM quarantine_retention ORDER BY id DESC LIMIT 1").fetchone()
    except OperationalError:  # a store created before this module (read-only, never migrated)
        row = None
    if row is None:
        return {"days": DEFAULT_DAYS, "set_by": None, "set_at": None}
    return {"days": int(row[0]), "set_by": row[1], "set_at": row[2]}


def history(con: sqlite3.Connection) -> list[dict]:
    try:
        rows = con.execute("SELECT days, set_by, set_at FROM quarantine_retention ORDER BY id DESC").fetchall()
    except OperationalError:
        return []
    return [{"days": int(r[0]), "set_by": r[1], "set_at": r[2]} for r in rows]


def set_days(con: sqlite3.Connection, days: int, login: str) -> dict:
    """Record a new retention (the caller logs the change to the access log)."""
    if isinstance(days, bool) or not isinstance(days, int) or not MIN_DAYS <= days <= MAX_DAYS:
        raise RetentionError(
            f"durée de conservation invalide: {days!r} (un nombre entier de jours entre "
            f"{MIN_DAYS} et {MAX_DAYS} est attendu)"
        )
    at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    con.execute("INSERT INTO quarantine_retention (days, set_by, set_at) VALUES (?, ?, ?)", (days, login, at))
    return current(con)


def retention_days(home: Path | None = None) -> int:
    """The retention the purge applies, read from the app store (read-only; default when absent)."""
    from tranquillite.app_core import store

    if home is None and store.is_postgresql():
        with store.connect() as c:
            return current(c)["days"]
    path = store_file(home)
    if not path.exists():
        return DEFAULT_DAYS
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return current(con)["days"]
    finally:
        con.close()


def cutoff(days: int, today: date | None = None) -> date:
    """Partitions strictly before this day are past the retention."""
    return (today or datetime.now(PARIS).date()) - timedelta(days=days)


def holds_personal_data() -> pl.Expr:
    """Quarantine rows with a personal-data reason (`donnee_personnelle:<kind>`)."""
    return pl.col("reasons").list.eval(pl.element().str.starts_with(PII_REASON + ":")).list.any().fill_null(False)


def purged_counts(purged: pl.DataFrame) -> pl.DataFrame:
    """Distinct purged records per source and partition (what the ledger adds to the quarantine)."""
    if purged.is_empty():
        return pl.DataFrame(schema={"source": pl.Utf8, "partition": pl.Utf8, "purged": pl.UInt32})
    return (
        purged.unique(subset=["source", "partition", "file", "line"])
        .group_by("source", "partition")
        .len()
        .rename({"len": "purged"})
        .sort("source", "partition")
    )
