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
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Iterator

import dagster as dg
import polars as pl

from tranquillite.assets import constants as K
from tranquillite.assets.clean import LEDGER_TABLE
from tranquillite.assets.features import gap_metadata, received_days
from tranquillite.assets.metadata import base_metadata
from tranquillite.forecasting import conventions as CVF
from tranquillite.indicators import alerts as A
from tranquillite.indicators import catalogue as C
from tranquillite.indicators import incremental as inc
from tranquillite.indicators.config import Catalogue, IndicatorSettings
from tranquillite.indicators.emerging import EMERGING_CLASSES, EMERGING_SCHEMA, emerging_table
from tranquillite.indicators.grid import ZoneCache, build_grid, disk_weights, locate, zones_of
from tranquillite.indicators.hotspots import HOTSPOT_SCHEMA, hotspot_table, map_digests
from tranquillite.indicators.periods import Shifts
from tranquillite.indicators.planned import FootprintMemo, active_slots, collisions, footprints, known_at
from tranquillite.indicators.tension import COMPONENTS, TENSION_SCHEMA, tension_index
from tranquillite.resources import Warehouse

INDICATORS = K.INDICATORS
FOOTPRINTS_KEY, HOTSPOTS_KEY, EMERGING_KEY = K.FOOTPRINTS_KEY, K.HOTSPOTS_KEY, K.EMERGING_KEY
TENSION_KEY, VALUES_KEY, PUBLIC_KEY, ALERTS_KEY = K.TENSION_KEY, K.VALUES_KEY, K.PUBLIC_KEY, K.ALERTS_KEY
GRID_KEY, CATALOGUE_KEY = K.GRID_KEY, K.CATALOGUE_KEY
# published by other layers when present
STUDY_GRID_KEY = K.STUDY_GRID_KEY  # produced by the forecasting layer, used when present
FORECAST_KEY = K.FORECAST_KEY
BACKTEST_KEY = K.BACKTEST_KEY

KEPT_PUBLIC = set(K.PUBLIC_CONVENTIONS)
CHECK_DENSE = "carte_complete"
CHECK_INDEX = "indice_coherent"
CHECK_SUPPRESSION = "secret_statistique"


def full_run(context) -> bool:
    """A run that must recompute every indicator table whole (`incremental.FULL_TAG`: the
    recompute after a convention's end)."""
    return bool(context.run.tags.get(inc.FULL_TAG))


# --------------------------------------------------------------------------- inputs
def _optional(warehouse: Warehouse, layer: str, table: str) -> pl.DataFrame | None:
    return warehouse.read(layer, table) if warehouse.exists(layer, table) else None


def read_facts(warehouse: Warehouse, cat: Catalogue, as_of: datetime | None = None) -> pl.DataFrame:
    """Facts of `clean.events` (fact sources), with their thematic `category`, before `as_of`."""
    cols = ["event_id", "source", "subcategory", "start", "lon", "lat", "h3_cell", "arrondissement", "convention"]
    if not warehouse.exists(K.CLEAN, "events"):
        return pl.DataFrame(
            schema={
                **{c: pl.Utf8 for c in cols},
                "start": pl.Datetime("us"),
                "lon": pl.Float64,
                "lat": pl.Float64,
                "category": pl.Utf8,
            }
        )
    lf = warehouse.scan(K.CLEAN, "events").filter(
        pl.col("source").is_in(list(cat.fact_sources)) & pl.col("start").is_not_null()
    )
    if as_of is not None:
        lf = lf.filter(pl.col("start") < as_of)
    return lf.select(cols).collect().with_columns(cat.category_expr().alias("category"))


def read_planned(warehouse: Warehouse, cat: Catalogue) -> pl.DataFrame | None:
    if not warehouse.exists(K.CLEAN, "events"):
        return None
    return warehouse.scan(K.CLEAN, "events").filter(pl.col("source").is_in(list(cat.planned_sources))).collect()


