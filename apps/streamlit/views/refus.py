"""A page of the app that this principal may not open, reached by its URL (a link, a bookmark, a new tab).

Registered hidden under the URL of every page the profile does not open: it says so in French
(instead of Streamlit's English "Page not found"), logs the refusal and never runs the page."""

import streamlit as st

import app_ui
from tranquillite.app_core import store
from tranquillite.app_core.rights import PAGES

p = app_ui.principal()
url = st.session_state.get(app_ui.REQUESTED_PAGE) or ""
code = url.replace("-", "_")
with store.connect() as con:
    store.log_access(
        con,
        login=p.login,
        profile=p.profile,
        page=code if code in PAGES else "inconnue",
        action="acces_refuse",
        detail="adresse de page hors du profil",
    )
st.title("Page non accessible")
title = PAGES.get(code, {}).get("title", url)
if p.is_public:
    st.warning(
        f"La page « {title} » est réservée aux personnes habilitées: connectez-vous pour y accéder "
        "si votre profil l'ouvre."
    )
    st.page_link("views/connexion.py", label="Se connecter", icon=":material/login:")
else:
    st.error(
        f"La page « {title} » n'est pas ouverte à votre profil ({p.profile_label}). Si elle vous est "
        "nécessaire, adressez-vous au gestionnaire des habilitations."
    )
