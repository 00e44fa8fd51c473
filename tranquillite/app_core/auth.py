"""Authentication: local accounts (argon2id), lockout, idle sessions, OIDC identity mapping.

* Passwords: argon2id (argon2-cffi, RFC 9106 parameters), 12 to 128 characters, judged by a
  maintained strength estimator (`strength`: zxcvbn + French words + the platform's and the
  person's own words); a hash is upgraded at the next login when the parameters change.
* Lockout: 5 consecutive failures lock the account for 15 minutes; while locked, even the right
  password is refused and not even checked. The failure is counted BEFORE the hash check, in
  one atomic `UPDATE … RETURNING` (parallel attempts cannot all be checked: issue #10), and an
  attempt is checked only if its own number is at most 5.
* Rate limits: per login (any string, known or not) and per client address, in a fixed window,
  counted in the same transaction before any check.
* Every refusal — unknown login, wrong password, locked, deactivated, throttled, demo account in
  production — says the same words (`GENERIC_FAILURE`) after the same work (one argon2
  verification, then a floor on the response time); the reason goes to the access log only.
* Sessions: expire after `TRANQUILLITE_SESSION_IDLE_MINUTES` (default 30) without interaction.
* OIDC (`st.login`): the identity provider proves who the person is; what they may do is the
  app's business: the e-mail must belong to an ACTIVE user of the store, else nothing.
* In production (`TRANQUILLITE_ENV=production`) demo accounts are refused.
Every attempt is written to the access log.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tranquillite.app_core import store, strength
from tranquillite.app_core.transport import is_production
from tranquillite.settings import settings

MIN_PASSWORD_LENGTH = strength.MIN_LENGTH
MAX_PASSWORD_LENGTH = strength.MAX_LENGTH
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
THROTTLE_WINDOW = timedelta(minutes=15)
LOGIN_LIMIT = 10  # attempts per login (known or not) per window
CLIENT_LIMIT = 30  # attempts per client address per window
RESPONSE_FLOOR = 0.4  # seconds: no refusal answers faster (argon2id takes ~0.1–0.3 s here)
GENERIC_FAILURE = (
    "Identifiant ou mot de passe incorrect, ou compte indisponible. Après plusieurs échecs, "
    "l'accès est suspendu 15 minutes; en cas de besoin, contactez le gestionnaire des habilitations."
)

_hasher = PasswordHasher()  # argon2id by default
_DUMMY_HASH = _hasher.hash("mot de passe factice pour égaliser les temps de réponse")


def idle_timeout() -> timedelta:
    return timedelta(minutes=settings().session_idle_minutes)


def session_expired(last_seen: datetime | None, now: datetime | None = None, timeout: timedelta | None = None) -> bool:
    if last_seen is None:
        return True
    return (now or store.now_utc()) - last_seen > (timeout or idle_timeout())


def password_problems(password: str, login: str | None = None, words: Iterable[str | None] = ()) -> list[str]:
    """The French reasons why a new password is refused (empty list: acceptable).

    `words`: the person's name, e-mail… (with the login) that the password must not lean on."""
    return strength.problems(password or "", strength.personal_words(login, *words), login)


def hash_password(password: str, login: str | None = None, words: Iterable[str | None] = ()) -> str:
    problems = password_problems(password, login, words)
    if problems:
        raise ValueError(" ".join(problems))
    return _hasher.hash(password)


def is_argon2id(password_hash: str) -> bool:
    return password_hash.startswith("$argon2id$")


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    message: str
    login: str | None = None


def _key(kind: str, value: str) -> str:
    """Throttle keys are digests: a login field may hold a mistyped password, never stored."""
    return kind + ":" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def _bump(con: sqlite3.Connection, key: str, now: datetime) -> int:
    """Count one attempt in the key's fixed window (atomic, inside the caller's transaction)."""
    cutoff = store.iso(now - THROTTLE_WINDOW)
    return int(
        con.execute(
            "INSERT INTO auth_throttle (key, window_start, attempts) VALUES (?, ?, 1) "
            "ON CONFLICT (key) DO UPDATE SET "
            "attempts = CASE WHEN window_start <= ? THEN 1 ELSE attempts + 1 END, "
            "window_start = CASE WHEN window_start <= ? THEN excluded.window_start ELSE window_start END "
            "RETURNING attempts",
            (key, store.iso(now), cutoff, cutoff),
        ).fetchone()[0]
    )


_COUNT_FAILURE = """
UPDATE users SET
  failed_attempts = CASE WHEN locked_until IS NOT NULL AND locked_until <= :now THEN 1 ELSE failed_attempts + 1 END,
  locked_until = CASE
    WHEN locked_until IS NOT NULL AND locked_until <= :now THEN (CASE WHEN 1 >= :max THEN :lock END)
    WHEN locked_until IS NULL AND failed_attempts + 1 >= :max THEN :lock
    ELSE locked_until END
WHERE login = :login
RETURNING failed_attempts, locked_until, password_hash, active, demo, profile
"""


