"""Habilitations administered by the City in the app (T3, C6) and the Préfecture's list (C7).

* Users (habiliter): create, change profile / activity nature, deactivate, reset password. A
  profile only goes to a person of the matching kind of organisation (City, Préfecture, partner).
* Profiles (administrer): create a profile; its pages, actions and conventions (its sources are
  those of its conventions' contracts: `rights.sources_of_conventions`, issue 16); activity natures
  and the sources they restrict to.
* Organisations (habiliter): create the organisation of a new partner before habilitating its persons.
* Préfecture list (C7): the Préfecture sends the nominative list of persons to habilitate; each
  request (ajout / modification / retrait) goes `demandee` → `validee_prefecture` (by a
  Préfecture validator: action `valider_liste_prefecture`) → `habilitee` (by the gestionnaire:
  action `habiliter`), or `rejetee_prefecture` / `refusee`. Préfecture accounts change ONLY
  through this workflow, except an immediate deactivation (withdrawing access is always allowed).
  Requests and their history are append-only.
* Separation of duties (`duties`): nobody changes their own rights or their own profile's, a
  right is granted by someone other than its beneficiary, `administrer` and `habiliter` never
  meet and `habiliter` never comes with data, Préfecture profiles stay read-only on the
  Préfecture's data, and the City never sets a Préfecture person's password (the Préfecture's
  validator hands over the provisional one: `prefecture_password`).
Every change is written to the access log with who, whom, before and after; every refusal too.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import string
from contextlib import contextmanager
from typing import Any, Iterator

from tranquillite.app_core import auth, duties, store
from tranquillite.app_core.duties import PREFECTURE_ORG, RightsError
from tranquillite.app_core.rights import ACTIONS, ORGANISATION_KINDS, PAGES, Principal, sources_of_conventions
from tranquillite.contracts import load_conventions

STATUS_LABELS = {
    "demandee": "Demandée",
    "validee_prefecture": "Validée par la Préfecture",
    "rejetee_prefecture": "Rejetée par la Préfecture",
    "habilitee": "Habilitation effectuée",
    "refusee": "Refusée par la Ville",
}
KIND_LABELS = {"ajout": "Ajout", "modification": "Modification", "retrait": "Retrait"}
LOGIN_CHARS = set(string.ascii_lowercase + string.digits + "._-")


def _require(actor: Principal, action: str) -> None:
    if not actor.can(action):
        raise RightsError(f"Action « {ACTIONS.get(action, action)} » non autorisée pour le profil {actor.profile}.")


def _log(
    con: sqlite3.Connection, actor: Principal, action: str, whom: str, before: Any, after: Any, **extra: Any
) -> None:
    """One line of the access log per change of rights: who, whom, before, after."""
    detail = {"qui": actor.login, "pour": whom, "avant": before, "apres": after, **extra}
    store.log_access(
        con,
        login=actor.login,
        profile=actor.profile,
        page="habilitations",
        action=action,
        detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
    )


@contextmanager
def _guarded(con: sqlite3.Connection, actor: Principal, what: str, whom: str, asked: Any) -> Iterator[None]:
    """Run the checks of a change; a refusal is logged (who asked what for whom) and re-raised."""
    try:
        yield
    except RightsError as exc:
        store.log_access(
            con,
            login=actor.login,
            profile=actor.profile,
            page="habilitations",
            action="modification_refusee",
            detail=json.dumps(
                {"qui": actor.login, "pour": whom, "demande": what, "valeurs": asked, "motif": str(exc)},
                ensure_ascii=False,
                sort_keys=True,
                default=str,
            ),
        )
        raise


def _org_kind(con: sqlite3.Connection, organisation: str | None) -> str | None:
    r = con.execute("SELECT kind FROM organisations WHERE code = ?", (organisation or "",)).fetchone()
    return r[0] if r else None


def temporary_password() -> str:
    alphabet = string.ascii_letters + string.digits + "-_.!"
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(16))
        if not auth.password_problems(pw):
            return pw


# --------------------------------------------------------------------------- reads
def users(con: sqlite3.Connection) -> list[dict]:
    return [
        dict(r)
        for r in con.execute(
            "SELECT u.login, u.display_name, u.email, u.profile, u.activity_nature, u.organisation, o.kind "
            "AS organisation_kind, u.active, u.locked_until, u.must_change_password, u.demo, u.created_at, u.updated_at "
            "FROM users u JOIN organisations o ON o.code = u.organisation ORDER BY u.organisation, u.login"
        )
    ]


def profiles(con: sqlite3.Connection) -> list[dict]:
    out = []
    for p in con.execute("SELECT * FROM profiles ORDER BY rowid"):
        d = {**dict(p), **_profile_state(con, p["code"])}
        d["pages"] = [x for x in PAGES if x in d["pages"]]
        d["sources"] = list(sources_of_conventions(tuple(d["conventions"])))  # they follow its conventions
        out.append(d)
    return out


def natures(con: sqlite3.Connection) -> list[dict]:
    out = []
    for n in con.execute("SELECT * FROM activity_natures ORDER BY rowid"):
        d = dict(n)
        d["sources"] = sorted(
            r[0] for r in con.execute("SELECT source FROM activity_nature_sources WHERE nature = ?", (n["code"],))
        )
        out.append(d)
    return out


def organisations(con: sqlite3.Connection) -> list[dict]:
    return [dict(r) for r in con.execute("SELECT * FROM organisations ORDER BY rowid")]


def user_actions(con: sqlite3.Connection, login: str) -> list[str]:
    return sorted(r[0] for r in con.execute("SELECT action FROM user_actions WHERE login = ?", (login,)))


# --------------------------------------------------------------------------- users
def _check_user_fields(
    con: sqlite3.Connection, login: str, profile: str, organisation: str, nature: str | None
) -> None:
    if not login or not set(login) <= LOGIN_CHARS or len(login) > 64:
        raise ValueError("Identifiant invalide: lettres minuscules, chiffres, « . », « _ », « - ».")
    prof = con.execute("SELECT organisation_kind, requires_login FROM profiles WHERE code = ?", (profile,)).fetchone()
    if prof is None or not prof["requires_login"]:
        raise ValueError(f"Profil inconnu ou sans compte: {profile}")
    org = con.execute("SELECT kind FROM organisations WHERE code = ?", (organisation,)).fetchone()
    if org is None:
        raise ValueError(f"Organisation inconnue: {organisation}")
    if org["kind"] != prof["organisation_kind"]:
        raise ValueError(
            f"Le profil {profile} est réservé aux personnes d'une organisation de type « {prof['organisation_kind']} »."
        )
    if nature and con.execute("SELECT 1 FROM activity_natures WHERE code = ?", (nature,)).fetchone() is None:
        raise ValueError(f"Nature d'activité inconnue: {nature}")


def _insert_user(
    con: sqlite3.Connection,
    login: str,
    display_name: str,
    email: str | None,
    profile: str,
    nature: str | None,
    organisation: str,
    password: str | None,
    must_change: bool,
    demo: bool = False,
) -> None:
    now = store.iso(store.now_utc())
    h = auth.hash_password(password, login) if password else None
    with store.transaction(con):
        con.execute(
            "INSERT INTO users (login, display_name, email, profile, activity_nature, organisation, active, "
            "password_hash, must_change_password, demo, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)",
            (
                login,
                display_name,
                (email or None),
                profile,
                nature,
                organisation,
                h,
                int(must_change),
                int(demo),
                now,
                now,
            ),
        )


def create_user(
    con: sqlite3.Connection,
    actor: Principal,
    *,
    login: str,
    display_name: str,
    email: str | None,
    profile: str,
    organisation: str,
    activity_nature: str | None = None,
    password: str | None = None,
    _via_request: int | None = None,
) -> str | None:
    """Habilitate a City or partner person (Préfecture persons: through the list workflow).

    Returns the temporary password to hand over (the user must change it), or None when the
    caller gave one, or for a Préfecture person (the Préfecture's validator hands theirs over).
    """
    _require(actor, "habiliter")
    login = login.strip().lower()
    _check_user_fields(con, login, profile, organisation, activity_nature)
    prefecture = _org_kind(con, organisation) == "prefecture"
    with _guarded(con, actor, "creation", login, {"profil": profile, "organisation": organisation}):
        if prefecture and _via_request is None:
            raise RightsError(
                "Les personnes de la Préfecture sont habilitées par la liste nominative validée "
                "par la Préfecture (onglet « Liste Préfecture »)."
            )
        duties.not_self(actor, login, "son propre compte")
        if (
            email
            and actor.login
            and con.execute(
                "SELECT 1 FROM users WHERE login = ? AND lower(email) = lower(?)", (actor.login, email.strip())
            ).fetchone()
        ):
            raise RightsError("On ne crée pas de second compte pour soi-même (séparation des tâches).")
        duties.check_person(con, login, profile, (), organisation)
    if con.execute("SELECT 1 FROM users WHERE login = ?", (login,)).fetchone():
        raise ValueError(f"L'identifiant {login} existe déjà.")
    if prefecture:  # no password the City would know: the Préfecture's validator issues the first one
        temp = None
        _insert_user(
            con, login, display_name.strip(), email, profile, activity_nature, organisation, None, must_change=True
        )
    else:
        temp = password or temporary_password()
        _insert_user(
            con,
            login,
            display_name.strip(),
            email,
            profile,
            activity_nature,
            organisation,
            temp,
            must_change=password is None,
        )
    _log(
        con,
        actor,
        "habilitation_creee",
        login,
        None,
        {"profile": profile, "organisation": organisation, "activity_nature": activity_nature},
        demande=_via_request,
    )
    return None if (password or prefecture) else temp


def update_user(
    con: sqlite3.Connection,
    actor: Principal,
    login: str,
    *,
    profile: str | None = None,
    activity_nature: str | None = None,
    display_name: str | None = None,
    email: str | None = None,
    active: bool | None = None,
    _via_request: int | None = None,
) -> None:
    _require(actor, "habiliter")
    u = con.execute("SELECT * FROM users WHERE login = ?", (login,)).fetchone()
    if u is None:
        raise LookupError(f"Utilisateur inconnu: {login}")
    changes = {
        k: v
        for k, v in (
            ("profile", profile),
            ("activity_nature", activity_nature),
            ("display_name", display_name),
            ("email", email),
        )
        if v is not None and v != u[k]
    }
    if active is not None and bool(active) != bool(u["active"]):
        changes["active"] = int(active)
    if not changes:
        return
    with _guarded(con, actor, "modification", login, changes):
        duties.not_self(actor, login, "sa propre habilitation")
        if _org_kind(con, u["organisation"]) == "prefecture" and _via_request is None and changes != {"active": 0}:
            raise RightsError(
                "Un compte de la Préfecture ne change que par une demande validée par la Préfecture; "
                "seule la désactivation immédiate est possible ici."
            )
        if "profile" in changes:
            duties.check_person(con, login, changes["profile"], duties.user_actions(con, login), u["organisation"])
    if "profile" in changes or "activity_nature" in changes:
        _check_user_fields(
            con,
            login,
            changes.get("profile", u["profile"]),
            u["organisation"],
            changes.get("activity_nature", u["activity_nature"]),
        )
    sets = ", ".join(f"{k} = ?" for k in changes)  # keys from the fixed list above
    with store.transaction(con):
        con.execute(
            f"UPDATE users SET {sets}, updated_at = ? WHERE login = ?",
            (*changes.values(), store.iso(store.now_utc()), login),
        )
    _log(con, actor, "habilitation_modifiee", login, {k: u[k] for k in changes}, changes, demande=_via_request)


def reset_password(con: sqlite3.Connection, actor: Principal, login: str) -> str:
    """A new provisional password for a City or partner person (never oneself, never the Préfecture's)."""
    _require(actor, "habiliter")
    u = con.execute("SELECT organisation FROM users WHERE login = ?", (login,)).fetchone()
    if u is None:
        raise LookupError(f"Utilisateur inconnu: {login}")
    with _guarded(con, actor, "reinitialisation_mot_de_passe", login, None):
        duties.not_self(actor, login, "son propre mot de passe ici (page « Mon compte »)")
        if _org_kind(con, u["organisation"]) == "prefecture":
            raise RightsError(
                "Le mot de passe d'une personne de la Préfecture n'est jamais fixé par la Ville: le "
                "validateur de la Préfecture lui remet un mot de passe provisoire (C7). Ici, seule "
                "la désactivation immédiate est possible."
            )
    temp = temporary_password()
    auth.set_password(con, login, temp, must_change=True)
    _log(con, actor, "mot_de_passe_reinitialise", login, None, {"mot_de_passe": "provisoire"})
    return temp


def prefecture_password(con: sqlite3.Connection, actor: Principal, login: str) -> str:
    """The Préfecture's validator issues the provisional password of a Préfecture person (C7)."""
    _require(actor, "valider_liste_prefecture")
    u = con.execute("SELECT organisation, active FROM users WHERE login = ?", (login,)).fetchone()
    with _guarded(con, actor, "mot_de_passe_prefecture", login, None):
        if actor.organisation_kind != "prefecture":
            raise RightsError("Seul le validateur de la Préfecture remet le mot de passe provisoire de ses agents.")
        duties.not_self(actor, login, "son propre mot de passe ici (page « Mon compte »)")
        if u is None or _org_kind(con, u["organisation"]) != "prefecture" or not u["active"]:
            raise RightsError(f"{login} n'est pas une personne active de la Préfecture.")
    temp = temporary_password()
    auth.set_password(con, login, temp, must_change=True)
    _log(con, actor, "mot_de_passe_prefecture", login, None, {"mot_de_passe": "provisoire"})
    return temp


def unlock_user(con: sqlite3.Connection, actor: Principal, login: str) -> None:
    _require(actor, "habiliter")
    with _guarded(con, actor, "deverrouillage", login, None):
        duties.not_self(actor, login, "son propre compte")
    auth.unlock(con, login)
    _log(con, actor, "compte_deverrouille", login, {"verrouillage": "actif"}, {"verrouillage": "levé"})


def set_user_actions(con: sqlite3.Connection, actor: Principal, login: str, actions: list[str]) -> None:
    """Individual grants on top of the profile (e.g. the Préfecture's list validator)."""
    _require(actor, "habiliter")
    unknown = set(actions) - set(ACTIONS)
    if unknown:
        raise ValueError(f"Actions inconnues: {sorted(unknown)}")
    u = con.execute("SELECT organisation, profile FROM users WHERE login = ?", (login,)).fetchone()
    if u is None:
        raise LookupError(f"Utilisateur inconnu: {login}")
    new = sorted(set(actions))
    with _guarded(con, actor, "actions_individuelles", login, new):
        duties.not_self(actor, login, "ses propres droits")
        if "valider_liste_prefecture" in new and _org_kind(con, u["organisation"]) != "prefecture":
            raise RightsError("La validation de la liste nominative revient à une personne de la Préfecture.")
        duties.check_person(con, login, u["profile"], new, u["organisation"])
    before = sorted(duties.user_actions(con, login))
    with store.transaction(con):
        con.execute("DELETE FROM user_actions WHERE login = ?", (login,))
        for a in new:
            con.execute("INSERT INTO user_actions VALUES (?, ?)", (login, a))
    _log(con, actor, "actions_individuelles", login, {"actions": before}, {"actions": new})


# --------------------------------------------------------------------------- profiles (administrer)
GUARDED = {
    ("gestionnaire_habilitations", "page", "habilitations"),
    ("gestionnaire_habilitations", "action", "habiliter"),
}
AGGREGATE_PAGES = {"accueil_public", "fiche_modele", "compte"}


PROFILE_RIGHTS = (
    ("pages", "profile_pages", "page"),
    ("actions", "profile_actions", "action"),
    ("conventions", "profile_conventions", "convention"),
)


def _profile_state(con: sqlite3.Connection, profile: str) -> dict[str, list[str]]:
    out = {}
    for key, table, col in PROFILE_RIGHTS:
        out[key] = sorted(r[0] for r in con.execute(f"SELECT {col} FROM {table} WHERE profile = ?", (profile,)))
    return out


def set_profile_rights(
    con: sqlite3.Connection,
    actor: Principal,
    profile: str,
    *,
    pages: list[str],
    actions: list[str],
    conventions: list[str],
) -> None:
    """A profile's pages, actions and conventions; it then sees every source of those conventions
    (a new contract of one of them with no further edit), narrowed by its members' activity natures."""
    _require(actor, "administrer")
    prof = con.execute("SELECT * FROM profiles WHERE code = ?", (profile,)).fetchone()
    if prof is None:
        raise LookupError(f"Profil inconnu: {profile}")
    if set(pages) - set(PAGES) or set(actions) - set(ACTIONS):
        raise ValueError("Page ou action inconnue.")
    unknown = set(conventions) - set(load_conventions())
    if unknown:
        raise ValueError(f"Convention inconnue du registre (data_contracts/conventions.yaml): {sorted(unknown)}.")
    after = {"pages": sorted(set(pages)), "actions": sorted(set(actions)), "conventions": sorted(set(conventions))}
    with _guarded(con, actor, "profil", f"profil:{profile}", after):
        duties.not_own_profile(actor, profile)
        if prof["aggregated_only"] and set(pages) - AGGREGATE_PAGES:
            raise RightsError(
                f"Le profil {profile} est limité aux données agrégées: pages possibles {sorted(AGGREGATE_PAGES)}."
            )
        for p, kind, value in GUARDED:
            if p == profile and value not in (pages if kind == "page" else actions):
                raise RightsError(
                    f"« {value} » ne peut pas être retiré au profil {profile} (sinon plus personne ne peut habiliter)."
                )
        duties.check_profile(con, profile, prof["organisation_kind"], pages, actions, conventions)
    before = _profile_state(con, profile)
    with store.transaction(con):
        for key, table, col in PROFILE_RIGHTS:
            con.execute(f"DELETE FROM {table} WHERE profile = ?", (profile,))
            for v in sorted(set(after[key])):
                con.execute(f"INSERT INTO {table} (profile, {col}) VALUES (?, ?)", (profile, v))
    _log(con, actor, "profil_modifie", f"profil:{profile}", before, after)


def _new_code(code: str, what: str) -> str:
    code = (code or "").strip().lower()
    if not code or not set(code) <= LOGIN_CHARS or len(code) > 64:
        raise ValueError(f"Code de {what} invalide: lettres minuscules, chiffres, « . », « _ », « - ».")
    return code


def create_profile(
    con: sqlite3.Connection,
    actor: Principal,
    *,
    code: str,
    label: str,
    reason: str,
    organisation_kind: str,
    aggregated_only: bool = False,
    own_data_only: bool = False,
) -> str:
    """A new profile (administrer), opening only « Mon compte »: its pages, actions and conventions
    are then set with `set_profile_rights`, under the same rules. A profile of the Préfecture or of
    a partner reads only its organisation's own data row by row (`own_data_only`)."""
    _require(actor, "administrer")
    code = _new_code(code, "profil")
    if organisation_kind not in ORGANISATION_KINDS or organisation_kind == "public":
        raise ValueError(f"Type d'organisation invalide: {organisation_kind} (ville, prefecture ou partenaire).")
    if not label.strip() or not reason.strip():
        raise ValueError("Un profil nouveau a un libellé et une raison d'être.")
    own = own_data_only or organisation_kind in ("prefecture", "partenaire")
    after = {
        "libelle": label.strip(),
        "raison": reason.strip(),
        "organisation_kind": organisation_kind,
        "aggregated_only": bool(aggregated_only),
        "own_data_only": bool(own),
    }
    with _guarded(con, actor, "profil_cree", f"profil:{code}", after):
        if con.execute("SELECT 1 FROM profiles WHERE code = ?", (code,)).fetchone():
            raise RightsError(f"Le profil {code} existe déjà: ses droits se modifient, il ne se recrée pas.")
    with store.transaction(con):
        con.execute(
            "INSERT INTO profiles (code, label, reason, organisation_kind, aggregated_only, own_data_only, "
            "requires_login, own_entries_only) VALUES (?, ?, ?, ?, ?, ?, 1, 0)",
            (code, after["libelle"], after["raison"], organisation_kind, int(aggregated_only), int(own)),
        )
        con.execute("INSERT INTO profile_pages (profile, page) VALUES (?, 'compte')", (code,))
    _log(con, actor, "profil_cree", f"profil:{code}", None, after)
    return code


def create_organisation(con: sqlite3.Connection, actor: Principal, *, code: str, label: str, kind: str) -> str:
    """A new organisation (habiliter: the gestionnaire habilitates its persons). Its own data are the
    sources of the conventions naming it (`organisations:` in conventions.yaml)."""
    _require(actor, "habiliter")
    code = _new_code(code, "organisation")
    if kind not in ORGANISATION_KINDS or kind == "public":
        raise ValueError(f"Type d'organisation invalide: {kind} (ville, prefecture ou partenaire).")
    if not label.strip():
        raise ValueError("Une organisation a un nom.")
    after = {"libelle": label.strip(), "kind": kind}
    with _guarded(con, actor, "organisation_creee", f"organisation:{code}", after):
        if con.execute("SELECT 1 FROM organisations WHERE code = ?", (code,)).fetchone():
            raise RightsError(f"L'organisation {code} existe déjà.")
    with store.transaction(con):
        con.execute("INSERT INTO organisations (code, label, kind) VALUES (?, ?, ?)", (code, after["libelle"], kind))
    _log(con, actor, "organisation_creee", f"organisation:{code}", None, after)
    return code


def set_nature(con: sqlite3.Connection, actor: Principal, code: str, label: str, sources: list[str]) -> None:
    _require(actor, "administrer")
    code = code.strip().lower()
    if not code or not set(code) <= LOGIN_CHARS:
        raise ValueError("Code de nature d'activité invalide.")
    with _guarded(con, actor, "nature_activite", f"nature:{code}", sorted(sources)):
        if code == actor.activity_nature:
            raise RightsError(
                f"On ne modifie pas sa propre nature d'activité ({code}): une autre personne doit "
                "le faire (séparation des tâches)."
            )
    old = con.execute("SELECT label FROM activity_natures WHERE code = ?", (code,)).fetchone()
    before = (
        None
        if old is None
        else {
            "libelle": old[0],
            "sources": sorted(
                r[0] for r in con.execute("SELECT source FROM activity_nature_sources WHERE nature = ?", (code,))
            ),
        }
    )
    with store.transaction(con):
        con.execute(
            "INSERT INTO activity_natures VALUES (?, ?) ON CONFLICT (code) DO UPDATE SET label = excluded.label",
            (code, label.strip()),
        )
        con.execute("DELETE FROM activity_nature_sources WHERE nature = ?", (code,))
        for s in sorted(set(sources)):
            con.execute("INSERT INTO activity_nature_sources VALUES (?, ?)", (code, s))
    _log(
        con,
        actor,
        "nature_activite_modifiee",
        f"nature:{code}",
        before,
        {"libelle": label.strip(), "sources": sorted(set(sources))},
    )


# --------------------------------------------------------------------------- Préfecture list (C7)
def request_status(con: sqlite3.Connection, request_id: int) -> str:
    r = con.execute(
        "SELECT status FROM habilitation_request_events WHERE request_id = ? ORDER BY id DESC LIMIT 1", (request_id,)
    ).fetchone()
    if r is None:
        raise LookupError(f"Demande inconnue: {request_id}")
    return r[0]


def _event(con: sqlite3.Connection, request_id: int, actor: Principal, status: str, comment: str | None) -> None:
    con.execute(
        "INSERT INTO habilitation_request_events (request_id, at, actor, status, comment) VALUES (?, ?, ?, ?, ?)",
        (request_id, store.iso(store.now_utc()), actor.login, status, comment),
    )


def create_request(
    con: sqlite3.Connection,
    actor: Principal,
    *,
    kind: str,
    login: str,
    display_name: str | None = None,
    email: str | None = None,
    profile: str | None = None,
    activity_nature: str | None = "ordre_public_prefecture",
    comment: str | None = None,
) -> int:
    """A line of the Préfecture's nominative list: entered by the Préfecture validator or the gestionnaire."""
    if not (actor.can("valider_liste_prefecture") or actor.can("habiliter")):
        raise RightsError(
            "Seuls le validateur de la Préfecture et le gestionnaire des habilitations "
            "saisissent les demandes de la liste nominative."
        )
    if kind not in KIND_LABELS:
        raise ValueError(f"Type de demande inconnu: {kind}")
    login = login.strip().lower()
    existing = con.execute("SELECT organisation FROM users WHERE login = ?", (login,)).fetchone()
    if kind == "ajout":
        if existing:
            raise ValueError(f"L'identifiant {login} existe déjà.")
        if not display_name or not profile:
            raise ValueError("Un ajout demande le nom et le profil.")
        _check_user_fields(con, login, profile, PREFECTURE_ORG, activity_nature)
    else:
        if existing is None or existing[0] != PREFECTURE_ORG:
            raise ValueError(f"{login} n'est pas une personne habilitée de la Préfecture.")
        if kind == "modification" and profile:
            _check_user_fields(con, login, profile, PREFECTURE_ORG, activity_nature)
    open_ = con.execute(
        "SELECT r.id FROM habilitation_requests r WHERE r.login = ? AND (SELECT status FROM habilitation_request_events e "
        "WHERE e.request_id = r.id ORDER BY e.id DESC LIMIT 1) IN ('demandee', 'validee_prefecture')",
        (login,),
    ).fetchone()
    if open_:
        raise ValueError(f"Une demande est déjà en cours pour {login} (n° {open_[0]}).")
    with store.transaction(con):
        cur = con.execute(
            "INSERT INTO habilitation_requests (kind, login, display_name, email, organisation, profile, "
            "activity_nature, requested_by, requested_at, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                kind,
                login,
                display_name,
                email,
                PREFECTURE_ORG,
                profile,
                activity_nature,
                actor.login,
                store.iso(store.now_utc()),
                comment,
            ),
        )
        rid = int(cur.lastrowid)
        _event(con, rid, actor, "demandee", comment)
    _log(
        con,
        actor,
        "liste_prefecture_demande",
        login,
        None,
        {"statut": "demandee"},
        demande=rid,
        type=kind,
        profil=profile,
    )
    return rid


def validate_request(
    con: sqlite3.Connection, actor: Principal, request_id: int, approve: bool, comment: str | None = None
) -> str:
    """Step 2: the Préfecture validates (or rejects) the change to its list."""
    _require(actor, "valider_liste_prefecture")
    if request_status(con, request_id) != "demandee":
        raise ValueError("Seule une demande au statut « Demandée » peut être validée ou rejetée.")
    whom = con.execute("SELECT login FROM habilitation_requests WHERE id = ?", (request_id,)).fetchone()[0]
    with _guarded(con, actor, "validation", whom, {"demande": request_id}):
        duties.not_self(actor, whom, "sa propre habilitation (une autre personne valide la demande)")
    status = "validee_prefecture" if approve else "rejetee_prefecture"
    with store.transaction(con):
        _event(con, request_id, actor, status, comment)
    _log(
        con, actor, "liste_prefecture_validation", whom, {"statut": "demandee"}, {"statut": status}, demande=request_id
    )
    return status


def habilitate_request(
    con: sqlite3.Connection, actor: Principal, request_id: int, approve: bool, comment: str | None = None
) -> tuple[str, str | None]:
    """Step 3: the gestionnaire (DGA Sécurité) applies — or refuses — a validated request.

    Returns (status, None): a new Préfecture account has no password the City would know; the
    Préfecture's validator hands over its provisional one (`prefecture_password`).
    """
    _require(actor, "habiliter")
    if request_status(con, request_id) != "validee_prefecture":
        raise ValueError("Seule une demande validée par la Préfecture peut être habilitée.")
    r = con.execute("SELECT * FROM habilitation_requests WHERE id = ?", (request_id,)).fetchone()
    with _guarded(con, actor, "habilitation", r["login"], {"demande": request_id}):
        duties.not_self(actor, r["login"], "sa propre habilitation (une autre personne l'applique)")
    temp = None
    if approve:
        if r["kind"] == "ajout":
            temp = create_user(
                con,
                actor,
                login=r["login"],
                display_name=r["display_name"],
                email=r["email"],
                profile=r["profile"],
                organisation=PREFECTURE_ORG,
                activity_nature=r["activity_nature"],
                _via_request=request_id,
            )
        elif r["kind"] == "modification":
            update_user(
                con,
                actor,
                r["login"],
                profile=r["profile"],
                activity_nature=r["activity_nature"],
                display_name=r["display_name"],
                email=r["email"],
                _via_request=request_id,
            )
        else:
            update_user(con, actor, r["login"], active=False, _via_request=request_id)
    status = "habilitee" if approve else "refusee"
    with store.transaction(con):
        _event(con, request_id, actor, status, comment)
    _log(
        con,
        actor,
        "liste_prefecture_habilitation",
        r["login"],
        {"statut": "validee_prefecture"},
        {"statut": status},
        demande=request_id,
    )
    return status, temp


def requests(con: sqlite3.Connection) -> list[dict]:
    """Every request with its current status and its full history."""
    out = []
    for r in con.execute("SELECT * FROM habilitation_requests ORDER BY id DESC"):
        d = dict(r)
        d["history"] = [
            dict(e)
            for e in con.execute(
                "SELECT at, actor, status, comment FROM habilitation_request_events WHERE request_id = ? ORDER BY id",
                (r["id"],),
            )
        ]
        d["status"] = d["history"][-1]["status"] if d["history"] else "demandee"
        out.append(d)
    return out
