"""Rights of the restitution app: the seed (initial data) and the `Principal` read from the store.

Rights are DATA: this module only holds the content written into `platform.sqlite` the first
time the store is created. From then on the City administers them in the app (page
*Habilitations*) and the store is the only source of truth; nothing here is read at request
time except through `load_principal`.

Rights follow conventions, not lists of sources (issue 16): a profile is granted conventions, and
it sees every source whose contract names one of them — a new contract of a granted convention
reaches it with no edit, a source of a new convention reaches nobody until the City grants that
convention. An activity nature may still narrow the sources. An organisation's own data are the
sources of the conventions that name it in their `organisations:` list.

The convention scopes of the seed come from `data_contracts/conventions.yaml` (`access:` lists);
`public` and `partenaire` see the City's own data only as aggregates with small counts masked.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from functools import lru_cache

from tranquillite.contracts import load_contracts, load_conventions
from tranquillite.conventions.usage import scope_in_force

# --------------------------------------------------------------------------- pages
PAGES: dict[str, dict[str, str]] = {
    # code: title (French, shown in the navigation), icon, one-line description
    "accueil_public": {
        "title": "Accueil — indicateurs publics",
        "icon": ":material/bar_chart:",
        "description": "Indicateurs agrégés par arrondissement et par mois, petits effectifs masqués",
    },
    "carte": {
        "title": "Carte",
        "icon": ":material/map:",
        "description": "Tous les événements et faits affectant l'espace public (C4)",
    },
    "previsions": {
        "title": "Prévisions",
        "icon": ":material/trending_up:",
        "description": "Prévisions et évaluation des modèles",
    },
    "fiche_modele": {
        "title": "Fiche du modèle",
        "icon": ":material/description:",
        "description": "Ce que la prévision utilise et n'utilise jamais, ses résultats face aux "
        "références, l'audit de la boucle de rétroaction, ses limites et son usage",
    },
    "tension": {
        "title": "Zones de tension",
        "icon": ":material/local_fire_department:",
        "description": "Indice de tension anticipé par cellule et par créneau, alertes en cours (C4)",
    },
    "alertes": {
        "title": "Alertes",
        "icon": ":material/notifications:",
        "description": "Boîte des alertes de son périmètre: prise en compte, assignation, commentaires, "
        "clôture; seuils par indicateur et par zone",
    },
    "indicateurs": {
        "title": "Indicateurs",
        "icon": ":material/query_stats:",
        "description": "Catalogue des indicateurs, valeurs par arrondissement, évolutions et note hebdomadaire (T7)",
    },
    "qualite": {
        "title": "Qualité des données",
        "icon": ":material/fact_check:",
        "description": "Complétude et quarantaine par source (T8)",
    },
    "cortege": {
        "title": "Saisie Cortège",
        "icon": ":material/edit_note:",
        "description": "Saisie et consultation des entrées de la Préfecture (C3)",
    },
    "habilitations": {
        "title": "Habilitations",
        "icon": ":material/admin_panel_settings:",
        "description": "Utilisateurs, profils, natures d'activité, conventions, liste Préfecture (T3, C6, C7)",
    },
    "journal": {
        "title": "Journal d'accès",
        "icon": ":material/history:",
        "description": "Qui a vu quoi, avec quels filtres, quels exports (T4)",
    },
    "tracabilite": {
        "title": "Traçabilité",
        "icon": ":material/account_tree:",
        "description": "Par convention: sources, tables et partitions, modèles, fichiers reçus, "
        "lectures et exports, habilitations (C5–C8, T4)",
    },
    "quarantaine": {
        "title": "Quarantaine",
        "icon": ":material/policy:",
        "description": "Enregistrements rejetés (données personnelles masquées), durée de conservation et purges (C2)",
    },
    # --- conventions (#12)
    "conventions": {
        "title": "Conventions",
        "icon": ":material/contract:",
        "description": "Cycle de vie des conventions, échéances et alertes, dénonciation (C9)",
    },
    "destruction": {
        "title": "Destruction des données",
        "icon": ":material/delete_forever:",
        "description": "Données à détruire, destructions effectuées et attestations signées (C9)",
    },
    "prestataires": {
        "title": "Remises aux prestataires",
        "icon": ":material/handshake:",
        "description": "Remises temporaires, extraits et justificatifs de destruction (C8)",
    },
    "nature_donnees": {
        "title": "Nature des données",
        "icon": ":material/rule:",
        "description": "Contrats modifiés: information des DPO et étude d'impact (C2)",
    },
    "compte": {
        "title": "Mon compte",
        "icon": ":material/account_circle:",
        "description": "Profil, droits et changement de mot de passe",
    },
}

ACTIONS: dict[str, str] = {
    "saisir": "Saisir et modifier ses entrées Cortège",
    "exporter": "Exporter des données (CSV)",
    "administrer": "Paramétrer les profils (pages, périmètres, actions) et les natures d'activité",
    "habiliter": "Attribuer, modifier, retirer les habilitations; instruire la liste Préfecture",
    "valider_liste_prefecture": "Valider, pour la Préfecture, les demandes sur sa liste nominative (C7)",
    # --- conventions (#12)
    "gerer_conventions": "Saisir les dates des conventions, leur dénonciation et ordonner la destruction (C9)",
    "gerer_prestataires": "Enregistrer les remises aux prestataires et leurs justificatifs de destruction (C8)",
    "reconnaitre_changement_nature": "Enregistrer l'information des DPO et l'étude d'impact d'un changement (C2)",
    # --- alerts followed up (#15)
    "suivre_alertes": "Prendre en compte, assigner, commenter et clôturer les alertes de son périmètre",
    "fixer_seuils": "Fixer les seuils d'alerte par indicateur et par zone",
}

# an individual grant can open a page the profile does not (only the part of it that the action concerns)
ACTION_PAGES: dict[str, str] = {"valider_liste_prefecture": "habilitations"}

ORGANISATION_KINDS = ("ville", "prefecture", "partenaire", "public")

ORGANISATIONS: list[dict[str, str]] = [
    {"code": "ville_dgsec", "label": "Ville de Marseille — DGSEC (Police Municipale)", "kind": "ville"},
    {"code": "ville_dgansi", "label": "Ville de Marseille — DGANSI", "kind": "ville"},
    {"code": "ville_dga_securite", "label": "Ville de Marseille — DGA Sécurité", "kind": "ville"},
    {"code": "ville_dpo", "label": "Ville de Marseille — Délégué à la protection des données", "kind": "ville"},
    {"code": "prefecture_police_13", "label": "Préfecture de Police des Bouches-du-Rhône", "kind": "prefecture"},
    {"code": "partenaire_demo", "label": "Partenaire sous convention (démonstration)", "kind": "partenaire"},
]

ACTIVITY_NATURES: list[dict] = [
    # `sources`: empty = no restriction beyond the profile; else the only sources this activity may see
    {"code": "pilotage", "label": "Pilotage et encadrement opérationnel", "sources": []},
    {
        "code": "supervision_videoprotection",
        "label": "Supervision vidéoprotection (CSU)",
        "sources": ["alertes_videoprotection", "interventions"],
    },
    {"code": "analyse", "label": "Analyse, études et modélisation", "sources": []},
    {"code": "exploitation_technique", "label": "Exploitation technique de la plateforme", "sources": []},
    {"code": "gestion_habilitations", "label": "Gestion des habilitations", "sources": []},
    {"code": "controle", "label": "Contrôle, audit et protection des données", "sources": []},
    {"code": "ordre_public_prefecture", "label": "Ordre public — Préfecture de Police", "sources": []},
    {"code": "partenariat", "label": "Partenaire sous convention", "sources": []},
]


@dataclass(frozen=True)
class ProfileSeed:
    code: str
    label: str
    reason: str
    pages: tuple[str, ...]
    actions: tuple[str, ...] = ()
    organisation_kind: str = "ville"
    aggregated_only: bool = False
    own_data_only: bool = False
    requires_login: bool = True
    conventions: tuple[str, ...] | None = None  # None: from conventions.yaml access lists
    own_entries_only: bool = False  # row-level reads limited to the records the person entered


PROFILES: tuple[ProfileSeed, ...] = (
    ProfileSeed(
        "admin_technique",
        "Administrateur technique (DGANSI)",
        "La DGANSI exploite la plateforme: elle suit les données publiées et paramètre les profils, "
        "sans attribuer elle-même les habilitations.",
        (
            "accueil_public",
            "fiche_modele",
            "carte",
            "previsions",
            "tension",
            "indicateurs",
            "qualite",
            "habilitations",
            "compte",
        ),
        ("administrer",),
    ),
    ProfileSeed(
        "gestionnaire_habilitations",
        "Gestionnaire des habilitations (DGA Sécurité)",
        "Chaque personne est habilitée par le DGA Sécurité (C6): ce profil attribue et retire les "
        "habilitations et instruit la liste nominative de la Préfecture, sans accès aux données détaillées.",
        ("accueil_public", "habilitations", "journal", "conventions", "prestataires", "compte"),
        ("habiliter", "gerer_conventions", "gerer_prestataires"),
    ),
    ProfileSeed(
        "encadrement_pm",
        "Encadrement de la Police Municipale (DGSEC)",
        "Les cadres de la Police Municipale décident sur la carte de tout ce qui affecte l'espace public, "
        "des zones de tension et des prévisions (C4).",
        ("accueil_public", "fiche_modele", "carte", "previsions", "tension", "alertes", "indicateurs", "compte"),
        ("exporter", "suivre_alertes", "fixer_seuils"),
    ),
    ProfileSeed(
        "analyste",
        "Analyste",
        "Les analystes comparent les modèles, définissent les indicateurs et suivent la qualité des "
        "données; ils exportent pour l'analyse.",
        (
            "accueil_public",
            "fiche_modele",
            "carte",
            "previsions",
            "tension",
            "alertes",
            "indicateurs",
            "qualite",
            "compte",
        ),
        ("exporter", "suivre_alertes"),
    ),
    ProfileSeed(
        "auditeur_dpo",
        "Auditeur / DPO",
        "L'auditeur et le DPO tracent qui a vu quoi et qui est habilité, par convention (T4, C8): journal "
        "et registre des habilitations en lecture, aucune donnée détaillée; le DPO suit la quarantaine "
        "(données personnelles masquées) et fixe sa durée de conservation (C2), suit les conventions, leurs "
        "destructions et les remises aux prestataires (C8, C9).",
        (
            "accueil_public",
            "journal",
            "tracabilite",
            "habilitations",
            "qualite",
            "quarantaine",
            "conventions",
            "destruction",
            "prestataires",
            "nature_donnees",
            "compte",
        ),
        ("reconnaitre_changement_nature",),
    ),
    ProfileSeed(
        "agent_cortege",
        "Agent de saisie Cortège (Préfecture)",
        "Les agents habilités de la Préfecture saisissent leurs entrées dans Cortège et ne consultent et "
        "ne modifient que les leurs (C3).",
        ("cortege", "compte"),
        ("saisir",),
        organisation_kind="prefecture",
        own_data_only=True,
        own_entries_only=True,
    ),
    ProfileSeed(
        "lecteur_prefecture",
        "Lecteur Préfecture (lecture seule)",
        "La Préfecture consulte la plateforme en lecture seule (C7), pour les données qu'elle transmet "
        "au titre de la convention, et reçoit le rapport de traçabilité de sa seule convention (C7).",
        ("accueil_public", "carte", "tracabilite", "compte"),
        organisation_kind="prefecture",
    ),
    ProfileSeed(
        "partenaire",
        "Partenaire",
        "Un partenaire sous convention ne voit que des agrégats (petits effectifs masqués) et le détail "
        "de ses seules propres données.",
        ("accueil_public", "fiche_modele", "compte"),
        organisation_kind="partenaire",
        aggregated_only=True,
        own_data_only=True,
        conventions=("internal",),
    ),
    ProfileSeed(
        "public",
        "Public (sans compte)",
        "Les citoyens consultent sans compte des indicateurs agrégés par arrondissement et par mois, "
        "effectifs inférieurs à 11 masqués.",
        (
            "accueil_public",
            "fiche_modele",
        ),
        organisation_kind="public",
        aggregated_only=True,
        requires_login=False,
        conventions=("internal",),
    ),
)


def seed_conventions(p: ProfileSeed) -> tuple[str, ...]:
    if p.conventions is not None:
        return p.conventions
    return tuple(sorted(code for code, c in load_conventions().items() if p.code in (c.get("access") or [])))


def sources_of_conventions(conventions: tuple[str, ...]) -> tuple[str, ...]:
    """Event sources (`clean.events.source` = contract name) carried by these conventions."""
    return tuple(sorted(c.name for c in load_contracts().values() if c.convention in conventions))


def organisation_sources(organisation: str | None) -> tuple[str, ...]:
    """The data an organisation owns (row-level for its own_data_only profiles): the sources of the
    conventions naming it in their `organisations:` list."""
    if not organisation:
        return ()
    convs = tuple(code for code, c in load_conventions().items() if organisation in (c.get("organisations") or []))
    return sources_of_conventions(convs)


def all_sources() -> tuple[str, ...]:
    return tuple(sorted(c.name for c in load_contracts().values()))


def all_conventions() -> tuple[str, ...]:
    return tuple(sorted(load_conventions()))


# --------------------------------------------------------------------------- principal
@dataclass(frozen=True)
class Scope:
    """What a principal may see in the warehouse.

    `row_sources`: sources visible row by row; `aggregate_sources`: visible as aggregates (a
    superset); `conventions`: conventions whose rows may be read at all. `aggregated_only`
    profiles get masked small counts. `own_entries`: None, or the only records (`record_id`) the
    person may read — the entries they made themselves (Cortège agents, C3). `indicators`: None (a
    tool of the platform, no restriction), or the catalogue's indicators whose `profiles` list the
    principal's profile — the only ones whose values it reads (T7).
    """

    row_sources: tuple[str, ...]
    aggregate_sources: tuple[str, ...]
    conventions: tuple[str, ...]
    aggregated_only: bool
    own_entries: tuple[str, ...] | None = None
    indicators: tuple[str, ...] | None = None

    @property
    def key(self) -> tuple:
        """Cache key: two principals with the same scope may share cached query results."""
        return (
            self.row_sources,
            self.aggregate_sources,
            self.conventions,
            self.aggregated_only,
            self.own_entries,
            self.indicators,
        )


NO_DATA = Scope(row_sources=(), aggregate_sources=(), conventions=(), aggregated_only=True, indicators=())


@lru_cache(maxsize=1)
def _indicator_profiles() -> dict[str, tuple[str, ...]]:
    from tranquillite.indicators.config import load_catalogue

    return {ind.id: tuple(ind.profiles) for ind in load_catalogue().indicators}


def indicators_of(profile: str) -> tuple[str, ...]:
    """The indicators whose values a profile may read: those whose `profiles` (indicators.yaml) name it."""
    return tuple(sorted(i for i, profs in _indicator_profiles().items() if profile in profs))


@dataclass(frozen=True)
class Principal:
    login: str | None
    display_name: str
    profile: str
    profile_label: str
    organisation: str | None
    organisation_kind: str
    activity_nature: str | None
    pages: frozenset[str]
    actions: frozenset[str]
    scope: Scope
    must_change_password: bool = False
    auth_method: str = "aucune"
    profile_pages: frozenset[str] = frozenset()
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def is_public(self) -> bool:
        return self.login is None

    def may_open(self, page: str) -> bool:
        return page in self.pages

    def can(self, action: str) -> bool:
        return action in self.actions

    def ordered_pages(self) -> list[str]:
        return [p for p in PAGES if p in self.pages]


def _profile_rights(con: sqlite3.Connection, profile: str) -> tuple[sqlite3.Row, set, set, set, set]:
    """The profile's row, pages, actions, sources and conventions — its sources are those of its
    conventions' contracts, read now (never a stored list that a new contract would miss)."""
    row = con.execute("SELECT * FROM profiles WHERE code = ?", (profile,)).fetchone()
    if row is None:
        raise LookupError(f"profil inconnu: {profile}")
    pages = {r[0] for r in con.execute("SELECT page FROM profile_pages WHERE profile = ?", (profile,))}
    actions = {r[0] for r in con.execute("SELECT action FROM profile_actions WHERE profile = ?", (profile,))}
    convs = {r[0] for r in con.execute("SELECT convention FROM profile_conventions WHERE profile = ?", (profile,))}
    return row, pages, actions, set(sources_of_conventions(tuple(sorted(convs)))), convs