def _refuse(
    con: sqlite3.Connection, started: float, login: str | None, profile: str, action: str, detail: str, now: datetime
) -> LoginResult:
    store.log_access(con, login=login, profile=profile, page="connexion", action=action, detail=detail, at=now)
    rest = RESPONSE_FLOOR - (time.perf_counter() - started)
    if rest > 0:
        time.sleep(rest)
    return LoginResult(False, GENERIC_FAILURE)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return bool(_hasher.verify(password_hash or _DUMMY_HASH, password or "")) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def authenticate(
    con: sqlite3.Connection, login: str, password: str, now: datetime | None = None, client: str | None = None
) -> LoginResult:
    """Check a local account's password, with lockout and rate limits; every outcome is logged.

    `client`: the client's address (None: unknown/local). Every refusal is the same message after
    the same work; `LoginResult.login` is set on success only."""
    started = time.perf_counter()
    now = now or store.now_utc()
    login = (login or "").strip()
    params = {"now": store.iso(now), "lock": store.iso(now + LOCKOUT), "max": MAX_FAILURES, "login": login}
    keys = (_key("login", login.lower()), _key("client", client or "local"))
    with store.transaction(con):  # counted before anything is checked, atomically
        n_login, n_client = (_bump(con, k, now) for k in keys)
        throttled = n_login > LOGIN_LIMIT or n_client > CLIENT_LIMIT
        u = con.execute(_COUNT_FAILURE, params).fetchone() if login and not throttled else None
    if throttled:
        _verify(None, password)  # the same work as a real check
        return _refuse(
            con,
            started,
            None,
            "public",
            "connexion_refusee",
            f"limite de tentatives ({'identifiant' if n_login > LOGIN_LIMIT else 'poste client'})",
            now,
        )
    if u is None:
        _verify(None, password)
        return _refuse(con, started, None, "public", "connexion_echouee", "identifiant inconnu", now)
    profile, failures = u["profile"], int(u["failed_attempts"])
    if failures > MAX_FAILURES:  # locked (or beyond the 5 attempts being checked): not even checked
        _verify(None, password)
        return _refuse(con, started, login, profile, "connexion_refusee", "compte verrouillé", now)
    if not _verify(u["password_hash"], password):
        locking = failures >= MAX_FAILURES
        return _refuse(
            con,
            started,
            login,
            profile,
            "verrouillage" if locking else "connexion_echouee",
            f"échec {failures}/{MAX_FAILURES}" + (" (compte verrouillé 15 minutes)" if locking else ""),
            now,
        )
    if not u["active"]:
        return _refuse(con, started, login, profile, "connexion_refusee", "habilitation inactive", now)
    if u["demo"] and is_production():
        return _refuse(con, started, login, profile, "connexion_refusee", "compte de démonstration en production", now)
    new_hash = _hasher.hash(password) if _hasher.check_needs_rehash(u["password_hash"]) else u["password_hash"]
    with store.transaction(con):
        con.execute(
            "UPDATE users SET failed_attempts = 0, locked_until = NULL, password_hash = ?, updated_at = ? "
            "WHERE login = ?",
            (new_hash, store.iso(now), login),
        )
        con.execute("UPDATE auth_throttle SET attempts = max(attempts - 1, 0) WHERE key IN (?, ?)", keys)
    store.log_access(
        con, login=login, profile=profile, page="connexion", action="connexion_reussie", detail="compte local", at=now
    )
    return LoginResult(True, "Connexion réussie.", login)


def set_password(con: sqlite3.Connection, login: str, new_password: str, must_change: bool = False) -> None:
    u = con.execute("SELECT display_name, email FROM users WHERE login = ?", (login,)).fetchone()
    h = hash_password(new_password, login, (u["display_name"], u["email"]) if u else ())
    with store.transaction(con):
        cur = con.execute(
            "UPDATE users SET password_hash = ?, must_change_password = ?, failed_attempts = 0, "
            "locked_until = NULL, updated_at = ? WHERE login = ?",
            (h, int(must_change), store.iso(store.now_utc()), login),
        )
        if cur.rowcount != 1:
            raise LookupError(f"utilisateur inconnu: {login}")


def change_password(
    con: sqlite3.Connection, login: str, old: str, new: str, confirm: str, keep_session: str | None = None
) -> list[str]:
    """The user changes their own password; returns the problems (empty: done).

    Every other session of the person is revoked (`keep_session`: the one in use)."""
    u = con.execute(
        "SELECT password_hash, profile, display_name, email FROM users WHERE login = ?", (login,)
    ).fetchone()
    if u is None:
        return ["Utilisateur inconnu."]
    if not _verify(u["password_hash"], old):
        return ["Le mot de passe actuel est incorrect."]
    problems = password_problems(new, login, (u["display_name"], u["email"]))
    if new != confirm:
        problems.append("La confirmation ne correspond pas au nouveau mot de passe.")
    if new == old:
        problems.append("Le nouveau mot de passe doit être différent de l'actuel.")
    if problems:
        return problems
    set_password(con, login, new, must_change=False)
    from tranquillite.app_core import sessions

    others = sessions.revoke_others(con, login, keep_session, "changement_mot_de_passe")
    store.log_access(
        con,
        login=login,
        profile=u["profile"],
        page="compte",
        action="changement_mot_de_passe",
        detail=f"{others} autre(s) session(s) fermée(s)",
    )
    return []


def unlock(con: sqlite3.Connection, login: str) -> None:
    with store.transaction(con):
        con.execute("UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE login = ?", (login,))


# --------------------------------------------------------------------------- OIDC
def oidc_login(con: sqlite3.Connection, email: str | None) -> str | None:
    """The login of the ACTIVE habilitated user with this identity-provider e-mail, else None.

    The only mapping from an OIDC identity to the app's users; an unknown or inactive identity
    gets nothing (and the attempt is logged).
    """
    if not email:
        return None
    u = con.execute(
        "SELECT login, profile, active, demo FROM users WHERE lower(email) = lower(?)", (email.strip(),)
    ).fetchone()
    if u is None or not u["active"] or (u["demo"] and is_production()):
        store.log_access(
            con,
            login=None,
            profile="public",
            page="connexion",
            action="oidc_refusee",
            detail="identité non habilitée" if u is None else "habilitation inactive",
        )
        return None
    return u["login"]