def resolve_as_of(settings: IndicatorSettings, warehouse: Warehouse, cat: Catalogue) -> datetime | None:
    """The analysis instant: configured, or the start of the shift after the latest fact."""
    if settings.as_of:
        return datetime.fromisoformat(settings.as_of)
    if not warehouse.exists(K.CLEAN, "events"):
        return None
    latest = (
        warehouse.scan(K.CLEAN, "events")
        .filter(pl.col("source").is_in(list(cat.fact_sources)))
        .select(pl.col("start").max())
        .collect()
        .item()
    )
    if latest is None:
        return None
    shifts = Shifts(tuple(settings.shift_hours))
    return shifts.start(shifts.slot_of(latest) + 1)


HISTORY_ORIGINS = 21  # days of forecast history read for the exceedance alerts (≥ their look-back)


def read_forecast(warehouse: Warehouse, shifts: Shifts) -> pl.DataFrame | None:
    """The forecast of every shift the models have covered, as (h3_cell, category, slot, expected,
    upper_95, conventions): `models.forecast` (the coming days) and `models.forecast_history` (the
    next-day part of the last published forecasts, so past shifts are compared with what was
    forecast before them); for a shift forecast several times, the latest origin wins.

    Of the forecasts of one origin, the one computed from the fewest conventions is read (the City's
    own, `variant` = internal, when the champion used a partner's data): the planned events enter
    the tension index and the alerts directly, with their own conventions (`planned_footprints`),
    so an event-aware forecast would count them twice, and every profile that sees the City's data
    keeps its index. None when absent."""
    frames = []
    if warehouse.exists("models", "forecast"):
        frames.append(warehouse.scan("models", "forecast"))
    parts = warehouse.partitions("models", "forecast_history")[-HISTORY_ORIGINS:]
    if parts:
        frames.append(warehouse.scan("models", "forecast_history", parts))
    if not frames:
        return None
    names = set.intersection(*(set(f.collect_schema().names()) for f in frames))
    pick = lambda *options: next((n for n in options if n in names), None)  # noqa: E731
    cell, start = pick("h3_cell", "cell"), pick("slot_start", "start")
    exp, up = pick("expected", "mean", "mu"), pick("upper_95", "upper95", "hi95")
    if not all((cell, start, exp, up)):
        return None
    cat = pl.col("category") if "category" in names else pl.lit("all")
    origin = pl.col("origin") if "origin" in names else pl.lit(None, pl.Datetime("us"))
    # a forecast published before lineage was recorded may hold any convention's data
    conv = pl.col("conventions") if "conventions" in names else CVF.lit(sorted(K.all_conventions()))
    internal = (pl.col("variant") == "internal") if "variant" in names else pl.lit(False)
    cols = [
        pl.col(cell).alias("h3_cell"),
        cat.alias("category"),
        shifts.slot_expr(pl.col(start)).alias("slot"),
        origin.alias("_origin"),
        pl.col(exp).cast(pl.Float64).alias("expected"),
        pl.col(up).cast(pl.Float64).alias("upper_95"),
        conv.alias("conventions"),
        conv.list.len().alias("_n"),
        internal.alias("_internal"),
    ]
    # only the columns needed are read (not the explanations); the latest origin wins per shift
    out = pl.concat([f.select(cols) for f in frames]).collect()
    if out.height == 0:
        return None
    return (
        out.sort(["_origin", "_n", "_internal"], descending=[True, False, True], nulls_last=True)
        .unique(subset=["h3_cell", "category", "slot"], keep="first")
        .drop("_origin", "_n", "_internal")
    )


def read_grid(warehouse: Warehouse) -> pl.DataFrame:
    if not warehouse.exists(INDICATORS, "grid"):
        raise dg.Failure("indicators.grid absente: matérialiser indicators/hotspots d'abord")
    return warehouse.read(INDICATORS, "grid")


def _union(df: pl.DataFrame | None, column: str = "conventions") -> list[str]:
    """Every convention of a table (its `conventions` lists, or `convention` codes)."""
    if df is None or df.height == 0:
        return []
    if column in df.columns:
        return sorted(CVF.union_of(df, column))
    return sorted(set(df["convention"].drop_nulls())) if "convention" in df.columns else []


NO_FACT = "aucun fait constaté dans clean.events (tout en quarantaine, ou rien reçu): rien à analyser"


