"""Planned-event exposure: which cells a planned event touches, during which slots, and from
when it was known.

Each Préfecture record and public event touches the cells of its geometry — a marching route
buffered by `route_buffer_m` (~100 m), a static demonstration's footprint polygon, the address
points of an operation or a visit, a public event's venue — and, as separate rings, the cells
up to k = 1 and k = 4 around them (H3 rings: a large crowd spills over a few hundred metres).
It is "on" during every slot overlapping [start - margin, end + margin].

It is **known** from its entry: `entered_at` (Cortège entry time) when present, else the end of
its publication day (`_partition` + 1 day, for the public events calendar). A forecast issued at
origin `o` uses only the records whose `known_slot <= o` (`known_slot` = the first slot starting
at or after the entry). A record amended in Cortège after `o` is only seen in its latest version,
so it is treated as unknown at `o` (conservative: no leakage, at worst a missed event).
"""

from __future__ import annotations

import functools
from datetime import timedelta

import h3
import numpy as np
import polars as pl
import shapely

from tranquillite.forecasting import conventions as CV
from tranquillite.forecasting.grid import equal_area_transformer, to_metric
from tranquillite.forecasting.slots import SlotScheme
from tranquillite.forecasting.study_area import AreaSpec

EXPOSURE_SCHEMA = {
    "event_id": pl.Utf8,
    "source": pl.Utf8,
    "kind": pl.Utf8,
    "cell_idx": pl.Int32,
    "ring": pl.Int8,
    "slot": pl.Int64,
    "weight": pl.Float32,
    "share": pl.Float32,
    "known_slot": pl.Int64,
    "convention": pl.Utf8,
    "conventions": pl.List(pl.Utf8),
}
MAX_DURATION = timedelta(days=3)


def _record_cells(geom: shapely.Geometry, metric_geom, to_wgs, resolution: int, buffer_m: float) -> set[str]:
    kind = geom.geom_type
    if kind in ("Point", "MultiPoint"):
        pts = shapely.get_coordinates(geom)
        return {h3.latlng_to_cell(lat, lon, resolution) for lon, lat in pts}
    if kind in ("LineString", "MultiLineString"):
        poly = to_wgs(shapely.buffer(metric_geom, buffer_m))
    elif kind in ("Polygon", "MultiPolygon"):
        poly = geom
    else:  # collections and anything else: their centroid
        c = geom.centroid
        return {h3.latlng_to_cell(c.y, c.x, resolution)}
    cells = set(
        h3.h3shape_to_cells_experimental(
            h3.geo_to_h3shape(shapely.geometry.mapping(poly)), resolution, contain="overlap"
        )
    )
    if not cells:  # tiny polygon: its centroid's cell
        c = poly.centroid
        cells = {h3.latlng_to_cell(c.y, c.x, resolution)}
    return cells


def _touched_cells(
    planned: pl.DataFrame, index: dict[str, int], spec: AreaSpec, area_outline: shapely.Geometry
) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Per record, in order: the grid cells it touches (`cell_idx`), the ring of each (`ring`: 0,
    or k of `spec.exposure_rings`) and whether it touches any (`_keep`). A record without a usable
    geometry is its point (lon, lat); without either it touches nothing. Computed once per distinct
    (geometry, lon, lat) — routes and venues recur: 8 synthetic years hold 19,064 records and 6,000
    geometries — and each base cell's disks once."""
    geometry = pl.col("geometry") if "geometry" in planned.columns else pl.lit(None, dtype=pl.Utf8)
    key = planned.select(
        pl.concat_str(
            geometry.fill_null(""),
            pl.col("lon").cast(pl.Utf8).fill_null("-"),
            pl.col("lat").cast(pl.Utf8).fill_null("-"),
            separator="|",
        )
    )
    key = key.to_series()
    first = planned.with_row_index("_r").select("_r", key.alias("_k")).unique("_k", keep="first", maintain_order=True)
    distinct = planned[first["_r"]]
    code = key.replace_strict(first["_k"], pl.int_range(first.height, dtype=pl.UInt32, eager=True))
    tr = equal_area_transformer(area_outline)

    def inv(g):
        return shapely.transform(g, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1], direction="INVERSE")))

    geoms = (
        shapely.from_geojson(distinct["geometry"].fill_null("null").to_list(), on_invalid="ignore")
        if "geometry" in distinct.columns
        else np.full(distinct.height, None)
    )
    lon, lat = distinct["lon"].to_numpy(), distinct["lat"].to_numpy()
    rings = sorted(set(spec.exposure_rings))
    disk = functools.lru_cache(maxsize=None)(h3.grid_disk)
    out_cells, out_rings = [], []
    for i, g in enumerate(geoms):
        if g is None or shapely.is_empty(g):
            if not (np.isfinite(lon[i]) and np.isfinite(lat[i])):
                out_cells.append([])
                out_rings.append([])
                continue
            g = shapely.Point(lon[i], lat[i])
        base = _record_cells(g, to_metric(g, tr), inv, spec.h3_resolution, spec.route_buffer_m)
        cells, ring_of = list(base), [0] * len(base)
        seen = set(base)
        for k in rings:
            new = set().union(*(disk(c, k) for c in base)) - seen
            seen |= new
            cells += list(new)
            ring_of += [k] * len(new)
        pairs = [(index[c], r) for c, r in zip(cells, ring_of) if c in index]
        out_cells.append([p[0] for p in pairs])
        out_rings.append([p[1] for p in pairs])
    cells = pl.Series("cell_idx", out_cells, dtype=pl.List(pl.Int32)).gather(code)
    ring = pl.Series("ring", out_rings, dtype=pl.List(pl.Int8)).gather(code)
    return cells, ring, (cells.list.len() > 0).alias("_keep")


