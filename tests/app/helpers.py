"""Helpers of the restitution-app tests (AppTest driving, expected rights)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "apps" / "streamlit" / "app.py"
DAYS = ["2025-03-07", "2025-03-08"]
# the tests that run on both stores: `@BOTH_STORES` (the `app_home` fixture's indirect parameter)
STORES = ["sqlite", "postgresql"]
N_INTERVENTIONS = {"2025-03-07": 4, "2025-03-08": 14}  # 13001: 18 in March → shown; the rest is small

# expected pages per profile (the seed of tranquillite/app_core/rights.py), in navigation order
PROFILE_PAGES = {
    "admin_technique": [
        "accueil_public",
        "carte",
        "previsions",
        "fiche_modele",
        "tension",
        "indicateurs",
        "qualite",
        "habilitations",
        "compte",
    ],
    "gestionnaire_habilitations": [
        "accueil_public",
        "habilitations",
        "journal",
        "conventions",
        "prestataires",
        "compte",
    ],
    "encadrement_pm": [
        "accueil_public",
        "carte",
        "previsions",
        "fiche_modele",
        "tension",
        "alertes",
        "indicateurs",
        "compte",
    ],
    "analyste": [
        "accueil_public",
        "carte",
        "previsions",
        "fiche_modele",
        "tension",
        "alertes",
        "indicateurs",
        "qualite",
        "compte",
    ],
    "auditeur_dpo": [
        "accueil_public",
        "qualite",
        "habilitations",
        "journal",
        "tracabilite",
        "quarantaine",
        "conventions",
        "destruction",
        "prestataires",
        "nature_donnees",
        "compte",
    ],
    "agent_cortege": ["cortege", "compte"],
    # + habilitations through the individual grant valider_liste_prefecture of the demo account
    "lecteur_prefecture": ["accueil_public", "carte", "habilitations", "tracabilite", "compte"],
    "partenaire": ["accueil_public", "fiche_modele", "compte"],
}
# what a visitor without an account sees (the seed's `public` profile)
PUBLIC_PAGES = ["accueil_public", "fiche_modele"]
ALL_PAGES = [
    "accueil_public",
    "carte",
    "previsions",
    "fiche_modele",
    "tension",
    "alertes",
    "indicateurs",
    "qualite",
    "cortege",
    "habilitations",
    "journal",
    "tracabilite",
    "quarantaine",
    "conventions",
    "destruction",
    "prestataires",
    "nature_donnees",
    "compte",
]


def both_stores(test):
    """Run the test on the SQLite store and on a PostgreSQL one (tests/pg.py's real server)."""
    import pytest

    return pytest.mark.parametrize("app_home", STORES, indirect=True)(test)


def new_app():
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(APP), default_timeout=60)


def demo(profile: str):
    from tranquillite.app_core.seed_demo import DEMO_USERS

    return next(u for u in DEMO_USERS if u.profile == profile)


def login(at, user: str, password: str):
    """Log in through the real form (Connexion page) and return the app after the rerun."""
    at.run()
    at.switch_page("views/connexion.py").run()
    at.text_input(key="tq_login_id").input(user)
    at.text_input(key="tq_login_pw").input(password)
    next(b for b in at.button if b.label == "Se connecter").click()
    return at.run()


def login_as(profile: str):
    u = demo(profile)
    at = new_app()
    return login(at, u.login, u.password)


def texts(at) -> str:
    """Every text of the rendered page, for assertions."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "error", "warning", "info", "success"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


def path_head() -> str:
    """The first lines of a page script run by AppTest: the app's and the repo's folders on
    `sys.path`, once. Prepending them on every run made `sys.path` grow by two entries per
    AppTest; Streamlit scans every entry's distributions at each run (components v2), so the
    120 runs of the page matrix took 3 minutes instead of 30 s."""
    paths = [str(REPO / "apps" / "streamlit"), str(REPO)]
    return f"import sys\nsys.path[:0] = [p for p in {paths!r} if p not in sys.path]"


def run_page_as(login_id: str, view: str):
    """Run one page script directly for a principal (no navigation): the page's own server-side
    guard is all that stands between that principal and the page."""
    from streamlit.testing.v1 import AppTest

    script = f"""
{path_head()}
import streamlit as st
from tranquillite.app_core import store
from tranquillite.app_core.rights import load_principal
with store.connect() as con:
    st.session_state["tq_principal"] = load_principal(con, {login_id!r})
exec(open({str(REPO / "apps" / "streamlit" / "views" / view)!r}).read())
"""
    return AppTest.from_string(script, default_timeout=30).run()


def catalog_home(app_home: Path, name: str, tables: dict, monkeypatch) -> Path:
    """A home beside `app_home` with the same accounts and a catalog of hand-built tables
    ({(layer, table): DataFrame}), made the current TRANQUILLITE_HOME."""
    import shutil

    from tranquillite.resources.warehouse import Warehouse

    home = app_home.parent / name
    (home / "app").mkdir(parents=True)
    if (app_home / "app" / "platform.sqlite").exists():  # on PostgreSQL the store stays app_home's database
        shutil.copy(app_home / "app" / "platform.sqlite", home / "app" / "platform.sqlite")
    if (app_home / "secrets").exists():  # the access log's key goes with its store
        shutil.copytree(app_home / "secrets", home / "secrets")
    wh = Warehouse(root=str(home / "warehouse"))
    for (layer, table), df in tables.items():
        wh.write(layer, table, df)
    wh.publish_catalog()
    monkeypatch.setenv("TRANQUILLITE_HOME", str(home))
    return home


def count_queries(monkeypatch) -> list[str]:
    """The tables of every `scoped_query` call from now on (appended as they are made)."""
    from tranquillite.app_core import queries

    calls: list[str] = []
    real = queries.scoped_query

    def counting(cat, scope, table, **kw):
        calls.append(table)
        return real(cat, scope, table, **kw)

    monkeypatch.setattr(queries, "scoped_query", counting)
    return calls
