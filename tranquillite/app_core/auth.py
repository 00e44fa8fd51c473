"""Authentication: local accounts (argon2id), lockout, idle sessions, OIDC identity mapping.

* Passwords: argon2id (argon2-cffi, RFC 9106 parameters), at least 12 characters; a hash is
  upgraded at the next login when the parameters change.
* Lockout: 5 consecutive failures lock the account for 15 minutes; while locked, even the right
  password is refused and not even checked.
* Sessions: expire after `TRANQUILLITE_SESSION_IDLE_MINUTES` (default 30) without interaction.
* OIDC (`st.login`): the identity provider proves who the person is; what they may do is the
  app's business: the e-mail must belong to an ACTIVE user of the store, else nothing.
* In production (`TRANQUILLITE_ENV=production`) demo accounts are refused.
Every attempt is written to the access log.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tranquillite.app_core import store
from tranquillite.app_core.transport import is_production
from tranquillite.settings import settings

MIN_PASSWORD_LENGTH = 12
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
DEFAULT_IDLE_MINUTES = 30
PARIS = ZoneInfo("Europe/Paris")
GENERIC_FAILURE = "Identifiant ou mot de passe incorrect."

_hasher = PasswordHasher()  # argon2id by default
_DUMMY_HASH = _hasher.hash("mot de passe factice pour égaliser les temps de réponse")


def idle_timeout() -> timedelta:
    return timedelta(minutes=settings().session_idle_minutes)


def session_expired(last_seen: datetime | None, now: datetime | None = None,
                    timeout: timedelta | None = None) -> bool:
    if last_seen is None:
        return True
    return (now or store.now_utc()) - last_seen > (timeout or idle_timeout())


def password_problems(password: str, login: str | None = None) -> list[str]:
    """The French reasons why a new password is refused (empty list: acceptable)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"Le mot de passe doit comporter au moins {MIN_PASSWORD_LENGTH} caractères.")
    if login and login.lower() in password.lower():
        problems.append("Le mot de passe ne doit pas contenir l'identifiant.")
    if password and len(set(password)) < 4:
        problems.append("Le mot de passe est trop répétitif.")
    return problems


def hash_password(password: str, login: str | None = None) -> str:
    problems = password_problems(password, login)
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
    locked_until: datetime | None = None


def _paris(dt: datetime) -> str:
    return dt.astimezone(PARIS).strftime("%H:%M")


def authenticate(con: sqlite3.Connection, login: str, password: str, now: datetime | None = None) -> LoginResult:
    """Check a local account's password, with lockout; every outcome is logged."""
    now = now or store.now_utc()
    login = (login or "").strip()
    u = con.execute("SELECT * FROM users WHERE login = ?", (login,)).fetchone() if login else None
    if u is None:
        try:  # same work as for a real account: response time does not reveal which logins exist
            _hasher.verify(_DUMMY_HASH, password or "")
        except VerificationError:
            pass
        store.log_access(con, login=None, profile="public", page="connexion", action="connexion_echouee",
                         detail="identifiant inconnu", at=now)
        return LoginResult(False, GENERIC_FAILURE)
    profile = u["profile"]
    locked = datetime.fromisoformat(u["locked_until"]) if u["locked_until"] else None
    if locked and now < locked:
        store.log_access(con, login=login, profile=profile, page="connexion", action="connexion_refusee",
                         detail="compte verrouillé", at=now)
        return LoginResult(False, f"Compte verrouillé après {MAX_FAILURES} échecs: réessayez après "
                                  f"{_paris(locked)} (heure de Paris) ou contactez le gestionnaire des habilitations.",
                           login, locked)
    ok = False
    if u["password_hash"]:
        try:
            ok = _hasher.verify(u["password_hash"], password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
    if not ok:
        failures = int(u["failed_attempts"]) + 1
        lock_until = now + LOCKOUT if failures >= MAX_FAILURES else None
        with store.transaction(con):
            con.execute("UPDATE users SET failed_attempts = ?, locked_until = ?, updated_at = ? WHERE login = ?",
                        (0 if lock_until else failures, store.iso(lock_until) if lock_until else None,
                         store.iso(now), login))
        store.log_access(con, login=login, profile=profile, page="connexion",
                         action="verrouillage" if lock_until else "connexion_echouee",
                         detail=f"échec {failures}/{MAX_FAILURES}", at=now)
        if lock_until:
            return LoginResult(False, f"{GENERIC_FAILURE} Compte verrouillé pendant {int(LOCKOUT.total_seconds() // 60)} "
                                      f"minutes (jusqu'à {_paris(lock_until)}, heure de Paris).", login, lock_until)
        return LoginResult(False, GENERIC_FAILURE, login)
    if not u["active"]:
        store.log_access(con, login=login, profile=profile, page="connexion", action="connexion_refusee",
                         detail="habilitation inactive", at=now)
        return LoginResult(False, "Votre habilitation n'est pas active. Contactez le gestionnaire des habilitations.",
                           login)
    if u["demo"] and is_production():
        store.log_access(con, login=login, profile=profile, page="connexion", action="connexion_refusee",
                         detail="compte de démonstration en production", at=now)
        return LoginResult(False, "Les comptes de démonstration sont refusés en production.", login)
    new_hash = _hasher.hash(password) if _hasher.check_needs_rehash(u["password_hash"]) else u["password_hash"]
    with store.transaction(con):
        con.execute("UPDATE users SET failed_attempts = 0, locked_until = NULL, password_hash = ?, updated_at = ? "
                    "WHERE login = ?", (new_hash, store.iso(now), login))
    store.log_access(con, login=login, profile=profile, page="connexion", action="connexion_reussie",
                     detail="compte local", at=now)
    return LoginResult(True, "Connexion réussie.", login)


def set_password(con: sqlite3.Connection, login: str, new_password: str, must_change: bool = False) -> None:
    h = hash_password(new_password, login)
    with store.transaction(con):
        cur = con.execute("UPDATE users SET password_hash = ?, must_change_password = ?, failed_attempts = 0, "
                          "locked_until = NULL, updated_at = ? WHERE login = ?",
                          (h, int(must_change), store.iso(store.now_utc()), login))
        if cur.rowcount != 1:
            raise LookupError(f"utilisateur inconnu: {login}")


def change_password(con: sqlite3.Connection, login: str, old: str, new: str, confirm: str) -> list[str]:
    """The user changes their own password; returns the problems (empty: done)."""
    u = con.execute("SELECT password_hash, profile FROM users WHERE login = ?", (login,)).fetchone()
    if u is None:
        return ["Utilisateur inconnu."]
    try:
        _hasher.verify(u["password_hash"] or _DUMMY_HASH, old or "")
    except (VerificationError, InvalidHashError):
        return ["Le mot de passe actuel est incorrect."]
    problems = password_problems(new, login)
    if new != confirm:
        problems.append("La confirmation ne correspond pas au nouveau mot de passe.")
    if new == old:
        problems.append("Le nouveau mot de passe doit être différent de l'actuel.")
    if problems:
        return problems
    set_password(con, login, new, must_change=False)
    store.log_access(con, login=login, profile=u["profile"], page="compte", action="changement_mot_de_passe")
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
    u = con.execute("SELECT login, profile, active, demo FROM users WHERE lower(email) = lower(?)",
                    (email.strip(),)).fetchone()
    if u is None or not u["active"] or (u["demo"] and is_production()):
        store.log_access(con, login=None, profile="public", page="connexion", action="oidc_refusee",
                         detail="identité non habilitée" if u is None else "habilitation inactive")
        return None
    return u["login"]
