"""Demo accounts: one per profile, with DEMO-ONLY passwords (documented in apps/streamlit/README.md).

    python -m tranquillite.app_core.seed_demo        # called by `make demo`

Idempotent: re-running resets the demo passwords and unlocks the demo accounts. Refused in
production (`TRANQUILLITE_ENV=production`), where the app also refuses demo accounts at login.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from tranquillite.app_core import auth, habilitations, store
from tranquillite.app_core.rights import load_principal
from tranquillite.app_core.transport import is_production


@dataclass(frozen=True)
class DemoUser:
    login: str
    display_name: str
    profile: str
    organisation: str
    activity_nature: str
    extra_actions: tuple[str, ...] = ()

    @property
    def password(self) -> str:
        return f"Demo-{self.profile}-2025"

    @property
    def email(self) -> str:
        return f"{self.login}@demo.invalid"


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser(
        "demo.admin", "Démo — Administration technique", "admin_technique", "ville_dgansi", "exploitation_technique"
    ),
    DemoUser(
        "demo.habilitations",
        "Démo — DGA Sécurité (habilitations)",
        "gestionnaire_habilitations",
        "ville_dga_securite",
        "gestion_habilitations",
    ),
    DemoUser("demo.encadrement", "Démo — Encadrement Police Municipale", "encadrement_pm", "ville_dgsec", "pilotage"),
    DemoUser("demo.analyste", "Démo — Analyste", "analyste", "ville_dgsec", "analyse"),
    DemoUser("demo.dpo", "Démo — Auditeur / DPO", "auditeur_dpo", "ville_dpo", "controle"),
    DemoUser(
        "demo.cortege",
        "Démo — Agent Cortège (Préfecture)",
        "agent_cortege",
        "prefecture_police_13",
        "ordre_public_prefecture",
    ),
    DemoUser(
        "demo.prefecture",
        "Démo — Lecteur et validateur Préfecture",
        "lecteur_prefecture",
        "prefecture_police_13",
        "ordre_public_prefecture",
        ("valider_liste_prefecture",),
    ),
    DemoUser("demo.partenaire", "Démo — Partenaire", "partenaire", "partenaire_demo", "partenariat"),
)


def seed_demo(path: Path | None = None) -> list[DemoUser]:
    """Create (or reset) the demo accounts in the store; return them."""
    if is_production():
        raise RuntimeError("Comptes de démonstration refusés en production (TRANQUILLITE_ENV=production).")
    path = store.init_store(path)
    with store.connect(path) as con:
        for u in DEMO_USERS:
            if con.execute("SELECT 1 FROM users WHERE login = ?", (u.login,)).fetchone() is None:
                habilitations._insert_user(
                    con,
                    u.login,
                    u.display_name,
                    u.email,
                    u.profile,
                    u.activity_nature,
                    u.organisation,
                    u.password,
                    must_change=False,
                    demo=True,
                )
            else:
                auth.set_password(con, u.login, u.password)
                with store.transaction(con):
                    con.execute(
                        "UPDATE users SET active = 1, profile = ?, organisation = ?, activity_nature = ?, "
                        "demo = 1 WHERE login = ?",
                        (u.profile, u.organisation, u.activity_nature, u.login),
                    )
            with store.transaction(con):
                con.execute("DELETE FROM user_actions WHERE login = ?", (u.login,))
                for a in u.extra_actions:
                    con.execute("INSERT INTO user_actions VALUES (?, ?)", (u.login, a))
        # one pending line of the Préfecture's list, so the workflow has something to show
        if con.execute("SELECT 1 FROM habilitation_requests").fetchone() is None:
            validator = load_principal(con, "demo.prefecture")
            habilitations.create_request(
                con,
                validator,
                kind="ajout",
                login="agent.cortege2",
                display_name="Agent Cortège n° 2 (démo)",
                profile="agent_cortege",
                comment="Liste nominative transmise par la Préfecture (démo)",
            )
    return list(DEMO_USERS)


def main() -> int:
    try:
        users = seed_demo()
    except RuntimeError as exc:
        print(f"erreur: {exc}", file=sys.stderr)
        return 2
    print(f"Comptes de démonstration dans {store.describe()} (mots de passe de DÉMONSTRATION uniquement):")
    for u in users:
        print(f"  {u.login:<20} {u.profile:<28} {u.password}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
