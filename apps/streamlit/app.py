"""Plateforme Big Data de la Tranquillité Publique — application de restitution (Streamlit).

    streamlit run apps/streamlit/app.py

The entrypoint: refuses to serve in production without TLS, resolves who is there (local
account, OIDC identity or the public), builds the pages that person's profile may open and
calls `st.navigation` once. A page left out of the list cannot be reached, not even by URL.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for p in (HERE, HERE.parent.parent):  # this folder (app_ui) and the repository (a checkout not pip-installed)
    if str(p) not in sys.path:
        sys.path.insert(0 if p == HERE else len(sys.path), str(p))

import streamlit as st  # noqa: E402

from tranquillite import settings  # noqa: E402
from tranquillite.app_core import transport  # noqa: E402

st.set_page_config(
    page_title="Tranquillité publique — Marseille",
    page_icon="🛡️",  # an emoji: no icon fetched from a third party
    layout="wide",
)

try:
    settings.check()
except settings.SettingsError as exc:  # a bad TRANQUILLITE_* value: say which, serve nothing
    st.error(f"Configuration invalide: {exc}. L'application ne peut pas démarrer.")
    st.stop()

from tranquillite.filemodes import private_home  # noqa: E402

private_home()  # umask 077, home 0700: the store and exports are readable by the service user only

address = transport.streamlit_address()  # unset in-process (tests): serve.py checks the launch itself
problem = transport.tls_problem(None, *transport.streamlit_tls_files()) or (
    transport.bind_problem(address) if address else None
)
if problem:
    st.error(problem)
    st.stop()

from tranquillite.app_core import store  # noqa: E402

try:
    store.url()  # production: the store on PostgreSQL (TRANQUILLITE_APP_DB_URL) or nothing
except store.StoreMisconfigured as exc:
    st.error(f"{exc}. L'application ne peut pas démarrer.")
    st.stop()

import app_ui  # noqa: E402
from tranquillite.app_core import reads  # noqa: E402
from tranquillite.app_core.rights import PAGES, default_page  # noqa: E402

SECTIONS = {
    "Consultation": (
        "accueil_public",
        "carte",
        "previsions",
        "fiche_modele",
        "tension",
        "alertes",
        "indicateurs",
        "qualite",
    ),
    "Saisie": ("cortege",),
    "Administration": ("habilitations", "journal", "tracabilite", "quarantaine"),
    "Conventions": ("conventions", "destruction", "prestataires", "nature_donnees"),
    "Compte": ("compte",),
}

principal = app_ui.resolve_principal()

if principal is None:  # an OIDC identity that is not habilitated: nothing at all

    def refused() -> None:
        st.title("Accès refusé")
        st.error(
            "Votre identité est authentifiée mais n'est pas habilitée sur la plateforme. "
            "Adressez-vous au gestionnaire des habilitations (DGA Sécurité)."
        )
        if st.button("Se déconnecter"):
            st.session_state.pop(app_ui.OIDC_REFUSED, None)
            st.logout()

    st.session_state.pop(app_ui.PRINCIPAL, None)
    st.navigation([st.Page(refused, title="Accès refusé", url_path="acces-refuse")], position="hidden").run()
    st.stop()

st.session_state[app_ui.PRINCIPAL] = principal
app_ui.keep_shared_view(principal)  # a shared map link survives the detour through the login page
st.session_state["tq_pages"] = principal.ordered_pages()  # for tests and diagnostics

home = default_page(principal)
nav: dict[str, list[st.Page]] = {}
refused: list[st.Page] = []
badge_reads = reads.Collector()
for section, codes in SECTIONS.items():
    for code in codes:
        meta = PAGES[code]
        if code in principal.pages:
            title = meta["title"]
            if code == "alertes":
                with reads.collecting() as badge_reads:  # its gateway reads go into the page's line (T4)
                    st.session_state["tq_alert_badge"] = new = app_ui.alert_badge(principal)  # tests, diagnostics
                if new:
                    title = f"{title} ({new})"  # the new alerts: in scope, not opened, not closed
            nav.setdefault(section, []).append(
                st.Page(HERE / "views" / f"{code}.py", title=title, icon=meta["icon"], url_path=code.replace("_", "-"))
            )
        else:  # its URL answers in French that the page is not open, and never runs the page itself
            refused.append(
                st.Page(
                    HERE / "views" / "refus.py",
                    title=meta["title"],
                    url_path=code.replace("_", "-"),
                    visibility="hidden",
                )
            )
if principal.is_public:
    nav.setdefault("Compte", []).append(
        st.Page(HERE / "views" / "connexion.py", title="Connexion", icon=":material/login:", url_path="connexion")
    )
else:  # /connexion once signed in (right after the login, or a bookmark): the home page, not "Page not found"
    refused.append(
        st.Page(HERE / "views" / f"{home}.py", title=PAGES[home]["title"], url_path="connexion", visibility="hidden")
    )
# the page at "/" is the profile's home, registered apart: Streamlit answers "Page not found" to the
# default page's own URL, so the home keeps its URL (/carte…) as a normal page
start = st.Page(
    HERE / "views" / f"{home}.py", title=PAGES[home]["title"], url_path="demarrage", default=True, visibility="hidden"
)
refused.insert(0, start)
nav.setdefault("Compte", []).extend(refused)
url_pages = {code.replace("_", "-"): code for code in PAGES} | {"demarrage": home}

with st.sidebar:
    st.markdown("**Tranquillité publique**  \nVille de Marseille")
    if not principal.is_public:
        st.caption(f"{principal.display_name} — {principal.profile_label}")
        if st.button("Se déconnecter", key="tq_logout", icon=":material/logout:"):
            method = (st.session_state.get(app_ui.SESSION) or {}).get("method")
            app_ui.end_session("deconnexion")
            app_ui.flash("success", "Vous êtes déconnecté.")
            if method == "oidc":
                st.logout()
            st.switch_page(start)  # the start page, for the public now (the URL of a page no longer open)

app_ui.show_flash()
app_ui.run_cookie_script()  # after a login or a logout: bind or clear the session cookie
page = st.navigation(nav)
st.session_state[app_ui.REQUESTED_PAGE] = page.url_path
# every read of the page through the gateway is collected and written with the page's log line (T4)
with reads.collecting() as run:
    reads.replay(badge_reads.reads)  # what the navigation's badge read, with the page's own reads
    try:
        page.run()
    finally:
        app_ui.flush_run(principal, url_pages.get(page.url_path, page.url_path), run)
