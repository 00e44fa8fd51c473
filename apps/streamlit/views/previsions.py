"""Prévisions (C4): the champion's map of the next shifts, its hotspots, and how far to trust it.

Reads `models.forecast` (one row per category × shift × H3 cell), `models.backtest` and, when
published, `models.backtest_scores`, only through the scoped gateway. A widget change runs at
most one query: the list of shifts and the backtest summaries are cached per catalog version ×
scope; the cells of one category × shift (~2,600 rows) are read with `WHERE category = ? AND
slot = ?` and cached too. Changing the share of the area only re-filters in Polars.
"""

import math

import altair as alt
import duckdb
import polars as pl
import pydeck as pdk
import streamlit as st

import app_ui
from tranquillite.app_core import fiche_modele as FM
from tranquillite.app_core import carte, deck
from tranquillite.app_core import formats as F
from tranquillite.app_core.colours import ColourScale
from tranquillite.app_core.explanations import explain
from tranquillite.app_core.carte import arrondissement_names
from tranquillite.app_core.queries import Forbidden, NotAvailable, is_published, scoped_query

p = app_ui.require("previsions")
st.title("Prévisions")
app_ui.log_view(p, "previsions")
cat = app_ui.catalog()

ALL = "all"
# the sources' French names come from their contracts (app_core.carte reads tranquillite.sources)
CATEGORY_LABELS = {ALL: "Tous les faits", **{s: carte.SOURCE_LABELS[s] for s in carte.FACT_SOURCES}}
SHARES = (0.01, 0.05, 0.10, 0.20)  # = the backtest's coverages
HORIZON = "jour_suivant"
ORACLE = FM.ORACLE
MODEL_LABELS = FM.MODEL_LABELS  # one list of the predictors' French names (app_core.fiche_modele)
DAY_ABBR = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")
FORECAST, BACKTEST, SCORES = "models.forecast", "models.backtest", "models.backtest_scores"
CELL_COLUMNS = "rank, zone, h3_cell, expected, lower_80, upper_80, lower_95, upper_95, explanations"
TOOLTIP = {
    "html": "<b>{titre}</b><br/>{quand}<br/>{lieu}<br/>Intervalle 80 %: {ic80} · 95 %: {ic95}<br/><i>{info}</i>",
    "style": deck.TOOLTIP["style"],
}


# ----------------------------------------------------------------------------- cached queries
@app_ui.cached_read(show_spinner=False, ttl=600, max_entries=16)
def forecast_slots(_cat, catalog_version: int, scope) -> pl.DataFrame:
    """One row per category × shift: times, champion, version (84 rows, one aggregate query)."""
    return scoped_query(
        _cat,
        scope,
        FORECAST,
        select="category, slot, min(slot_start) AS slot_start, min(slot_end) AS slot_end, "
        "min(origin) AS origin, max(model) AS model, max(model_version) AS model_version, "
        "count(*) AS n_cells",
        group_by="category, slot",
        order_by="slot, category",
    )


@app_ui.cached_read(show_spinner=False, ttl=600, max_entries=64)
def forecast_cells(_cat, catalog_version: int, scope, category: str, slot: int) -> pl.DataFrame:
    """Every cell of one category × shift, best first."""
    return scoped_query(
        _cat,
        scope,
        FORECAST,
        select=CELL_COLUMNS,
        where="category = ? AND slot = ?",
        params=[category, int(slot)],
        order_by="rank",
    )


@app_ui.cached_read(show_spinner=False, ttl=600, max_entries=16)
def backtest_summary(_cat, catalog_version: int, scope) -> pl.DataFrame:
    """Mean over the backtest origins, per model × category × coverage, at the next-day horizon."""
    return scoped_query(
        _cat,
        scope,
        BACKTEST,
        select="model, category, coverage, avg(hit_rate) AS hit_rate, avg(pai) AS pai, "
        "count(DISTINCT origin) AS n_origins, sum(n_events) AS n_events",
        where="horizon = ?",
        params=[HORIZON],
        group_by="model, category, coverage",
    )


@app_ui.cached_read(show_spinner=False, ttl=600, max_entries=16)
def interval_scores(_cat, catalog_version: int, scope) -> pl.DataFrame:
    """Mean interval coverage over the backtest origins, per model × category, next-day horizon."""
    return scoped_query(
        _cat,
        scope,
        SCORES,
        select="model, category, avg(interval_coverage_80) AS cov80, "
        "avg(interval_coverage_95) AS cov95, count(DISTINCT origin) AS n_origins",
        where="horizon = ?",
        params=[HORIZON],
        group_by="model, category",
    )