def exposure_table(
    planned: pl.DataFrame, grid: pl.DataFrame, spec: AreaSpec, scheme: SlotScheme, area_outline: shapely.Geometry
) -> pl.DataFrame:
    """One row per planned record × touched cell (ring 0, or ring k of `spec.exposure_rings`)
    × active slot, with its weight (log(1 + expected attendance), or 1 without attendance), the
    share of the slot it is on ([start − margin, end + margin] ∩ slot, in hours / slot hours),
    the slot from which it is known, and its record's convention (`convention`, and as the row's
    `conventions` list)."""
    pl_ = planned.filter(pl.col("source").is_in(list(spec.planned_sources)) & pl.col("start").is_not_null())
    if pl_.height == 0:
        return pl.DataFrame(schema=EXPOSURE_SCHEMA)
    index = dict(zip(grid["h3_cell"].to_list(), grid["cell_idx"].to_list()))
    cells, rings_of, keep = _touched_cells(pl_, index, spec, area_outline)
    margin = timedelta(hours=spec.planned_margin_h)
    part_end = (
        (pl.col("_partition").str.to_date() + timedelta(days=1)).cast(pl.Datetime("us"))
        if "_partition" in pl_.columns
        else pl.lit(None, dtype=pl.Datetime("us"))
    )
    known = pl.coalesce(
        pl.col("entered_at").cast(pl.Datetime("us"))
        if "entered_at" in pl_.columns
        else pl.lit(None, dtype=pl.Datetime("us")),
        part_end,
    )
    end = pl.col("end") if "end" in pl_.columns else pl.col("start")
    end = (
        pl.when(end.is_null() | (end < pl.col("start")))
        .then(pl.col("start"))
        .when(end - pl.col("start") > MAX_DURATION)
        .then(pl.col("start") + MAX_DURATION)
        .otherwise(end)
    )
    weight = (
        pl.when(pl.col("attendance").fill_null(0) > 0)
        .then((pl.col("attendance").cast(pl.Float64) + 1).log())
        .otherwise(1.0)
        if "attendance" in pl_.columns
        else pl.lit(1.0)
    )
    df = (
        pl_.select(
            "event_id",
            "source",
            kind_expr(pl_, spec),
            scheme.slot_expr(pl.col("start") - margin).alias("first"),
            scheme.slot_expr(end + margin - timedelta(microseconds=1)).alias("last"),
            (pl.col("start") - margin).alias("on_from"),
            (end + margin).alias("on_to"),
            weight.cast(pl.Float32).alias("weight"),
            known.alias("known_at"),
            CV.convention_expr(pl_).alias("convention"),
        )
        .with_columns(pl.concat_list("convention").list.drop_nulls().alias("conventions"))
        .with_columns(cells, rings_of, keep)
    )
    df = df.filter(pl.col("_keep") & pl.col("known_at").is_not_null())
    if df.height == 0:
        return pl.DataFrame(schema=EXPOSURE_SCHEMA)
    # known_slot: first slot starting at or after the entry time
    ks = df.select(scheme.slot_expr(pl.col("known_at")).alias("s"), pl.col("known_at"))
    ks = ks.with_columns(
        pl.when(scheme.start_expr(pl.col("s")) == pl.col("known_at"))
        .then(pl.col("s"))
        .otherwise(pl.col("s") + 1)
        .alias("known_slot")
    )
    df = df.with_columns(ks["known_slot"], pl.int_ranges("first", pl.col("last") + 1).alias("slot"))
    df = df.explode("slot")
    # share of the slot the record is on: a 2-hour demonstration weighs less than a day-long fair
    s0, s1 = scheme.start_expr(pl.col("slot")), scheme.start_expr(pl.col("slot") + 1)
    on = (pl.min_horizontal(pl.col("on_to"), s1) - pl.max_horizontal(pl.col("on_from"), s0)).dt.total_seconds()
    df = df.with_columns((on / (s1 - s0).dt.total_seconds()).clip(0.0, 1.0).alias("share"))
    out = df.explode("cell_idx", "ring").select(
        "event_id",
        "source",
        "kind",
        "cell_idx",
        "ring",
        "slot",
        "weight",
        "share",
        "known_slot",
        "convention",
        "conventions",
    )
    return out.cast(EXPOSURE_SCHEMA).sort("slot", "cell_idx", "event_id")


