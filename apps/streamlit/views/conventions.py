"""Conventions (C9): lifecycle of each convention — dates, state, alerts — administered by the DGA
Sécurité's delegate (action `gerer_conventions`); the DPO sees the same, read-only."""

from datetime import date

import polars as pl
import streamlit as st

import app_ui
from tranquillite.app_core import store
from tranquillite.app_core.queries import scoped_query
from tranquillite.contracts import load_conventions
from tranquillite.conventions import registry, usage
from tranquillite.conventions.lifecycle import PARTY_LABELS, LifecycleError, fr

p = app_ui.require("conventions")
st.title("Conventions")
st.caption(
    "Une convention dure un an à compter de sa notification, reconduite tacitement d'année en année "
    "sans dépasser quatre ans; elle peut être dénoncée par l'une ou l'autre partie avec un préavis de deux "
    "mois. À sa fin, les données ne sont plus utilisées et doivent être détruites sous 15 jours (art. 9)."
)
app_ui.log_view(p, "conventions")
can_edit = p.can("gerer_conventions")
today = date.today()

st.subheader("Alertes")
alerts = app_ui.read_or_explain(
    lambda: scoped_query(
        app_ui.catalog(),
        p.scope,
        "governance.convention_alerts",
        select="level_label, label, convention_id, due_on, days_left",
        order_by="days_left NULLS LAST",
    ),
    missing="Les alertes ne sont pas encore calculées (job « rappels_conventions »).",
)
if alerts is not None:
    if alerts.height:
        st.dataframe(
            alerts.rename(
                {
                    "level_label": "Niveau",
                    "label": "Alerte",
                    "convention_id": "Convention",
                    "due_on": "Échéance",
                    "days_left": "Jours restants",
                }
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.success("Aucune échéance proche.")

with store.connect() as con:
    rows = {r["convention"]: r for r in registry.rows(con)}
    lcs = registry.lifecycles(con)
for code, lc in lcs.items():
    d = lc.describe(today)
    row = rows.get(code, {})
    with st.container(border=True):
        st.markdown(f"**{row.get('title', code)}** (`{code}`)")
        st.markdown(f"État: **{d['state_label']}**")
        info = {
            "Notifiée le": fr(lc.notified_on),
            "Période en cours": d["term_number"] or "—",
            "Reconductions tacites": d["renewals_done"],
            "Fin de la période en cours": fr(date.fromisoformat(d["current_term_end"]))
            if d["current_term_end"]
            else "—",
            "Fin au plus tard (durée maximale)": fr(lc.last_possible_end) if lc.notified_on else "—",
            "Dénoncée le": fr(lc.notice_on),
            "Par": PARTY_LABELS.get(lc.notice_by or "", "—"),
            "Fin effective": fr(lc.effective_end),
            "Destruction au plus tard le": fr(lc.destruction_deadline) if lc.ended(today) else "—",
            "Destruction ordonnée par": row.get("destruction_ordered_by") or "—",
            "Détruite le": fr(lc.destroyed_on),
        }
        st.dataframe(
            pl.DataFrame({"Élément": list(info), "Valeur": [str(v) for v in info.values()]}),
            hide_index=True,
            width="stretch",
        )
        if not can_edit:
            continue
        with st.expander("Date de notification"):
            n = st.date_input("Date de notification", value=lc.notified_on, format="DD/MM/YYYY", key=f"cv_notif_{code}")
            if st.button("Enregistrer la date", key=f"cv_notif_ok_{code}"):
                with store.connect() as con:
                    try:
                        registry.set_notified(con, code, n, login=p.login, profile=p.profile)
                    except LifecycleError as exc:
                        st.error(str(exc))
                    else:
                        app_ui.flash("success", f"Date de notification enregistrée: {fr(n)}.")
                        st.rerun()
        if lc.notice_on is None and lc.notified_on is not None:
            with st.expander("Dénonciation (lettre recommandée avec accusé de réception)"):
                nd = st.date_input(
                    "Date de réception de la dénonciation", value=today, format="DD/MM/YYYY", key=f"cv_notice_{code}"
                )
                by = st.radio(
                    "Dénoncée par",
                    ["ville", "partenaire"],
                    format_func=PARTY_LABELS.get,
                    horizontal=True,
                    key=f"cv_by_{code}",
                )
                ref = st.text_input("Référence du courrier", key=f"cv_ref_{code}")
                if st.button("Enregistrer la dénonciation", key=f"cv_notice_ok_{code}", type="primary"):
                    with store.connect() as con:
                        try:
                            new = registry.give_notice(
                                con, code, nd, by, login=p.login, profile=p.profile, reference=ref or None
                            )
                            if not new.in_force(today):
                                usage.apply_end_effects(con, code, today)
                        except LifecycleError as exc:
                            st.error(str(exc))
                        else:
                            app_ui.flash(
                                "success",
                                f"Dénonciation enregistrée: fin effective le {fr(new.end())}, "
                                f"destruction au plus tard le {fr(new.destruction_deadline)}.",
                            )
                            st.rerun()
        if lc.ended(today) and lc.destroyed_on is None:
            outside = load_conventions().get(code, {}).get("outside_platform") or []
            with store.connect() as con:
                confirmed = {
                    __import__("json").loads(h["detail"]).get("element")
                    for h in registry.history(con, code)
                    if h["change"] == "confirmation_hors_plateforme"
                }
            with st.expander("Copies hors de la plateforme: confirmations de destruction"):
                for i, o in enumerate(outside):
                    c1, c2 = st.columns([4, 1])
                    c1.markdown(
                        f"{o['what']} — à confirmer par: {o['who']}" + (" — **confirmé**" if i in confirmed else "")
                    )
                    if i not in confirmed and c2.button("Confirmer", key=f"cv_out_{code}_{i}"):
                        with store.connect() as con:
                            registry.confirm_outside(con, code, i, login=p.login, profile=p.profile)
                        st.rerun()
        if lc.ended(today) and not row.get("destruction_ordered_by") and lc.destroyed_on is None:
            if st.button("Ordonner la destruction des données", key=f"cv_order_{code}", type="primary"):
                with store.connect() as con:
                    registry.order_destruction(con, code, login=p.login, profile=p.profile)
                app_ui.flash(
                    "success",
                    "Destruction ordonnée: l'exploitant la lance (tranquillite convention "
                    "detruire) avant l'échéance; l'attestation sera visible par le DPO.",
                )
                st.rerun()

with store.connect() as con:
    hist = registry.history(con)
if hist:
    st.subheader("Historique")
    st.dataframe(
        pl.DataFrame(hist)
        .select("at", "convention", "login", "change", "detail")
        .with_columns(pl.col("at").map_elements(app_ui.fmt_ts, return_dtype=pl.Utf8))
        .rename(
            {
                "at": "Horodatage (Paris)",
                "convention": "Convention",
                "login": "Par",
                "change": "Changement",
                "detail": "Détail",
            }
        ),
        hide_index=True,
        width="stretch",
    )
