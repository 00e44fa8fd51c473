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
from pathlib import Path

import h3
import numpy as np
import polars as pl
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import mapping

from tranquillite import sources as S
from tranquillite.indicators import incremental as inc
from tranquillite.indicators.config import Footprints
from tranquillite.indicators.periods import Shifts

RECORD_NAMES = S.items()  # one record's French name, from its contract
DEMONSTRATIONS = S.demonstrations()  # planned sources declared `demonstration: true`
MAX_DURATION = timedelta(days=7)
FOOTPRINT_SCHEMA = {
    "event_id": pl.Utf8,
    "source": pl.Utf8,
    "subcategory": pl.Utf8,
    "convention": pl.Utf8,
    "start": pl.Datetime("us"),
    "end": pl.Datetime("us"),
    "active_from": pl.Datetime("us"),
    "active_to": pl.Datetime("us"),
    "attendance": pl.Int64,
    "entered_at": pl.Datetime("us"),
    "shape": pl.Utf8,
    "radius_m": pl.Float64,
    "n_cells": pl.Int32,
    "h3_cell": pl.Utf8,
    "conventions": pl.List(pl.Utf8),
}
PAIR_SCHEMA = {
    "pair_id": pl.Utf8,
    "event_a": pl.Utf8,
    "event_b": pl.Utf8,
    "source_a": pl.Utf8,
    "source_b": pl.Utf8,
    "h3_cell": pl.Utf8,
    "overlap_from": pl.Datetime("us"),
    "overlap_to": pl.Datetime("us"),
}


def _transformers(lon0: float, lat0: float) -> tuple[Transformer, Transformer]:
    crs = CRS.from_proj4(f"+proj=aeqd +lat_0={lat0:.6f} +lon_0={lon0:.6f} +x_0=0 +y_0=0 +ellps=WGS84 +units=m")
    return (
        Transformer.from_crs("EPSG:4326", crs, always_xy=True),
        Transformer.from_crs(crs, "EPSG:4326", always_xy=True),
    )


def _apply(geom, tr: Transformer):
    return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def _cells(poly, resolution: int) -> list[str]:
    cells = h3.h3shape_to_cells_experimental(h3.geo_to_h3shape(mapping(poly)), resolution, contain="overlap")
    if not cells:
        c = poly.centroid
        cells = [h3.latlng_to_cell(c.y, c.x, resolution)]
    return sorted(set(cells))


def _footprint(
    g,
    lon: float,
    lat: float,
    ok_ll: bool,
    source: str,
    att,
    fp: Footprints,
    resolution: int,
    fwd: Transformer,
    inv: Transformer,
) -> tuple[list[str], str | None, float | None]:
    """(cells, shape, radius) of one record."""
    if g is None or shapely.is_empty(g):
        g = shapely.Point(lon, lat) if ok_ll else None
    if g is None:
        return [], None, None
    kind = g.geom_type
    if kind in ("Polygon", "MultiPolygon"):
        poly, shape, r = g, "emprise", 0.0
    elif kind in ("LineString", "MultiLineString"):
        r = fp.route_buffer_m
        poly, shape = _apply(shapely.buffer(_apply(g, fwd), r), inv), "parcours"
    else:  # points (and anything else: its points)
        if source == "evenements_publics":
            a = att if att is not None and np.isfinite(att) else 0.0
            r = min(fp.perimeter_max_m, fp.perimeter_base_m + fp.perimeter_per_sqrt_person_m * np.sqrt(max(a, 0.0)))
            shape = "perimetre"
        else:
            r, shape = fp.point_buffer_m, "points"
        pts = shapely.multipoints(shapely.get_coordinates(g))
        poly = _apply(shapely.buffer(_apply(pts, fwd), max(r, 1.0)), inv)
    return _cells(poly, resolution), shape, float(r)


# what a record's footprint depends on (besides the parameters): its key in the memo
FOOTPRINT_INPUTS = ("geometry", "lon", "lat", "source", "attendance")
MEMO_SCHEMA = {
    "_k": pl.UInt64,
    "source": pl.Utf8,
    "convention": pl.Utf8,
    "shape": pl.Utf8,
    "radius_m": pl.Float64,
    "cells": pl.List(pl.Utf8),
}
MEMO_VERSION = 1