@app_ui.cached_read(show_spinner=False, ttl=600, max_entries=16)
def champion_choice(_cat, catalog_version: int, scope) -> pl.DataFrame:
    """The champion rule's choice per horizon × category and why (`champion`, `champion_pourquoi`);
    empty for a backtest published before the champion rule (no such columns: the gateway refuses
    the query) — cached too, so that a widget change does not ask again."""
    try:
        return scoped_query(
            _cat,
            scope,
            BACKTEST,
            where="champion",
            group_by="horizon, category, model",
            select="horizon, category, model, max(champion_pourquoi) AS pourquoi",
        )
    except (duckdb.Error, Forbidden):
        return pl.DataFrame(schema={"horizon": pl.Utf8, "category": pl.Utf8, "model": pl.Utf8, "pourquoi": pl.Utf8})


# ----------------------------------------------------------------------------- formatting
def slot_label(start, end) -> str:
    """« lun. 06/01 06h–14h »"""
    return f"{DAY_ABBR[start.weekday()]} {start:%d/%m} {start:%H}h–{end:%H}h"


def pct(x: float) -> str:
    return F.percent(x)


def interval(lower: str, upper: str) -> pl.Expr:
    """Integer display of a jittered interval: floor(lower)–floor(upper)."""
    return pl.format("{}–{}", pl.col(lower).floor().cast(pl.Int64), pl.col(upper).floor().cast(pl.Int64))


def expected_text() -> pl.Expr:
    """« 3,90 »: the expected count with two decimals, French."""
    return pl.col("expected").map_elements(lambda x: F.number(x, 2), return_dtype=pl.Utf8)


def hotspot_count(share: float, n_cells: int) -> int:
    return max(1, math.ceil(round(share * n_cells, 9))) if n_cells else 0


def worth_flagging() -> pl.Expr:
    """A cell can be a hot spot only if something is expected there: not a forecast of 0,00 whose
    integer interval is 0–0 (ranked among the first only because every cell ties at zero)."""
    return (pl.col("expected").round(2) > 0) | (pl.col("upper_95").floor() >= 1)


def prepare_cells(cells: pl.DataFrame, k: int, names: dict[str, str]) -> pl.DataFrame:
    """Display columns of one category × shift (vectorised; explanations parsed once per distinct text)."""
    texts = cells.get_column("explanations").drop_nulls().unique().to_list()
    scale = forecast_scale(float(cells.get_column("expected").max() or 0.0))
    return cells.with_columns(
        pl.col("zone")
        .replace_strict(names, default=pl.col("zone"), return_dtype=pl.Utf8)
        .fill_null("")
        .alias("arrondissement"),
        interval("lower_80", "upper_80").alias("ic80"),
        interval("lower_95", "upper_95").alias("ic95"),
        pl.col("explanations")
        .replace_strict({t: explain(t) for t in texts}, default="", return_dtype=pl.Utf8)
        .fill_null("")
        .alias("explications"),
        ((pl.col("rank") <= k) & worth_flagging()).alias("signalee"),
        pl.Series("couleur", scale.rgba(cells.get_column("expected").to_numpy()).tolist(), dtype=pl.List(pl.Int64)),
        expected_text().alias("attendus_txt"),
    )


def forecast_scale(top: float) -> ColourScale:
    """Expected facts per cell, square-root scale up to the shift's highest expectation."""
    return ColourScale(
        name="Faits attendus par cellule",
        unit="échelle racine carrée",
        top=max(top, 0.01),
        transform="sqrt",
        digits=2,
        alpha=(40, 235),
        note="Contour foncé: cellule de la zone signalée.",
    )


def map_rows(df: pl.DataFrame, when: str) -> list[dict]:
    """The cells drawn (expected > 0, or in the hotspot), colour by expected count, hotspots outlined."""
    hot = pl.col("signalee")
    d = df.filter((pl.col("expected") > 0) | hot).select(
        pl.col("h3_cell").alias("h3"),
        "couleur",
        pl.when(hot).then(pl.lit([20, 20, 20, 230])).otherwise(pl.lit([255, 255, 255, 0])).alias("contour"),
        pl.format(
            "Rang {} · {} fait(s) attendu(s){}",
            pl.col("rank"),
            pl.col("attendus_txt"),
            pl.when(hot).then(pl.lit(" · zone signalée")).otherwise(pl.lit("")),
        ).alias("titre"),
        pl.lit(when).alias("quand"),
        pl.format("{} · {}", pl.col("arrondissement"), pl.col("h3_cell")).alias("lieu"),
        "ic80",
        "ic95",
        pl.col("explications").alias("info"),
    )
    return d.to_dicts()


