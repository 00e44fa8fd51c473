"""Authentication against parallel and crafted attempts (issue #10, ASVS V2): atomic lockout, rate
limits, refusals that say and cost the same, a real strength estimator, settings checked at start."""

from __future__ import annotations

import statistics
import threading
import time
from datetime import timedelta

import pytest

from tests.app.helpers import PUBLIC_PAGES, both_stores, login, new_app
from tranquillite.app_core import auth, habilitations as H, store
from tranquillite.app_core.rights import load_principal

RIGHT = "Demo-encadrement_pm-2025"


@pytest.fixture
def verified(monkeypatch):
    """Counts the argon2 verifications, per hash (a real account's hash vs the dummy one)."""
    calls: list[str] = []
    lock = threading.Lock()
    real = auth._hasher

    class Counting:  # argon2's PasswordHasher has read-only slots: wrap it
        def verify(self, h, pw):
            with lock:
                calls.append(h)
            return real.verify(h, pw)

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(auth, "_hasher", Counting())
    return calls


def _hash_of(con, login):
    return con.execute("SELECT password_hash FROM users WHERE login = ?", (login,)).fetchone()[0]


@both_stores
def test_parallel_wrong_passwords_lock_the_account_after_five_verified(app_home, con, verified):
    real_hash = _hash_of(con, "demo.encadrement")
    results = []

    def attempt():
        with store.connect() as c:
            results.append(auth.authenticate(c, "demo.encadrement", "mauvais mot de passe", client=None))

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 20 and not any(r.ok for r in results)
    assert verified.count(real_hash) <= auth.MAX_FAILURES  # the issue: 60 verified, counter at 3
    row = con.execute("SELECT failed_attempts, locked_until FROM users WHERE login = 'demo.encadrement'").fetchone()
    assert row["failed_attempts"] >= auth.MAX_FAILURES and row["locked_until"] is not None
    assert not auth.authenticate(con, "demo.encadrement", RIGHT).ok  # locked: even the right password
    later = store.now_utc() + timedelta(minutes=16)
    assert auth.authenticate(con, "demo.encadrement", RIGHT, now=later).ok


def test_every_refusal_says_the_same_words_with_the_same_work(app_home, con, verified):
    gest = load_principal(con, "demo.habilitations")
    H.update_user(con, gest, "demo.analyste", active=False)
    for _ in range(auth.MAX_FAILURES):
        auth.authenticate(con, "demo.dpo", "mauvais mot de passe")
    cases = {
        "identifiant inconnu": ("personne.inconnue", "Demo-analyste-2025"),
        "mauvais mot de passe": ("demo.encadrement", "mauvais mot de passe"),
        "verrouillé, bon mot de passe": ("demo.dpo", "Demo-auditeur_dpo-2025"),
        "verrouillé, mauvais": ("demo.dpo", "encore faux"),
        "désactivé, bon mot de passe": ("demo.analyste", "Demo-analyste-2025"),
        "désactivé, mauvais": ("demo.analyste", "faux"),
    }
    timings: dict[str, list[float]] = {}
    for name, (lg, pw) in cases.items():
        for _ in range(3):
            verified.clear()
            t0 = time.perf_counter()
            r = auth.authenticate(con, lg, pw)
            timings.setdefault(name, []).append(time.perf_counter() - t0)
            assert not r.ok and r.message == auth.GENERIC_FAILURE, (name, r.message)
            assert len(verified) == 1, (name, len(verified))  # one argon2 verification, whatever the case
        if name == "mauvais mot de passe":
            auth.unlock(con, "demo.encadrement")
    wrong = statistics.median(timings["mauvais mot de passe"])
    for name, ts in timings.items():  # the issue: 0.3 ms once locked instead of 292 ms
        assert statistics.median(ts) > 0.5 * wrong, (name, statistics.median(ts), wrong)
    # the reason is in the access log, not on the screen
    details = {r["detail"] for r in store.access_log(con, page="connexion")}
    assert {"compte verrouillé", "habilitation inactive", "identifiant inconnu"} <= {
        d.split(" (")[0] for d in details if d
    }