def own_entries(con: sqlite3.Connection, login: str) -> tuple[str, ...]:
    """The records this person entered (first version theirs: the registry of Cortège saves)."""
    return tuple(
        sorted(
            r[0]
            for r in con.execute(
                "SELECT entry_id FROM cortege_entries e WHERE login = ? AND version = "
                "(SELECT min(version) FROM cortege_entries f WHERE f.entry_id = e.entry_id)",
                (login,),
            )
        )
    )


def _scope(
    con: sqlite3.Connection,
    prof: sqlite3.Row,
    sources: set,
    convs: set,
    nature: str | None,
    organisation: str | None,
    login: str | None = None,
) -> Scope:
    convs, sources = scope_in_force(con, convs, sources, organisation)  # ended conventions reach nobody (C9, #12)
    if nature:
        restricted = {
            r[0] for r in con.execute("SELECT source FROM activity_nature_sources WHERE nature = ?", (nature,))
        }
        if restricted:
            sources = sources & restricted
    aggregate = tuple(sorted(sources))
    if prof["own_data_only"] or prof["aggregated_only"]:
        rows = tuple(sorted(sources & set(organisation_sources(organisation)))) if prof["own_data_only"] else ()
    else:
        rows = aggregate
    mine = own_entries(con, login or "") if prof["own_entries_only"] else None
    return Scope(
        row_sources=rows,
        aggregate_sources=aggregate,
        conventions=tuple(sorted(convs)),
        aggregated_only=bool(prof["aggregated_only"]),
        own_entries=mine,
        indicators=indicators_of(prof["code"]),
    )


