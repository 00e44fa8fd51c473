"""`indicators` layer: tension zones (C4), the indicator catalogue (T7, T8) and alerts.

```
clean/events ─┬─► indicators/planned_footprints ─┬─────────────────────────┬─► indicators/tension
              │                                  │                         ├─► indicators/alerts ──► (sensor)
              ├─► indicators/hotspots ─► indicators/emerging_hotspots ─────┤
              │          (+ indicators.grid)                               │
              └───────────────────────────────────────────────────────────┴─► indicators/values ─► indicators/values_public
features/study_grid, models/forecast (+ models/forecast_history), models/backtest, governance/data_quality: used when published
```

Every asset is computed over the whole history (unpartitioned) as of one instant
(`IndicatorSettings.as_of`, default: the shift after the latest fact), so all the tables of one
materialisation agree. `values` and `hotspots` recompute only the periods (maps) whose input rows
changed since their last run and keep the others (`indicators.incremental`: the result is the full
recompute's, tested table for table); `values` also keeps the trends of the rows whose periods
and reference periods did not change, `emerging_hotspots` its classes while no complete map
changed, and the facts' and grid cells' zones are located once (`grid.ZoneCache`: only the
points the last run did not see). A run tagged `incremental.FULL_TAG` (the recompute after a
convention's end) recomputes everything. The optional inputs are read only when they exist
(`warehouse.exists`): without `features.study_grid` the grid is derived from the event cells,
without `models.forecast` the tension index has no forecast component and exceedance alerts use
the platform's reference (same shift over the previous weeks).

Where: this module holds the published indicators (`tension`, `values` with `catalogue`,
`values_public`, `alerts`) and `INDICATOR_ASSETS`, the layer's assets for the graph;
`tranquillite.assets.indicator_maps` the maps they are computed from (`planned_footprints`,
`hotspots` with `grid`, `emerging_hotspots`); `tranquillite.assets.indicator_inputs` the readers of
the warehouse and the helpers every asset of the layer shares.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Iterator

import dagster as dg
import polars as pl

from tranquillite.assets import constants as K
from tranquillite.assets.indicator_inputs import (
    build_relations,
    conventions_of,
    full_run,
    nothing_to_analyse,
    read_facts,
    read_forecast,
    read_grid,
    read_optional,
    resolve_as_of,
)
from tranquillite.assets.indicator_maps import emerging_hotspots, hotspots, planned_footprints
from tranquillite.assets.metadata import base_metadata
from tranquillite.forecasting import conventions as CVF
from tranquillite.indicators import alerts as A
from tranquillite.indicators import catalogue as C
from tranquillite.indicators import incremental as inc
from tranquillite.indicators.config import IndicatorSettings
from tranquillite.indicators.grid import ZoneCache
from tranquillite.indicators.periods import Shifts
from tranquillite.indicators.planned import active_slots, collisions, known_at
from tranquillite.indicators.tension import COMPONENTS, TENSION_SCHEMA, tension_index
from tranquillite.resources import Warehouse

INDICATORS = K.INDICATORS
FOOTPRINTS_KEY, HOTSPOTS_KEY, EMERGING_KEY = K.FOOTPRINTS_KEY, K.HOTSPOTS_KEY, K.EMERGING_KEY
TENSION_KEY, VALUES_KEY, PUBLIC_KEY, ALERTS_KEY = K.TENSION_KEY, K.VALUES_KEY, K.PUBLIC_KEY, K.ALERTS_KEY
GRID_KEY, CATALOGUE_KEY = K.GRID_KEY, K.CATALOGUE_KEY
# published by other layers when present
FORECAST_KEY = K.FORECAST_KEY
BACKTEST_KEY = K.BACKTEST_KEY

KEPT_PUBLIC = set(K.PUBLIC_CONVENTIONS)
CHECK_INDEX = "indice_coherent"
CHECK_SUPPRESSION = "secret_statistique"


def _latest_complete(hot: pl.DataFrame, level: str, category: str) -> pl.DataFrame:
    h = hot.filter((pl.col("period_level") == level) & (pl.col("category") == category) & pl.col("complete"))
    if h.height == 0:
        return h
    return h.filter(pl.col("period_start") == h["period_start"].max())


@dg.asset(
    key=TENSION_KEY,
    group_name=INDICATORS,
    description=(
        "Indice de tension anticipé (0–100) de chaque cellule pour chaque créneau des jours à venir: "
        "significativité observée (dernier Gi*), tendance (classe émergente), prévision (borne haute "
        "95 % de models.forecast si publiée), événements prévus (emprise, fréquentation) et leur "
        "concurrence. Chaque ligne garde ses composantes, leurs contributions, une explication et ses "
        "conventions. La composante prévision lit, parmi les prévisions d'une origine, celle calculée "
        "sur le moins de conventions (la prévision des seules données de la Ville quand le champion "
        "utilise celles de la Préfecture): les événements prévus entrent déjà dans l'indice, avec "
        "leur convention, par leur emprise; une ligne ne porte la convention de la Préfecture que si "
        "un de ses enregistrements la touche."
    ),
    deps=[HOTSPOTS_KEY, GRID_KEY, EMERGING_KEY, FOOTPRINTS_KEY, K.EVENTS_KEY, FORECAST_KEY, K.FORECAST_HISTORY_KEY],
    kinds={"polars", "parquet"},
    owners=[K.OWNER_DATA, K.OWNER_SECURITY],
    automation_condition=dg.AutomationCondition.eager(),
    pool="warehouse_writer",
    check_specs=[
        dg.AssetCheckSpec(
            CHECK_INDEX, asset=TENSION_KEY, description="Indice = somme des contributions, dans [0, 100]."
        )
    ],
)
def tension(warehouse: Warehouse, indicators: IndicatorSettings) -> dg.MaterializeResult:
    t0 = time.perf_counter()
    cat = indicators.catalogue()
    tp = indicators.tension_params()
    shifts = Shifts(tp.shift_hours)
    as_of = resolve_as_of(indicators, warehouse, cat)
    if as_of is None:
        return nothing_to_analyse(warehouse, "tension", pl.DataFrame(schema=TENSION_SCHEMA), t0, CHECK_INDEX)
    grid = read_grid(warehouse)
    # the complete maps of the index's level and category only (not every map's rows)
    hot = (
        warehouse.scan(INDICATORS, "hotspots")
        .filter((pl.col("period_level") == tp.period_level) & (pl.col("category") == tp.category) & pl.col("complete"))
        .collect()
    )
    em = read_optional(warehouse, INDICATORS, "emerging_hotspots")
    latest = _latest_complete(hot, tp.period_level, tp.category)
    em_t = (
        em.filter((pl.col("period_level") == tp.period_level) & (pl.col("category") == tp.category))
        if em is not None
        else None
    )
    first = shifts.next_start(as_of)
    slots = list(range(first, first + tp.horizon_days * shifts.n))
    forecast = read_forecast(warehouse, shifts)
    if forecast is not None:
        forecast = forecast.filter((pl.col("category") == tp.forecast_category) & pl.col("slot").is_in(slots))
    fp = (
        known_at(warehouse.read(INDICATORS, "planned_footprints"), as_of)
        if warehouse.exists(INDICATORS, "planned_footprints")
        else None
    )
    active = active_slots(fp, shifts, slots[0], slots[-1]) if fp is not None else None
    observed = sorted(set(conventions_of(grid)) | set(conventions_of(latest)) | set(conventions_of(em_t)))
    df = tension_index(
        grid,
        slots,
        shifts,
        tp,
        latest=latest,
        emerging=em_t,
        forecast=forecast,
        active=active,
        as_of=as_of,
        observed_conventions=observed or None,
    )
    warehouse.write(INDICATORS, "tension", df)
    total = df.select(pl.sum_horizontal([f"contribution_{c}" for c in COMPONENTS])).to_series()
    coherent = bool(((total - df["index"]).abs() < 1e-6).all() and df["index"].is_between(0, 100).all())
    levels = df.group_by("level").len()
    return dg.MaterializeResult(
        metadata=base_metadata(
            df,
            time.perf_counter() - t0,
            instant_analyse=str(as_of),
            creneaux=len(slots),
            prevision="models.forecast" if forecast is not None and forecast.height else "absente (poids retiré)",
            niveaux=dg.MetadataValue.json({lv: n for lv, n in levels.sort("level").iter_rows()}),
            poids=dg.MetadataValue.json(tp.weights),
        ),
        check_results=[dg.AssetCheckResult(check_name=CHECK_INDEX, passed=coherent, metadata={"lignes": df.height})],
    )


@dg.multi_asset(
    name="values",
    specs=[
        dg.AssetSpec(
            VALUES_KEY,
            group_name=INDICATORS,
            kinds={"duckdb", "parquet"},
            owners=[K.OWNER_DATA],
            deps=[K.EVENTS_KEY, HOTSPOTS_KEY, GRID_KEY, FOOTPRINTS_KEY, K.QUALITY_KEY, BACKTEST_KEY],
            automation_condition=dg.AutomationCondition.eager(),
            description=(
                "Catalogue des indicateurs (data_contracts/indicators.yaml) matérialisé de façon générique: "
                "une ligne par indicateur × zone (ville, arrondissement, quartier, cellule) × période (jour, "
                "semaine, mois) × ventilation, avec les évolutions vs période précédente et vs même période "
                "de l'année précédente, et les conventions des lignes de base de chaque valeur."
            ),
        ),
        dg.AssetSpec(
            CATALOGUE_KEY,
            group_name=INDICATORS,
            kinds={"parquet"},
            owners=[K.OWNER_DATA],
            tags=K.reference_tags("catalogue_indicateurs"),
            automation_condition=dg.AutomationCondition.eager(),
            description=(
                "Définitions des indicateurs (data_contracts/indicators.yaml): formule, sources, "
                "granularités, profils autorisés, et s'il a pu être calculé à la dernière matérialisation."
            ),
        ),
    ],
    pool="warehouse_writer",
)
def values(context, warehouse: Warehouse, indicators: IndicatorSettings) -> Iterator[dg.MaterializeResult]:
    t0 = time.perf_counter()
    cat = indicators.catalogue()
    as_of = resolve_as_of(indicators, warehouse, cat)
    located = ZoneCache(inc.cache_dir(warehouse.path), "zones_faits", reuse=not full_run(context))
    rel = build_relations(warehouse, indicators, cat, as_of, zones=located)
    t_rel = time.perf_counter() - t0
    # only the periods whose rows changed since the last run (everything on a forced full run)
    state = inc.State(inc.cache_dir(warehouse.path), "values")
    key = inc.config_key(cat)
    reuse = not full_run(context)
    # one (indicator, area level, period level) at a time, from the last run's files to the new
    # ones: neither table is ever whole in memory (eight years: 7 M rows)
    run = C.IncrementalRun(
        cat,
        rel,
        lambda: state.scan(key) if reuse else None,
        lambda: warehouse.scan(INDICATORS, "values") if warehouse.exists(INDICATORS, "values") else None,
    )
    out, kept = warehouse.stream(INDICATORS, "values", C.VALUES_SCHEMA), state.stream(C.BASE_SCHEMA)
    try:
        for chunk_values, chunk_base in run:
            out.write(chunk_values)
            kept.write(chunk_base)
    except BaseException:
        out.abort()
        kept.abort()
        raise
    state.clear()  # a failure below must not leave a state that no longer matches the table
    out.close()
    state.commit(key, run.doc, kept)
    skipped, done = run.skipped, run.done
    vals = warehouse.scan(INDICATORS, "values")
    catalogue = C.catalogue_table(cat, skipped).with_columns(CVF.lit([CVF.REFERENCE]).alias("conventions"))
    warehouse.write(INDICATORS, "catalogue", catalogue)
    per = vals.group_by("indicator_id").len().collect()
    yield dg.MaterializeResult(asset_key=CATALOGUE_KEY, metadata=base_metadata(catalogue, time.perf_counter() - t0))
    yield dg.MaterializeResult(
        asset_key=VALUES_KEY,
        metadata=base_metadata(
            vals,
            time.perf_counter() - t0,
            catalogue=cat.path,
            instant_analyse=str(as_of),
            relations_s=round(t_rel, 2),
            calcul=dg.MetadataValue.json(done),
            localisation=dg.MetadataValue.json(located.info),
            lignes_par_indicateur=dg.MetadataValue.json({i: n for i, n in per.sort("indicator_id").iter_rows()}),
            non_calcules=dg.MetadataValue.json(skipped),
        ),
    )


@dg.asset(
    key=PUBLIC_KEY,
    group_name=INDICATORS,
    description=(
        "Restitution publique des indicateurs (citoyens, partenaires): indicateurs ouverts au profil "
        "`public`, aux zones et périodes publiques, effectifs < 11 masqués (secret statistique primaire) "
        "et masquage secondaire pour qu'une valeur masquée ne se déduise pas d'un total. Aucune donnée "
        "de la Préfecture (C5)."
    ),
    deps=[VALUES_KEY],
    kinds={"polars", "parquet"},
    owners=[K.OWNER_DATA, K.OWNER_DPO],
    metadata=K.keeps_only(KEPT_PUBLIC),
    automation_condition=dg.AutomationCondition.eager(),
    pool="warehouse_writer",
    check_specs=[
        dg.AssetCheckSpec(
            CHECK_SUPPRESSION,
            asset=PUBLIC_KEY,
            blocking=True,
            description="Aucune valeur publiée sous le seuil; aucune donnée hors convention interne.",
        )
    ],
)
def values_public(warehouse: Warehouse, indicators: IndicatorSettings) -> dg.MaterializeResult:
    t0 = time.perf_counter()
    cat = indicators.catalogue()
    vals = warehouse.scan(INDICATORS, "values").filter(C.public_rows(cat)).collect()  # what may be published
    pub = C.public_values(vals, cat, KEPT_PUBLIC)
    warehouse.write(INDICATORS, "values_public", pub)
    # check against the unmasked values: every published value has n ≥ its threshold
    thr = {i.id: i.public_threshold or cat.public_release.threshold for i in cat.indicators}
    keys = ["indicator_id", "area_level", "area", "period_level", "period", "dimension"]
    joined = pub.filter(pl.col("value").is_not_null()).join(vals.select(*keys, "n"), on=keys, how="left")
    leaks = joined.filter(pl.col("n") < pl.col("indicator_id").replace_strict(thr, return_dtype=pl.Int64)).height
    # every row holds the kept conventions only (K.keeps_only: the asset's tags rely on this check)
    kept = sorted(KEPT_PUBLIC)
    foreign = pub.filter(
        (pl.col("conventions").list.len() == 0) | pl.col("conventions").list.eval(~pl.element().is_in(kept)).list.any()
    ).height
    suppressed = pub.group_by("suppressed").len()
    return dg.MaterializeResult(
        metadata=base_metadata(
            pub,
            time.perf_counter() - t0,
            seuil=cat.public_release.threshold,
            masquage=dg.MetadataValue.json({str(s): n for s, n in suppressed.iter_rows()}),
        ),
        check_results=[
            dg.AssetCheckResult(
                check_name=CHECK_SUPPRESSION,
                passed=leaks == 0 and foreign == 0,
                metadata={"sous_le_seuil": leaks, "hors_convention_interne": foreign},
            )
        ],
    )


@dg.asset(
    key=ALERTS_KEY,
    group_name=INDICATORS,
    description=(
        "Alertes en cours: dépassement de la borne haute 95 % de la prévision (cellule, arrondissement), "
        "nouveau point chaud significatif, manifestation sur le périmètre d'un événement, événements "
        "prévus simultanés. Identifiant stable, gravité, explication en français, enregistrements en cause "
        "et conventions (celles des faits, de la prévision comparée — lue comme pour l'indice de tension — "
        "et des enregistrements en cause)."
    ),
    deps=[HOTSPOTS_KEY, GRID_KEY, EMERGING_KEY, FOOTPRINTS_KEY, K.EVENTS_KEY, FORECAST_KEY, K.FORECAST_HISTORY_KEY],
    kinds={"polars", "parquet"},
    owners=[K.OWNER_DATA, K.OWNER_SECURITY],
    automation_condition=dg.AutomationCondition.eager(),
    pool="warehouse_writer",
    check_specs=[dg.AssetCheckSpec(K.CHECK_UNIQUE_IDS, asset=ALERTS_KEY, description="alert_id unique.")],
)
def alerts(warehouse: Warehouse, indicators: IndicatorSettings) -> dg.MaterializeResult:
    t0 = time.perf_counter()
    cat = indicators.catalogue()
    ap, hp = indicators.alert_params(), indicators.hotspot_params()
    shifts = Shifts(tuple(indicators.shift_hours))
    as_of = resolve_as_of(indicators, warehouse, cat)
    if as_of is None:
        return nothing_to_analyse(warehouse, "alerts", pl.DataFrame(schema=A.ALERT_SCHEMA), t0, K.CHECK_UNIQUE_IDS)
    facts = read_facts(warehouse, cat, as_of)
    grid = read_grid(warehouse)
    frames = []
    hot = A.hotspot_rows_read(warehouse.scan(INDICATORS, "hotspots"), ap)
    em = read_optional(warehouse, INDICATORS, "emerging_hotspots")
    frames.append(
        A.new_hotspot_alerts(
            hot,
            em,
            facts,
            k=hp.k,
            params=ap,
            category_labels=cat.category_labels,
            all_code=cat.all_category[0],
            as_of=as_of,
        )
    )
    forecast = read_forecast(warehouse, shifts)
    frames.append(
        A.exceedance_alerts(
            facts, shifts, as_of=as_of, params=ap, forecast=forecast, cell_zone=grid.select("h3_cell", "arrondissement")
        )
    )
    if warehouse.exists(INDICATORS, "planned_footprints"):
        fp = known_at(warehouse.read(INDICATORS, "planned_footprints"), as_of)
        zones = grid.select("h3_cell", "arrondissement")
        frames.append(A.collision_alerts(fp, collisions(fp), zones, as_of=as_of, params=ap))
    out = A.sort_alerts(pl.concat(frames))
    warehouse.write(INDICATORS, "alerts", out)
    dup = out.height - out["alert_id"].n_unique()
    return dg.MaterializeResult(
        metadata=base_metadata(
            out,
            time.perf_counter() - t0,
            instant_analyse=str(as_of),
            par_type=dg.MetadataValue.json(dict(Counter(out["kind"].to_list()))),
            par_gravite=dg.MetadataValue.json(dict(Counter(out["severity"].to_list()))),
            reference_depassements="models.forecast" if forecast is not None else "moyenne des mêmes créneaux",
        ),
        check_results=[dg.AssetCheckResult(check_name=K.CHECK_UNIQUE_IDS, passed=dup == 0, metadata={"doublons": dup})],
    )


INDICATOR_ASSETS = [planned_footprints, hotspots, emerging_hotspots, tension, values, values_public, alerts]
INDICATOR_KEYS = [k for a in INDICATOR_ASSETS for k in a.keys]

__all__ = ["INDICATOR_ASSETS", "INDICATOR_KEYS"]