def _nothing_to_analyse(
    warehouse: Warehouse, table: str, empty: pl.DataFrame, t0: float, check: str
) -> dg.MaterializeResult:
    """No fact to date the analysis: publish the table empty (same schema) and say why, rather than
    fail the run and leave the previous day's zones and alerts on the map."""
    warehouse.write(INDICATORS, table, empty)
    return dg.MaterializeResult(
        metadata=base_metadata(empty, time.perf_counter() - t0, instant_analyse="aucun", motif=NO_FACT),
        check_results=[dg.AssetCheckResult(check_name=check, passed=True, metadata={"lignes": 0, "motif": NO_FACT})],
    )


def _latest_complete(hot: pl.DataFrame, level: str, category: str) -> pl.DataFrame:
    h = hot.filter((pl.col("period_level") == level) & (pl.col("category") == category) & pl.col("complete"))
    if h.height == 0:
        return h
    return h.filter(pl.col("period_start") == h["period_start"].max())


# --------------------------------------------------------------------------- assets
@dg.asset(
    key=FOOTPRINTS_KEY,
    group_name=INDICATORS,
    description=(
        "Emprise de chaque événement prévu sur la grille H3: cellules touchées par le parcours "
        "tamponné (manifestation déambulatoire), l'emprise (statique), le périmètre (événement public, "
        "selon la fréquentation) ou les adresses (opérations, visites), avec ses horaires d'activité "
        "(marge comprise). Une ligne par enregistrement × cellule."
    ),
    deps=[K.EVENTS_KEY],
    kinds={"polars", "parquet"},
    owners=[K.OWNER_DATA],
    automation_condition=dg.AutomationCondition.eager(),
    pool="warehouse_writer",
)
def planned_footprints(context, warehouse: Warehouse, indicators: IndicatorSettings) -> dg.MaterializeResult:
    t0 = time.perf_counter()
    cat = indicators.catalogue()
    planned = read_planned(warehouse, cat)
    memo = FootprintMemo(inc.cache_dir(warehouse.path), reuse=not full_run(context))
    fp = footprints(
        planned if planned is not None else pl.DataFrame(schema={"start": pl.Datetime("us")}),
        indicators.footprints(),
        memo=memo,
    )
    warehouse.write(INDICATORS, "planned_footprints", fp)
    per_shape = fp.group_by("source", "shape").agg(pl.col("event_id").n_unique().alias("n"))
    return dg.MaterializeResult(
        metadata=base_metadata(
            fp,
            time.perf_counter() - t0,
            enregistrements=fp["event_id"].n_unique() if fp.height else 0,
            calcul=dg.MetadataValue.json(memo.info),
            par_source=dg.MetadataValue.json({f"{s}/{k}": n for s, k, n in per_shape.iter_rows()}),
        )
    )


