"""Planned events on the grid: which cells each one touches, during which shifts, and which
events collide.

Footprint of a record (Préfecture entries, public events calendar), at the grid's H3 resolution
(cells overlapping the shape, not only those whose centre is inside):

* a marching demonstration's route (LineString): buffered by `route_buffer_m` (100 m);
* a static demonstration's footprint (Polygon): as drawn;
* a public event (match, concert, market…, a venue point): a perimeter of radius
  min(`perimeter_max_m`, `perimeter_base_m` + `perimeter_per_sqrt_person_m` × √attendance) —
  ~650 m for 62,000 people at the Vélodrome, ~260 m for a 3,000-person market;
* the address points of an operation or an official visit: buffered by `point_buffer_m`.

An event is **active** from `start − margin` to `end + margin` (1 h; the end is capped at 7 days
after the start). Two events **collide** when they share a cell while both are active.
Buffers are computed in metres in an azimuthal equidistant projection centred on the data.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import h3
import numpy as np
import polars as pl
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import mapping

from tranquillite import sources as S
from tranquillite.indicators.config import Footprints
from tranquillite.indicators.periods import Shifts

SOURCE_LABELS = S.items()              # one record's French name, from its contract
DEMONSTRATIONS = S.demonstrations()    # planned sources declared `demonstration: true`
MAX_DURATION = timedelta(days=7)
FOOTPRINT_SCHEMA = {
    "event_id": pl.Utf8, "source": pl.Utf8, "subcategory": pl.Utf8, "convention": pl.Utf8,
    "start": pl.Datetime("us"), "end": pl.Datetime("us"), "active_from": pl.Datetime("us"),
    "active_to": pl.Datetime("us"), "attendance": pl.Int64, "entered_at": pl.Datetime("us"),
    "shape": pl.Utf8, "radius_m": pl.Float64, "n_cells": pl.Int32, "h3_cell": pl.Utf8,
    "conventions": pl.List(pl.Utf8),
}
PAIR_SCHEMA = {
    "pair_id": pl.Utf8, "event_a": pl.Utf8, "event_b": pl.Utf8, "source_a": pl.Utf8, "source_b": pl.Utf8,
    "h3_cell": pl.Utf8, "overlap_from": pl.Datetime("us"), "overlap_to": pl.Datetime("us"),
}


def _transformers(lon0: float, lat0: float) -> tuple[Transformer, Transformer]:
    crs = CRS.from_proj4(f"+proj=aeqd +lat_0={lat0:.6f} +lon_0={lon0:.6f} +x_0=0 +y_0=0 +ellps=WGS84 +units=m")
    return (Transformer.from_crs("EPSG:4326", crs, always_xy=True),
            Transformer.from_crs(crs, "EPSG:4326", always_xy=True))


def _apply(geom, tr: Transformer):
    return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def _cells(poly, resolution: int) -> list[str]:
    cells = h3.h3shape_to_cells_experimental(h3.geo_to_h3shape(mapping(poly)), resolution, contain="overlap")
    if not cells:
        c = poly.centroid
        cells = [h3.latlng_to_cell(c.y, c.x, resolution)]
    return sorted(set(cells))


def footprints(planned: pl.DataFrame, fp: Footprints, resolution: int = 9) -> pl.DataFrame:
    """One row per planned record × touched cell (columns of FOOTPRINT_SCHEMA).

    `planned`: rows shaped like `clean.events` (event_id, source, subcategory, start, end,
    geometry [GeoJSON], lon, lat, attendance, convention, entered_at)."""
    p = planned.filter(pl.col("start").is_not_null())
    if p.height == 0:
        return pl.DataFrame(schema=FOOTPRINT_SCHEMA)
    geoms = shapely.from_geojson(p["geometry"].fill_null("null").to_list(), on_invalid="ignore") \
        if "geometry" in p.columns else np.full(p.height, None, dtype=object)
    lon, lat = p["lon"].to_numpy(), p["lat"].to_numpy()
    ok_ll = np.isfinite(lon) & np.isfinite(lat)
    lon0 = float(np.nanmean(lon)) if ok_ll.any() else 5.38
    lat0 = float(np.nanmean(lat)) if ok_ll.any() else 43.30
    fwd, inv = _transformers(lon0, lat0)
    att = p["attendance"].to_numpy() if "attendance" in p.columns else np.full(p.height, np.nan)
    sources = p["source"].to_list()
    cells, shapes, radii = [], [], []
    for i, g in enumerate(geoms):
        if g is None or shapely.is_empty(g):
            g = shapely.Point(lon[i], lat[i]) if ok_ll[i] else None
        if g is None:
            cells.append([])
            shapes.append(None)
            radii.append(None)
            continue
        kind = g.geom_type
        if kind in ("Polygon", "MultiPolygon"):
            poly, shape, r = g, "emprise", 0.0
        elif kind in ("LineString", "MultiLineString"):
            r = fp.route_buffer_m
            poly, shape = _apply(shapely.buffer(_apply(g, fwd), r), inv), "parcours"
        else:  # points (and anything else: its points)
            if sources[i] == "evenements_publics":
                a = att[i] if att[i] is not None and np.isfinite(att[i]) else 0.0
                r = min(fp.perimeter_max_m, fp.perimeter_base_m + fp.perimeter_per_sqrt_person_m * np.sqrt(max(a, 0.0)))
                shape = "perimetre"
            else:
                r, shape = fp.point_buffer_m, "points"
            pts = shapely.multipoints(shapely.get_coordinates(g))
            poly = _apply(shapely.buffer(_apply(pts, fwd), max(r, 1.0)), inv)
        cells.append(_cells(poly, resolution))
        shapes.append(shape)
        radii.append(float(r))
    margin = timedelta(hours=fp.margin_h)
    end = pl.coalesce(pl.col("end"), pl.col("start"))
    end = pl.when(end < pl.col("start")).then(pl.col("start")) \
        .when(end - pl.col("start") > MAX_DURATION).then(pl.col("start") + MAX_DURATION).otherwise(end)
    out = p.select(
        "event_id", "source",
        (pl.col("subcategory") if "subcategory" in p.columns else pl.lit(None, pl.Utf8)).alias("subcategory"),
        (pl.col("convention") if "convention" in p.columns else pl.lit(None, pl.Utf8)).alias("convention"),
        "start", end.alias("end"),
        (pl.col("start") - margin).alias("active_from"), (end + margin).alias("active_to"),
        (pl.col("attendance") if "attendance" in p.columns else pl.lit(None, pl.Int64)).alias("attendance"),
        (pl.col("entered_at") if "entered_at" in p.columns else pl.lit(None, pl.Datetime("us"))).alias("entered_at"),
    ).with_columns(pl.Series("shape", shapes, dtype=pl.Utf8), pl.Series("radius_m", radii, dtype=pl.Float64),
                   pl.Series("h3_cell", cells, dtype=pl.List(pl.Utf8)))
    out = out.with_columns(pl.col("h3_cell").list.len().cast(pl.Int32).alias("n_cells"),
                           pl.concat_list(pl.col("convention")).list.drop_nulls().alias("conventions")) \
        .filter(pl.col("n_cells") > 0)
    return out.explode("h3_cell").select([pl.col(k).cast(v) for k, v in FOOTPRINT_SCHEMA.items()]) \
        .sort("start", "event_id", "h3_cell")


def known_at(fp: pl.DataFrame, as_of: datetime | None) -> pl.DataFrame:
    """Records already entered at `as_of` (a record without entry time is a published calendar)."""
    if as_of is None:
        return fp
    return fp.filter(pl.col("entered_at").is_null() | (pl.col("entered_at") <= as_of))


def active_slots(fp: pl.DataFrame, shifts: Shifts, first_slot: int, last_slot: int) -> pl.DataFrame:
    """Footprint rows × every slot in [first_slot, last_slot] during which the record is active."""
    if fp.height == 0:
        return fp.with_columns(pl.lit(None, pl.Int64).alias("slot")).clear()
    f = fp.with_columns(shifts.slot_expr(pl.col("active_from")).alias("_a"),
                        shifts.slot_expr(pl.col("active_to") - pl.duration(microseconds=1)).alias("_b"))
    f = f.filter((pl.col("_b") >= first_slot) & (pl.col("_a") <= last_slot))
    f = f.with_columns(pl.int_ranges(pl.max_horizontal("_a", pl.lit(first_slot)),
                                     pl.min_horizontal("_b", pl.lit(last_slot)) + 1).alias("slot"))
    return f.explode("slot").drop("_a", "_b").with_columns(pl.col("slot").cast(pl.Int64))


def active_days(fp: pl.DataFrame) -> pl.DataFrame:
    """Footprint rows × every day during which the record is active (from its start to its end)."""
    if fp.height == 0:
        return fp.with_columns(pl.lit(None, pl.Date).alias("day")).clear()
    return fp.with_columns(pl.date_ranges(pl.col("start").cast(pl.Date), pl.col("end").cast(pl.Date)).alias("day")) \
        .explode("day")


def collisions(fp: pl.DataFrame) -> pl.DataFrame:
    """Pairs of records active at the same time on a shared cell: one row per pair × shared cell,
    with the overlap of their active intervals."""
    if fp.height == 0:
        return pl.DataFrame(schema=PAIR_SCHEMA)
    d = fp.select("event_id", "source", "h3_cell", "active_from", "active_to").with_columns(
        pl.date_ranges(pl.col("active_from").cast(pl.Date), pl.col("active_to").cast(pl.Date)).alias("_day")
    ).explode("_day")
    a = d.rename({c: f"{c}_a" for c in ("event_id", "source", "active_from", "active_to")})
    b = d.rename({c: f"{c}_b" for c in ("event_id", "source", "active_from", "active_to")})
    j = (a.join(b, on=["h3_cell", "_day"], how="inner")
         .filter((pl.col("event_id_a") < pl.col("event_id_b"))
                 & (pl.col("active_from_a") < pl.col("active_to_b"))
                 & (pl.col("active_from_b") < pl.col("active_to_a")))
         .unique(["event_id_a", "event_id_b", "h3_cell"]))
    if j.height == 0:
        return pl.DataFrame(schema=PAIR_SCHEMA)
    return j.select(
        pl.concat_str("event_id_a", pl.lit("|"), "event_id_b").alias("pair_id"),
        pl.col("event_id_a").alias("event_a"), pl.col("event_id_b").alias("event_b"),
        pl.col("source_a"), pl.col("source_b"), "h3_cell",
        pl.max_horizontal("active_from_a", "active_from_b").alias("overlap_from"),
        pl.min_horizontal("active_to_a", "active_to_b").alias("overlap_to"),
    ).cast(PAIR_SCHEMA).sort("overlap_from", "pair_id", "h3_cell")
