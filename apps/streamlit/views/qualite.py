"""Qualité des données (T8): per source, records read, clean, quarantined and why — counts only."""

import streamlit as st

import app_ui
from tranquillite.app_core.queries import NotAvailable, scoped_query

p = app_ui.require("qualite")
st.title("Qualité des données")
app_ui.log_view(p, "qualite")
cat = app_ui.catalog()

LABELS = {"source": "Source", "partitions": "Jours", "read": "Lus", "clean": "Valides", "quarantined": "En quarantaine",
          "duplicates": "Doublons exacts", "unbalanced_partitions": "Jours non équilibrés",
          "reason": "Motif", "records": "Enregistrements"}
for table, title in (("governance.data_quality", "Bilan par source"),
                     ("governance.quarantine_reasons", "Motifs de mise en quarantaine")):
    st.subheader(title)
    try:
        df = scoped_query(cat, p.scope, table, select="*", order_by="1")
    except NotAvailable:
        st.info(f"Pas encore disponible (`{table}`).")
        continue
    st.dataframe(df.rename({k: v for k, v in LABELS.items() if k in df.columns}), hide_index=True, width="stretch")
st.caption("Seuls des effectifs sont montrés ici: le contenu des enregistrements en quarantaine reste dans "
           "l'entrepôt, hors de l'application.")
