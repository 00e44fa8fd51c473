"""Mon compte: who I am for the platform, my rights, and changing my password."""

import streamlit as st

import app_ui
from tranquillite.app_core import auth, habilitations, store
from tranquillite.app_core.carte import SOURCE_LABELS
from tranquillite.app_core.rights import ACTIONS, PAGES
from tranquillite.contracts import load_conventions

p = app_ui.require("compte")
st.title("Mon compte")
app_ui.log_view(p, "compte")

if p.must_change_password:
    st.warning("Votre mot de passe est provisoire: choisissez-en un nouveau pour accéder à la plateforme.")

with store.connect() as con:
    org_label = {o["code"]: o["label"] for o in habilitations.organisations(con)}.get(p.organisation or "")
    nature_label = {n["code"]: n["label"] for n in habilitations.natures(con)}.get(p.activity_nature or "")
st.markdown(
    f"**{p.display_name}** (`{p.login}`)  \nProfil: **{p.profile_label}**  \n"
    f"Organisation: {org_label or p.organisation or '—'} — nature d'activité: "
    f"{nature_label or p.activity_nature or '—'}  \n"
    f"Connexion: {'compte local' if p.auth_method == 'local' else 'fournisseur d’identité (OIDC)'}"
)
if not p.must_change_password:
    with st.expander("Mes droits"):
        st.markdown("Pages: " + ", ".join(PAGES[x]["title"] for x in p.ordered_pages()))
        st.markdown("Actions: " + (", ".join(ACTIONS[a] for a in sorted(p.actions)) or "consultation seule"))
        titles = {code: c.get("title", code) for code, c in load_conventions().items()}
        st.markdown(
            "Sources visibles ligne à ligne: "
            + (", ".join(SOURCE_LABELS.get(s, s) for s in p.scope.row_sources) or "aucune")
            + "  \nConventions: "
            + (", ".join(titles.get(c, c) for c in p.scope.conventions) or "aucune")
        )

if p.auth_method == "local":
    st.subheader("Changer de mot de passe")
    with st.form("mot_de_passe", clear_on_submit=True):
        old = st.text_input("Mot de passe actuel", type="password", key="pw_old")
        new = st.text_input(
            f"Nouveau mot de passe ({auth.MIN_PASSWORD_LENGTH} caractères au moins)", type="password", key="pw_new"
        )
        confirm = st.text_input("Confirmation", type="password", key="pw_confirm")
        ok = st.form_submit_button("Changer le mot de passe")
    if ok:
        with store.connect() as con:
            problems = auth.change_password(
                con, p.login, old, new, confirm, keep_session=(st.session_state.get(app_ui.SESSION) or {}).get("ref")
            )
        if problems:
            for m in problems:
                st.error(m)
        else:
            app_ui.flash("success", "Mot de passe changé.")
            st.rerun()
