"""Prévisions: models.forecast and models.backtest when the modelling assets have published them."""

import polars as pl
import streamlit as st

import app_ui
from tranquillite.app_core import deck
from tranquillite.app_core.queries import Forbidden, NotAvailable, scoped_query

p = app_ui.require("previsions")
st.title("Prévisions")
app_ui.log_view(p, "previsions")
cat = app_ui.catalog()

BACKTEST_LABELS = {"model": "Modèle", "category": "Catégorie", "horizon": "Horizon", "origin": "Origine",
                   "coverage": "Couverture", "hit_rate": "Taux de détection", "pai": "PAI", "pei": "PEI",
                   "n_events": "Événements"}

st.subheader("Évaluation des modèles (rétro-test)")
try:
    bt = scoped_query(cat, p.scope, "models.backtest", select="*", order_by="1", limit=5000)
except NotAvailable:
    st.info("Évaluation des modèles pas encore disponible: les modèles de prévision n'ont pas encore été "
            "matérialisés (table `models.backtest`).")
    bt = None
except Forbidden as exc:
    st.warning(str(exc))
    bt = None
if bt is not None:
    if bt.height == 0:
        st.info("Aucune évaluation dans votre périmètre.")
    else:
        st.dataframe(bt.rename({k: v for k, v in BACKTEST_LABELS.items() if k in bt.columns}), hide_index=True,
                     width="stretch")
        st.caption("PAI: indice de précision prédictive (part des événements dans la zone signalée rapportée à sa "
                   "part de surface); PEI: efficience par rapport à la meilleure zone possible.")

st.subheader("Prévisions")
try:
    fc = scoped_query(cat, p.scope, "models.forecast", select="*", limit=50_000)
except NotAvailable:
    st.info("Prévisions pas encore disponibles: la table `models.forecast` n'existe pas encore.")
    st.stop()
except Forbidden as exc:
    st.warning(str(exc))
    st.stop()
if fc.height == 0:
    st.info("Aucune prévision dans votre périmètre.")
    st.stop()
value_col = next((c for c in ("expected", "prediction", "forecast", "intensity", "value", "y_hat")
                  if c in fc.columns), None)
if "h3_cell" in fc.columns and value_col:
    agg = fc.group_by("h3_cell").agg(pl.col(value_col).sum().alias("n"))
    top = float(agg.get_column("n").max() or 1.0) or 1.0
    rows = [{"h3": r["h3_cell"], "poids": round(float(r["n"]) / top, 4), "titre": f"{r['n']:.1f} attendus",
             "quand": "", "lieu": r["h3_cell"], "info": value_col} for r in agg.iter_rows(named=True)]
    import pydeck as pdk
    layer = pdk.Layer("H3HexagonLayer", id="prevision", data=rows, get_hexagon="h3", pickable=True,
                      get_fill_color="[120, 40 + 160 * (1 - poids), 200, 60 + 160 * poids]", stroked=False)
    st.pydeck_chart(deck.build_deck([deck.arrondissements_layer(), layer]), height=520)
st.dataframe(fc.head(1000), hide_index=True, width="stretch")