def public_principal(con: sqlite3.Connection) -> Principal:
    prof, pages, actions, sources, convs = _profile_rights(con, "public")
    return Principal(
        login=None,
        display_name="Public",
        profile="public",
        profile_label=prof["label"],
        organisation=None,
        organisation_kind="public",
        activity_nature=None,
        pages=frozenset(pages),
        actions=frozenset(actions),
        scope=_scope(con, prof, sources, convs, None, None),
        profile_pages=frozenset(pages),
    )


def load_principal(con: sqlite3.Connection, login: str, auth_method: str = "local") -> Principal | None:
    """The rights of an ACTIVE user, read from the store now (a withdrawal applies at the next click)."""
    u = con.execute("SELECT * FROM users WHERE login = ?", (login,)).fetchone()
    if u is None or not u["active"]:
        return None
    prof, pages, actions, sources, convs = _profile_rights(con, u["profile"])
    if not prof["requires_login"]:
        return None
    actions |= {r[0] for r in con.execute("SELECT action FROM user_actions WHERE login = ?", (login,))}
    profile_pages = frozenset(pages)
    pages |= {ACTION_PAGES[a] for a in actions if a in ACTION_PAGES}
    org = con.execute("SELECT kind FROM organisations WHERE code = ?", (u["organisation"],)).fetchone()
    must_change = bool(u["must_change_password"]) and auth_method == "local"
    if must_change:  # a provisional password opens nothing but the password change
        pages, actions = {"compte"}, set()
    scope = _scope(con, prof, sources, convs, u["activity_nature"], u["organisation"], u["login"])
    if "habiliter" in actions:  # separation of duties: who habilitates reads no data (C6)
        scope = NO_DATA
    return Principal(
        login=u["login"],
        display_name=u["display_name"],
        profile=u["profile"],
        profile_label=prof["label"],
        organisation=u["organisation"],
        organisation_kind=org["kind"] if org else "ville",
        activity_nature=u["activity_nature"],
        pages=frozenset(pages),
        actions=frozenset(actions),
        scope=scope,
        must_change_password=must_change,
        auth_method=auth_method,
        profile_pages=frozenset() if must_change else profile_pages,
    )


def default_page(p: Principal) -> str:
    for page in ("carte", "cortege", "habilitations", "journal", "accueil_public", "compte"):
        if page in p.pages:
            return page
    return next(iter(p.ordered_pages()), "compte")