def confidence_table(summary: pl.DataFrame, category: str, coverage: float, champion: str | None) -> pl.DataFrame:
    """Per model: mean hit rate, PAI, ratio to the oracle's mean hit rate (same category × coverage)."""
    s = summary.filter((pl.col("category") == category) & ((pl.col("coverage") - coverage).abs() < 1e-9))
    oracle = s.filter(pl.col("model") == ORACLE).get_column("hit_rate")
    ref = float(oracle[0]) if oracle.len() and oracle[0] is not None and oracle[0] > 0 else None
    s = s.with_columns(
        (pl.col("hit_rate") / ref if ref else pl.lit(None, dtype=pl.Float64)).alias("ratio"),
        pl.when(pl.col("model") == ORACLE).then(pl.lit(1)).otherwise(pl.lit(0)).alias("_last"),
    ).sort(["_last", "hit_rate", "model"], descending=[False, True, False], nulls_last=True)
    return s.select(
        pl.col("model").replace_strict(MODEL_LABELS, default=pl.col("model"), return_dtype=pl.Utf8).alias("Modèle"),
        pl.col("model").alias("Code"),
        pl.when(pl.col("model") == champion)
        .then(pl.lit("★ champion (carte ci-dessus)"))
        .when(pl.col("model") == ORACLE)
        .then(pl.lit("référence: meilleur possible"))
        .otherwise(pl.lit(""))
        .alias("Rôle"),
        pl.col("hit_rate").alias("Taux de détection"),
        pl.col("pai").alias("PAI"),
        pl.col("ratio").alias("Rapport à l'oracle"),
        pl.col("n_origins").alias("Dates testées"),
        pl.col("n_events").alias("Faits"),
    )


def confidence_text(conf: pl.DataFrame) -> pl.DataFrame:
    """The confidence table as shown: French figures."""

    def txt(col: str, fn) -> pl.Expr:
        return pl.col(col).map_elements(fn, return_dtype=pl.Utf8).fill_null("")

    return conf.select(
        "Modèle",
        "Rôle",
        txt("Taux de détection", lambda x: F.percent(x, 1)),
        txt("PAI", lambda x: F.number(x, 1)),
        txt("Rapport à l'oracle", lambda x: F.percent(x, 0)),
        txt("Dates testées", F.integer),
        txt("Faits", F.integer),
    )