@dg.multi_asset(
    name="hotspots",
    specs=[
        dg.AssetSpec(
            HOTSPOTS_KEY,
            group_name=INDICATORS,
            deps=[K.EVENTS_KEY, GRID_KEY],
            kinds={"polars", "scipy", "parquet"},
            owners=[K.OWNER_DATA],
            automation_condition=dg.AutomationCondition.eager(),
            description=(
                "Points chauds et froids (Getis-Ord Gi*) de chaque cellule H3, par catégorie thématique (et "
                "« toutes ») et par semaine ISO et mois: z, p (loi de comptage exacte), q (FDR de "
                "Benjamini–Hochberg), classe (confiance 90/95/99 %), sur la grille `indicators.grid`."
            ),
        ),
        dg.AssetSpec(
            GRID_KEY,
            group_name=INDICATORS,
            deps=[STUDY_GRID_KEY, K.EVENTS_KEY],
            kinds={"h3", "parquet"},
            owners=[K.OWNER_DATA],
            automation_condition=dg.AutomationCondition.eager(),
            description=(
                "Grille d'analyse des indicateurs: cellule H3, arrondissement, quartier — la grille d'étude "
                "`features.study_grid` quand elle est publiée, sinon les cellules des événements et leur "
                "anneau k (ses conventions sont alors celles des enregistrements qui l'ont formée)."
            ),
        ),
    ],
    pool="warehouse_writer",
    check_specs=[
        dg.AssetCheckSpec(
            CHECK_DENSE,
            asset=HOTSPOTS_KEY,
            description="Chaque carte couvre toute la grille; aucun z, p ou q manquant.",
        )
    ],
)
def hotspots(context, warehouse: Warehouse, indicators: IndicatorSettings) -> Iterator[dg.MaterializeResult]:
    t0 = time.perf_counter()
    cat = indicators.catalogue()
    hp = indicators.hotspot_params()
    as_of = resolve_as_of(indicators, warehouse, cat)
    facts = read_facts(warehouse, cat, as_of)
    study = _optional(warehouse, "features", "study_grid")
    planned = read_planned(warehouse, cat)
    cells = pl.concat([facts["h3_cell"], planned["h3_cell"]]) if planned is not None else facts["h3_cell"]
    grid = build_grid(
        cells,
        study_grid=study,
        k=hp.k,
        zones=ZoneCache(inc.cache_dir(warehouse.path), "zones_grille", reuse=not full_run(context)),
    )
    # the grid is one object: its conventions are those of what formed it (the study grid, or the
    # records whose cells it is), and every Gi* is standardised over the whole grid
    grid_conv = (
        _union(study, "conventions")
        if study is not None
        else sorted(
            set(facts["convention"].drop_nulls())
            | (set(planned["convention"].drop_nulls()) if planned is not None else set())
        )
    )
    grid_conv = grid_conv or [CVF.REFERENCE]
    grid = grid.with_columns(CVF.lit(grid_conv).alias("conventions"))
    W = disk_weights(grid["h3_cell"], hp.k)
    facts = locate(facts, grid)
    conventions = sorted(set(grid_conv) | set(facts["convention"].drop_nulls()))
    done: dict = {"mode": "complet", "motif": "aucun fait"}
    saved = None  # (key, document) of the maps' state to keep for the next run
    gaps: dict = {}
    state = inc.State(inc.cache_dir(warehouse.path), "hotspots")
    if facts.height:
        first = facts["start"].min().date()
        last = (as_of - timedelta(microseconds=1)).date() if as_of else facts["start"].max().date()
        received = received_days(warehouse, list(cat.fact_sources), first, last)  # a gap is no week without facts
        gaps = gap_metadata(received, first, min(last, max(received, default=first)))
        done, saved = _hotspot_maps(context, warehouse, facts, grid, W, cat, hp, first, last, received, conventions)
    else:
        state.clear()
        _publish_empty(warehouse, conventions)
    warehouse.write(INDICATORS, "grid", grid)  # after the maps: a failed run changes neither
    if saved is not None:
        state.save_doc(*saved)
    # the check and the metadata read the published files (every year's), a few columns at a time
    hot = warehouse.scan(INDICATORS, "hotspots")
    maps = (
        hot.group_by("period_level", "category", "period")
        .agg(
            pl.len().alias("len"),
            pl.any_horizontal(pl.col("z", "p", "q").is_nan() | pl.col("z", "p", "q").is_null()).sum().alias("nan"),
        )
        .collect(engine="streaming")
    )
    dense = maps.height == 0 or bool((maps["len"] == grid.height).all())
    nan = int(maps["nan"].sum()) if maps.height else 0
    weekly = hot.filter(pl.col("complete") & (pl.col("period_level") == "semaine"))
    latest = weekly.select(pl.col("period_start").max()).collect().item()
    sig = (
        (
            weekly.filter((pl.col("period_start") == latest) & pl.col("significant"))
            .group_by("category", pl.col("z") > 0)
            .len()
            .collect()
        )
        if latest is not None
        else pl.DataFrame(schema={"category": pl.Utf8, "z": pl.Boolean, "len": pl.UInt32})
    )
    yield dg.MaterializeResult(asset_key=GRID_KEY, metadata=base_metadata(grid, time.perf_counter() - t0))
    yield dg.MaterializeResult(
        asset_key=HOTSPOTS_KEY,
        metadata=base_metadata(
            hot,
            time.perf_counter() - t0,
            cellules=grid.height,
            k=hp.k,
            alpha_fdr=hp.fdr_alpha,
            grille="features.study_grid" if study is not None else "cellules des événements + anneau k",
            instant_analyse=str(as_of),
            cartes=maps.height,
            **gaps,
            calcul=dg.MetadataValue.json(done),
            fichiers=len(warehouse.partitions(INDICATORS, "hotspots")),
            derniere_semaine=dg.MetadataValue.json(
                {f"{c}/{'chaud' if h else 'froid'}": n for c, h, n in sig.sort("category").iter_rows()}
            ),
        ),
        check_results=[
            dg.AssetCheckResult(
                asset_key=HOTSPOTS_KEY,
                check_name=CHECK_DENSE,
                passed=dense and nan == 0,
                metadata={"cartes": maps.height, "valeurs_manquantes": nan},
            )
        ],
    )


