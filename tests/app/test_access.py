"""Authentication, navigation by profile, forbidden pages, sessions, OIDC, TLS in production (AppTest)."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

from tests.app.helpers import (
    both_stores,
    ALL_PAGES,
    PROFILE_PAGES,
    PUBLIC_PAGES,
    REPO,
    demo,
    login,
    login_as,
    new_app,
    run_page_as,
    texts,
)
from tranquillite.app_core import auth, habilitations, store
from tranquillite.app_core.rights import load_principal


def test_anonymous_visitor_gets_only_the_public_page(app_home):
    at = new_app().run()
    assert not at.exception
    assert at.session_state["tq_pages"] == PUBLIC_PAGES
    assert at.title[0].value.startswith("Tranquillité publique à Marseille")
    with pytest.raises(ValueError):
        at.switch_page("views/carte.py")


@both_stores
def test_login_success_opens_the_profile_home(app_home):
    at = login_as("analyste")
    assert not at.exception
    assert at.title[0].value == "Carte des événements et des faits"
    assert at.session_state["tq_pages"] == PROFILE_PAGES["analyste"]
    assert "Démo — Analyste" in "\n".join(c.value for c in at.sidebar.caption)


@both_stores
def test_login_failure_is_refused_with_a_generic_message(app_home, con):
    at = login(new_app(), "demo.analyste", "mauvais mot de passe")
    assert [e.value for e in at.error] == [auth.GENERIC_FAILURE]
    assert at.session_state["tq_pages"] == PUBLIC_PAGES
    at = login(new_app(), "personne.inconnue", "Demo-analyste-2025")
    assert [e.value for e in at.error] == [auth.GENERIC_FAILURE]
    actions = [r["action"] for r in store.access_log(con, page="connexion")]
    assert actions.count("connexion_echouee") == 2


@both_stores
def test_lockout_after_five_failures_for_fifteen_minutes(app_home, con):
    at = new_app()
    for _ in range(5):  # the same words every time: the screen never tells a locked account (issue #10)
        at = login(at, "demo.encadrement", "mauvais mot de passe")
        assert at.error[0].value == auth.GENERIC_FAILURE
    assert store.access_log(con, login="demo.encadrement")[0]["action"] == "verrouillage"
    at = login(at, "demo.encadrement", "Demo-encadrement_pm-2025")  # the right password, too late
    assert at.error[0].value == auth.GENERIC_FAILURE
    assert store.access_log(con, login="demo.encadrement")[0]["detail"] == "compte verrouillé"
    assert at.session_state["tq_pages"] == PUBLIC_PAGES
    locked = con.execute("SELECT locked_until FROM users WHERE login = 'demo.encadrement'").fetchone()[0]
    later = store.now_utc() + timedelta(minutes=16)
    assert auth.authenticate(con, "demo.encadrement", "Demo-encadrement_pm-2025", now=later).ok
    assert locked is not None


@pytest.mark.parametrize("profile", list(PROFILE_PAGES))
def test_each_profile_sees_exactly_its_pages(app_home, profile):
    at = login_as(profile)
    assert not at.exception
    assert at.session_state["tq_pages"] == PROFILE_PAGES[profile]
    for page in ALL_PAGES:
        if page in PROFILE_PAGES[profile]:
            at.switch_page(f"views/{page}.py").run()
            assert not at.exception, (page, at.exception)
            assert not any("n'est pas ouverte" in e.value for e in at.error), page
        else:
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(f"views/{page}.py")


def test_a_withdrawn_page_cannot_be_reached_even_by_its_url(app_home, con):
    """The auditor is on the journal; the profile loses it: the same URL now gives the home page."""
    at = login_as("auditeur_dpo")
    at.switch_page("views/journal.py").run()
    assert at.title[0].value == "Journal d'accès"
    admin = load_principal(con, "demo.habilitations")
    habilitations.update_user(con, admin, "demo.dpo", profile="analyste")
    at.run()  # same session, same requested page (the URL): not in the navigation any more
    assert at.title[0].value != "Journal d'accès"
    assert "journal" not in at.session_state["tq_pages"]
    with pytest.raises(ValueError):
        at.switch_page("views/journal.py")


def test_page_guard_refuses_a_page_outside_the_profile(app_home, con):
    """Defence in depth: a page script run for a principal without the page stops at its first line."""
    at = run_page_as("demo.partenaire", "journal.py")
    assert [e.value for e in at.error] == ["Cette page n'est pas ouverte à votre profil."]
    assert not at.title
    assert store.access_log(con, page="journal")[0]["action"] == "acces_refuse"


@both_stores
def test_idle_session_expires(app_home, monkeypatch):
    at = login_as("analyste")
    assert at.session_state["tq_pages"] == PROFILE_PAGES["analyste"]
    at.session_state["tq_session"]["last_seen"] = store.now_utc() - timedelta(minutes=31)
    at.run()
    assert at.session_state["tq_pages"] == PUBLIC_PAGES
    assert any("Session expirée" in w.value for w in at.warning)
    monkeypatch.setenv("TRANQUILLITE_SESSION_IDLE_MINUTES", "5")
    at = login_as("analyste")
    at.session_state["tq_session"]["last_seen"] = store.now_utc() - timedelta(minutes=6)
    at.run()
    assert at.session_state["tq_pages"] == PUBLIC_PAGES


@both_stores
def test_logout(app_home, con):
    at = login_as("encadrement_pm")
    next(b for b in at.sidebar.button if b.label == "Se déconnecter").click()
    at.run()
    assert at.session_state["tq_pages"] == PUBLIC_PAGES
    assert any("déconnecté" in s.value for s in at.success)
    assert store.access_log(con, login="demo.encadrement", page="connexion")[0]["action"] == "deconnexion"


def test_deactivated_user_loses_access_at_the_next_click(app_home, con):
    at = login_as("encadrement_pm")
    admin = load_principal(con, "demo.habilitations")
    habilitations.update_user(con, admin, "demo.encadrement", active=False)
    at.run()
    assert at.session_state["tq_pages"] == PUBLIC_PAGES
    assert any("plus active" in e.value for e in at.error)


def test_oidc_identity_is_mapped_to_a_habilitated_user_only(app_home, con):
    at = new_app()
    at.secrets["auth"] = {
        "redirect_uri": "https://tranquillite.example/oauth2callback",
        "cookie_secret": "x" * 32,
        "client_id": "tranquillite",
        "client_secret": "secret",
        "server_metadata_url": "https://idp.example/.well-known/openid-configuration",
    }
    at.user = {"is_logged_in": True, "email": "inconnu@marseille.fr"}
    at.run()
    assert at.title[0].value == "Accès refusé"
    assert "tq_pages" not in at.session_state
    assert store.access_log(con, page="connexion")[0]["action"] == "oidc_refusee"

    at = new_app()
    at.secrets["auth"] = dict(client_id="tranquillite", redirect_uri="https://x/oauth2callback", cookie_secret="y" * 32)
    at.user = {"is_logged_in": True, "email": demo("encadrement_pm").email.upper()}
    at.run()
    assert not at.exception
    assert at.session_state["tq_pages"] == PROFILE_PAGES["encadrement_pm"]
    assert at.title[0].value == "Carte des événements et des faits"


def test_oidc_button_only_when_auth_is_configured(app_home):
    at = new_app().run()
    at.switch_page("views/connexion.py").run()
    assert [b.label for b in at.button] == ["Se connecter"]
    at = new_app()
    at.secrets["auth"] = dict(client_id="tranquillite", redirect_uri="https://x/oauth2callback", cookie_secret="y" * 32)
    at.user = {}
    at.run()
    at.switch_page("views/connexion.py").run()
    assert "Se connecter avec le compte de la Ville" in [b.label for b in at.button]


@pytest.mark.parametrize("app_home", ["postgresql"], indirect=True)  # production: the store on PostgreSQL
def test_production_refuses_to_start_without_tls(app_home, monkeypatch, tmp_path):
    monkeypatch.setenv("TRANQUILLITE_ENV", "production")
    at = new_app().run()
    assert "refuse de démarrer" in at.error[0].value
    assert not at.title and not at.text_input
    # the launcher refuses before starting any server
    env = {
        "TRANQUILLITE_ENV": "production",
        "TRANQUILLITE_HOME": str(app_home),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "HOME": str(tmp_path),
    }
    r = subprocess.run(
        [sys.executable, "-m", "tranquillite.app_core.serve", "--server.port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert r.returncode == 2 and "refuse de démarrer" in r.stderr
    # a declared TLS reverse proxy, or certificate files, are accepted
    monkeypatch.setenv("TRANQUILLITE_BEHIND_TLS_PROXY", "1")
    at = new_app().run()
    assert not at.error and at.title[0].value.startswith("Tranquillité publique")


def test_production_refuses_to_start_without_its_postgresql_store(app_home, monkeypatch, tmp_path):
    monkeypatch.setenv("TRANQUILLITE_ENV", "production")
    monkeypatch.setenv("TRANQUILLITE_BEHIND_TLS_PROXY", "1")
    at = new_app().run()
    assert "TRANQUILLITE_APP_DB_URL" in at.error[0].value and "ne peut pas démarrer" in at.error[0].value
    assert not at.title and not at.text_input
    env = {
        "TRANQUILLITE_ENV": "production",
        "TRANQUILLITE_BEHIND_TLS_PROXY": "1",
        "TRANQUILLITE_HOME": str(app_home),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "HOME": str(tmp_path),
    }
    r = subprocess.run(
        [sys.executable, "-m", "tranquillite.app_core.serve", "--server.port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert r.returncode == 2 and "TRANQUILLITE_APP_DB_URL" in r.stderr


def test_tls_rules():
    from tranquillite.app_core.transport import tls_problem

    assert tls_problem({}) is None  # development
    assert "refuse de démarrer" in tls_problem({"TRANQUILLITE_ENV": "production"})
    assert tls_problem({"TRANQUILLITE_ENV": "production", "TRANQUILLITE_BEHIND_TLS_PROXY": "1"}) is None
    assert "introuvable" in tls_problem({"TRANQUILLITE_ENV": "production"}, "/nope/cert.pem", "/nope/key.pem")
    assert tls_problem({"TRANQUILLITE_ENV": "production"}, __file__, __file__) is None


def test_passwords_are_argon2id_and_policy_applies(app_home, con):
    h = con.execute("SELECT password_hash FROM users WHERE login = 'demo.analyste'").fetchone()[0]
    assert auth.is_argon2id(h)
    assert auth.password_problems("court") and not auth.password_problems("une phrase assez longue")
    with pytest.raises(ValueError, match="12 caractères"):
        auth.hash_password("trop-court")


def test_demo_accounts_are_refused_in_production(app_home, con, monkeypatch):
    monkeypatch.setenv("TRANQUILLITE_ENV", "production")
    r = auth.authenticate(con, "demo.analyste", "Demo-analyste-2025")
    assert not r.ok and r.message == auth.GENERIC_FAILURE
    assert store.access_log(con, login="demo.analyste")[0]["detail"] == "compte de démonstration en production"
    from tranquillite.app_core.seed_demo import seed_demo

    with pytest.raises(RuntimeError):
        seed_demo()


def test_provisional_password_opens_only_the_account_page(app_home, con):
    admin = load_principal(con, "demo.habilitations")
    temp = habilitations.create_user(
        con,
        admin,
        login="nouvel.agent",
        display_name="Nouvel agent",
        email=None,
        profile="encadrement_pm",
        organisation="ville_dgsec",
        activity_nature="pilotage",
    )
    at = login(new_app(), "nouvel.agent", temp)
    assert at.session_state["tq_pages"] == ["compte"]
    assert "provisoire" in texts(at)
    at.text_input(key="pw_old").input(temp)
    at.text_input(key="pw_new").input("une phrase de passe solide")
    at.text_input(key="pw_confirm").input("une phrase de passe solide")
    next(b for b in at.button if b.label == "Changer le mot de passe").click()
    at.run()
    assert at.session_state["tq_pages"] == PROFILE_PAGES["encadrement_pm"]