def confidence_chart(conf: pl.DataFrame) -> alt.Chart:
    """Hit rate of each model, one bar each, best first; the champion in orange, the oracle in grey."""
    d = conf.select(
        "Modèle",
        "Code",
        pl.col("Taux de détection").fill_null(0.0).alias("taux"),
        pl.col("Taux de détection")
        .map_elements(lambda x: F.percent(x, 1), return_dtype=pl.Utf8)
        .fill_null("")
        .alias("etiquette"),
        pl.when(pl.col("Rôle").str.starts_with("★"))
        .then(pl.lit("Champion (carte ci-dessus)"))
        .when(pl.col("Code") == ORACLE)
        .then(pl.lit("Oracle (référence)"))
        .otherwise(pl.lit("Autre modèle"))
        .alias("role"),
    ).to_pandas()
    order = d["Modèle"].tolist()
    colour = alt.Color(
        "role:N",
        title=None,
        scale=alt.Scale(
            domain=["Champion (carte ci-dessus)", "Autre modèle", "Oracle (référence)"],
            range=["#E69F00", "#56B4E9", "#999999"],
        ),
        legend=alt.Legend(orient="bottom"),
    )
    y = alt.Y("Modèle:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
    bars = (
        alt.Chart(d)
        .mark_bar()
        .encode(
            x=alt.X(
                "taux:Q",
                title="Taux de détection (part des faits du lendemain dans la zone signalée)",
                axis=alt.Axis(labels=False, ticks=False),
                scale=alt.Scale(domain=[0, max(1e-9, d["taux"].max()) * 1.15]),
            ),
            y=y,
            color=colour,
            tooltip=[alt.Tooltip("Modèle:N"), alt.Tooltip("etiquette:N", title="Taux de détection")],
        )
    )
    labels = alt.Chart(d).mark_text(align="left", dx=4).encode(x="taux:Q", y=y, text="etiquette:N")
    return (bars + labels).properties(height=max(120, 28 * len(order)))


# ----------------------------------------------------------------------------- the forecast
with st.spinner("Chargement des prévisions…"):
    slots = app_ui.read_or_explain(
        forecast_slots,
        cat,
        cat.version,
        p.scope,
        missing=("Prévisions pas encore disponibles: la table `models.forecast` n'a pas encore été matérialisée."),
    )
if slots is None:
    st.stop()
if slots.height == 0:
    st.info("Aucune prévision dans votre périmètre.")
    st.stop()

present = slots.get_column("category").unique().to_list()
groups = [c for c in present if c != ALL]
visible = set(p.scope.row_sources)
# a category is a fact source: shown only to a scope that sees that source ('all' needs them all)
categories = [
    c
    for c in [ALL, *sorted(groups, key=lambda c: list(CATEGORY_LABELS).index(c) if c in CATEGORY_LABELS else 99)]
    if c in present and (c in visible if c != ALL else set(groups) <= visible)
]
if not categories:
    st.info("Aucune prévision dans votre périmètre.")
    st.stop()

times = slots.group_by("slot").agg(pl.col("slot_start").min(), pl.col("slot_end").min()).sort("slot")
slot_labels = {s: slot_label(a, b) for s, a, b in times.iter_rows()}  # 21 rows

c1, c2, c3 = st.columns([1.4, 1.4, 1])
category = c1.selectbox(
    "Catégorie", categories, index=0, key="prev_categorie", format_func=lambda c: CATEGORY_LABELS.get(c, c)
)
slot = c2.selectbox("Créneau", list(slot_labels), index=0, key="prev_creneau", format_func=slot_labels.get)
share = c3.selectbox(
    "Zone signalée",
    SHARES,
    index=SHARES.index(0.05),
    key="prev_part",
    format_func=lambda s: f"{pct(s)} de la surface",
    help="Part de la surface signalée comme point chaud: les cellules où la densité "
    "attendue est la plus forte (comptée en cellules H3, de surfaces presque égales).",
)
if category not in categories or slot not in slot_labels:
    st.stop()
app_ui.log_choices(
    p,
    "previsions",
    {
        "categorie": CATEGORY_LABELS.get(category, category),
        "creneau": slot_labels[slot],
        "zone_signalee": pct(share),
        "horizon_evaluation": "lendemain",
    },
)

meta = slots.filter((pl.col("category") == category) & (pl.col("slot") == slot))
champion = meta.get_column("model")[0] if meta.height else None
version = meta.get_column("model_version")[0] if meta.height else None
origin = meta.get_column("origin")[0] if meta.height else None

with st.spinner("Chargement des cellules du créneau…"):
    cells = forecast_cells(cat, cat.version, p.scope, category, slot)
if cells.height == 0:
    st.info("Aucune prévision pour ce créneau dans votre périmètre.")
    st.stop()

k = hotspot_count(share, cells.height)
df = prepare_cells(cells, k, arrondissement_names())
flagged = int(df.get_column("signalee").sum())
total = float(df.get_column("expected").sum())
in_hot = float(df.filter(pl.col("signalee")).get_column("expected").sum())
when = slot_labels[slot]

st.markdown(
    f"**{CATEGORY_LABELS.get(category, category)}**, {when}: **{F.number(total, 1)}** faits attendus "
    f"dans la ville; les **{F.integer(flagged)}** cellules signalées ({pct(share)} des "
    f"{F.integer(cells.height)} cellules au plus) en concentrent **{F.number(in_hot, 1)}** "
    f"({pct(in_hot / total if total > 0 else 0)})."
)
st.caption(
    f"Modèle: {MODEL_LABELS.get(champion, champion)}"
    + (f" (version {version})" if version else "")
    + (f" — prévision établie pour les créneaux à partir du {origin:%d/%m/%Y %H}h" if origin else "")
    + ". Intervalles: nombres de faits entre lesquels le nombre observé dans la cellule a au moins "
    "80\u202f% (ou 95\u202f%) de chances de se trouver, si le modèle est juste."
)
if total <= 0:
    st.info("Aucun fait attendu sur ce créneau pour cette catégorie: la zone signalée n'a pas de sens.")

layer = pdk.Layer(
    "H3HexagonLayer",
    id="prevision",
    data=map_rows(df, when),
    get_hexagon="h3",
    pickable=True,
    extruded=False,
    filled=True,
    stroked=True,
    get_fill_color="couleur",
    get_line_color="contour",
    line_width_min_pixels=1.5,
    auto_highlight=True,
)
st.pydeck_chart(deck.build_deck([deck.arrondissements_layer(), layer], tooltip=TOOLTIP), height=560, key="prev_carte")
st.markdown(
    forecast_scale(float(cells.get_column("expected").max() or 0.0)).legend_html(), unsafe_allow_html=True
)  # the scale that coloured the cells
st.caption("Cellules H3 d'environ 0,1 km². Survolez une cellule pour l'intervalle et les explications.")

st.subheader("Cellules signalées")
if flagged == 0:
    st.info("Aucune cellule signalée: aucune n'attend de fait sur ce créneau (prévision 0,00, intervalle 0–0).")
else:
    top = df.filter(pl.col("signalee")).select(
        pl.col("rank").alias("Rang"),
        pl.col("arrondissement").alias("Arrondissement"),
        pl.col("h3_cell").alias("Cellule H3"),
        pl.col("attendus_txt").alias("Attendus"),
        pl.col("ic80").alias("Intervalle 80 %"),
        pl.col("ic95").alias("Intervalle 95 %"),
        pl.col("explications").alias("Explications"),
    )
    st.dataframe(top, hide_index=True, width="stretch", key="prev_cellules")
    st.caption(
        "Explications: ce qui pèse le plus sur la prévision de la cellule, et le facteur par lequel cela "
        "multiplie (×) ou divise (÷) le nombre attendu (cellules les plus denses seulement)."
    )

# ----------------------------------------------------------------------------- trust
st.subheader("Confiance")
with st.spinner("Chargement des rétro-tests…"):
    summary = app_ui.read_or_explain(
        backtest_summary,
        cat,
        cat.version,
        p.scope,
        missing="Évaluation des modèles pas encore disponible (table `models.backtest`).",
    )
if summary is not None:
    conf = confidence_table(summary, category, share, champion)
    if conf.height == 0:
        st.info("Aucune évaluation des modèles pour cette catégorie dans votre périmètre.")
    else:
        champ_rows = conf.filter(pl.col("Code") == champion)
        if champ_rows.height:
            r = champ_rows.row(0, named=True)
            ratio = r["Rapport à l'oracle"]
            st.markdown(
                f"Sur les rétro-tests, la zone signalée ({pct(share)} de la surface) par le champion a "
                f"contenu en moyenne **{pct(r['Taux de détection'])}** des faits du lendemain"
                + (
                    f", soit **{pct(ratio)}** de ce que la meilleure carte possible aurait capté"
                    if ratio is not None
                    else ""
                )
                + "."
            )
        st.altair_chart(confidence_chart(conf), width="stretch", key="prev_confiance_graphique")
        with st.expander("Les chiffres du graphique"):
            st.dataframe(confidence_text(conf), hide_index=True, width="stretch", key="prev_confiance")
        st.caption(
            "Rétro-test: chaque modèle est réentraîné à plusieurs dates passées et sa carte comparée aux "
            "faits du lendemain. Taux de détection: part de ces faits tombés dans la zone signalée. "
            "PAI: ce taux divisé par la part de surface (1 = pas mieux que le hasard). Oracle (données "
            "synthétiques seulement): la carte de l'intensité vraie du générateur, le meilleur score "
            "atteignable; le rapport à l'oracle est la part de ce maximum atteinte."
        )

# which predictor is in service, per horizon, and why (the champion rule, forecasting.champion)
try:
    choice = champion_choice(cat, cat.version, p.scope).filter(pl.col("category") == category)
except (NotAvailable, Forbidden):
    choice = None
if choice is not None and choice.height:
    st.markdown(
        "**Prédicteur en service et pourquoi** (règle du champion: un modèle appris ne remplace un "
        "compte simple que s'il fait mieux au-delà du bruit, test apparié sur les origines du rétro-test)"
    )
    for hz, label in (
        ("creneau_suivant", "Créneau suivant"),
        ("jour_suivant", "Jour suivant"),
        ("semaine_suivante", "Semaine suivante (une carte)"),
    ):
        r = choice.filter(pl.col("horizon") == hz)
        if r.height:
            st.markdown(f"- {label}: **{MODEL_LABELS.get(r['model'][0], r['model'][0])}** — {r['pourquoi'][0]}")

if is_published(SCORES) and champion:
    try:
        scores = interval_scores(cat, cat.version, p.scope)
    except (NotAvailable, Forbidden):
        scores = None
    if scores is not None:
        s = scores.filter((pl.col("model") == champion) & (pl.col("category") == category))
        if s.height and s.get_column("cov95")[0] is not None:
            m1, m2 = st.columns(2)
            m1.metric(
                "Couverture de l'intervalle à 95 %",
                pct(s.get_column("cov95")[0]),
                help="Part des valeurs observées lors des rétro-tests qui tombaient dans l'intervalle à "
                "95 % du champion (attendu: 95 %).",
            )
            if s.get_column("cov80")[0] is not None:
                m2.metric("Couverture de l'intervalle à 80 %", pct(s.get_column("cov80")[0]), help="Attendu: 80 %.")