# `indicators.hotspots` is kept as one file per year of its maps' starts (`2024.parquet`…): a run
# computes and writes one year at a time (memory grows with a year's maps, not with the history),
# and a daily run rewrites only the years whose maps changed
EMPTY_PART = "vide"  # the file of a table without any map (no fact yet)


def _year(d: date) -> str:
    return f"{d.year:04d}"


def _with_conventions(hot: pl.DataFrame, conventions: list[str]) -> pl.DataFrame:
    return hot.select(list(HOTSPOT_SCHEMA)).with_columns(CVF.lit(conventions).alias("conventions"))


def _publish_empty(warehouse: Warehouse, conventions: list[str]) -> None:
    """No map: the table is one empty file (same schema)."""
    for part in warehouse.partitions(INDICATORS, "hotspots"):
        warehouse.drop_partition(INDICATORS, "hotspots", part)
    warehouse.write(
        INDICATORS,
        "hotspots",
        _with_conventions(pl.DataFrame(schema=HOTSPOT_SCHEMA), conventions),
        partition=EMPTY_PART,
    )


def _file_rows(warehouse: Warehouse, part: str) -> int:
    return warehouse.scan(INDICATORS, "hotspots", [part]).select(pl.len()).collect().item()


def _hotspot_maps(
    context,
    warehouse: Warehouse,
    facts: pl.DataFrame,
    grid: pl.DataFrame,
    W,
    cat: Catalogue,
    hp,
    first,
    last,
    received,
    conventions: list[str],
) -> tuple[dict, tuple[str, dict]]:
    """Writes the hot-spot maps, year by year: of a year whose maps' counts (or completeness) changed
    since the last run, those maps are computed and the others kept from its file (each map is
    computed alone, so the rows are those of a full run); a year with no changed map keeps its file
    untouched; every map is computed on a first or forced full run, or when the grid, the parameters,
    the first day or the table's conventions changed, or a year's file is not the one the last run
    wrote (a destruction purges rows). Returns what was computed, and the state to keep (its key and
    document)."""
    kw = dict(categories=cat.category_codes, all_code=cat.all_category[0], first_day=first, last_day=last)
    digests = map_digests(facts, received=received, **kw)
    key = inc.config_key(
        hp,
        cat.category_codes,
        cat.all_category[0],
        first.isoformat(),
        conventions,
        inc.frame_digest(grid.select("cell_idx", "h3_cell", "arrondissement")),
    )
    state = inc.State(inc.cache_dir(warehouse.path), "hotspots")
    prev = None if full_run(context) else state.load_doc(key)
    state.clear()  # a run that fails below must not leave a state that no longer matches the table
    if prev is not None and (prev.get("categories") != digests["categories"] or not isinstance(prev.get("rows"), dict)):
        prev = None
    held = set(warehouse.partitions(INDICATORS, "hotspots"))
    years: dict[str, dict[str, set[date]]] = {}
    for level, maps in digests["maps"].items():
        for s in maps:
            years.setdefault(_year(date_of(s)), {}).setdefault(level, set()).add(date_of(s))
    rows: dict[str, int] = {}
    recomputed = {level: 0 for level in digests["maps"]}
    kept_years = 0
    # the files of years without any map (the old single file, `vide`, a year the first day left) go
    # first: a reader never sees a map twice, in the old file and in its year's
    for part in held - set(years):
        warehouse.drop_partition(INDICATORS, "hotspots", part)
    levels = sorted(set(digests["maps"]) | set(prev["maps"] if prev is not None else {}))
    for year, starts in sorted(years.items()):
        only = starts
        drop = None
        if prev is not None and year in held and prev["rows"].get(year) == _file_rows(warehouse, year):
            # the year's maps whose digest changed, those that vanished (an earlier last day) included
            changed: dict[str, set[date]] = {}
            for level in levels:
                maps, before = digests["maps"].get(level, {}), prev["maps"].get(level, {})
                moved = {
                    s for s in set(maps) | set(before) if _year(date_of(s)) == year and maps.get(s) != before.get(s)
                }
                if moved:
                    changed[level] = {date_of(s) for s in moved}
            if not changed:
                rows[year] = prev["rows"][year]
                kept_years += 1
                continue
            only = {level: {d for d in ds if d in starts.get(level, set())} for level, ds in changed.items()}
            drop = pl.lit(False)
            for level, ds in changed.items():
                drop = drop | (
                    (pl.col("period_level") == level)
                    & pl.col("period_start").is_in(pl.Series(sorted(ds), dtype=pl.Date).implode())
                )
        fresh = hotspot_table(facts, grid, W, fdr_alpha=hp.fdr_alpha, received=received, only=only, **kw)
        for level, ss in only.items():
            recomputed[level] = recomputed.get(level, 0) + len(ss)
        if drop is not None:
            old = warehouse.read(INDICATORS, "hotspots", [year]).filter(~drop).select(list(HOTSPOT_SCHEMA))
            # both parts are sorted by (map, h3_cell) and a map is in one part only: a stable sort on the
            # map gives the full sort's order (the cell strings are the costly key)
            fresh = pl.concat([old, fresh.select(list(HOTSPOT_SCHEMA))]).sort(
                "period_level", "category", "period_start", maintain_order=True
            )
            del old
        out = _with_conventions(fresh, conventions)
        warehouse.write(INDICATORS, "hotspots", out, partition=year)
        rows[year] = out.height
        del fresh, out
    if not years:
        _publish_empty(warehouse, conventions)
    if prev is None:
        done = {
            "mode": "complet",
            "motif": "premier calcul ou paramètres changés" if not full_run(context) else "recalcul complet demandé",
            "annees": len(years),
        }
    else:
        done = {"mode": "incrémental", "cartes_recalculees": recomputed, "annees_conservees": kept_years}
    return done, (key, {**digests, "rows": rows})


