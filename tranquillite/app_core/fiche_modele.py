"""Fiche du modèle (issue 13): what the forecast uses and never uses, how it compares with the
baselines on the City's own data, what the feedback-loop audit says, and how a manager is expected
to use it. Read through the scoped gateway only: the public reads the audit's aggregates
(`models.audit_boucle`, City-only conventions); the backtest is shown to the profiles whose scope
reads `models.backtest`.
"""

from __future__ import annotations

import polars as pl

from tranquillite import sources as S
from tranquillite.app_core.queries import Catalog, Forbidden, NotAvailable, Scope, scoped_query

BACKTEST, AUDIT = "models.backtest", "models.audit_boucle"
ORACLE = "oracle"
MODEL_LABELS = {
    "derniere_periode": "Dernière période",
    "moyenne_saisonniere": "Moyenne saisonnière",
    "hotspot_retrospectif": "Points chauds rétrospectifs",
    "hotspot_prospectif": "Points chauds prospectifs",
    "glm_poisson": "Régression de Poisson (GLM)",
    "lgbm_sans_evenements": "LightGBM sans les événements prévus",
    "compte_52_semaines": "Compte des 52 dernières semaines",
    "compte_historique": "Compte de tout l'historique",
    "sepp": "Processus auto-excitant (SEPP)",
    "multi_echelle": "LightGBM multi-échelle (court et long terme)",
    "lgbm_avec_evenements": "LightGBM avec les événements prévus",
    ORACLE: "Oracle (intensité vraie, données synthétiques)",
}
HORIZON_LABELS = {"creneau_suivant": "Créneau suivant", "jour_suivant": "Jour suivant",
                  "7_jours": "Sept jours (par créneau)", "semaine_suivante": "Semaine suivante (une carte)"}
STREAM_LABELS = {"signale": "Faits signalés (signalements, alertes du CSU)",
                 "police": "Interventions de la Police Municipale (toutes)",
                 "police_initiative": "Interventions d'initiative policière seules",
                 "police_sans_initiative": "Interventions sans les catégories d'initiative policière"}
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
        df = scoped_query(cat, scope, BACKTEST,
                          select="horizon, model, avg(hit_rate) AS hit_rate, count(DISTINCT origin) AS n_origins, "
                                 "max(champion) AS champion, max(champion_pourquoi) AS pourquoi",
                          where="category = ? AND abs(coverage - ?) < ?", params=["all", COVERAGE, 1e-9],
                          group_by="horizon, model", level="aggregate")
    except (Forbidden, NotAvailable):
        return None
    return df.sort(["horizon", "hit_rate"], descending=[False, True])


def audit_rows(cat: Catalog, scope: Scope) -> pl.DataFrame | None:
    """The feedback-loop audit per origin × training set (aggregates only); None if not published."""
    try:
        return scoped_query(cat, scope, AUDIT,
                            select="origin, stream, avg(jaccard_vs_signale) AS jaccard, "
                                   "avg(dissimilarity_vs_reports) AS d_reports, "
                                   "avg(dissimilarity_vs_population) AS d_population, "
                                   "avg(gini_per_inhabitant) AS gini",
                            group_by="origin, stream", order_by="origin, stream", level="aggregate")
    except (Forbidden, NotAvailable):
        return None


def audit_summary(rows: pl.DataFrame) -> pl.DataFrame:
    """Per training set: the latest origin's figures, the mean over the origins, and the drift
    (least-squares slope of the dissimilarity against the reports, per origin)."""
    idx = rows.sort("origin").with_columns(pl.col("origin").rank("dense").over("stream").cast(pl.Float64).alias("k"))
    slope = (pl.cov("k", "d_reports") / pl.col("k").var()).alias("derive")
    out = idx.group_by("stream").agg(
        pl.col("jaccard").last().alias("jaccard_dernier"), pl.col("d_reports").last().alias("d_dernier"),
        pl.col("d_reports").mean().alias("d_moyen"), pl.col("d_population").last().alias("d_population"),
        pl.len().alias("origines"), slope)
    order = {s: i for i, s in enumerate(STREAM_LABELS)}
    return out.with_columns(pl.col("stream").replace_strict(STREAM_LABELS, default=pl.col("stream")).alias("libelle"),
                            pl.col("stream").replace_strict(order, default=99).alias("_o")).sort("_o").drop("_o")
