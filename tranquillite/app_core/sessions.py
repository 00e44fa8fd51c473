"""Server-side sessions of local accounts, bound to a secure HttpOnly cookie (issue #10, ASVS V3).

A Streamlit session lives in one browser tab's WebSocket: a reload or a new tab started over,
logged out. Now a successful local login opens a session in the store and hands the page a
one-time binding code (60 s); the page posts it to `/api/session` (`apps/streamlit/server.py`),
which exchanges it for a fresh random token set as the cookie `tq_session` — `HttpOnly` (no
script reads it), `Secure`, `SameSite=Strict`, `Path=/`. A new WebSocket (reload, new tab)
carries the cookie; `resume` finds the session by the token's SHA-256 (the store never holds the
token itself) if it is neither revoked, nor idle longer than `TRANQUILLITE_SESSION_IDLE_MINUTES`,
nor older than `TRANQUILLITE_SESSION_MAX_HOURS`.

Logging out (any tab) revokes the session in the store: every other tab is logged out at its next
click, the cookie is cleared. A password change revokes the person's other sessions; a deactivated
habilitation has no principal anyway (`rights.load_principal`).
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from datetime import datetime, timedelta

from tranquillite.app_core import store
from tranquillite.settings import settings

COOKIE = "tq_session"
BIND_TTL = timedelta(seconds=60)
TOUCH_EVERY = timedelta(seconds=30)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def idle() -> timedelta:
    return timedelta(minutes=settings().session_idle_minutes)


def lifetime() -> timedelta:
    return timedelta(hours=settings().session_max_hours)


def open_session(
    con: sqlite3.Connection, login: str, method: str = "local", now: datetime | None = None
) -> tuple[str, str]:
    """A new session for this person (a new id at every login: no fixation); returns (ref, binding code)."""
    now = now or store.now_utc()
    ref, code = secrets.token_urlsafe(16), secrets.token_urlsafe(32)
    with store.transaction(con):
        con.execute(
            "INSERT INTO sessions (ref, login, method, created_at, last_seen, expires_at, bind_hash, "
            "bind_expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                ref,
                login,
                method,
                store.iso(now),
                store.iso(now),
                store.iso(now + lifetime()),
                _digest(code),
                store.iso(now + BIND_TTL),
            ),
        )
    return ref, code


def bind(con: sqlite3.Connection, code: str, now: datetime | None = None) -> str | None:
    """Exchange a binding code (once, within 60 s) for the cookie's token; None if it is not valid."""
    now = now or store.now_utc()
    token = secrets.token_urlsafe(32)
    with store.transaction(con):
        row = con.execute(
            "UPDATE sessions SET token_hash = ?, bind_hash = NULL, bind_expires = NULL "
            "WHERE bind_hash = ? AND bind_expires > ? AND token_hash IS NULL AND revoked_at IS NULL "
            "AND expires_at > ? RETURNING ref",
            (_digest(token), _digest(code or ""), store.iso(now), store.iso(now)),
        ).fetchone()
    return token if row else None


def resume(con: sqlite3.Connection, token: str | None, now: datetime | None = None) -> dict | None:
    """The live session of a cookie's token ({'ref', 'login', 'method'}), else None (revoked if expired)."""
    if not token:
        return None
    now = now or store.now_utc()
    row = con.execute(
        "SELECT * FROM sessions WHERE token_hash = ? AND revoked_at IS NULL", (_digest(token),)
    ).fetchone()
    if row is None:
        return None
    if row["expires_at"] <= store.iso(now) or row["last_seen"] <= store.iso(now - idle()):
        revoke(con, row["ref"], "expiree", now)
        return None
    touch(con, row["ref"], now, force=True)
    return {"ref": row["ref"], "login": row["login"], "method": row["method"]}


def alive(con: sqlite3.Connection, ref: str) -> bool:
    return con.execute("SELECT 1 FROM sessions WHERE ref = ? AND revoked_at IS NULL", (ref,)).fetchone() is not None


def touch(con: sqlite3.Connection, ref: str, now: datetime | None = None, force: bool = False) -> None:
    """The session was used now (written at most every 30 s)."""
    now = now or store.now_utc()
    cond = "" if force else " AND last_seen < ?"
    params = (store.iso(now), ref) if force else (store.iso(now), ref, store.iso(now - TOUCH_EVERY))
    with store.transaction(con):
        con.execute(f"UPDATE sessions SET last_seen = ? WHERE ref = ? AND revoked_at IS NULL{cond}", params)


def revoke(
    con: sqlite3.Connection,
    ref: str | None = None,
    why: str = "deconnexion",
    now: datetime | None = None,
    token: str | None = None,
) -> None:
    now = now or store.now_utc()
    with store.transaction(con):
        if ref:
            con.execute(
                "UPDATE sessions SET revoked_at = ?, revoked_why = ? WHERE ref = ? AND revoked_at IS NULL",
                (store.iso(now), why, ref),
            )
        if token:
            con.execute(
                "UPDATE sessions SET revoked_at = ?, revoked_why = ? WHERE token_hash = ? AND revoked_at IS NULL",
                (store.iso(now), why, _digest(token)),
            )


def revoke_others(con: sqlite3.Connection, login: str, keep: str | None, why: str) -> int:
    """Revoke every live session of this person but `keep` (e.g. after a password change)."""
    with store.transaction(con):
        cur = con.execute(
            "UPDATE sessions SET revoked_at = ?, revoked_why = ? WHERE login = ? AND revoked_at IS NULL "
            "AND ref IS NOT ?",
            (store.iso(store.now_utc()), why, login, keep),
        )
    return cur.rowcount
