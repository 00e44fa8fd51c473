"""Zones de tension (C4): the anticipatory tension index of the coming shifts, and the current alerts.

Reads `indicators.tension` (one row per H3 cell × coming shift), `indicators.alerts` and, for
the alerts' cells, `indicators.emerging_hotspots`, only through the scoped gateway (the logic is
`tranquillite.app_core.tension`). A widget change runs at most one query: the list of shifts, the
alerts and their cells' classes are cached per catalog version × scope; the cells of one shift
(~2,600 rows) are read with `WHERE slot = ?` and cached too.
"""

import polars as pl
import pydeck as pdk
import streamlit as st

import app_ui
from tranquillite.app_core import deck
from tranquillite.app_core import formats as F
from tranquillite.app_core import tension as T
from tranquillite.app_core.carte import arrondissement_names
from tranquillite.app_core.queries import Forbidden, NotAvailable

p = app_ui.require("tension")
st.title("Zones de tension")
app_ui.log_view(p, "tension")
cat = app_ui.catalog()

TOOLTIP = {
    "html": "<b>{titre}</b><br/>{quand}<br/>{lieu}<br/>{composantes}<br/>{tendance}<br/><i>{info}</i>",
    "style": {**deck.TOOLTIP["style"], "maxWidth": "420px", "whiteSpace": "normal"},
}


# ----------------------------------------------------------------------------- cached queries
@app_ui.cached_read(show_spinner=False, ttl=600, max_entries=16)
def tension_shifts(_cat, catalog_version: int, scope) -> pl.DataFrame:
    return T.shifts(_cat, scope)


@app_ui.cached_read(show_spinner=False, ttl=600, max_entries=64)
def tension_cells(_cat, catalog_version: int, scope, slot: int) -> pl.DataFrame:
    return T.cells(_cat, scope, slot)


@app_ui.cached_read(show_spinner=False, ttl=600, max_entries=16)
def current_alerts(_cat, catalog_version: int, scope) -> pl.DataFrame:
    return T.alerts(_cat, scope)


@app_ui.cached_read(show_spinner=False, ttl=600, max_entries=16)
def cell_classes(_cat, catalog_version: int, scope, cells: tuple[str, ...]) -> pl.DataFrame:
    return T.emerging_classes(_cat, scope, cells)


@app_ui.cached_read(show_spinner=False, ttl=600, max_entries=8)
def class_cells(_cat, catalog_version: int, scope, layer: str) -> pl.DataFrame:
    return T.hotspot_classes(_cat, scope) if layer == "gi" else T.emerging_layer(_cat, scope)


names = arrondissement_names()

# ----------------------------------------------------------------------------- the index
with st.spinner("Chargement des zones de tension…"):
    slots = app_ui.read_or_explain(
        tension_shifts,
        cat,
        cat.version,
        p.scope,
        missing=(
            "Zones de tension pas encore disponibles: la table `indicators.tension` n'a pas encore été matérialisée."
        ),
    )

if slots is not None and slots.height == 0:
    st.info(
        "Aucune zone de tension dans votre périmètre: l'indice combine les faits observés par la Ville et "
        "les événements prévus; il n'est montré qu'aux profils qui voient toutes les données dont il provient."
    )
