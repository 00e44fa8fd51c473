"""Alertes (issue 15): the inbox of the alerts in one's scope, their life, and the managers' thresholds.

The logic and the rights are `tranquillite.app_core.alertes` (every read through the scoped
gateway, every step refused there without the action `suivre_alertes` / `fixer_seuils`); this page
only shows the inbox and the forms.
"""

import polars as pl
import streamlit as st

import app_ui
from tranquillite.app_core import alertes as AL
from tranquillite.app_core import formats as F
from tranquillite.app_core import store
from tranquillite.app_core import places
from tranquillite.app_core import tension as T
from tranquillite.app_core.carte import arrondissement_names
from tranquillite.app_core.duties import RightsError

p = app_ui.require("alertes")
st.title("Alertes")
app_ui.log_view(p, "alertes")
cat = app_ui.catalog()
names = arrondissement_names()


def zone(r: dict) -> str:
    if r["area_level"] == "ville" or r["area"] == AL.CITY:
        return "Toute la ville"
    arr = r.get("arrondissement")
    if r["area_level"] == "cellule":  # the cell's quartier, in words
        cell = r.get("h3_cell") or r["area"]
        q = places.cell_quartiers([cell]).get(cell)
        return places.place(q, arr) or "Cellule hors des quartiers connus"
    return names.get(arr, arr) if arr else "Plusieurs arrondissements"


def when(v) -> str:
    return v.strftime("%d/%m/%Y %H:%M") if hasattr(v, "strftime") else str(v or "")


with st.spinner("Chargement des alertes…"), store.connect() as con:
    rows = AL.visible_alerts(cat, p.scope, con)

inbox_tab, seuils_tab = st.tabs(["Boîte des alertes", "Seuils par indicateur"])
with inbox_tab:
    if not rows:
        st.info("Aucune alerte dans votre périmètre.")
    else:
        st.caption(f"{F.integer(len(rows))} alertes dans votre périmètre, les plus récentes d'abord.")
        table = pl.DataFrame(
            [
                {
                    "Identifiant": r["alert_id"],
                    "Type": r["kind_label"],
                    "Gravité": T.SEVERITY_LABELS.get(r["severity"], r["severity"]),
                    "Lieu": zone(r),
                    "Début": when(r["starts_at"]),
                    "État": AL.STATE_LABELS[r["state"]],
                    "Assignée à": r["assignee"] or "—",
                    "Action menée": r["action_taken"] or "—",
                }
                for r in rows
            ]
        )
        st.dataframe(table, hide_index=True, width="stretch")
        by_id = {r["alert_id"]: r for r in rows}
        chosen = st.selectbox(
            "Alerte",
            list(by_id),
            key="alerte_choisie",
            format_func=lambda i: (
                f"{when(by_id[i]['starts_at'])} — {by_id[i]['kind_label']} — "
                f"{zone(by_id[i])} — {AL.STATE_LABELS[by_id[i]['state']]} ({i})"
            ),
        )
        alert = by_id[chosen]
        with store.connect() as con:
            AL.mark_read(con, p.login, chosen)
            events = AL.history(con, chosen)
        st.markdown(
            f"**{alert['kind_label']}** — {zone(alert)}, du {when(alert['starts_at'])} au "
            f"{when(alert['ends_at'])}  \n{alert['explanation'] or ''}"
        )
        st.subheader("Historique")
        if events:
            st.dataframe(
                pl.DataFrame(
                    [
                        {
                            "Quand": e["at"][:16].replace("T", " "),
                            "Qui": e["login"],
                            "Étape": AL.WHAT_LABELS[e["what"]],
                            "Commentaire": e["comment"] or "—",
                            "État": f"{AL.STATE_LABELS.get(e['state_before'], '—')} → {AL.STATE_LABELS.get(e['state_after'], '—')}",
                        }
                        for e in events
                    ]
                ),
                hide_index=True,
                width="stretch",
            )
        else:
            st.caption("Aucune étape enregistrée: l'alerte est nouvelle.")

        if not p.can(AL.FOLLOW):
            st.info("Votre profil ne permet pas de suivre les alertes (prise en compte, assignation, clôture).")
        else:

            def run(step, *args) -> None:
                try:
                    with store.connect() as con:
                        step(cat, con, p, chosen, *args)
                except RightsError as exc:
                    st.error(str(exc))
                else:
                    st.success("Étape enregistrée.")
                    st.rerun()

            note = st.text_input("Commentaire (facultatif pour la prise en compte)", key="alerte_commentaire")
            c1, c2 = st.columns(2)
            if c1.button("Prendre en compte", key="prendre_en_compte", disabled=alert["state"] != "nouvelle"):
                run(AL.acknowledge, note or None)
            if c2.button("Commenter", key="commenter"):
                run(AL.add_comment, note)
            with store.connect() as con:  # the assignee's scope is checked at the assignment (app_core.alertes)
                people = [x for x in AL.followers(con) if x != p.login] + [p.login]
            with st.form("assigner"):
                person = st.selectbox(
                    "Assigner à",
                    people,
                    key="alerte_assignee",
                    index=None,
                    placeholder="Choisir une personne qui suit les alertes",
                )
                if st.form_submit_button("Assigner") and person:
                    run(AL.assign, person)
            with st.form("clore"):
                action = st.text_area("Action menée", key="alerte_action")
                if st.form_submit_button("Clôturer l'alerte", disabled=alert["state"] == "close"):
                    run(AL.close, action)

with seuils_tab:
    from tranquillite.indicators.config import load_catalogue

    with store.connect() as con:
        current = AL.thresholds(con)
    inds = {i.id: i.name for i in load_catalogue().indicators}
    if current:
        st.dataframe(
            pl.DataFrame(
                [
                    {
                        "Indicateur": inds.get(t["indicator_id"], t["indicator_id"]),
                        "Zone": "Toute la ville" if t["zone"] == AL.CITY else names.get(t["zone"], t["zone"]),
                        "Seuil": F.number(t["threshold"]),
                        "Fixé par": t["set_by"],
                        "Le": t["set_at"][:10],
                    }
                    for t in current
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption("Aucun seuil fixé.")
    if not p.can(AL.THRESHOLDS):
        st.info("Seuls les profils d'encadrement fixent les seuils d'alerte.")
    else:
        with st.form("seuil"):
            ind = st.selectbox("Indicateur", list(inds), format_func=inds.get, key="seuil_indicateur")
            zones = [AL.CITY, *sorted(names)]
            z = st.selectbox(
                "Zone",
                zones,
                key="seuil_zone",
                format_func=lambda c: "Toute la ville" if c == AL.CITY else names.get(c, c),
            )
            value = st.number_input(
                "Seuil (alerte quand la valeur de la dernière période le dépasse)",
                min_value=0.0,
                step=1.0,
                key="seuil_valeur",
            )
            if st.form_submit_button("Enregistrer le seuil"):
                try:
                    with store.connect() as con:
                        AL.set_threshold(con, p, ind, z, value)
                except RightsError as exc:
                    st.error(str(exc))
                else:
                    st.success("Seuil enregistré.")