class FootprintMemo:
    """The footprints of the planned records kept between runs: an H3 polyfill per record costs ~0.5 ms
    (a year of Préfecture records and public events: ~1 s each run, eight years ~8 s), and a record's
    cells depend on its geometry, coordinates, source and attendance alone (and the parameters).

    Kept under `root` (`$TRANQUILLITE_HOME/cache/indicators/<name>.*`): per record, a 64-bit hash of
    those inputs (Polars' hash, stable within one version: the version is in the key), its source and
    convention (so that a convention's destruction purges its rows, which invalidates the memo: the
    next run computes every footprint) and its cells, shape and radius — no identifier, no text. Only
    the records of the latest call are kept. A missing, damaged or foreign memo (parameters,
    resolution, version), or `reuse=False` (a forced full run), computes every footprint; the result
    is the same record for record."""

    def __init__(self, root: Path, name: str = "emprises", reuse: bool = True):
        self.state = inc.State(root, name)
        self.reuse = reuse
        self.info: dict = {}
        self._held: int | None = None  # rows of the memo read by `lookup`

    def lookup(self, key: str, keys: pl.Series) -> pl.DataFrame:
        """The memo's rows of these record keys (those it holds)."""
        prev = self.state.load(key) if self.reuse else None
        self._held = None
        if prev is None or list(prev[1].schema.items()) != list(MEMO_SCHEMA.items()):
            self.info = {
                "motif": "premier calcul, cache absent ou invalide" if self.reuse else "recalcul complet demandé"
            }
            return pl.DataFrame(schema=MEMO_SCHEMA)
        self._held = prev[1].height
        return prev[1].filter(pl.col("_k").is_in(keys.implode()))

    def keep(self, key: str, known: pl.DataFrame, fresh: pl.DataFrame) -> None:
        """Keeps the records of this call: those the memo held (`known`) and those just computed.
        Nothing is written when nothing changed (no new record, none dropped)."""
        if fresh.height == 0 and self._held == known.height:
            return
        try:
            table = pl.concat([known, fresh]).unique("_k", keep="first").sort("_k")
            self.state.save(key, {"version": MEMO_VERSION}, table)
        except OSError:  # a read-only home: the next run computes again
            self.state.clear()


def _record_keys(p: pl.DataFrame) -> pl.Series:
    cols = [pl.col(c) if c in p.columns else pl.lit(None).alias(c) for c in FOOTPRINT_INPUTS]
    return p.select(pl.struct(cols).hash(seed=11).alias("_k"))["_k"]


def footprints(
    planned: pl.DataFrame, fp: Footprints, resolution: int = 9, memo: FootprintMemo | None = None
) -> pl.DataFrame:
    """One row per planned record × touched cell (columns of FOOTPRINT_SCHEMA).

    `planned`: rows shaped like `clean.events` (event_id, source, subcategory, start, end,
    geometry [GeoJSON], lon, lat, attendance, convention, entered_at). With `memo`, only the records
    it does not hold are computed (`FootprintMemo`)."""
    p = planned.filter(pl.col("start").is_not_null())
    if p.height == 0:
        return pl.DataFrame(schema=FOOTPRINT_SCHEMA)
    keys = _record_keys(p)
    lon, lat = p["lon"].to_numpy(), p["lat"].to_numpy()
    ok_ll = np.isfinite(lon) & np.isfinite(lat)
    # the projection's centre: the records' mean, rounded to 0.01° (~1 km) so that it stays put from
    # one day to the next; it is part of the memo's key (a new centre computes every footprint)
    lon0 = round(float(np.nanmean(lon)), 2) if ok_ll.any() else 5.38
    lat0 = round(float(np.nanmean(lat)), 2) if ok_ll.any() else 43.30
    memo_key = inc.config_key("emprises", MEMO_VERSION, fp, resolution, lon0, lat0)
    known = memo.lookup(memo_key, keys) if memo is not None else pl.DataFrame(schema=MEMO_SCHEMA)
    # the records the memo does not hold, one per distinct key (routes and venues recur: 8 synthetic
    # years hold 19,064 records and 8,878 distinct footprints)
    todo = (
        pl.DataFrame({"_k": keys})
        .with_row_index("_i")
        .filter(~pl.col("_k").is_in(known["_k"].implode()))
        .unique("_k", keep="first", maintain_order=True)["_i"]
        .to_numpy()
    )
    fwd, inv = _transformers(lon0, lat0)
    geoms = (
        shapely.from_geojson(p["geometry"].gather(todo).fill_null("null").to_list(), on_invalid="ignore")
        if "geometry" in p.columns
        else np.full(todo.size, None, dtype=object)
    )
    att = p["attendance"].to_numpy() if "attendance" in p.columns else np.full(p.height, np.nan)
    sources = p["source"].to_list()
    computed = [
        _footprint(g, lon[i], lat[i], ok_ll[i], sources[i], att[i], fp, resolution, fwd, inv)
        for g, i in zip(geoms, todo)
    ]
    conv = p["convention"] if "convention" in p.columns else pl.Series([None] * p.height, dtype=pl.Utf8)
    fresh = pl.DataFrame(
        {
            "_k": keys.gather(todo),
            "source": p["source"].gather(todo),
            "convention": conv.gather(todo).cast(pl.Utf8),
            "shape": [c[1] for c in computed],
            "radius_m": [c[2] for c in computed],
            "cells": [c[0] for c in computed],
        },
        schema=MEMO_SCHEMA,
    )
    table = pl.concat([known, fresh])
    if memo is not None:
        memo.keep(memo_key, known, fresh)
        memo.info = {**memo.info, "enregistrements": p.height, "emprises_calculees": int(todo.size)}
    got = pl.DataFrame({"_k": keys}).join(table.unique("_k", keep="first"), on="_k", how="left", maintain_order="left")
    shapes, radii, cells = got["shape"], got["radius_m"], got["cells"]
    margin = timedelta(hours=fp.margin_h)
    end = pl.coalesce(pl.col("end"), pl.col("start"))
    end = (
        pl.when(end < pl.col("start"))
        .then(pl.col("start"))
        .when(end - pl.col("start") > MAX_DURATION)
        .then(pl.col("start") + MAX_DURATION)
        .otherwise(end)
    )
    out = p.select(
        "event_id",
        "source",
        (pl.col("subcategory") if "subcategory" in p.columns else pl.lit(None, pl.Utf8)).alias("subcategory"),
        (pl.col("convention") if "convention" in p.columns else pl.lit(None, pl.Utf8)).alias("convention"),
        "start",
        end.alias("end"),
        (pl.col("start") - margin).alias("active_from"),
        (end + margin).alias("active_to"),
        (pl.col("attendance") if "attendance" in p.columns else pl.lit(None, pl.Int64)).alias("attendance"),
        (pl.col("entered_at") if "entered_at" in p.columns else pl.lit(None, pl.Datetime("us"))).alias("entered_at"),
    ).with_columns(shapes.alias("shape"), radii.alias("radius_m"), cells.alias("h3_cell"))
    out = out.with_columns(
        pl.col("h3_cell").list.len().cast(pl.Int32).alias("n_cells"),
        pl.concat_list(pl.col("convention")).list.drop_nulls().alias("conventions"),
    ).filter(pl.col("n_cells") > 0)
    return (
        out.explode("h3_cell")
        .select([pl.col(k).cast(v) for k, v in FOOTPRINT_SCHEMA.items()])
        .sort("start", "event_id", "h3_cell")
    )


