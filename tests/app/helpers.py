"""Helpers of the restitution-app tests (AppTest driving, expected rights)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "apps" / "streamlit" / "app.py"
DAYS = ["2025-03-07", "2025-03-08"]
N_INTERVENTIONS = {"2025-03-07": 4, "2025-03-08": 14}  # 13001: 18 in March → shown; the rest is small

# expected pages per profile (the seed of tranquillite/app_core/rights.py), in navigation order
PROFILE_PAGES = {
    "admin_technique": ["accueil_public", "carte", "previsions", "tension", "qualite", "habilitations", "compte"],
    "gestionnaire_habilitations": ["accueil_public", "habilitations", "journal", "compte"],
    "encadrement_pm": ["accueil_public", "carte", "previsions", "tension", "compte"],
    "analyste": ["accueil_public", "carte", "previsions", "tension", "qualite", "compte"],
    "auditeur_dpo": ["accueil_public", "qualite", "habilitations", "journal", "compte"],
    "agent_cortege": ["cortege", "compte"],
    # + habilitations through the individual grant valider_liste_prefecture of the demo account
    "lecteur_prefecture": ["accueil_public", "carte", "habilitations", "compte"],
    "partenaire": ["accueil_public", "compte"],
}
ALL_PAGES = ["accueil_public", "carte", "previsions", "tension", "qualite", "cortege", "habilitations", "journal", "compte"]


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
