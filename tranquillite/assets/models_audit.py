"""`models/audit_boucle`: the feedback-loop audit of the forecasts (issue 13), in the weekly training job.

At each weekly origin of the backtest window (`data_contracts/audit_boucle.yaml`: `n_origins`), the
cells a trailing count flags when trained on the reported facts (signalements, CSU alerts) against
those it flags when trained on the Police Municipale's interventions (all, enforcement-driven
categories only, without them), their overlap and how the flagged area is shared among the
arrondissements against their population (INSEE, `geo.arrondissements`) and their share of reports;
the drift of that concentration over the origins (`forecasting.feedback`). Published as two
aggregate tables (per origin × training stream, and per origin × stream × arrondissement: shares,
never a cell nor a fact) that the model card page reads through `app_core`. The check
`concentration_stable` warns (non-blocking) when the police-trained concentration rises faster
than `drift_threshold` per origin.
"""

import time
from datetime import timedelta

import dagster as dg
import polars as pl

from tranquillite import geo
from tranquillite.assets import constants as K
from tranquillite.assets.features import read_events
from tranquillite.assets.metadata import base_metadata
from tranquillite.forecasting import feedback as F
from tranquillite.forecasting.grid import locate
from tranquillite.forecasting.study_area import StudyArea
from tranquillite.resources import Warehouse

CHECK_DRIFT = "concentration_stable"


def zone_population(spec, grid: pl.DataFrame) -> dict[str, float]:
    """Inhabitants per zone: INSEE populations of Marseille's arrondissements; elsewhere unknown
    (every zone weighs the same)."""
    if spec.is_marseille and spec.zone_property == "insee_arm":
        a = geo.arrondissements()
        return dict(zip(a["insee_arm"].cast(pl.Utf8).to_list(), a["population"].cast(pl.Float64).to_list()))
    return {z: 1.0 for z in grid["zone"].drop_nulls().unique().to_list()}


AUDIT_DESCRIPTION = (
    "Audit de la boucle de rétroaction des prévisions: à chaque origine hebdomadaire de la fenêtre du "
    "backtest, les cellules signalées (5 % de la surface) par un compte glissant appris sur les faits "
    "signalés (signalements, alertes CSU) et par le même appris sur les interventions de la Police "
    "Municipale (toutes, catégories d'initiative policière seules, sans elles): recouvrement "
    "(Jaccard), part de la surface signalée par arrondissement face à sa population et à sa part "
    "des signalements (rapport, indice de dissimilarité, Gini par habitant) et dérive de cette "
    "concentration au fil des origines. Tables agrégées (origine × apprentissage, et par "
    "arrondissement), jamais une cellule ni un fait."
)


@dg.multi_asset(
    name="audit_boucle",
    specs=[
        dg.AssetSpec(
            K.AUDIT_LOOP_KEY,
            deps=[K.EVENTS_KEY, K.STUDY_GRID_KEY],
            group_name=K.MODELS,
            kinds={"parquet"},
            owners=[K.OWNER_DATA],
            description=AUDIT_DESCRIPTION,
        ),
        dg.AssetSpec(
            K.AUDIT_LOOP_ZONES_KEY,
            deps=[K.EVENTS_KEY, K.STUDY_GRID_KEY],
            group_name=K.MODELS,
            kinds={"parquet"},
            owners=[K.OWNER_DATA],
            description=(
                "Audit de la boucle de rétroaction, par arrondissement: part de la zone "
                "désignée, part des signalements et de la population, à chaque origine et "
                "pour chaque apprentissage (agrégats, jamais une cellule ni un fait)."
            ),
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            CHECK_DRIFT,
            asset=K.AUDIT_LOOP_KEY,
            blocking=False,
            description=(
                "La concentration de la surface signalée par le modèle appris sur "
                "les interventions ne dérive pas au-delà du seuil configuré "
                "(data_contracts/audit_boucle.yaml: drift_threshold, par origine)."
            ),
        )
    ],
    pool="warehouse_writer",
)
def audit_boucle(context: dg.AssetExecutionContext, warehouse: Warehouse, study_area: StudyArea):
    t0 = time.perf_counter()
    cfg = F.AuditConfig.load()
    spec = study_area.spec()
    if not warehouse.exists(K.FEATURES, "study_grid"):
        raise dg.Failure("la grille d'étude (features/study_grid) n'est pas matérialisée")
    grid = warehouse.read(K.FEATURES, "study_grid").select("h3_cell", "cell_idx", "zone")
    ev = read_events(warehouse, cfg.sources)
    if ev.height == 0:  # a city whose sources are not the audit's (e.g. one `incidents` export): nothing to audit
        per_origin, per_zone = F.empty_tables()
        warehouse.write(K.MODELS, "audit_boucle", per_origin)
        warehouse.write(K.MODELS, "audit_boucle_zones", per_zone)
        warehouse.publish_catalog()
        motif = f"aucun fait des sources de l'audit ({', '.join(cfg.sources)}) dans clean.events: rien à auditer"
        yield dg.MaterializeResult(
            asset_key=K.AUDIT_LOOP_ZONES_KEY, metadata=base_metadata(per_zone, time.perf_counter() - t0, motif=motif)
        )
        yield dg.MaterializeResult(
            asset_key=K.AUDIT_LOOP_KEY,
            metadata=base_metadata(per_origin, time.perf_counter() - t0, motif=motif),
            check_results=[dg.AssetCheckResult(check_name=CHECK_DRIFT, passed=True, metadata={"motif": motif})],
        )
        return
    last = ev["start"].max()
    origins = F.weekly_origins(last, cfg.n_origins)
    ev = ev.filter(pl.col("start") >= origins[0] - timedelta(weeks=cfg.window_weeks))
    cols = [c for c in ("source", "subcategory", "start", "lon", "lat", "h3_cell") if c in ev.columns]
    located = locate(ev.select(cols), grid.select("h3_cell", "cell_idx"), spec.h3_resolution)
    per_origin, per_zone, summ = F.audit(located, grid, zone_population(spec, grid), origins, cfg)
    # the conventions of the facts read (the City's sources): the app's gateway filters on them
    conv = pl.lit(
        sorted(set(ev["convention"].drop_nulls().unique().to_list())) or ["internal"], dtype=pl.List(pl.Utf8)
    ).alias("conventions")
    per_origin, per_zone = per_origin.with_columns(conv), per_zone.with_columns(conv)
    warehouse.write(K.MODELS, "audit_boucle", per_origin)
    warehouse.write(K.MODELS, "audit_boucle_zones", per_zone)
    warehouse.publish_catalog()
    drift = summ["derive_police"] or 0.0
    yield dg.MaterializeResult(
        asset_key=K.AUDIT_LOOP_ZONES_KEY, metadata=base_metadata(per_zone, time.perf_counter() - t0)
    )
    yield dg.MaterializeResult(
        asset_key=K.AUDIT_LOOP_KEY,
        metadata=base_metadata(
            per_origin,
            time.perf_counter() - t0,
            origines=summ["origines"],
            faits_lus=ev.height,
            jaccard_moyen_police_vs_signale=summ[F.POLICE]["jaccard_moyen_vs_signale"],
            concentration=dg.MetadataValue.json({s: summ[s] for s in F.STREAMS}),
            derive_police=drift,
            categories_d_initiative_exclues=cfg.exclude_enforcement,
        ),
        check_results=[
            dg.AssetCheckResult(
                check_name=CHECK_DRIFT,
                passed=not summ["derive_excessive"],
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"derive_par_origine": drift, "seuil": cfg.drift_threshold},
            )
        ],
    )


AUDIT_ASSETS = [audit_boucle]