def known_at(fp: pl.DataFrame, as_of: datetime | None) -> pl.DataFrame:
    """Records already entered at `as_of` (a record without entry time is a published calendar)."""
    if as_of is None:
        return fp
    return fp.filter(pl.col("entered_at").is_null() | (pl.col("entered_at") <= as_of))


def active_slots(fp: pl.DataFrame, shifts: Shifts, first_slot: int, last_slot: int) -> pl.DataFrame:
    """Footprint rows × every slot in [first_slot, last_slot] during which the record is active."""
    if fp.height == 0:
        return fp.with_columns(pl.lit(None, pl.Int64).alias("slot")).clear()
    f = fp.with_columns(
        shifts.slot_expr(pl.col("active_from")).alias("_a"),
        shifts.slot_expr(pl.col("active_to") - pl.duration(microseconds=1)).alias("_b"),
    )
    f = f.filter((pl.col("_b") >= first_slot) & (pl.col("_a") <= last_slot))
    f = f.with_columns(
        pl.int_ranges(
            pl.max_horizontal("_a", pl.lit(first_slot)), pl.min_horizontal("_b", pl.lit(last_slot)) + 1
        ).alias("slot")
    )
    return f.explode("slot").drop("_a", "_b").with_columns(pl.col("slot").cast(pl.Int64))


def active_days(fp: pl.DataFrame) -> pl.DataFrame:
    """Footprint rows × every day during which the record is active (from its start to its end)."""
    if fp.height == 0:
        return fp.with_columns(pl.lit(None, pl.Date).alias("day")).clear()
    return fp.with_columns(
        pl.date_ranges(pl.col("start").cast(pl.Date), pl.col("end").cast(pl.Date)).alias("day")
    ).explode("day")


def collisions(fp: pl.DataFrame) -> pl.DataFrame:
    """Pairs of records active at the same time on a shared cell: one row per pair × shared cell,
    with the overlap of their active intervals."""
    if fp.height == 0:
        return pl.DataFrame(schema=PAIR_SCHEMA)
    d = (
        fp.select("event_id", "source", "h3_cell", "active_from", "active_to")
        .with_columns(
            pl.date_ranges(pl.col("active_from").cast(pl.Date), pl.col("active_to").cast(pl.Date)).alias("_day")
        )
        .explode("_day")
    )
    a = d.rename({c: f"{c}_a" for c in ("event_id", "source", "active_from", "active_to")})
    b = d.rename({c: f"{c}_b" for c in ("event_id", "source", "active_from", "active_to")})
    j = (
        a.join(b, on=["h3_cell", "_day"], how="inner")
        .filter(
            (pl.col("event_id_a") < pl.col("event_id_b"))
            & (pl.col("active_from_a") < pl.col("active_to_b"))
            & (pl.col("active_from_b") < pl.col("active_to_a"))
        )
        .unique(["event_id_a", "event_id_b", "h3_cell"])
    )
    if j.height == 0:
        return pl.DataFrame(schema=PAIR_SCHEMA)
    return (
        j.select(
            pl.concat_str("event_id_a", pl.lit("|"), "event_id_b").alias("pair_id"),
            pl.col("event_id_a").alias("event_a"),
            pl.col("event_id_b").alias("event_b"),
            pl.col("source_a"),
            pl.col("source_b"),
            "h3_cell",
            pl.max_horizontal("active_from_a", "active_from_b").alias("overlap_from"),
            pl.min_horizontal("active_to_a", "active_to_b").alias("overlap_to"),
        )
        .cast(PAIR_SCHEMA)
        .sort("overlap_from", "pair_id", "h3_cell")
    )
