"""One real browser: `streamlit run` on 127.0.0.1, headless Chromium logs in and the map renders."""

from __future__ import annotations

import io
import os
import time

import pytest

from tests.app.browser import browser, chromium, login_and_open_map, screenshot, streamlit_server
from tests.system import missing
from tranquillite.app_core import store

pytestmark = pytest.mark.slow


def test_map_page_renders_in_headless_chromium(app_home, tmp_path):
    binary, driver = chromium()
    if not (binary and driver):
        missing("chromium", "paquets Debian chromium et chromium-driver: `make browser`")
    from PIL import Image
    from selenium.webdriver.common.by import By

    with streamlit_server(app_home) as url, browser() as d:
        login_and_open_map(d, url, "demo.encadrement", "Demo-encadrement_pm-2025")
        assert not d.find_elements(By.CSS_SELECTOR, "[data-testid='stException']")
        body = d.find_element(By.TAG_NAME, "body").text
        assert "Carte des événements et des faits" in body and "manifestations" in body
        assert "Habilitations" not in body  # not in this profile's navigation
        canvas = d.find_element(By.CSS_SELECTOR, "[data-testid='stDeckGlJsonChart'] canvas")
        pixels = Image.open(io.BytesIO(canvas.screenshot_as_png)).convert("RGB").getcolors(1_000_000)
        assert len(pixels) > 20, "la carte deck.gl n'a rien dessiné"  # outlines, routes, footprints, points
        out = screenshot(d, tmp_path / "carte.png")
        assert 10_000 < out.stat().st_size < 500_000
    with store.connect() as con:
        pages = {r["page"] for r in store.access_log(con, login="demo.encadrement")}
    assert {"connexion", "carte"} <= pages


def _need_browser():
    binary, driver = chromium()
    if not (binary and driver):
        missing("chromium", "paquets Debian chromium et chromium-driver: `make browser`")


def test_the_session_survives_a_reload_and_a_new_tab_and_refusals_are_in_french(app_home):
    """The issue: a reload or a link opened in a new tab logged the user out and showed Streamlit's
    English "Page not found"."""
    _need_browser()
    from selenium.webdriver.common.by import By
    from tests.app.browser import csp_violations, submit_login, wait_for_h1

    with streamlit_server(app_home) as url, browser() as d:
        submit_login(d, url, "demo.encadrement", "Demo-encadrement_pm-2025")
        wait_for_h1(d, "Carte des événements")
        time.sleep(2)  # the page posts its binding code
        cookie = d.get_cookie("tq_session")
        assert cookie and cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
        assert "tq_session" not in d.execute_script("return document.cookie")  # no script reads it
        d.refresh()
        wait_for_h1(d, "Carte des événements")  # still signed in
        d.switch_to.new_window("tab")
        d.get(url + "/previsions")
        wait_for_h1(d, "Prévisions")
        d.get(url + "/journal")  # a page this profile does not open, by its URL
        wait_for_h1(d, "Page non accessible")
        body = d.find_element(By.TAG_NAME, "body").text
        assert "n'est pas ouverte à votre profil" in body and "Page not found" not in body
        assert not csp_violations(d), csp_violations(d)
        # log out in this tab: the first tab is out at its next run, and a reload stays out
        d.get(url + "/carte")
        wait_for_h1(d, "Carte des événements")
        time.sleep(1)
        assert not [e.text for e in d.find_elements(By.CSS_SELECTOR, "[data-testid='stDialog']")]
        d.find_element(By.XPATH, "//button[.//p[text()='Se déconnecter']]").click()
        wait_for_h1(d, "Tranquillité publique à Marseille")
        time.sleep(2)
        assert d.get_cookie("tq_session") is None
        d.switch_to.window(d.window_handles[0])
        d.get(url + "/carte")  # the first tab's session was revoked with the other
        wait_for_h1(d, "Page non accessible")  # /carte for the public: refused, in French
        assert "connectez-vous" in d.find_element(By.TAG_NAME, "body").text
    with store.connect() as con:
        actions = [r["action"] for r in store.access_log(con, login="demo.encadrement")]
        assert "session_reprise" in actions and "deconnexion" in actions
        assert con.execute("SELECT count(*) FROM sessions WHERE revoked_at IS NULL").fetchone()[0] == 0


def test_three_browsers_at_once_cannot_bypass_the_lockout(app_home):
    """The issue: 3 browsers submitting at once made 12 wrong attempts, the counter reached 4."""
    _need_browser()
    import threading
    from tests.app.browser import submit_login

    with streamlit_server(app_home) as url, browser() as a, browser() as b, browser() as c:
        barrier = threading.Barrier(3, timeout=120)
        errors = []

        def attack(d):
            from selenium.webdriver.common.by import By

            try:
                submit_login(d, url, "demo.analyste", "mauvais mot de passe", timeout=120)  # round 1
                for _ in range(3):  # the form keeps its values: the same submission again, all at once
                    barrier.wait()
                    time.sleep(2)
                    d.find_element(By.XPATH, "//button[.//p[text()='Se connecter']]").click()
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=attack, args=(d,)) for d in (a, b, c)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        time.sleep(2)
        with store.connect() as con:
            row = con.execute(
                "SELECT failed_attempts, locked_until FROM users WHERE login = 'demo.analyste'"
            ).fetchone()
            assert row["failed_attempts"] >= 5 and row["locked_until"] is not None
            checked = [
                r
                for r in store.access_log(con, login="demo.analyste")
                if r["action"] in ("connexion_echouee", "verrouillage")
            ]
            assert len(checked) <= 5  # at most five passwords were even checked
        submit_login(a, url, "demo.analyste", "Demo-analyste-2025", timeout=120)  # the right one, too late
        time.sleep(5)
        assert "Carte des événements" not in a.find_element("tag name", "body").text


