"""Accueil public: aggregated indicators by arrondissement and month, small counts masked (<11)."""

import polars as pl
import streamlit as st

import app_ui
from tranquillite.app_core import carte
from tranquillite.app_core.queries import MASK_LABEL, SMALL_COUNT_THRESHOLD, NotAvailable

p = app_ui.require("accueil_public")
st.title("Tranquillité publique à Marseille — indicateurs")
st.markdown(
    "Nombre de faits enregistrés par la Police Municipale (interventions), le centre de supervision "
    "urbain (alertes de vidéoprotection) et les signalements, **par arrondissement et par mois**. "
    f"Les effectifs inférieurs à {SMALL_COUNT_THRESHOLD} sont masqués (« {MASK_LABEL} ») pour qu'aucune "
    "situation individuelle ne puisse être reconnue. Aucune donnée individuelle n'est publiée.")
app_ui.log_view(p, "accueil_public")

cat = app_ui.catalog()
try:  # the same public figures for everyone: the public's scope, whoever is signed in (C5, C6)
    df = carte.public_indicators(cat, app_ui.public_scope())
except NotAvailable:
    st.info("Indicateurs pas encore disponibles: aucune donnée publiée.")
    st.stop()
if df.height == 0:
    st.info("Indicateurs pas encore disponibles.")
    st.stop()

names = carte.arrondissement_names()
families = [s for s in carte.FACT_SOURCES if s in df.get_column("source").unique().to_list()]
family = st.selectbox("Famille de faits", families, format_func=lambda s: carte.SOURCE_LABELS.get(s, s),
                      key="famille", bind="query-params")
app_ui.log_choices(p, "accueil_public", {"famille": carte.SOURCE_LABELS.get(family, family)})
months = sorted(df.get_column("mois").unique().to_list())
table = (df.filter(pl.col("source") == family)
         .with_columns(pl.col("arrondissement").replace_strict(names, default=pl.col("arrondissement"))
                       .alias("Arrondissement"))
         .pivot(on="mois", index="Arrondissement", values="n_affiche", sort_columns=True))
order = {v: i for i, v in enumerate(names.values())}
table = table.sort(pl.col("Arrondissement").replace_strict(order, default=99))
table = table.with_columns([pl.col(m).fill_null("0") for m in months if m in table.columns])
st.dataframe(table, hide_index=True, width="stretch")

shown = df.filter((pl.col("source") == family) & pl.col("n").is_not_null())
chart = shown.group_by("mois").agg(pl.col("n").sum().alias("Faits (cases non masquées)")).sort("mois")
st.bar_chart(chart, x="mois", y="Faits (cases non masquées)", x_label="Mois", height=260)
st.caption("Source: plateforme Big Data de la Tranquillité Publique, Ville de Marseille. Les totaux du "
           "graphique n'incluent pas les cases masquées.")
