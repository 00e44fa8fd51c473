"""Habilitations (T3, C6, C7): users, profiles, activity natures, convention scopes, Préfecture list."""

import polars as pl
import streamlit as st

import app_ui
from tranquillite.app_core import habilitations as H
from tranquillite.app_core import store
from tranquillite.app_core.rights import ACTIONS, PAGES, all_conventions, all_sources, organisation_sources
from tranquillite.app_core.carte import SOURCE_LABELS
from tranquillite.contracts import load_conventions

p = app_ui.require("habilitations")
st.title("Habilitations")
app_ui.log_view(p, "habilitations")
full = "habilitations" in p.profile_pages  # else: a Préfecture validator, who sees only its own list
can_grant, can_admin = p.can("habiliter"), p.can("administrer")
can_validate = p.can("valider_liste_prefecture")
if full:
    st.caption(
        "Chaque personne est habilitée par le DGA Sécurité (C6). Les droits sont des données: profils, "
        "pages, périmètres et actions se modifient ici, sans développement."
        + ("" if can_grant or can_admin else " Consultation seule pour votre profil.")
    )

with store.connect() as con:
    users = H.users(con)
    profiles = H.profiles(con)
    natures = H.natures(con)
    orgs = H.organisations(con)
    reqs = H.requests(con)
profile_codes = [x["code"] for x in profiles if x["requires_login"]]
org_labels = {o["code"]: o["label"] for o in orgs}
org_kind = {o["code"]: o["kind"] for o in orgs}
nature_labels = {n["code"]: n["label"] for n in natures}
profile_labels = {x["code"]: x["label"] for x in profiles}


def show_password(login: str, temp: str | None) -> None:
    if temp:
        app_ui.flash(
            "success",
            f"Compte {login} habilité. Mot de passe provisoire (à transmettre par un canal sûr, "
            f"à changer à la première connexion): `{temp}`",
        )


def run(action, *args, **kwargs):
    try:
        with store.connect() as con:
            return action(con, p, *args, **kwargs), None
    except (H.RightsError, ValueError, LookupError) as exc:
        return None, str(exc)


tab_names = (
    ["Utilisateurs", "Liste Préfecture", "Organisations", "Profils", "Natures d'activité", "Conventions"]
    if full
    else ["Liste Préfecture"]
)
KIND_LABELS = {
    "ville": "Ville",
    "prefecture": "Préfecture",
    "partenaire": "Partenaire sous convention",
    "public": "Public",
}
convention_titles = {code: c.get("title", code) for code, c in load_conventions().items()}


def source_names(codes) -> str:
    return ", ".join(SOURCE_LABELS.get(s, s) for s in codes) or "aucune"


tabs = dict(zip(tab_names, st.tabs(tab_names)))