PAGES_TO_CAPTURE = [  # (login, password, url path, title): every page issue 15 changed, as its users see it
    (None, None, "", "Tranquillité publique à Marseille"),
    ("demo.analyste", "Demo-analyste-2025", "carte", "Carte des événements"),
    ("demo.analyste", "Demo-analyste-2025", "previsions", "Prévisions"),
    ("demo.analyste", "Demo-analyste-2025", "tension", "Zones de tension"),
    ("demo.encadrement", "Demo-encadrement_pm-2025", "alertes", "Alertes"),
    ("demo.analyste", "Demo-analyste-2025", "qualite", "Qualité des données"),
    ("demo.analyste", "Demo-analyste-2025", "indicateurs", "Indicateurs"),
    ("demo.admin", "Demo-admin_technique-2025", "habilitations", "Habilitations"),
    ("demo.dpo", "Demo-auditeur_dpo-2025", "journal", "Journal d'accès"),
]


def test_every_changed_page_renders_in_chromium_and_is_captured(app_home, tmp_path):
    """Screenshots of the pages for reviewers: into apps/streamlit/docs/ when TQ_DOCS_SCREENSHOTS=1
    (refreshing the documentation), else into a temporary folder; each page must render without error."""
    _need_browser()
    from selenium.webdriver.common.by import By
    from tests.app.browser import submit_login, wait_for_h1
    from tests.app.helpers import REPO

    docs = REPO / "apps" / "streamlit" / "docs" if os.environ.get("TQ_DOCS_SCREENSHOTS") == "1" else tmp_path
    # one browser per account: log in once, then open each page by its URL (the session survives a reload)
    with streamlit_server(app_home) as url:
        for login in dict.fromkeys(p[0] for p in PAGES_TO_CAPTURE):
            with browser() as d:
                if login:
                    password = next(p[1] for p in PAGES_TO_CAPTURE if p[0] == login)
                    submit_login(d, url, login, password)
                    time.sleep(3)
                for _, _, path, title in [p for p in PAGES_TO_CAPTURE if p[0] == login]:
                    d.get(f"{url}/{path}")
                    wait_for_h1(d, title)
                    deadline = time.time() + 20  # deck.gl draws after the page's script: wait for its canvas
                    while (
                        time.time() < deadline
                        and path in ("", "carte", "previsions", "tension")
                        and not d.find_elements(By.CSS_SELECTOR, "[data-testid='stDeckGlJsonChart'] canvas")
                    ):
                        time.sleep(0.5)
                    time.sleep(6)
                    assert not d.find_elements(By.CSS_SELECTOR, "[data-testid='stException']"), path
                    out = screenshot(d, docs / f"{path or 'accueil_public'}.png")
                    assert out.stat().st_size > 10_000


@pytest.fixture(scope="module")
def card_home(tmp_path_factory):
    """A small generated Marseille materialised as `tranquillite materialize` runs it (the settings of
    tests/forecast/test_materialize.py: 4 weeks, 2 backtest origins), with the demo accounts: a real
    backtest for the Fiche du modèle (the app tests' two-day catalog holds no origin)."""
    from tests.forecast.test_materialize import FIRST, LAST, SMALL
    from tranquillite import runner
    from tranquillite.app_core.seed_demo import seed_demo
    from tranquillite.definitions import build_defs
    from tranquillite.synthetic import generate

    home = tmp_path_factory.mktemp("fiche_modele")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRANQUILLITE_HOME", str(home))
    mp.setenv("DAGSTER_HOME", str(home / "dagster"))
    for k in ("TRANQUILLITE_ENV", "TRANQUILLITE_APP_DB_URL", "TRANQUILLITE_APP_DB_OWNER_URL"):
        mp.delenv(k, raising=False)
    generate(home, start=FIRST, days=(LAST - FIRST).days + 1, seed=11, scale=0.2)
    outcomes = runner.materialize(build_defs(), FIRST, LAST, runner.instance(), forecast_settings=SMALL)
    assert all(o.success for o in outcomes), outcomes
    seed_demo()
    yield home
    mp.undo()


def test_every_changed_page_the_model_card_shows_the_public_its_backtest_in_chromium(card_home, tmp_path):
    """The Fiche du modèle as a visitor without an account sees it (issue 13), on a real backtest: the
    City-only table renders in Chromium, captured at its section (into apps/streamlit/docs/ when
    TQ_DOCS_SCREENSHOTS=1, like the pages above)."""
    _need_browser()
    from selenium.webdriver.common.by import By
    from tests.app.browser import wait_for_h1
    from tests.app.helpers import REPO

    docs = REPO / "apps" / "streamlit" / "docs" if os.environ.get("TQ_DOCS_SCREENSHOTS") == "1" else tmp_path
    with streamlit_server(card_home) as url, browser() as d:
        d.get(f"{url}/fiche-modele")  # url_path: the page code with dashes (app.py)
        wait_for_h1(d, "Fiche du modèle de prévision")
        time.sleep(6)
        assert not d.find_elements(By.CSS_SELECTOR, "[data-testid='stException']")
        body = d.find_element("tag name", "body").text
        assert "seules données de la Ville" in body and "réservée aux agents" not in body
        grids = d.find_elements(By.CSS_SELECTOR, "[data-testid='stDataFrame']")
        assert len(grids) >= 4  # one per horizon, then the audit's
        section = d.find_element(By.XPATH, "//h3[contains(., 'face aux références')]")
        d.execute_script("arguments[0].scrollIntoView({block: 'start'});", section)
        time.sleep(2)
        out = screenshot(d, docs / "fiche_modele.png")
        assert out.stat().st_size > 10_000