def test_the_app_says_the_same_for_a_locked_account(app_home):
    at = new_app()
    for _ in range(auth.MAX_FAILURES):
        at = login(at, "demo.encadrement", "mauvais mot de passe")
        assert [e.value for e in at.error] == [auth.GENERIC_FAILURE]
    at = login(at, "demo.encadrement", RIGHT)
    assert [e.value for e in at.error] == [auth.GENERIC_FAILURE]
    assert at.session_state["tq_pages"] == PUBLIC_PAGES


def test_per_client_and_per_login_rate_limits(app_home, con, verified, monkeypatch):
    monkeypatch.setattr(auth, "CLIENT_LIMIT", 6)  # the same rules with smaller numbers: a faster test
    monkeypatch.setattr(auth, "LOGIN_LIMIT", 4)
    monkeypatch.setattr(auth, "RESPONSE_FLOOR", 0.0)
    # one client trying many logins is stopped before the hashes are even checked
    for i in range(auth.CLIENT_LIMIT):
        auth.authenticate(con, f"inconnu.{i}", "x", client="203.0.113.7")
    verified.clear()
    r = auth.authenticate(con, "demo.analyste", "Demo-analyste-2025", client="203.0.113.7")
    assert not r.ok and r.message == auth.GENERIC_FAILURE
    assert verified and _hash_of(con, "demo.analyste") not in verified  # refused unchecked (same work: dummy hash)
    assert auth.authenticate(con, "demo.analyste", "Demo-analyste-2025", client="198.51.100.2").ok
    # one login tried from many clients is stopped too (unknown logins included: nothing to tell them apart)
    for i in range(auth.LOGIN_LIMIT + 1):
        auth.authenticate(con, "personne.x", "x", client=f"192.0.2.{i}")
    assert store.access_log(con, page="connexion")[0]["detail"].startswith("limite de tentatives")
    later = store.now_utc() + auth.THROTTLE_WINDOW + timedelta(seconds=1)
    assert auth.authenticate(con, "demo.analyste", "Demo-analyste-2025", client="203.0.113.7", now=later).ok


@pytest.mark.parametrize(
    "password",
    [
        "123456789012",
        "motdepasse12",
        "Password1234",
        "azertyuiopqs",
        "marseille2025",
        "Tranquillite1",
        "tranquillité13",
        "prefecture2025!",
        "soleil-marseille",
        "Cortege-2025",
    ],
)
def test_weak_passwords_are_refused(password):
    problems = auth.password_problems(password, "jean.dupont")
    assert problems and all(p and p[0].isupper() for p in problems), problems
    with pytest.raises(ValueError):
        auth.hash_password(password)


@pytest.mark.parametrize("password", ["une phrase de passe solide", "Xk8#pq2!Lm9zR4", "cheval-agrafe-nuage-47"])
def test_strong_passwords_are_accepted(password):
    assert auth.password_problems(password, "jean.dupont") == []


def test_the_estimator_knows_the_person_and_the_platform(app_home, con):
    assert auth.password_problems("jeandupont1984", "jean.dupont", ["Jean Dupont"])
    assert auth.password_problems("JeanDupont-2025", "j.d", ["Jean Dupont", "jean.dupont@marseille.fr"])
    assert auth.password_problems("x" * (auth.MAX_PASSWORD_LENGTH + 1))
    problems = auth.change_password(con, "demo.analyste", "Demo-analyste-2025", "marseille2025", "marseille2025")
    assert problems and "devine" in " ".join(problems)


def test_idle_minutes_inf_shows_a_french_error_at_start(app_home, monkeypatch):
    monkeypatch.setenv("TRANQUILLITE_SESSION_IDLE_MINUTES", "inf")
    at = new_app().run()
    assert not at.exception
    (err,) = at.error
    assert "Configuration invalide" in err.value and "TRANQUILLITE_SESSION_IDLE_MINUTES" in err.value
    assert not at.title and not at.text_input