# ----------------------------------------------------------------------------- users
if full:
    with tabs["Utilisateurs"]:
        df = pl.DataFrame(users) if users else pl.DataFrame()
        if df.height:
            st.dataframe(
                df.select(
                    pl.col("login").alias("Identifiant"),
                    pl.col("display_name").alias("Nom"),
                    pl.col("profile").replace_strict(profile_labels, default=pl.col("profile")).alias("Profil"),
                    pl.col("organisation")
                    .replace_strict(org_labels, default=pl.col("organisation"))
                    .alias("Organisation"),
                    pl.col("activity_nature").alias("Nature d'activité"),
                    (pl.col("active") == 1).alias("Active"),
                    pl.col("locked_until").is_not_null().alias("Verrouillé"),
                    (pl.col("demo") == 1).alias("Démo"),
                ),
                hide_index=True,
                width="stretch",
            )
        if can_grant:
            st.subheader("Habiliter une personne de la Ville ou d'un partenaire")
            with st.form("nouvel_utilisateur", clear_on_submit=True):
                a, b = st.columns(2)
                login = a.text_input("Identifiant (prenom.nom)")
                name = b.text_input("Nom affiché")
                email = a.text_input("Courriel (identité OIDC)")
                org = b.selectbox(
                    "Organisation",
                    [o for o in org_labels if org_kind[o] in ("ville", "partenaire")],
                    format_func=org_labels.get,
                )
                # nothing pre-selected: the least privilege is a deliberate choice, not a default
                prof = a.selectbox(
                    "Profil",
                    [
                        c
                        for c in profile_codes
                        if next(x for x in profiles if x["code"] == c)["organisation_kind"] in ("ville", "partenaire")
                    ],
                    format_func=profile_labels.get,
                    index=None,
                    placeholder="Choisir un profil",
                    key="hab_nouveau_profil",
                )
                nat = b.selectbox(
                    "Nature d'activité",
                    list(nature_labels),
                    format_func=nature_labels.get,
                    index=None,
                    placeholder="Choisir une nature d'activité",
                    key="hab_nouvelle_nature",
                )
                go = st.form_submit_button("Habiliter")
            if go and (prof is None or nat is None):
                st.error("Choisissez le profil et la nature d'activité de la personne.")
            elif go:
                temp, err = run(
                    H.create_user,
                    login=login,
                    display_name=name,
                    email=email or None,
                    profile=prof,
                    organisation=org,
                    activity_nature=nat,
                )
                if err:
                    st.error(err)
                else:
                    show_password(login, temp)
                    st.rerun()

            st.subheader("Modifier ou retirer une habilitation")
            who = st.selectbox(
                "Utilisateur",
                [u["login"] for u in users],
                index=None,
                key="hab_modif",
                placeholder="Choisir une personne",
            )
            if who == p.login:
                st.info(
                    "Votre propre habilitation se modifie par une autre personne habilitée (séparation des tâches)."
                )
            elif who:
                u = next(x for x in users if x["login"] == who)
                if u["organisation"] == H.PREFECTURE_ORG:
                    st.info(
                        "Personne de la Préfecture: toute modification passe par la liste nominative validée par "
                        "la Préfecture. Seule la désactivation immédiate est possible ici."
                    )
                    if u["active"] and st.button("Désactiver immédiatement", key="hab_desact_pref"):
                        _, err = run(H.update_user, who, active=False)
                        st.error(err) if err else st.rerun()
                else:
                    with st.form("modif_utilisateur"):
                        a, b = st.columns(2)
                        prof = a.selectbox(
                            "Profil",
                            profile_codes,
                            index=profile_codes.index(u["profile"]),
                            format_func=profile_labels.get,
                        )
                        nat_codes = list(nature_labels)
                        nat = b.selectbox(
                            "Nature d'activité",
                            nat_codes,
                            index=nat_codes.index(u["activity_nature"]) if u["activity_nature"] in nat_codes else 0,
                            format_func=nature_labels.get,
                        )
                        active = st.checkbox("Habilitation active", value=bool(u["active"]))
                        go = st.form_submit_button("Enregistrer")
                    if go:
                        _, err = run(H.update_user, who, profile=prof, activity_nature=nat, active=active)
                        st.error(err) if err else st.rerun()
                c1, c2 = st.columns(2)
                if u["organisation"] != H.PREFECTURE_ORG and c1.button(
                    "Réinitialiser le mot de passe", key="hab_reset"
                ):
                    temp, err = run(H.reset_password, who)
                    if err:
                        st.error(err)
                    else:
                        show_password(who, temp)
                        st.rerun()
                if u["locked_until"] and c2.button("Déverrouiller", key="hab_unlock"):
                    _, err = run(H.unlock_user, who)
                    st.error(err) if err else st.rerun()
                with st.form("actions_individuelles"):
                    with store.connect() as con:
                        current = H.user_actions(con, who)
                    extra = st.multiselect(
                        "Actions individuelles (en plus du profil)",
                        list(ACTIONS),
                        default=current,
                        format_func=ACTIONS.get,
                    )
                    go = st.form_submit_button("Enregistrer les actions")
                if go:
                    _, err = run(H.set_user_actions, who, extra)
                    st.error(err) if err else st.rerun()

