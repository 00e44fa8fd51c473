"""The study grid: H3 cells covering the study area's outline, each with its zone and land area.

Cells are those of `h3` that overlap the outline (not only those whose centre is inside), minus
the cells wholly at sea (or outside the area): a coastal cell keeps only its land part, whose area
is computed in a Lambert azimuthal equal-area projection centred on the area (exact areas for any
city, no national CRS needed). A cell's zone (arrondissement) is the zone covering most of it.
"""

from __future__ import annotations

import h3
import numpy as np
import polars as pl
import shapely
from pyproj import CRS, Transformer

from tranquillite import geo

GRID_SCHEMA = {
    "h3_cell": pl.Utf8,
    "cell_idx": pl.Int32,
    "zone": pl.Utf8,
    "area_m2": pl.Float64,
    "land_share": pl.Float64,
    "lon": pl.Float64,
    "lat": pl.Float64,
}
MIN_LAND_M2 = 1.0


def equal_area_transformer(outline: shapely.Geometry) -> Transformer:
    """WGS84 → metres in a Lambert azimuthal equal-area projection centred on the outline."""
    c = outline.centroid
    crs = CRS.from_proj4(f"+proj=laea +lat_0={c.y:.6f} +lon_0={c.x:.6f} +x_0=0 +y_0=0 +ellps=WGS84 +units=m")
    return Transformer.from_crs("EPSG:4326", crs, always_xy=True)


def to_metric(geom, tr: Transformer):
    return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def cell_polygons(cells: list[str]) -> np.ndarray:
    return np.array([shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in cells], dtype=object)


def build_grid(area: geo.Area, resolution: int = 9, min_land_m2: float = MIN_LAND_M2) -> pl.DataFrame:
    """One row per cell: h3_cell, cell_idx (0..n-1 in cell order), zone, area_m2 (land part),
    land_share (land part / whole cell), lon, lat (cell centre)."""
    shape = h3.geo_to_h3shape(shapely.geometry.mapping(area.outline))
    cells = sorted(set(h3.h3shape_to_cells_experimental(shape, resolution, contain="overlap")))
    if not cells:
        return pl.DataFrame(schema=GRID_SCHEMA)
    tr = equal_area_transformer(area.outline)
    polys = to_metric(cell_polygons(cells), tr)
    outline = to_metric(area.outline, tr)
    shapely.prepare(outline)
    inside = shapely.contains(outline, polys)
    land = polys.copy()
    land[~inside] = shapely.intersection(polys[~inside], outline)  # only the boundary cells
    land_area = shapely.area(land)
    keep = land_area >= min_land_m2
    cells = [c for c, k in zip(cells, keep) if k]
    polys, land, land_area = polys[keep], land[keep], land_area[keep]
    # zone: the one covering most of the cell's land part
    zones = to_metric(area.zone_geoms, tr)
    for z in zones:
        shapely.prepare(z)
    tree = shapely.STRtree(zones)
    ci, zi = tree.query(land, predicate="intersects")
    within = shapely.contains(zones[zi], land[ci])
    inter = shapely.area(land[ci])
    inter[~within] = shapely.area(shapely.intersection(land[ci][~within], zones[zi][~within]))
    best = np.full(len(cells), -1)
    best_area = np.zeros(len(cells))
    for c, z, a in zip(ci, zi, inter):  # pairs: a few per cell
        if a > best_area[c]:
            best[c], best_area[c] = z, a
    zone = np.where(best >= 0, area.zone_codes[np.maximum(best, 0)], None)
    latlng = np.array([h3.cell_to_latlng(c) for c in cells])
    return pl.DataFrame(
        {
            "h3_cell": cells,
            "cell_idx": np.arange(len(cells), dtype=np.int32),
            "zone": [None if z is None else str(z) for z in zone],
            "area_m2": land_area,
            "land_share": land_area / shapely.area(polys),
            "lon": latlng[:, 1],
            "lat": latlng[:, 0],
        },
        schema=GRID_SCHEMA,
    )


def disk_pairs(cells: list[str], k: int, include_self: bool = False) -> pl.DataFrame:
    """Pairs (cell_idx, nbr_idx, dist) of grid cells at grid distance 1..k (0..k with include_self)."""
    index = {c: i for i, c in enumerate(cells)}
    a, b, d = [], [], []
    for i, c in enumerate(cells):
        for dist in range(0 if include_self else 1, k + 1):
            for n in h3.grid_ring(c, dist) if dist else [c]:
                j = index.get(n)
                if j is not None:
                    a.append(i)
                    b.append(j)
                    d.append(dist)
    return pl.DataFrame(
        {"cell_idx": a, "nbr_idx": b, "dist": d}, schema={"cell_idx": pl.Int32, "nbr_idx": pl.Int32, "dist": pl.Int32}
    )


def centroid_metric(grid: pl.DataFrame, area: geo.Area) -> np.ndarray:
    """Cell centres in the equal-area projection (n x 2 metres)."""
    tr = equal_area_transformer(area.outline)
    x, y = tr.transform(grid["lon"].to_numpy(), grid["lat"].to_numpy())
    return np.column_stack([x, y])


def locate(df: pl.DataFrame, grid: pl.DataFrame, resolution: int) -> pl.DataFrame:
    """Attach `cell_idx` to rows with lon/lat (or an `h3_cell` at the grid's resolution); rows
    outside the grid get a null cell_idx."""
    if "lon" in df.columns and "lat" in df.columns:
        df = geo.h3_cells(df, resolution=resolution, out="_cell")
        if "h3_cell" in df.columns:
            df = df.with_columns(pl.coalesce("_cell", _at_resolution(pl.col("h3_cell"), resolution)).alias("_cell"))
    else:
        df = df.with_columns(_at_resolution(pl.col("h3_cell"), resolution).alias("_cell"))
    return df.join(grid.select(pl.col("h3_cell").alias("_cell"), "cell_idx"), on="_cell", how="left").drop("_cell")


def _at_resolution(cell: pl.Expr, resolution: int) -> pl.Expr:
    import polars_h3 as plh3

    return (
        pl.when(plh3.get_resolution(cell) == resolution)
        .then(cell)
        .when(plh3.get_resolution(cell) > resolution)
        .then(plh3.cell_to_parent(cell, resolution))
        .otherwise(None)
    )