def date_of(iso: str) -> date:
    return date.fromisoformat(iso)


@dg.asset(
    key=EMERGING_KEY,
    group_name=INDICATORS,
    description=(
        "Points chauds émergents (définitions ESRI): classe de chaque cellule × catégorie selon la "
        "série de ses Gi* sur les périodes complètes (semaines, mois) et la tendance de Mann–Kendall de "
        "ses z: nouveau, consécutif, en intensification, persistant, en diminution, sporadique, "
        "oscillant, historique (points chauds et froids), ou aucun motif."
    ),
    deps=[HOTSPOTS_KEY],
    kinds={"polars", "parquet"},
    owners=[K.OWNER_DATA],
    automation_condition=dg.AutomationCondition.eager(),
    pool="warehouse_writer",
)
def emerging_hotspots(context, warehouse: Warehouse, indicators: IndicatorSettings) -> dg.MaterializeResult:
    t0 = time.perf_counter()
    hp = indicators.hotspot_params()
    hot = warehouse.scan(INDICATORS, "hotspots")
    em, done, saved = _emerging(context, warehouse, hot, hp)
    em = em.with_columns(CVF.lit(sorted(CVF.union_of(hot)) or [CVF.REFERENCE]).alias("conventions"))
    warehouse.write(INDICATORS, "emerging_hotspots", em)
    inc.State(inc.cache_dir(warehouse.path), "emerging").save_doc(saved[0], {**saved[1], "rows": em.height})
    weekly = em.filter(pl.col("period_level") == "semaine")
    per_class = weekly.group_by("class_code").len()
    allc = weekly.filter(pl.col("category") == indicators.catalogue().all_category[0]).group_by("class_code").len()
    return dg.MaterializeResult(
        metadata=base_metadata(
            em,
            time.perf_counter() - t0,
            classes_semaine_toutes=dg.MetadataValue.json({c: n for c, n in allc.sort("class_code").iter_rows()}),
            classes_semaine=dg.MetadataValue.json({c: n for c, n in per_class.sort("class_code").iter_rows()}),
            calcul=dg.MetadataValue.json(done),
        )
    )


