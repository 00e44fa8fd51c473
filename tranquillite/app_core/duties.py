"""Separation of duties (C6, C7, issue #10): the rules every change of rights must pass.

Checked by `habilitations` before any write, whatever page or call asks (the Habilitations page
only hides what these rules refuse anyway):

1. nobody changes their own rights, their own account or their own profile's rights (nor the
   activity nature they belong to);
2. a right is granted by a person other than the one it benefits (a request of the Préfecture's
   list about oneself is validated or applied by someone else);
3. the two administrative duties never meet: who configures the profiles (`administrer`, the
   technical administrator) never habilitates (`habiliter`), and whoever holds `habiliter` —
   through the profile or individually — gets no data page and no data action (and no data
   scope at all: `rights.load_principal`);
4. Préfecture persons exist only through the list validated by the Préfecture (C7): their
   profiles never exceed read-only consultation of the Préfecture's own data (pages, actions,
   conventions and sources below), their only individual action is the list validation, and
   the City never sets or resets their password (the Préfecture's validator hands over the
   provisional one).
"""

from __future__ import annotations

import sqlite3
from typing import Iterable

from tranquillite.app_core.rights import Principal, organisation_sources, sources_of_conventions

PREFECTURE_ORG = "prefecture_police_13"
# pages and actions that read or carry data out (the gestionnaire never holds them)
DATA_PAGES = frozenset({"carte", "previsions", "tension", "indicateurs", "qualite", "cortege"})
DATA_ACTIONS = frozenset({"exporter", "saisir"})
EXCLUSIVE_ACTIONS = ("administrer", "habiliter")
# the ceiling of a Préfecture profile: read-only consultation of its own data (+ Cortège entry, C3)
PREFECTURE_PAGES = frozenset({"accueil_public", "carte", "cortege", "compte"})
PREFECTURE_PROFILE_ACTIONS = frozenset({"saisir"})
PREFECTURE_PERSON_ACTIONS = frozenset({"valider_liste_prefecture"})


class RightsError(PermissionError):
    """A change of rights the rules refuse (French message)."""


def not_self(actor: Principal, login: str, what: str = "ses propres droits") -> None:
    if actor.login is not None and login == actor.login:
        raise RightsError(
            f"On ne modifie pas {what}: une autre personne habilitée doit le faire (séparation des tâches)."
        )


def not_own_profile(actor: Principal, profile: str) -> None:
    if profile == actor.profile:
        raise RightsError(
            f"On ne modifie pas les droits de son propre profil ({profile}): une personne d'un "
            "autre profil doit le faire (séparation des tâches)."
        )


def prefecture_profile_ceiling(pages: Iterable[str], actions: Iterable[str], conventions: Iterable[str]) -> None:
    own = set(organisation_sources(PREFECTURE_ORG))
    extra_pages = set(pages) - PREFECTURE_PAGES
    extra_actions = set(actions) - PREFECTURE_PROFILE_ACTIONS
    foreign_convs = {
        c for c in conventions if not set(sources_of_conventions((c,))) <= own or not sources_of_conventions((c,))
    }
    problems = []
    if extra_pages:
        problems.append(f"pages {sorted(extra_pages)}")
    if extra_actions:
        problems.append(f"actions {sorted(extra_actions)}")
    if foreign_convs:
        problems.append(f"conventions {sorted(foreign_convs)}")
    if problems:
        raise RightsError(
            "Un profil de la Préfecture est limité à la consultation en lecture seule des données "
            "de la Préfecture (C7): refusé — " + ", ".join(problems) + "."
        )


def duties_apart(actions: Iterable[str], pages: Iterable[str], whose: str) -> None:
    """`administrer` and `habiliter` never together; `habiliter` never with data."""
    acts = set(actions)
    if set(EXCLUSIVE_ACTIONS) <= acts:
        raise RightsError(
            f"{whose}: paramétrer les profils et attribuer les habilitations sont deux tâches "
            "séparées (l'administrateur technique n'habilite pas)."
        )
    if "habiliter" in acts:
        data = (set(pages) & DATA_PAGES) | (acts & DATA_ACTIONS)
        if data:
            raise RightsError(
                f"{whose}: le gestionnaire des habilitations n'accède à aucune donnée — refusé: {sorted(data)}."
            )


def user_actions(con: sqlite3.Connection, login: str) -> set[str]:
    return {r[0] for r in con.execute("SELECT action FROM user_actions WHERE login = ?", (login,))}


def profile_rights(con: sqlite3.Connection, profile: str) -> tuple[set[str], set[str]]:
    pages = {r[0] for r in con.execute("SELECT page FROM profile_pages WHERE profile = ?", (profile,))}
    actions = {r[0] for r in con.execute("SELECT action FROM profile_actions WHERE profile = ?", (profile,))}
    return pages, actions


def check_person(
    con: sqlite3.Connection, login: str, profile: str, individual: Iterable[str], organisation: str
) -> None:
    """The rights a person would hold (profile + individual actions) pass the rules."""
    pages, actions = profile_rights(con, profile)
    individual = set(individual)
    if organisation == PREFECTURE_ORG and individual - PREFECTURE_PERSON_ACTIONS:
        raise RightsError(
            "Une personne de la Préfecture ne reçoit individuellement que la validation de sa liste "
            f"nominative (C7): refusé — {sorted(individual - PREFECTURE_PERSON_ACTIONS)}."
        )
    duties_apart(actions | individual, pages, login)


def check_profile(
    con: sqlite3.Connection,
    profile: str,
    organisation_kind: str,
    pages: Iterable[str],
    actions: Iterable[str],
    conventions: Iterable[str],
) -> None:
    """A profile's new rights pass the rules, for the profile and for every member's individual actions."""
    pages, actions = set(pages), set(actions)
    duties_apart(actions, pages, f"profil {profile}")
    if organisation_kind == "prefecture":
        prefecture_profile_ceiling(pages, actions, conventions)
    for (login,) in con.execute("SELECT login FROM users WHERE profile = ?", (profile,)).fetchall():
        duties_apart(actions | user_actions(con, login), pages, f"profil {profile} ({login})")
