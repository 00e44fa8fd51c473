"""What the `indicators` layer's assets read, and the helpers they share.

The readers of the warehouse tables the indicators are computed from — the facts and the planned
records of `clean.events` (`read_facts`, `read_planned`), the analysis instant (`resolve_as_of`),
the forecasts the tension index and the exceedance alerts compare with (`read_forecast`), the
analysis grid (`read_grid`), an optional table (`read_optional`) and the catalogue's base relations
(`build_relations`, for `indicators.values`) — and what every asset of the layer does alike: tell a
forced full recompute (`full_run`), gather a table's conventions (`conventions_of`), publish an
empty table when there is no fact to analyse (`nothing_to_analyse`).

The assets are in `tranquillite.assets.indicator_maps` (footprints, grid, hot spots, emerging hot
spots) and `tranquillite.assets.indicators` (tension, values, public values, alerts).
"""

from __future__ import annotations

import time
from datetime import datetime

import dagster as dg
import polars as pl

from tranquillite.assets import constants as K
from tranquillite.assets.clean import LEDGER_TABLE
from tranquillite.assets.metadata import base_metadata
from tranquillite.forecasting import conventions as CVF
from tranquillite.indicators import catalogue as C
from tranquillite.indicators import incremental as inc
from tranquillite.indicators.config import Catalogue, IndicatorSettings
from tranquillite.indicators.grid import ZoneCache, zones_of
from tranquillite.indicators.periods import Shifts
from tranquillite.indicators.planned import collisions, known_at
from tranquillite.resources import Warehouse

INDICATORS = K.INDICATORS


def full_run(context) -> bool:
    """A run that must recompute every indicator table whole (`incremental.FULL_TAG`: the
    recompute after a convention's end)."""
    return bool(context.run.tags.get(inc.FULL_TAG))


def read_optional(warehouse: Warehouse, layer: str, table: str) -> pl.DataFrame | None:
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


def conventions_of(df: pl.DataFrame | None, column: str = "conventions") -> list[str]:
    """Every convention of a table (its `conventions` lists, or `convention` codes)."""
    if df is None or df.height == 0:
        return []
    if column in df.columns:
        return sorted(CVF.union_of(df, column))
    return sorted(set(df["convention"].drop_nulls())) if "convention" in df.columns else []


NO_FACT = "aucun fait constaté dans clean.events (tout en quarantaine, ou rien reçu): rien à analyser"


def nothing_to_analyse(
    warehouse: Warehouse, table: str, empty: pl.DataFrame, t0: float, check: str
) -> dg.MaterializeResult:
    """No fact to date the analysis: publish the table empty (same schema) and say why, rather than
    fail the run and leave the previous day's zones and alerts on the map."""
    warehouse.write(INDICATORS, table, empty)
    return dg.MaterializeResult(
        metadata=base_metadata(empty, time.perf_counter() - t0, instant_analyse="aucun", motif=NO_FACT),
        check_results=[dg.AssetCheckResult(check_name=check, passed=True, metadata={"lignes": 0, "motif": NO_FACT})],
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
    grid = read_optional(warehouse, INDICATORS, "grid")
    hot_all = None
    if hot is not None:
        hot_all = hot.filter(
            (pl.col("period_level") == "semaine")
            & (pl.col("category") == cat.all_category[0])
            & pl.col("significant")
            & (pl.col("z") > 0)
        ).select("h3_cell", "period_start", *(["conventions"] if "conventions" in hot.columns else []))
    rel: dict[str, pl.DataFrame | None] = {"faits": C.facts_relation(facts, hot_all)}
    fp = read_optional(warehouse, INDICATORS, "planned_footprints")
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
    ledger = read_optional(warehouse, K.GOVERNANCE, LEDGER_TABLE)
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
    bt = read_optional(warehouse, "models", "backtest")
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
