"""`models/backtest_public`: the backtest the public reads on the model card (issue 13), in the weekly
training job, after `models/backtest`.

`models.backtest` mixes conventions (the predictors that read planned events read the
Préfecture's records) and holds one row per origin, category and coverage: it stays closed to the
public. This asset keeps the predictors whose every backtest row comes from the City's conventions
(`K.PUBLIC_CONVENTIONS`, by each row's `conventions` lineage: `forecasting.public_backtest`), and
publishes one row per predictor × horizon, all facts: the mean hit rate over the origins at 1, 5,
10 and 20 % of the area, the number of origins, the champion among them by the honest rule and
why, in French. Its convention tags are derived through the graph and restricted to the City's
(`K.keeps_only`); the blocking check `conventions_de_la_ville_seules` proves it on every
materialisation (a row naming another convention, or none, stops the publication).
"""

import time

import dagster as dg
import polars as pl

from tranquillite.assets import constants as K
from tranquillite.assets.metadata import base_metadata
from tranquillite.forecasting import public_backtest as PB
from tranquillite.forecasting.backtest import BacktestConfig, model_conventions
from tranquillite.resources import Warehouse

CHECK_CITY_ONLY = "conventions_de_la_ville_seules"
KEPT = sorted(K.PUBLIC_CONVENTIONS)

DESCRIPTION = (
    "Rétro-test ouvert au public (fiche du modèle): pour chaque prédicteur dont toutes les lignes du "
    "backtest viennent des seules données de la Ville (lignée `conventions` de chaque ligne: les "
    "prédicteurs qui lisent les événements prévus de la Préfecture en sont exclus) et chaque horizon, "
    "tous faits confondus: taux de réussite moyen sur les origines à 1, 5, 10 et 20 % de la surface, "
    "nombre d'origines, champion parmi ces prédicteurs (règle honnête: test apparié sur les origines) "
    "et pourquoi, en français. Aucune cellule, aucune origine, aucune catégorie."
)


@dg.asset(
    key=K.BACKTEST_PUBLIC_KEY,
    deps=[K.BACKTEST_KEY],
    group_name=K.MODELS,
    kinds={"polars", "parquet"},
    owners=[K.OWNER_DATA],
    description=DESCRIPTION,
    metadata=K.keeps_only(KEPT),
    check_specs=[
        dg.AssetCheckSpec(
            CHECK_CITY_ONLY,
            asset=K.BACKTEST_PUBLIC_KEY,
            blocking=True,
            description=(
                "Chaque ligne ne vient que des conventions de la Ville "
                f"({', '.join(KEPT)}): aucun prédicteur appris ou évalué sur "
                "des données partenaires (Préfecture)."
            ),
        )
    ],
    pool="warehouse_writer",
)
def backtest_public(warehouse: Warehouse) -> dg.MaterializeResult:
    t0 = time.perf_counter()
    bt = warehouse.read(K.MODELS, "backtest")
    out = PB.public_backtest(bt, KEPT, BacktestConfig().alpha)
    foreign = out.filter(~PB.only_within(KEPT)).height
    warehouse.write(K.MODELS, "backtest_public", out)
    warehouse.publish_catalog()
    excluded = sorted(set(bt["model"].unique().to_list()) - set(out["model"].unique().to_list())) if bt.height else []
    conv = model_conventions(bt)
    champions = {h: m for h, m in out.filter(pl.col("champion")).select("horizon", "model").iter_rows()}
    return dg.MaterializeResult(
        metadata=base_metadata(
            out,
            time.perf_counter() - t0,
            predicteurs=out["model"].n_unique(),
            exclus=dg.MetadataValue.json({m: conv.get(m, []) for m in excluded}),
            champions=dg.MetadataValue.json(champions),
            origines=int(out["n_origins"].max() or 0) if out.height else 0,
        ),
        check_results=[
            dg.AssetCheckResult(
                check_name=CHECK_CITY_ONLY,
                passed=foreign == 0,
                metadata={
                    "lignes_hors_conventions_de_la_ville": foreign,
                    "conventions_retenues": dg.MetadataValue.json(KEPT),
                },
            )
        ],
    )


PUBLIC_MODEL_ASSETS = [backtest_public]