elif slots is not None:
    slot_labels = {s: T.slot_label(a, b) for s, a, b in slots.select("slot", "slot_start", "slot_end").iter_rows()}
    slot = st.selectbox(
        "Créneau",
        list(slot_labels),
        index=0,
        key="tension_creneau",
        format_func=slot_labels.get,
        help="Les créneaux des jours à venir, à partir de l'instant d'analyse.",
    )
    if slot in slot_labels:
        app_ui.log_choices(p, "tension", {"creneau": slot_labels[slot]})
        meta = slots.filter(pl.col("slot") == slot).row(0, named=True)
        when = slot_labels[slot]
        with st.spinner("Chargement des cellules du créneau…"):
            cells = tension_cells(cat, cat.version, p.scope, slot)
        df = T.prepare_cells(cells, names)
        n_tense = int(df.filter(pl.col("index") > 0).height)
        top_index = df.get_column("index").max() if df.height else None
        st.markdown(
            f"**{when}**: **{F.integer(n_tense)}** cellule(s) sur {F.integer(df.height)} avec un indice de "
            "tension non nul" + (f"; indice le plus élevé **{T.fr(top_index)}/100**." if top_index is not None else ".")
        )
        if meta.get("as_of") is not None:
            st.caption(f"Instant d'analyse: {meta['as_of']:%d/%m/%Y %H}h (rien de postérieur n'est utilisé).")
        with st.expander("Comment l'indice est construit"):
            st.markdown(T.index_recipe(df))

        shown = st.radio(
            "Couche affichée",
            list(T.LAYERS),
            format_func=T.LAYERS.get,
            index=0,
            horizontal=True,
            key="tension_couche",
            help="L'indice, ou les points chauds dont il part: "
            "observés la dernière semaine (Gi*) et leur tendance sur les semaines.",
        )
        if shown == "indice":
            layer = pdk.Layer(
                "H3HexagonLayer",
                id="tension",
                data=T.map_rows(df, when),
                get_hexagon="h3",
                pickable=True,
                extruded=False,
                filled=True,
                stroked=True,
                get_fill_color="couleur",
                get_line_color=[255, 255, 255, 90],
                line_width_min_pixels=0.5,
                auto_highlight=True,
            )
            legend = T.INDEX_SCALE.legend_html()  # the colours the layer is drawn with
        else:
            with st.spinner("Chargement des points chauds…"):
                classes = app_ui.read_or_explain(
                    class_cells,
                    cat,
                    cat.version,
                    p.scope,
                    shown,
                    missing=(
                        "Points chauds pas encore publiés (tables `indicators.hotspots`, `indicators.emerging_hotspots`)."
                    ),
                )
            rows = T.class_rows(classes, shown, when) if classes is not None else []
            layer = pdk.Layer(
                "H3HexagonLayer",
                id=f"classes_{shown}",
                data=rows,
                get_hexagon="h3",
                pickable=True,
                extruded=False,
                filled=True,
                stroked=True,
                get_fill_color="couleur",
                get_line_color=[255, 255, 255, 90],
                line_width_min_pixels=0.5,
                auto_highlight=True,
            )
            legend = T.class_legend(shown, rows)
        st.pydeck_chart(
            deck.build_deck([deck.arrondissements_layer(), layer], tooltip=TOOLTIP), height=560, key="tension_carte"
        )
        st.markdown(legend, unsafe_allow_html=True)
        st.caption("Cellules H3 d'environ 0,1 km². Survolez une cellule pour ses composantes et l'explication.")

        st.subheader("Cellules les plus tendues")
        top = T.top_cells(df)
        if top.height == 0:
            st.info("Aucune cellule en tension sur ce créneau dans votre périmètre.")
        else:
            st.dataframe(
                top,
                hide_index=True,
                width="stretch",
                key="tension_cellules",
                column_config={"Indice": st.column_config.ProgressColumn(format="%.0f", min_value=0, max_value=100)},
            )
            st.caption(
                f"Les {T.TOP_N} cellules à l'indice le plus élevé (à égalité: voir « Comment l'indice est "
                "construit »). Colonnes « pts »: "
                "points d'indice apportés par chaque composante (leur somme est l'indice)."
            )

# ----------------------------------------------------------------------------- alerts
st.subheader("Alertes en cours")
with st.spinner("Chargement des alertes…"):
    al = app_ui.read_or_explain(
        current_alerts, cat, cat.version, p.scope, missing="Alertes pas encore disponibles (table `indicators.alerts`)."
    )
if al is not None:
    if al.height == 0:
        st.info("Aucune alerte en cours dans votre périmètre.")
    else:
        try:
            em = cell_classes(cat, cat.version, p.scope, T.alert_cells(al))
        except (NotAvailable, Forbidden):
            em = None
        table = T.alerts_table(al, em, names)
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            key="tension_alertes",
            column_config={
                "Début": st.column_config.DatetimeColumn(format="DD/MM/YYYY HH:mm"),
                "Fin": st.column_config.DatetimeColumn(format="DD/MM/YYYY HH:mm"),
            },
        )
        st.caption(
            "Les plus récentes d'abord, puis les plus graves"
            + (f" ({T.ALERTS_LIMIT} premières seulement)" if al.height >= T.ALERTS_LIMIT else "")
            + ". Tendance de la cellule: sa classe de point chaud émergent (hebdomadaire, même catégorie "
            "que l'alerte, sinon tous faits), quand elle est publiée."
        )
