"""Carte (C4): every event and fact affecting public space, filtered in DuckDB, mirrored in the URL."""

from datetime import date, timedelta

import altair as alt
import polars as pl
import streamlit as st

import app_ui
from tranquillite.app_core import carte, deck
from tranquillite.app_core import formats as F
from tranquillite.app_core.queries import NotAvailable

p = app_ui.require("carte")
st.title("Carte des événements et des faits")

cat = app_ui.catalog()
try:
    bounds = carte.date_bounds(cat, p.scope)
except NotAvailable:
    st.info(
        "Aucune donnée publiée pour l'instant: la carte sera disponible après la première "
        "matérialisation du pipeline (`make demo`)."
    )
    st.stop()
if bounds is None:
    st.info("Aucun événement dans votre périmètre.")
    st.stop()

default_start, default_end = carte.default_period(bounds)
visible_sources = [s for s in (*carte.FACT_SOURCES, *carte.PLANNED_SOURCES) if s in p.scope.row_sources]
categories = carte.category_options(cat, p.scope)
names = carte.arrondissement_names()
hours = list(range(24))


# ----------------------------------------------------------------------------- filters (bound to the URL)
def source_label(s: str) -> str:
    return carte.SOURCE_LABELS.get(s, s)


def category_label(k: str) -> str:
    return f"{carte.SOURCE_LABELS.get(k.split('|')[0], '')} — {k.split('|', 1)[1]}"


def hour_from_label(h: int) -> str:
    return f"{h:02d} h"


def hour_to_label(h: int) -> str:
    return f"{h:02d} h 59"


cat_options = [f"{s}|{c}" for s in visible_sources for c in categories.get(s, [])]
view = app_ui.restored_view()
if view:  # a shared link, kept through the login: labels of the URL → widget values

    def back(values, options, fmt):
        inverse = {fmt(o): o for o in options}
        return [inverse[v] for v in values if v in inverse]

    try:
        if len(view.get("periode", [])) == 2:
            st.session_state["periode"] = tuple(date.fromisoformat(v) for v in view["periode"])
    except ValueError:
        pass
    for key, options, fmt, single in (
        ("de", hours, hour_from_label, True),
        ("a", hours, hour_to_label, True),
        ("sources", visible_sources, source_label, False),
        ("cat", cat_options, category_label, False),
        ("arr", list(names), lambda a: names.get(a, a), False),
        ("vue", list(carte.DETAIL_MODES), carte.DETAIL_MODES.get, True),
        ("h3", list(carte.H3_RESOLUTIONS), carte.H3_RESOLUTIONS.get, True),
    ):
        values = back(view.get(key, []), options, fmt)
        if values:
            st.session_state[key] = values[-1] if single else values

c1, c2, c3, c4 = st.columns([2.2, 1, 1, 3])
period = c1.date_input(
    "Période",
    value=(default_start, default_end),
    min_value=bounds[0] - timedelta(days=366),
    max_value=bounds[1] + timedelta(days=366),
    format="DD/MM/YYYY",
    key="periode",
    bind="query-params",
)
h_from = c2.selectbox("De", hours, index=0, format_func=hour_from_label, key="de", bind="query-params")
h_to = c3.selectbox(
    "À (incluse)",
    hours,
    index=23,
    format_func=hour_to_label,
    key="a",
    bind="query-params",
    help="Une plage qui traverse minuit (22 h → 05 h) est acceptée.",
)
sources = c4.multiselect(
    "Sources",
    visible_sources,
    default=[],
    format_func=source_label,
    key="sources",
    bind="query-params",
    placeholder="Toutes les sources de votre périmètre",
)
c5, c6, c7, c8 = st.columns([2.8, 2.2, 2.4, 1.6])  # wide enough for « Automatique (selon le volume) »
cats = c5.multiselect(
    "Catégories",
    cat_options,
    default=[],
    key="cat",
    bind="query-params",
    format_func=category_label,
    placeholder="Toutes les catégories",
)
arrs = c6.multiselect(
    "Arrondissements",
    list(names),
    default=[],
    format_func=lambda a: names.get(a, a),
    key="arr",
    bind="query-params",
    placeholder="Tous",
)
detail = c7.selectbox(
    "Affichage des faits", list(carte.DETAIL_MODES), format_func=carte.DETAIL_MODES.get, key="vue", bind="query-params"
)
resolution = c8.selectbox(
    "Maille H3",
    list(carte.H3_RESOLUTIONS),
    format_func=carte.H3_RESOLUTIONS.get,
    key="h3",
    bind="query-params",
    disabled=detail == "points",
)