# ----------------------------------------------------------------------------- Préfecture list (C7)
with tabs["Liste Préfecture"]:
    st.markdown(
        "La Préfecture transmet la **liste nominative** des personnes à habiliter. Chaque demande "
        "(ajout, modification, retrait) est **validée par la Préfecture** puis **habilitée par le "
        "gestionnaire des habilitations** de la Ville (C7)."
    )
    pref_users = [u for u in users if u["organisation"] == H.PREFECTURE_ORG]
    st.markdown("**Personnes de la Préfecture habilitées**")
    if pref_users:
        st.dataframe(
            pl.DataFrame(
                [
                    {
                        "Identifiant": u["login"],
                        "Nom": u["display_name"],
                        "Profil": profile_labels.get(u["profile"]),
                        "Active": bool(u["active"]),
                    }
                    for u in pref_users
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    st.markdown("**Demandes**")
    if reqs:
        st.dataframe(
            pl.DataFrame(
                [
                    {
                        "N°": r["id"],
                        "Type": H.KIND_LABELS[r["kind"]],
                        "Identifiant": r["login"],
                        "Nom": r["display_name"],
                        "Profil": profile_labels.get(r["profile"] or "", ""),
                        "Statut": H.STATUS_LABELS[r["status"]],
                        "Demandée par": r["requested_by"],
                        "Le": app_ui.fmt_ts(r["requested_at"]),
                    }
                    for r in reqs
                ]
            ),
            hide_index=True,
            width="stretch",
        )
        with st.expander("Historique des demandes"):
            for r in reqs:
                st.markdown(f"**N° {r['id']}** — {H.KIND_LABELS[r['kind']]} `{r['login']}`")
                for e in r["history"]:
                    st.markdown(
                        f"- {app_ui.fmt_ts(e['at'])}: {H.STATUS_LABELS[e['status']]} par `{e['actor']}`"
                        + (f" — {e['comment']}" if e["comment"] else "")
                    )
    else:
        st.caption("Aucune demande.")

    if can_validate or can_grant:
        st.subheader("Nouvelle demande")
        with st.form("demande_prefecture", clear_on_submit=True):
            a, b = st.columns(2)
            kind = a.selectbox("Type de demande", list(H.KIND_LABELS), format_func=H.KIND_LABELS.get)
            login = b.text_input("Identifiant (prenom.nom)")
            name = a.text_input("Nom (ajout, modification)")
            email = b.text_input("Courriel (facultatif)")
            pref_profiles = [
                c
                for c in profile_codes
                if next(x for x in profiles if x["code"] == c)["organisation_kind"] == "prefecture"
            ]
            prof = a.selectbox(
                "Profil (ajout, modification)",
                pref_profiles,
                format_func=profile_labels.get,
                index=None,
                placeholder="Choisir un profil",
            )
            comment = b.text_input("Commentaire")
            go = st.form_submit_button("Déposer la demande")
        if go:
            rid, err = run(
                H.create_request,
                kind=kind,
                login=login,
                display_name=name or None,
                email=email or None,
                profile=prof if kind != "retrait" else None,
                comment=comment or None,
            )
            if err:
                st.error(err)
            else:
                app_ui.flash("success", f"Demande n° {rid} déposée: elle attend la validation de la Préfecture.")
                st.rerun()

    def decide(step: str, status: str, label_ok: str, label_ko: str, fn) -> None:
        pending = [r for r in reqs if r["status"] == status]
        st.subheader(step)
        if not pending:
            st.caption("Aucune demande à traiter.")
            return
        rid = st.selectbox(
            "Demande",
            [r["id"] for r in pending],
            key=f"dec_{status}",
            format_func=lambda i: next(
                f"n° {r['id']} — {H.KIND_LABELS[r['kind']]} {r['login']}" for r in pending if r["id"] == i
            ),
        )
        comment = st.text_input("Commentaire", key=f"dec_{status}_comment")
        c1, c2 = st.columns(2)
        for ok, label, col in ((True, label_ok, c1), (False, label_ko, c2)):
            if col.button(label, key=f"dec_{status}_{ok}"):
                res, err = run(fn, rid, ok, comment or None)
                if err:
                    st.error(err)
                else:
                    if isinstance(res, tuple):
                        res, _ = res
                        row = next(r for r in pending if r["id"] == rid)
                        if res == "habilitee" and row["kind"] == "ajout":
                            app_ui.flash(
                                "success",
                                f"Compte {row['login']} habilité: le validateur de la Préfecture "
                                "lui remet son mot de passe provisoire (C7).",
                            )
                    app_ui.flash("success", f"Demande n° {rid}: {H.STATUS_LABELS[res]}.")
                    st.rerun()

    if can_validate:
        decide("Validation par la Préfecture", "demandee", "Valider", "Rejeter", H.validate_request)
        st.subheader("Mot de passe provisoire d'une personne de la Préfecture")
        st.caption(
            "La Ville ne connaît jamais le mot de passe des personnes de la Préfecture: vous leur remettez "
            "un mot de passe provisoire, à changer à la première connexion."
        )
        agents = [u["login"] for u in pref_users if u["active"] and u["login"] != p.login]
        who_pw = st.selectbox("Personne", agents, index=None, key="pref_mdp_login", placeholder="Choisir une personne")
        if who_pw and st.button("Générer le mot de passe provisoire", key="pref_mdp_go"):
            temp, err = run(H.prefecture_password, who_pw)
            if err:
                st.error(err)
            else:
                show_password(who_pw, temp)
                st.rerun()
    if can_grant:
        decide(
            "Habilitation par la Ville (DGA Sécurité)",
            "validee_prefecture",
            "Habiliter",
            "Refuser",
            H.habilitate_request,
        )

if not full:
    st.stop()

# ----------------------------------------------------------------------------- organisations
with tabs["Organisations"]:
    st.dataframe(
        pl.DataFrame(
            [
                {
                    "Organisation": o["label"],
                    "Type": KIND_LABELS.get(o["kind"], o["kind"]),
                    "Données propres (ses conventions)": source_names(organisation_sources(o["code"])),
                }
                for o in orgs
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    if can_grant:
        st.subheader("Nouvelle organisation")
        st.caption(
            "Avant d'habiliter les personnes d'un nouveau partenaire. Ses données propres sont les sources "
            "des conventions qui la nomment (data_contracts/conventions.yaml, « organisations »)."
        )
        with st.form("organisation", clear_on_submit=True):
            a, b = st.columns(2)
            o_code = a.text_input("Code (ex. rtm_travaux)")
            o_kind = b.selectbox("Type", ["partenaire", "ville"], format_func=KIND_LABELS.get)
            o_label = st.text_input("Nom de l'organisation")
            go = st.form_submit_button("Créer l'organisation")
        if go:
            _, err = run(H.create_organisation, code=o_code, label=o_label, kind=o_kind)
            if err:
                st.error(err)
            else:
                app_ui.flash("success", f"Organisation « {o_label.strip()} » créée.")
                st.rerun()

# ----------------------------------------------------------------------------- profiles
with tabs["Profils"]:
    st.caption(
        "Un profil reçoit des conventions: il voit toutes les sources de ces conventions, y compris une "
        "source ajoutée plus tard; la nature d'activité d'une personne peut les restreindre."
    )
    st.dataframe(
        pl.DataFrame(
            [
                {
                    "Profil": x["label"],
                    "Raison d'être": x["reason"],
                    "Pages": ", ".join(PAGES[pg]["title"] for pg in x["pages"]),
                    "Actions": ", ".join(ACTIONS.get(a, a) for a in x["actions"]),
                    "Conventions": ", ".join(convention_titles.get(c, c) for c in x["conventions"]) or "aucune",
                    "Sources (par ses conventions)": source_names(x["sources"]),
                    "Agrégats seulement": bool(x["aggregated_only"]),
                }
                for x in profiles
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    if can_admin:
        st.subheader("Nouveau profil")
        with st.form("nouveau_profil", clear_on_submit=True):
            a, b = st.columns(2)
            n_code = a.text_input("Code (ex. partenaire_rtm)")
            n_kind = b.selectbox(
                "Personnes de",
                ["ville", "partenaire", "prefecture"],
                format_func=KIND_LABELS.get,
                index=None,
                placeholder="Choisir un type d'organisation",
            )
            n_label = st.text_input("Libellé du profil")
            n_reason = st.text_area("Raison d'être (pourquoi ce profil voit ce qu'il voit)")
            n_agg = st.checkbox("Données agrégées seulement (petits effectifs masqués)")
            go = st.form_submit_button("Créer le profil")
        if go and n_kind is None:
            st.error("Choisissez le type d'organisation des personnes de ce profil.")
        elif go:
            _, err = run(
                H.create_profile,
                code=n_code,
                label=n_label,
                reason=n_reason,
                organisation_kind=n_kind,
                aggregated_only=n_agg,
            )
            if err:
                st.error(err)
            else:
                app_ui.flash("success", f"Profil « {n_label.strip()} » créé: donnez-lui ses pages et ses conventions.")
                st.rerun()
        st.subheader("Modifier un profil")
        st.caption(
            "Votre propre profil se modifie par une autre personne; le gestionnaire des habilitations "
            "n'accède à aucune donnée et les profils de la Préfecture restent en lecture seule sur ses données."
        )
        code = st.selectbox(
            "Profil",
            [x["code"] for x in profiles if x["code"] != p.profile],
            format_func=profile_labels.get,
            key="prof_edit",
        )
        x = next(x for x in profiles if x["code"] == code)
        with st.form("profil"):
            pages = st.multiselect("Pages", list(PAGES), default=x["pages"], format_func=lambda c: PAGES[c]["title"])
            actions = st.multiselect("Actions", list(ACTIONS), default=x["actions"], format_func=ACTIONS.get)
            convs = st.multiselect(
                "Conventions",
                list(all_conventions()),
                default=x["conventions"],
                format_func=lambda c: convention_titles.get(c, c),
            )
            go = st.form_submit_button("Enregistrer le profil")
        if go:
            _, err = run(H.set_profile_rights, code, pages=pages, actions=actions, conventions=convs)
            if err:
                st.error(err)
            else:
                app_ui.flash("success", f"Profil {code} enregistré.")
                st.rerun()

# ----------------------------------------------------------------------------- natures
with tabs["Natures d'activité"]:
    st.caption(
        "La nature de l'activité d'une personne peut restreindre les sources que son profil lui ouvre "
        "(aucune source listée: pas de restriction)."
    )
    st.dataframe(
        pl.DataFrame(
            [
                {"Code": n["code"], "Libellé": n["label"], "Sources (restriction)": ", ".join(n["sources"])}
                for n in natures
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    if can_admin:
        with st.form("nature"):
            a, b = st.columns(2)
            code = a.text_input("Code")
            label = b.text_input("Libellé")
            srcs = st.multiselect(
                "Sources autorisées (vide: pas de restriction)",
                list(all_sources()),
                format_func=lambda c: SOURCE_LABELS.get(c, c),
            )
            go = st.form_submit_button("Enregistrer la nature d'activité")
        if go:
            _, err = run(H.set_nature, code, label, srcs)
            st.error(err) if err else st.rerun()

# ----------------------------------------------------------------------------- conventions
with tabs["Conventions"]:
    convs = load_conventions()
    for code, c in convs.items():
        holders = [x["label"] for x in profiles if code in x["conventions"]]
        st.markdown(f"**{c.get('title', code)}** (`{code}`)  \nProfils habilités: " + (", ".join(holders) or "aucun"))
        if c.get("prefecture_access"):
            st.caption(f"Accès Préfecture: {c['prefecture_access']}")
    st.caption("Le périmètre de convention de chaque profil se modifie dans l'onglet « Profils ».")
