"""Quarantaine (C2): rejected records per source and reason, personal data masked; the retention the
DPO sets for quarantined personal data, and the history of the purges."""

import polars as pl
import streamlit as st

import app_ui
from tranquillite import retention
from tranquillite.app_core import quarantine as Q

p = app_ui.require("quarantaine")
st.title("Quarantaine")
st.caption(
    "Enregistrements rejetés à l'ingestion, conservés entiers avec leurs motifs. Toute donnée personnelle "
    "détectée (téléphone, e-mail, plaque, nom, NIR, IBAN, date de naissance) est masquée à l'affichage."
)
cat = app_ui.catalog()

st.subheader("Durée de conservation des données personnelles")
now = Q.current_retention()
st.markdown(
    f"Les enregistrements en quarantaine pour **donnée personnelle** sont purgés **{now['days']} jours** "
    "après leur jour de partition (purge quotidienne à 3 h 15)."
    + (f" Réglage de {now['set_by']} le {app_ui.fmt_ts(now['set_at'])}." if now["set_at"] else " Valeur par défaut.")
)
c1, c2 = st.columns([1, 3])
days = c1.number_input(
    "Durée (jours)",
    min_value=retention.MIN_DAYS,
    max_value=retention.MAX_DAYS,
    value=int(now["days"]),
    step=1,
    key="q_jours",
)
if c2.button("Enregistrer la durée", key="q_enregistrer"):
    try:
        Q.set_retention(p, int(days))
    except retention.RetentionError as exc:
        st.error(str(exc))
    else:
        app_ui.flash("success", f"Durée de conservation fixée à {int(days)} jours (inscrit au journal d'accès).")
        st.rerun()

LABELS = {
    "source": "Source",
    "reason": "Motif",
    "records": "Enregistrements",
    "partition": "Jour",
    "file": "Fichier",
    "line": "Ligne",
    "record_id": "Identifiant",
    "motifs": "Motifs",
    "enregistrement": "Enregistrement (données personnelles masquées)",
    "purged_at": "Purgé le",
    "retention_days": "Conservation (jours)",
    "cutoff": "Avant le",
}

st.subheader("Par source et motif")
counts = app_ui.read_or_explain(Q.reasons, cat, p, missing="Aucune quarantaine publiée pour l'instant.")
source = reason = None
if counts is not None and counts.height:
    st.dataframe(
        counts.rename({k: v for k, v in LABELS.items() if k in counts.columns}), hide_index=True, width="stretch"
    )
    f1, f2 = st.columns(2)
    source = f1.selectbox("Source", sorted(set(counts["source"])), index=None, placeholder="Toutes", key="q_source")
    reason = f2.selectbox("Motif", sorted(set(counts["reason"])), index=None, placeholder="Tous", key="q_motif")
app_ui.log_view(p, "quarantaine", {"source": source, "motif": reason})

if counts is not None and counts.height:
    st.subheader("Enregistrements")
    rows = app_ui.read_or_explain(Q.records, cat, p, source, reason, missing="Pas encore disponible.")
    if rows is not None:
        st.dataframe(
            rows.rename({k: v for k, v in LABELS.items() if k in rows.columns}), hide_index=True, width="stretch"
        )
        st.caption(
            f"{rows.height} enregistrement(s) affiché(s), les jours les plus récents d'abord ({Q.MAX_ROWS} au plus)."
        )
elif counts is not None:
    st.info("La quarantaine est vide.")

st.subheader("Historique des purges")
hist = app_ui.read_or_explain(Q.purges, cat, p, missing="Aucune purge n'a encore eu lieu.")
if hist is not None:
    if hist.height:
        hist = hist.with_columns(pl.col("purged_at").map_elements(app_ui.fmt_ts, return_dtype=pl.Utf8))
        st.dataframe(
            hist.rename({k: v for k, v in LABELS.items() if k in hist.columns}), hide_index=True, width="stretch"
        )
    else:
        st.info("Aucune purge n'a encore eu lieu.")