# what the classes are computed from: the complete maps' rows (emerging_table)
EMERGING_INPUT = ["period_level", "category", "period_start", "period", "h3_cell", "arrondissement", "z", "significant"]


def _emerging(context, warehouse: Warehouse, hot: pl.LazyFrame, hp) -> tuple[pl.DataFrame, dict, tuple[str, dict]]:
    """The emerging classes (without conventions), one series at a time (period level × category:
    the complete maps of one series are read, never the whole history of every map): a series whose
    complete maps did not change since the last run (six days a week: no period completed) keeps its
    classes from the published table, the others are computed. Returns the table, what was done,
    and the state to keep (key, document)."""
    key = inc.config_key("emerging", hp.trend_alpha, hp.share, hp.min_periods)
    state = inc.State(inc.cache_dir(warehouse.path), "emerging")
    prev = None if full_run(context) else state.load_doc(key)
    state.clear()  # a run that fails below must not leave a state that no longer matches the table
    old = None
    if prev is not None and isinstance(prev.get("digests"), dict) and warehouse.exists(INDICATORS, "emerging_hotspots"):
        old = warehouse.read(INDICATORS, "emerging_hotspots")
        if old.height != prev.get("rows") or list(old.drop("conventions", strict=False).schema.items()) != list(
            EMERGING_SCHEMA.items()
        ):
            old = None  # the table was changed behind our back (a destruction purges rows)
    complete = hot.filter(pl.col("complete"))
    series = complete.select("period_level", "category").unique().collect().sort("period_level", "category")
    digests: dict[str, list[int]] = {}
    frames, computed = [], 0
    for level, category in series.iter_rows():
        rows = (
            complete.filter((pl.col("period_level") == level) & (pl.col("category") == category))
            .select(*EMERGING_INPUT, "complete")
            .collect()
        )
        name = f"{level}/{category}"
        digests[name] = inc.frame_digest(rows.select(EMERGING_INPUT))
        if old is not None and prev["digests"].get(name) == digests[name]:
            frames.append(
                old.filter((pl.col("period_level") == level) & (pl.col("category") == category)).drop(
                    "conventions", strict=False
                )
            )
            continue
        frames.append(emerging_table(rows, trend_alpha=hp.trend_alpha, share=hp.share, min_periods=hp.min_periods))
        computed += 1
        del rows
    em = (
        pl.concat(frames).sort("period_level", "category", "h3_cell")
        if frames
        else pl.DataFrame(schema=EMERGING_SCHEMA)
    )
    if old is None:
        why = "premier calcul ou paramètres changés" if prev is None else "table changée"
        done = {"mode": "complet", "motif": why, "series": computed}
    elif computed == 0 and set(digests) == set(prev["digests"]):
        done = {"mode": "conservé", "motif": "cartes complètes inchangées"}
    else:
        done = {"mode": "incrémental", "series_recalculees": computed, "series": len(digests)}
    return em, done, (key, {"digests": digests})


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
        return _nothing_to_analyse(warehouse, "tension", pl.DataFrame(schema=TENSION_SCHEMA), t0, CHECK_INDEX)
    grid = read_grid(warehouse)
    # the complete maps of the index's level and category only (not every map's rows)
    hot = (
        warehouse.scan(INDICATORS, "hotspots")
        .filter((pl.col("period_level") == tp.period_level) & (pl.col("category") == tp.category) & pl.col("complete"))
        .collect()
    )
    em = _optional(warehouse, INDICATORS, "emerging_hotspots")
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
    observed = sorted(set(_union(grid)) | set(_union(latest)) | set(_union(em_t)))
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


