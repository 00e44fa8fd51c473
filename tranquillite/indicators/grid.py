"""The analysis grid (H3 cells with their arrondissement and quartier) and its neighbourhoods.

The grid is `features.study_grid` when it is published (every land cell of the study area),
otherwise the cells of `clean.events` plus their k-ring (the cells a Gi* neighbourhood can
reach), keeping the ring cells that fall in the area. Zones come from the cell centre.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl
import polars_h3 as plh3
import scipy.sparse as sps

from tranquillite import geo
from tranquillite.indicators import incremental as inc
from tranquillite.settings import GEO_DIR

GRID_SCHEMA = {
    "h3_cell": pl.Utf8,
    "cell_idx": pl.Int32,
    "arrondissement": pl.Utf8,
    "quartier": pl.Utf8,
    "lon": pl.Float64,
    "lat": pl.Float64,
}


@lru_cache(maxsize=1)
def quartiers() -> geo.Area:
    """Marseille's 111 quartiers (INSEE code `code_qua`, e.g. 1320101 Belsunce)."""
    return geo.area_from_file(GEO_DIR / "marseille_quartiers.geojson", "code_qua", "nom", name="quartiers")


def zones_of(
    lon: np.ndarray, lat: np.ndarray, area: geo.Area | None = None, with_quartier: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(arrondissement, quartier) codes of points; None outside (beyond ~300 m of any zone)."""
    area = area or geo.marseille()
    arr = area.zone_of(lon, lat)
    qua = (
        quartiers().zone_of(lon, lat)
        if with_quartier and area.name == "Marseille"
        else np.full(len(arr), None, dtype=object)
    )
    return arr, qua


# the files `zones_of` reads for the default area (Marseille): a change relocates every point
ZONE_FILES = ("marseille_arrondissements.geojson", "marseille_commune.geojson", "marseille_quartiers.geojson")
ZONES_VERSION = 1


@lru_cache(maxsize=1)
def geography_key() -> str:
    """A key of the default area's geography (the bytes of its files)."""
    h = hashlib.sha256()
    for name in ZONE_FILES:
        h.update(name.encode())
        h.update((GEO_DIR / name).read_bytes())
    return inc.config_key("zones", ZONES_VERSION, h.hexdigest())


class ZoneCache:
    """`zones_of` for the default area, remembering the points located by the last run.

    A point's zones depend on its coordinates and the geography alone, so the located points
    (lon, lat → arrondissement, quartier) are kept under `root` (`$TRANQUILLITE_HOME/cache/
    indicators/<name>.*`) and only the points not seen by the last run are located (the facts of
    the new day). The kept frame holds the points of the latest call only (a purged fact's point
    is gone after the next run), coordinates and zone codes, no identifier. A missing, damaged
    (row count or digest) or foreign (geography, version) cache, or `reuse=False` (a forced full
    run), locates every point; the result is `zones_of`'s, point for point."""

    SCHEMA = {"lon": pl.Float64, "lat": pl.Float64, "_arr": pl.Utf8, "_qua": pl.Utf8}

    def __init__(self, root: Path, name: str = "zones", reuse: bool = True):
        self.state = inc.State(root, name)
        self.reuse = reuse
        self.info: dict = {}

    def _known(self, key: str) -> pl.DataFrame | None:
        prev = self.state.load(key) if self.reuse else None
        if prev is None:
            return None
        doc, frame = prev
        if list(frame.schema.items()) != list(self.SCHEMA.items()) or inc.frame_digest(frame) != doc.get("digest"):
            return None
        return frame

    def zones_of(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(arrondissement, quartier) codes of points, as `zones_of(lon, lat)`."""
        key = geography_key()
        pts = pl.DataFrame(
            {"lon": np.asarray(lon, dtype="float64"), "lat": np.asarray(lat, dtype="float64")}, nan_to_null=True
        )
        distinct = pts.unique(maintain_order=True)
        known = self._known(key)
        if known is None:
            hit, miss = pl.DataFrame(schema=self.SCHEMA), distinct
            why = "premier calcul, cache absent ou invalide" if self.reuse else "recalcul complet demandé"
        else:
            hit = known.join(distinct, on=["lon", "lat"], how="semi", nulls_equal=True)
            miss = distinct.join(known, on=["lon", "lat"], how="anti", nulls_equal=True)
            why = None
        arr, qua = zones_of(miss["lon"].to_numpy(), miss["lat"].to_numpy()) if miss.height else ([], [])
        located = miss.with_columns(
            pl.Series("_arr", _as_str(arr), dtype=pl.Utf8), pl.Series("_qua", _as_str(qua), dtype=pl.Utf8)
        )
        table = pl.concat([hit, located]).select(list(self.SCHEMA))
        try:
            self.state.save(key, {"digest": inc.frame_digest(table)}, table)
        except OSError:  # a read-only home: the next run locates again
            self.state.clear()
        self.info = {"points": distinct.height, "localises": miss.height, **({"motif": why} if why else {})}
        out = pts.join(table, on=["lon", "lat"], how="left", nulls_equal=True, maintain_order="left")
        return out["_arr"].to_numpy(), out["_qua"].to_numpy()


def _as_str(a: np.ndarray) -> list[str | None]:
    return [None if v is None else str(v) for v in a]


def build_grid(
    cells: list[str] | pl.Series,
    *,
    study_grid: pl.DataFrame | None = None,
    k: int = 2,
    area: geo.Area | None = None,
    zones: ZoneCache | None = None,
) -> pl.DataFrame:
    """One row per cell, sorted, `cell_idx` = 0..n-1: h3_cell, cell_idx, arrondissement, quartier,
    lon, lat.

    With `study_grid` (columns `h3_cell` or `cell`, and optionally `zone` or `arrondissement`)
    its cells are the grid. Otherwise: `cells` (the event cells) and their grid_disk(k), ring
    cells outside the area dropped.
    """
    if study_grid is not None and study_grid.height:
        cell_col = "h3_cell" if "h3_cell" in study_grid.columns else "cell"
        zone_col = next((c for c in ("arrondissement", "zone") if c in study_grid.columns), None)
        g = study_grid.select(
            pl.col(cell_col).cast(pl.Utf8).alias("h3_cell"),
            (pl.col(zone_col).cast(pl.Utf8) if zone_col else pl.lit(None, pl.Utf8)).alias("_zone"),
        ).unique("h3_cell")
        base = set(g["h3_cell"].to_list())
        ring: set[str] = set()
    else:
        base = {c for c in pl.Series(cells, dtype=pl.Utf8).drop_nulls().unique().to_list()}
        g = None
        ring = set()
        if base and k > 0:
            disk = pl.DataFrame({"c": sorted(base)}).select(plh3.grid_disk("c", k).alias("d")).explode("d")
            ring = set(disk["d"].to_list()) - base
    all_cells = sorted(base | ring)
    if not all_cells:
        return pl.DataFrame(schema=GRID_SCHEMA)
    df = pl.DataFrame({"h3_cell": all_cells}).with_columns(
        plh3.cell_to_lat("h3_cell").alias("lat"), plh3.cell_to_lng("h3_cell").alias("lon")
    )
    arr, qua = (
        zones.zones_of(df["lon"].to_numpy(), df["lat"].to_numpy())
        if zones is not None and area is None
        else zones_of(df["lon"].to_numpy(), df["lat"].to_numpy(), area)
    )
    df = df.with_columns(
        pl.Series("arrondissement", _as_str(arr), dtype=pl.Utf8), pl.Series("quartier", _as_str(qua), dtype=pl.Utf8)
    )
    if g is not None:  # the study grid's own zone wins
        df = (
            df.join(g, on="h3_cell", how="left")
            .with_columns(pl.coalesce("_zone", "arrondissement").alias("arrondissement"))
            .drop("_zone")
        )
    elif ring:
        df = df.filter(pl.col("h3_cell").is_in(list(base)) | pl.col("arrondissement").is_not_null())
    return df.with_columns(pl.int_range(pl.len(), dtype=pl.Int32).alias("cell_idx")).select(list(GRID_SCHEMA))


def disk_weights(cells: list[str] | pl.Series, k: int) -> sps.csr_matrix:
    """Binary weights: w_ij = 1 when j is in grid_disk(i, k) (i itself included), over `cells`."""
    cells = pl.Series("h3_cell", cells, dtype=pl.Utf8)
    n = cells.len()
    idx = pl.DataFrame({"h3_cell": cells, "i": np.arange(n, dtype=np.int64)})
    pairs = (
        idx.with_columns(plh3.grid_disk("h3_cell", k).alias("nb"))
        .explode("nb")
        .with_columns(pl.col("nb").cast(pl.Utf8))  # an empty grid gives a null-typed column
        .join(idx.rename({"h3_cell": "nb", "i": "j"}), on="nb", how="inner")
    )
    return sps.csr_matrix((np.ones(pairs.height), (pairs["i"].to_numpy(), pairs["j"].to_numpy())), shape=(n, n))


def locate(df: pl.DataFrame, grid: pl.DataFrame, cell_col: str = "h3_cell") -> pl.DataFrame:
    """Attach `cell_idx` (null outside the grid). Cells finer than the grid's resolution are
    brought to it."""
    if grid.height == 0:
        return df.with_columns(pl.lit(None, dtype=pl.Int32).alias("cell_idx"))
    res = int(pl.select(plh3.get_resolution(pl.lit(grid["h3_cell"][0]))).item())
    c = pl.col(cell_col)
    cell = (
        pl.when(plh3.get_resolution(c) == res)
        .then(c)
        .when(plh3.get_resolution(c) > res)
        .then(plh3.cell_to_parent(c, res))
        .otherwise(None)
    )
    return (
        df.with_columns(cell.alias("_cell"))
        .join(grid.select(pl.col("h3_cell").alias("_cell"), "cell_idx"), on="_cell", how="left")
        .drop("_cell")
    )
