"""`indicators` layer, the maps on the analysis grid: the planned events' footprints, the grid and
its hot spots, the emerging hot spots.

* `indicators/planned_footprints` — each planned record's cells and active hours;
* `indicators/hotspots` (with `indicators/grid`) — Getis-Ord Gi* of every cell, per category and
  period (ISO week, month), on the analysis grid; the table is kept as one file per year of its
  maps, and a run recomputes only the maps whose input counts changed (`_hotspot_maps`);
* `indicators/emerging_hotspots` — the emerging class of every cell × category, recomputed only for
  the series whose complete maps changed (`_emerging`).

What they read is in `tranquillite.assets.indicator_inputs`; the published indicators computed from
these maps (tension, values, alerts) in `tranquillite.assets.indicators`.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Iterator

import dagster as dg
import polars as pl

from tranquillite.assets import constants as K
from tranquillite.assets.features import gap_metadata, received_days
from tranquillite.assets.indicator_inputs import (
    conventions_of,
    full_run,
    read_facts,
    read_optional,
    read_planned,
    resolve_as_of,
)
from tranquillite.assets.metadata import base_metadata
from tranquillite.forecasting import conventions as CVF
from tranquillite.indicators import incremental as inc
from tranquillite.indicators.config import Catalogue, IndicatorSettings
from tranquillite.indicators.emerging import EMERGING_SCHEMA, emerging_table
from tranquillite.indicators.grid import ZoneCache, build_grid, disk_weights, locate
from tranquillite.indicators.hotspots import HOTSPOT_SCHEMA, hotspot_table, map_digests
from tranquillite.indicators.planned import FootprintMemo, footprints
from tranquillite.resources import Warehouse

INDICATORS = K.INDICATORS
FOOTPRINTS_KEY, HOTSPOTS_KEY, EMERGING_KEY, GRID_KEY = K.FOOTPRINTS_KEY, K.HOTSPOTS_KEY, K.EMERGING_KEY, K.GRID_KEY
STUDY_GRID_KEY = K.STUDY_GRID_KEY  # produced by the forecasting layer, used when present

CHECK_DENSE = "carte_complete"


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
    study = read_optional(warehouse, "features", "study_grid")
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
        conventions_of(study, "conventions")
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