if not isinstance(period, tuple) or len(period) != 2:
    st.info("Choisissez une date de début et une date de fin.")
    st.stop()
filters = carte.MapFilters(
    start=period[0],
    end=period[1],
    hours=(h_from, h_to),
    sources=tuple(sources),
    categories=tuple(cats),
    arrondissements=tuple(arrs),
    detail=detail,
    resolution=resolution,
)
app_ui.log_view(p, "carte", filters.as_log())

with st.spinner("Chargement de la carte…"):
    data = app_ui.map_data(cat, cat.version, p.scope, filters)

# ----------------------------------------------------------------------------- summary
n_demos = len({r["event_id"] for r in data.routes + data.footprints})
n_planned = len({r["event_id"] for r in data.markers})
n_facts = F.integer(data.n_facts)
st.markdown(
    f"**{n_facts}** faits ({'points' if data.facts_mode == 'points' else 'hexagones H3'}) · "
    f"**{n_demos}** manifestations · **{n_planned}** opérations, visites et événements publics",
    help=f"Au-delà de {F.integer(carte.point_limit())} faits, l'affichage automatique agrège en hexagones H3 "
    "(couleur: nombre de faits, échelle logarithmique).",
)

# ----------------------------------------------------------------------------- map
event = st.pydeck_chart(
    deck.build_deck(deck.map_layers(data)),
    on_select="rerun",
    selection_mode="single-object",
    key="carte_deck",
    height=620,
)
st.markdown(deck.map_legend(data), unsafe_allow_html=True)  # from the drawn layers' own colours


# ----------------------------------------------------------------------------- when
def hexa(rgba) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgba[:3])


def day_chart(by_day: pl.DataFrame) -> alt.Chart:
    """Facts per day, stacked by source in the sources' map colours."""
    d = by_day.with_columns(
        pl.col("source")
        .replace_strict(carte.SOURCE_LABELS, default=pl.col("source"), return_dtype=pl.Utf8)
        .alias("Source"),
        pl.col("jour").dt.strftime("%d/%m/%Y").alias("Jour"),
    ).to_pandas()
    present = [s for s in carte.SOURCE_COLORS if s in set(by_day.get_column("source").to_list())]
    colour = alt.Color(
        "Source:N",
        title=None,
        legend=alt.Legend(orient="bottom"),
        scale=alt.Scale(
            domain=[carte.SOURCE_LABELS[s] for s in present], range=[hexa(carte.SOURCE_COLORS[s]) for s in present]
        ),
    )
    return (
        alt.Chart(d)
        .mark_bar()
        .encode(
            x=alt.X("jour:T", title=None, axis=alt.Axis(format="%d/%m", labelAngle=0)),
            y=alt.Y("sum(n):Q", title="Faits par jour", axis=alt.Axis(format="d")),
            color=colour,
            tooltip=[alt.Tooltip("Jour:N"), alt.Tooltip("Source:N"), alt.Tooltip("n:Q", title="Faits")],
        )
        .properties(height=220)
    )


