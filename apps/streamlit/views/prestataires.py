"""Remises aux prestataires (C8): the register of temporary hand-overs, their extracts and the
contractors' written proofs of destruction, checked against the extract's manifest."""

import json
from datetime import date, timedelta

import polars as pl
import streamlit as st

import app_ui
from tranquillite.app_core import store
from tranquillite.app_core.queries import PUBLISHED
from tranquillite.conventions import contractors as C
from tranquillite.conventions.lifecycle import fr
from tranquillite.settings import paths

p = app_ui.require("prestataires")
st.title("Remises temporaires aux prestataires")
st.caption(
    "La Ville peut remettre temporairement des données à un prestataire pour une prestation; au terme, "
    "le prestataire détruit toutes les copies et justifie par écrit de la destruction (art. 8). Seules les "
    "données dont la convention le permet peuvent être extraites."
)
app_ui.log_view(p, "prestataires")
can_edit = p.can("gerer_prestataires")

with store.connect() as con:
    items = C.handovers(con)
    reminders = C.due_reminders(con)
for r in reminders:
    (st.error if r["level"] in ("depasse", "urgent") else st.warning)(r["label"])

if can_edit:
    with st.expander("Nouvelle remise", expanded=not items):
        tables = sorted(f"{s}.{t}" for s, ts in PUBLISHED.items() if ts for t in ts)
        who = st.text_input("Prestataire", key="pr_who")
        work = st.text_input("Prestation", key="pr_work")
        chosen = st.multiselect("Tables", tables, key="pr_tables")
        convs = st.multiselect("Conventions des données remises", sorted(C.allowed_conventions()), key="pr_convs")
        due = st.date_input(
            "Fin de la prestation", value=date.today() + timedelta(days=60), format="DD/MM/YYYY", key="pr_due"
        )
        if st.button("Enregistrer la remise", key="pr_save", type="primary"):
            with store.connect() as con:
                try:
                    hid = C.register(
                        con,
                        contractor=who,
                        work=work,
                        tables=chosen,
                        conventions=convs,
                        due_on=due,
                        login=p.login,
                        profile=p.profile,
                    )
                except C.HandoverError as exc:
                    st.error(str(exc))
                else:
                    app_ui.flash("success", f"Remise n° {hid} enregistrée.")
                    st.rerun()

if not items:
    st.info("Aucune remise enregistrée.")
for h in items:
    with st.container(border=True):
        st.markdown(
            f"**Remise n° {h['id']} — {h['contractor']}** ({h['work']}) — "
            f"{C.STATUS_LABELS[h['status']]}, fin de prestation le {fr(date.fromisoformat(h['due_on']))}"
        )
        st.caption(
            f"Tables: {', '.join(json.loads(h['tables']))}; conventions: {', '.join(json.loads(h['conventions']))}"
        )
        if h["manifest"]:
            m = json.loads(h["manifest"])
            st.markdown(f"Référence à citer dans le justificatif: `{m['reference']}`")
            st.dataframe(
                pl.DataFrame(m["fichiers"]).rename(
                    {"fichier": "Fichier", "table": "Table", "lignes": "Lignes", "sha256": "SHA-256"}
                ),
                hide_index=True,
                width="stretch",
            )
        if h["proof_problems"] and h["status"] == "justificatif_refuse":
            st.error("Justificatif refusé: " + "; ".join(json.loads(h["proof_problems"])))
        if not can_edit:
            continue
        if h["status"] == "enregistree" and st.button("Produire l'extrait", key=f"pr_ext_{h['id']}"):
            with store.connect() as con:
                try:
                    m = C.extract(con, paths().home, h["id"], login=p.login, profile=p.profile)
                except C.HandoverError as exc:
                    st.error(str(exc))
                else:
                    app_ui.flash("success", f"Extrait produit: {m['reference']}.")
                    st.rerun()
        if h["status"] in ("extraite", "justificatif_refuse"):
            up = st.file_uploader(
                "Justificatif écrit de destruction (texte ou PDF)", type=["txt", "md", "pdf"], key=f"pr_up_{h['id']}"
            )
            if up is not None and st.button("Vérifier et enregistrer le justificatif", key=f"pr_proof_{h['id']}"):
                with store.connect() as con:
                    problems = C.record_proof(con, h["id"], up.name, up.getvalue(), login=p.login, profile=p.profile)
                app_ui.flash(
                    "error" if problems else "success",
                    "Justificatif refusé: " + "; ".join(problems)
                    if problems
                    else "Justificatif conforme au manifeste: destruction justifiée.",
                )
                st.rerun()