def build_relations(
    warehouse: Warehouse,
    settings: IndicatorSettings,
    cat: Catalogue,
    as_of: datetime | None,
    zones: ZoneCache | None = None,
) -> dict[str, pl.DataFrame | None]:
    """The catalogue's base relations from the warehouse (None when the source is not published).
    `zones`: locates the facts remembering the last run's points (else every fact is located)."""
    facts = read_facts(warehouse, cat, as_of)
    locate_zones = zones.zones_of if zones is not None else zones_of
    arr, qua = locate_zones(facts["lon"].to_numpy(), facts["lat"].to_numpy()) if facts.height else ([], [])
    facts = facts.with_columns(
        pl.Series("quartier", list(qua), dtype=pl.Utf8),
        pl.coalesce("arrondissement", pl.Series("_a", list(arr), dtype=pl.Utf8)).alias("arrondissement"),
    )
    # the significant weekly hot spots only (both relations read those): not the 2 M rows of every map
    hot = (
        warehouse.scan(INDICATORS, "hotspots")
        .filter((pl.col("period_level") == "semaine") & pl.col("significant") & (pl.col("z") > 0))
        .collect()
        if warehouse.exists(INDICATORS, "hotspots")
        else None
    )
    grid = _optional(warehouse, INDICATORS, "grid")
    hot_all = None
    if hot is not None:
        hot_all = hot.filter(
            (pl.col("period_level") == "semaine")
            & (pl.col("category") == cat.all_category[0])
            & pl.col("significant")
            & (pl.col("z") > 0)
        ).select("h3_cell", "period_start", *(["conventions"] if "conventions" in hot.columns else []))
    rel: dict[str, pl.DataFrame | None] = {"faits": C.facts_relation(facts, hot_all)}
    fp = _optional(warehouse, INDICATORS, "planned_footprints")
    if fp is not None:
        fp = known_at(fp, as_of)
        cells = fp["h3_cell"].unique()
        zones = pl.DataFrame({"h3_cell": cells}).pipe(_cell_zones)
        rel["evenements_prevus"] = C.planned_relation(fp, zones)
        rel["concurrences"] = C.pairs_relation(collisions(fp), fp, zones)
    else:
        rel["evenements_prevus"] = rel["concurrences"] = None
    rel["points_chauds"] = (
        C.hotspots_relation(hot, grid.select("h3_cell", "arrondissement", "quartier"))
        if hot is not None and grid is not None
        else None
    )
    ledger = _optional(warehouse, K.GOVERNANCE, LEDGER_TABLE)
    if ledger is not None:
        conv = {
            s: (
                "internal"
                if K.source_conventions(s) <= {"internal"}
                else sorted(K.source_conventions(s) - {"internal"})[0]
            )
            for s in K.SOURCES
        }
        rel["qualite"] = C.quality_relation(ledger, conv)
    else:
        rel["qualite"] = None
    bt = _optional(warehouse, "models", "backtest")
    rel["backtest"] = C.backtest_relation(bt) if bt is not None and "origin" in bt.columns else None
    return rel


def _cell_zones(df: pl.DataFrame) -> pl.DataFrame:
    import polars_h3 as plh3

    d = df.with_columns(plh3.cell_to_lat("h3_cell").alias("lat"), plh3.cell_to_lng("h3_cell").alias("lon"))
    arr, qua = zones_of(d["lon"].to_numpy(), d["lat"].to_numpy()) if d.height else ([], [])
    return d.select(
        "h3_cell",
        pl.Series("arrondissement", list(arr), dtype=pl.Utf8),
        pl.Series("quartier", list(qua), dtype=pl.Utf8),
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
        return _nothing_to_analyse(warehouse, "alerts", pl.DataFrame(schema=A.ALERT_SCHEMA), t0, K.CHECK_UNIQUE_IDS)
    facts = read_facts(warehouse, cat, as_of)
    grid = read_grid(warehouse)
    frames = []
    hot = A.hotspot_rows_read(warehouse.scan(INDICATORS, "hotspots"), ap)
    em = _optional(warehouse, INDICATORS, "emerging_hotspots")
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


__all__ = ["INDICATOR_ASSETS", "IndicatorSettings", "EMERGING_CLASSES"]
