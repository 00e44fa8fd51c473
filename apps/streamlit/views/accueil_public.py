"""Accueil public: the public indicators by arrondissement and month, as a map and a table.

Reads `indicators.values_public` only (small counts and the values they could be derived from are
already masked by the pipeline — primary and secondary suppression); nothing is summed here.
"""

import polars as pl
import streamlit as st

import app_ui
from tranquillite.app_core import deck
from tranquillite.app_core import public as P
from tranquillite.app_core.colours import ColourScale, swatch_html
from tranquillite.app_core.queries import MASK_LABEL, SMALL_COUNT_THRESHOLD, NotAvailable

p = app_ui.require("accueil_public")
st.title("Tranquillité publique à Marseille — indicateurs")
st.markdown(
    "Les indicateurs publics de la plateforme, **par arrondissement et par mois**: faits enregistrés par la Police "
    "Municipale, le centre de supervision urbain et les signalements des habitants. "
    f"Les effectifs inférieurs à {SMALL_COUNT_THRESHOLD} sont masqués (« {MASK_LABEL} »), ainsi que les valeurs qui "
    "permettraient de les retrouver (« secret »), pour qu'aucune situation individuelle ne puisse être reconnue. "
    "Aucune donnée individuelle n'est publiée."
)
app_ui.log_view(p, "accueil_public")


@app_ui.cached_read(show_spinner=False, ttl=600, max_entries=4)
def public_values(_cat, catalog_version: int, scope) -> pl.DataFrame:
    return P.values(_cat, scope)


cat = app_ui.catalog()
try:  # the same public figures for everyone: the public's scope, whoever is signed in (C5, C6)
    with st.spinner("Chargement des indicateurs…"):
        df = public_values(cat, cat.version, app_ui.public_scope())
except NotAvailable:
    st.info("Indicateurs pas encore disponibles: aucune donnée publiée.")
    st.stop()
if df.height == 0:
    st.info("Indicateurs pas encore disponibles.")
    st.stop()

indicators = dict(df.select("indicator_id", "indicator_name").unique().sort("indicator_name").iter_rows())
units = dict(df.select("indicator_id", "unit").unique().iter_rows())
labels = P.category_labels()
c1, c2, c3 = st.columns([2, 2, 1])
indicator = c1.selectbox(
    "Indicateur", list(indicators), format_func=indicators.get, key="indicateur", bind="query-params"
)
dims = df.filter(pl.col("indicator_id") == indicator).get_column("dimension").unique().to_list()
dims = sorted(dims, key=lambda d: (d != "toutes", labels.get(d, d)))
dimension = c2.selectbox("Catégorie", dims, format_func=lambda d: labels.get(d, d), key="categorie_publique")
months = sorted(df.filter(pl.col("indicator_id") == indicator).get_column("period").unique().to_list())
month = c3.selectbox("Mois", months, index=len(months) - 1, format_func=P.month_label, key="mois_public")
if indicator not in indicators or dimension not in dims or month not in months:
    st.stop()
app_ui.log_choices(
    p,
    "accueil_public",
    {"indicateur": indicators[indicator], "categorie": labels.get(dimension, dimension), "mois": month},
)

table = P.arrondissement_table(df, indicator, dimension)
names = {v: k for k, v in P.arrondissement_names().items()}
shown = {names[r["Arrondissement"]]: r[month] for r in table.iter_rows(named=True) if r["Arrondissement"] in names}
known = {
    code: float(v.replace("\u202f", "").replace(",", "."))
    for code, v in shown.items()
    if v not in (P.SECRET, P.NO_DATA) and not v.startswith("<")
}
scale = ColourScale(
    name=indicators[indicator],
    unit=units.get(indicator) or "valeur",
    top=max(known.values(), default=0.0) or 1.0,
    digits=0 if all(v.is_integer() for v in known.values()) else 2,
    alpha=(60, 220),
)
colours = dict(zip(known, scale.rgba(list(known.values())).tolist()))

m1, m2 = st.columns([3, 2])
with m1:
    st.pydeck_chart(
        deck.build_deck(
            [
                deck.choropleth_layer(
                    colours, {c: f"{v} ({units.get(indicator, '')})" for c, v in shown.items()}, P.month_label(month)
                )
            ]
        ),
        height=480,
        key="public_carte",
    )
    st.markdown(
        scale.legend_html()
        + "<div class='tq-legende'>"
        + swatch_html("valeur masquée (secret statistique) ou sans donnée", deck.MASKED_COLOUR)
        + "</div>",
        unsafe_allow_html=True,
    )
with m2:
    st.markdown(f"**{indicators[indicator]} — {labels.get(dimension, dimension)}** ({units.get(indicator, '')})")
    st.dataframe(
        table.rename({m: P.month_label(m) for m in months}),
        hide_index=True,
        width="stretch",
        key="public_table",
        height=520,
    )
st.caption(
    "Source: plateforme Big Data de la Tranquillité Publique, Ville de Marseille (indicateurs publics "
    "calculés par la plateforme). « 0 »: aucun fait, montré seulement quand la valeur de la ville pour le "
    "même mois est publiée; « — »: pas de valeur pour ce mois."
)