def hour_chart(by_hour: pl.DataFrame) -> alt.Chart:
    """Facts by weekday × hour (a heatmap, YlOrRd like the hexagons)."""
    d = by_hour.with_columns(
        pl.col("jour_semaine")
        .replace_strict({i + 1: w for i, w in enumerate(carte.WEEKDAYS)}, return_dtype=pl.Utf8)
        .alias("Jour"),
        pl.format("{} h", pl.col("heure").cast(pl.Utf8).str.zfill(2)).alias("Heure"),
    ).to_pandas()
    return (
        alt.Chart(d)
        .mark_rect()
        .encode(
            x=alt.X("Heure:O", title="Heure de début", sort=[f"{h:02d} h" for h in range(24)]),
            y=alt.Y("Jour:O", title=None, sort=list(carte.WEEKDAYS)),
            color=alt.Color(
                "n:Q", title="Faits", scale=alt.Scale(scheme="yelloworangered"), legend=alt.Legend(format="d")
            ),
            tooltip=[alt.Tooltip("Jour:N"), alt.Tooltip("Heure:N"), alt.Tooltip("n:Q", title="Faits")],
        )
        .properties(height=230)
    )


@app_ui.cached_read(show_spinner=False, ttl=600, max_entries=64)
def when_data(_cat, catalog_version: int, scope, f: carte.MapFilters) -> carte.WhenData:
    return carte.when_data(_cat, scope, f)


st.subheader("Quand")
with st.spinner("Chargement des faits par jour et par heure…"):
    when = when_data(cat, cat.version, p.scope, filters)
if when.current == 0:
    st.info("Aucun fait sélectionné sur la période: rien à répartir par jour ou par heure.")
else:
    w1, w2 = st.columns(2)
    w1.markdown("**Faits sélectionnés par jour**")
    w1.altair_chart(day_chart(when.by_day), width="stretch", key="carte_par_jour")
    w2.markdown("**Par jour de la semaine et heure**")
    w2.altair_chart(hour_chart(when.by_hour), width="stretch", key="carte_par_heure")
st.markdown(carte.comparison_text(when.current, when.previous, when.previous_period))

# ----------------------------------------------------------------------------- details panel
selected = None
objects = (event.selection or {}).get("objects", {}) if event is not None else {}
for layer_id, objs in (objects or {}).items():
    if objs:
        selected = (layer_id, objs[0])
        break

planned = sorted(
    {r["event_id"]: r for r in data.routes + data.footprints + data.markers}.values(), key=lambda r: r["quand"]
)
with st.container(border=True):
    st.subheader("Détail")
    choice = None
    if selected and selected[1].get("event_id"):
        choice = selected[1]["event_id"]
    elif selected and selected[0] == "faits_h3":
        o = selected[1]
        st.markdown(f"**{o.get('titre')}** — cellule H3 `{o.get('h3')}`  \n{o.get('lieu')}  \n{o.get('info')}")
    pick = st.selectbox(
        "Événement prévu sur la période",
        [r["event_id"] for r in planned],
        index=None,
        format_func=lambda e: next((f"{r['quand']} — {r['titre']}" for r in planned if r["event_id"] == e), e),
        placeholder="Cliquez un objet sur la carte ou choisissez un événement",
        key="carte_detail",
    )
    choice = choice or pick
    if choice:
        info = carte.event_detail(cat, p.scope, choice)
        if info is None:
            st.warning("Événement introuvable dans votre périmètre.")
        else:
            app_ui.log_view(p, "carte", {"evenement": choice}, action="detail")
            st.dataframe(
                pl.DataFrame({"Champ": list(info), "Valeur": list(info.values())}), hide_index=True, width="stretch"
            )

# ----------------------------------------------------------------------------- export
refusal = carte.export_refusal(data.per_source) if p.can("exporter") else None
if refusal:  # C5: a convention of the view's rows forbids use outside the platform
    st.info(refusal, icon=":material/block:")
elif p.can("exporter"):
    # deferred: the CSV is built — and the export written to the access log — only when downloaded
    st.download_button(
        "Exporter la vue (CSV)",
        data=lambda: carte.export_csv(cat, p, filters),
        file_name="tranquillite_carte.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
    )
st.caption(
    f"Requêtes DuckDB: {F.integer(data.seconds * 1000)} ms — catalogue en lecture seule, périmètre de votre profil."
)
