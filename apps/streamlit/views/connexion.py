"""Connexion: local account (argon2id, lockout) or the City's identity provider (OIDC)."""

import streamlit as st

import app_ui
from tranquillite.app_core import auth, store

st.title("Connexion")
st.caption(
    "Accès réservé aux personnes habilitées par le DGA Sécurité de la Ville de Marseille. "
    "Connexion chiffrée; toute consultation est journalisée."
)

if app_ui.oidc_configured():
    if st.button("Se connecter avec le compte de la Ville", icon=":material/key:", type="primary"):
        provider = app_ui.oidc_provider()
        st.login(provider) if provider else st.login()
    st.divider()
    st.caption("Ou avec un compte local (agents de la Préfecture, partenaires):")

with st.form("connexion", clear_on_submit=False):
    login = st.text_input("Identifiant", key="tq_login_id", autocomplete="username")
    password = st.text_input("Mot de passe", type="password", key="tq_login_pw", autocomplete="current-password")
    submitted = st.form_submit_button("Se connecter", type="primary")

if submitted:
    with store.connect() as con:
        result = auth.authenticate(con, login, password, client=app_ui.client_address())
    if result.ok:
        app_ui.start_session(result.login, "local")
        st.rerun()
    else:
        st.error(result.message)
