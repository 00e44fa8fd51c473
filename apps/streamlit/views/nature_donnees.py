"""Nature des données (C2, art. 3): a change of a convention's contracts blocks ingestion of the
source until the DPO records that the DPOs were informed and the reference of the impact study."""

from datetime import date

import streamlit as st

import app_ui
from tranquillite.app_core import store
from tranquillite.conventions import nature
from tranquillite.settings import settings

p = app_ui.require("nature_donnees")
st.title("Nature des données")
st.caption(
    "« En cas de modification de la nature des données transmises, les délégués à la protection des "
    "données seront informés de cette décision, et une étude d'impact sera lancée avant la modification. » "
    "Les contrats de chaque source sont résumés par une empreinte: tant qu'une modification n'est pas "
    "reconnue ici, la source n'est plus intégrée."
)
app_ui.log_view(p, "nature_donnees")
can_ack = p.can("reconnaitre_changement_nature")
contracts_dir = settings().contracts

with store.connect() as con:
    statuses = {s: nature.status(con, s, contracts_dir) for s in nature.fingerprinted_sources()}
    acks = {s: nature.acknowledged(con, s) for s in statuses}
for source, stt in sorted(statuses.items()):
    with st.container(border=True):
        st.markdown(f"**Source « {source} »** — empreinte `{stt['fingerprint'][:16]}`")
        ack = acks[source]
        if stt["ok"]:
            st.success(
                "Contrats conformes à la dernière version reconnue"
                + (f" (étude d'impact {ack['impact_study_ref']})." if ack and ack["impact_study_ref"] else ".")
            )
            continue
        st.error("Contrats modifiés: ingestion bloquée.")
        for c in stt["changes"]:
            st.markdown(f"- {c}")
        if not can_ack:
            continue
        informed = st.date_input(
            "Date d'information des DPO", value=date.today(), format="DD/MM/YYYY", key=f"nd_date_{source}"
        )
        ref = st.text_input("Référence de l'étude d'impact", key=f"nd_ref_{source}")
        if st.button("Enregistrer et débloquer", key=f"nd_ok_{source}", type="primary"):
            with store.connect() as con:
                try:
                    nature.acknowledge(
                        con,
                        source,
                        login=p.login,
                        profile=p.profile,
                        dpo_informed_on=informed,
                        impact_study_ref=ref,
                        contracts_dir=contracts_dir,
                    )
                except ValueError as exc:
                    st.error(str(exc))
                else:
                    app_ui.flash("success", "Changement reconnu: la source sera de nouveau intégrée.")
                    st.rerun()