def kind_expr(planned: pl.DataFrame, spec: AreaSpec) -> pl.Expr:
    """The exposure kind of each record: its source, or `<source>_<subcategory>` for the sources
    told apart by subcategory (`<source>_autre` when it is missing or not in the enumeration)."""
    from tranquillite.forecasting.study_area import slug, subcategory_values

    expr = pl.col("source")
    sub = pl.col("subcategory") if "subcategory" in planned.columns else pl.lit(None, pl.Utf8)
    for source, kinds in spec.exposure_kinds().items():
        if kinds == [source]:
            continue
        by_value = sub.replace_strict(
            {v: f"{source}_{slug(v)}" for v in subcategory_values(source)},
            default=f"{source}_autre",
            return_dtype=pl.Utf8,
        )
        expr = pl.when(pl.col("source") == source).then(by_value).otherwise(expr)
    return expr.alias("kind")


def _rings(spec: AreaSpec) -> list[int]:
    return [0, *sorted(set(spec.exposure_rings))]


def exposure_kinds(spec: AreaSpec) -> list[str]:
    return [k for kinds in spec.exposure_kinds().values() for k in kinds]


def exposure_columns(spec: AreaSpec) -> list[str]:
    return [f"ev_{k}_r{r}" for k in exposure_kinds(spec) for r in _rings(spec)] + ["ev_n_r0"]


def exposure_features(
    rows: pl.DataFrame, exposure: pl.DataFrame, spec: AreaSpec, with_conventions: bool = False
) -> pl.DataFrame:
    """Exposure of each row (columns `cell_idx`, `target`, `origin`), counting only the records
    known at the row's origin. Returns one row per input row, in order, with `exposure_columns`
    (and, `with_conventions`, `ev_conventions`: the conventions of the records that touched it)."""
    cols = exposure_columns(spec)
    rid = rows.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"), "cell_idx", "target", "origin")
    out = rid.select("_row")
    if exposure.height and cols:
        hit = rid.join(exposure, left_on=["cell_idx", "target"], right_on=["cell_idx", "slot"], how="inner").filter(
            pl.col("known_slot") <= pl.col("origin")
        )
        if hit.height:
            conv = (
                [pl.col("convention").drop_nulls().unique().sort().alias("ev_conventions")]
                if with_conventions and "convention" in hit.columns
                else []
            )
            wide = hit.group_by("_row").agg(
                *[
                    (pl.col("weight") * pl.col("share"))
                    .filter((pl.col("kind") == k) & (pl.col("ring") == r))
                    .sum()
                    .alias(f"ev_{k}_r{r}")
                    for k in exposure_kinds(spec)
                    for r in _rings(spec)
                ],
                (pl.col("ring") == 0).sum().cast(pl.Float32).alias("ev_n_r0"),
                *conv,
            )
            out = out.join(wide, on="_row", how="left")
    for c in cols:
        if c not in out.columns:
            out = out.with_columns(pl.lit(0.0).alias(c))
    out = out.sort("_row")
    sel = [pl.col(c).fill_null(0.0).cast(pl.Float32) for c in cols]
    if with_conventions:
        ev = pl.col("ev_conventions") if "ev_conventions" in out.columns else pl.lit(None, dtype=CV.LIST)
        sel.append(ev.fill_null(pl.lit([], dtype=CV.LIST)).alias("ev_conventions"))
    return out.select(sel)
