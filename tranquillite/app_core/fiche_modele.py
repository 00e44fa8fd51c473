"""Fiche du modèle (issue 13): what the forecast uses and never uses, how it compares with the
baselines on the City's own data, what the feedback-loop audit says, and how a manager is expected
to use it. Read through the scoped gateway only: the public reads the audit's aggregates
(`models.audit_boucle`) and the backtest's (`models.backtest_public`: per predictor × horizon, the
predictors of the City's data only), both from City-only conventions; the profiles whose scope
reads `models.backtest` get its fuller view (every predictor, the champion in service).
"""

from __future__ import annotations

import polars as pl

from tranquillite import sources as S
from tranquillite.app_core.queries import Catalog, Forbidden, NotAvailable, Scope, scoped_query
from tranquillite.forecasting import labels as L

MODEL_LABELS, HORIZON_LABELS = L.MODEL_LABELS, L.HORIZON_LABELS  # one list of French names (forecasting.labels)

BACKTEST, AUDIT = "models.backtest", "models.audit_boucle"
BACKTEST_PUBLIC = "models.backtest_public"
ORACLE = "oracle"
KIND_LABELS = {"reference": "Méthode simple", "appris": "Modèle appris", "oracle": "Oracle"}
STREAM_LABELS = {
    "signale": "Faits signalés (signalements, alertes du CSU)",
    "police": "Interventions de la Police Municipale (toutes)",
    "police_initiative": "Interventions d'initiative policière seules",
    "police_sans_initiative": "Interventions sans les catégories d'initiative policière",
}
COVERAGE = 0.05


def forecast_sources() -> list[str]:
    """The French names of the facts and planned events the forecast reads (contracts' `forecast: true`)."""
    labels = S.labels()
    return [labels[s] for s in (*S.forecast_facts(), *S.forecast_planned())]


def backtest_table(cat: Catalog, scope: Scope) -> pl.DataFrame | None:
    """Per horizon × predictor (all categories): the mean share of the next period's facts in the
    5 % of the area it flags, over the backtest origins, and whether it is the champion. None when
    the scope does not read the backtest or it is not published."""
    try:
        df = scoped_query(
            cat,
            scope,
            BACKTEST,
            select="horizon, model, avg(hit_rate) AS hit_rate, count(DISTINCT origin) AS n_origins, "
            "max(champion) AS champion, max(champion_pourquoi) AS pourquoi",
            where="category = ? AND abs(coverage - ?) < ?",
            params=["all", COVERAGE, 1e-9],
            group_by="horizon, model",
            level="aggregate",
        )
    except (Forbidden, NotAvailable):
        return None
    return df.sort(["horizon", "hit_rate"], descending=[False, True])


def public_backtest_table(cat: Catalog, scope: Scope) -> pl.DataFrame | None:
    """Per horizon × predictor of the City's data only (all facts): the mean share of the next
    period's facts in 1, 5, 10 and 20 % of the area over the origins, the champion among them and
    why. None when the scope does not read it or it is not published."""
    try:
        df = scoped_query(
            cat,
            scope,
            BACKTEST_PUBLIC,
            select="horizon, model, predictor_kind, hit_rate_1, hit_rate_5, hit_rate_10, hit_rate_20, "
            "n_origins, first_origin, last_origin, champion, champion_pourquoi AS pourquoi",
            level="aggregate",
        )
    except (Forbidden, NotAvailable):
        return None
    order = {h: i for i, h in enumerate(HORIZON_LABELS)}
    return (
        df.with_columns(pl.col("horizon").replace_strict(order, default=len(order), return_dtype=pl.Int64).alias("_h"))
        .sort(["_h", "hit_rate_5", "model"], descending=[False, True, False])
        .drop("_h")
    )


def audit_rows(cat: Catalog, scope: Scope) -> pl.DataFrame | None:
    """The feedback-loop audit per origin × training set (aggregates only); None if not published."""
    try:
        return scoped_query(
            cat,
            scope,
            AUDIT,
            select="origin, stream, avg(jaccard_vs_signale) AS jaccard, "
            "avg(dissimilarity_vs_reports) AS d_reports, "
            "avg(dissimilarity_vs_population) AS d_population, "
            "avg(gini_per_inhabitant) AS gini",
            group_by="origin, stream",
            order_by="origin, stream",
            level="aggregate",
        )
    except (Forbidden, NotAvailable):
        return None


def audit_summary(rows: pl.DataFrame) -> pl.DataFrame:
    """Per training set: the latest origin's figures, the mean over the origins, and the drift
    (least-squares slope of the dissimilarity against the reports, per origin)."""
    idx = rows.sort("origin").with_columns(pl.col("origin").rank("dense").over("stream").cast(pl.Float64).alias("k"))
    slope = (pl.cov("k", "d_reports") / pl.col("k").var()).alias("derive")
    out = idx.group_by("stream").agg(
        pl.col("jaccard").last().alias("jaccard_dernier"),
        pl.col("d_reports").last().alias("d_dernier"),
        pl.col("d_reports").mean().alias("d_moyen"),
        pl.col("d_population").last().alias("d_population"),
        pl.len().alias("origines"),
        slope,
    )
    order = {s: i for i, s in enumerate(STREAM_LABELS)}
    return (
        out.with_columns(
            pl.col("stream").replace_strict(STREAM_LABELS, default=pl.col("stream")).alias("libelle"),
            pl.col("stream").replace_strict(order, default=99).alias("_o"),
        )
        .sort("_o")
        .drop("_o")
    )
