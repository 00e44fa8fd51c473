"""Spatial support of the synthetic incidents: Marseille's street points, weights, cameras.

Every incident happens at a real street point of the OSM gazetteer (`geo.street_points()`), so
that its address (`geo.format_address(street, arrondissement)`) always geocodes. Points are
projected to Lambert-93 (EPSG:2154) for metric distances.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl
from pyproj import Transformer
from scipy.spatial import cKDTree

from tranquillite import geo
from tranquillite.synthetic import config as C

#: street-like names of kind "autre" in the gazetteer that are real streets (the rest are bus stops)
_WHITELIST_AUTRE = {"la canebiere"}

_TO_L93 = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
_FROM_L93 = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)


def to_metric(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 → Lambert-93 metres (vectorised)."""
    x, y = _TO_L93.transform(np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64"))
    return np.asarray(x), np.asarray(y)


def to_wgs84(x, y) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = _FROM_L93.transform(np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64"))
    return np.asarray(lon), np.asarray(lat)


@dataclass(frozen=True)
class Space:
    """The usable street points (sorted, stable order) with everything the generator needs."""

    lon: np.ndarray
    lat: np.ndarray
    x: np.ndarray
    y: np.ndarray
    street: np.ndarray  # display name of the street
    insee: np.ndarray  # "132NN"
    quartier: np.ndarray  # quartier code "132NNQQ"
    address: np.ndarray  # "Rue de Rome, 13001 Marseille"
    cell: np.ndarray  # int index into `cells`
    cells: np.ndarray  # H3 res-9 cell ids (str), sorted
    base: np.ndarray  # population-density weight (sums to 1)
    tree: cKDTree

    @property
    def n(self) -> int:
        return self.lon.shape[0]

    def kernel(self, spots: list[tuple[str, float, float, float, float]]) -> np.ndarray:
        """Sum of Gaussian bumps (amplitude × exp(-d²/2σ²)) at every point."""
        out = np.zeros(self.n)
        for _, lon, lat, sigma, amp in spots:
            x0, y0 = to_metric([lon], [lat])
            d2 = (self.x - x0[0]) ** 2 + (self.y - y0[0]) ** 2
            out += amp * np.exp(-d2 / (2.0 * sigma * sigma))
        return out

    def near(self, lon: float, lat: float, radius_m: float) -> np.ndarray:
        """Indices of the points within `radius_m` of a location (sorted)."""
        x0, y0 = to_metric([lon], [lat])
        return np.array(sorted(self.tree.query_ball_point([x0[0], y0[0]], r=radius_m)), dtype=np.int64)


@lru_cache(maxsize=1)
def space() -> Space:
    """Street points inside the commune whose address geocodes to their own street and arrondissement."""
    sp = geo.street_points()
    kinds = geo.streets().select("normalized_name", "arrondissement_insee", "kind")
    sp = sp.join(kinds, on=["normalized_name", "arrondissement_insee"], how="left")
    sp = sp.filter(
        pl.col("kind").is_in(["voie", "ensemble"]) | pl.col("normalized_name").is_in(sorted(_WHITELIST_AUTRE))
    )
    area = geo.marseille()
    sp = sp.filter(pl.Series(area.contains(sp["lon"].to_numpy(), sp["lat"].to_numpy())))
    # same string as geo.format_address(name, insee), vectorised
    sp = sp.with_columns(
        pl.concat_str(
            [pl.col("name"), pl.lit(", 130"), pl.col("arrondissement_insee").str.slice(-2), pl.lit(" Marseille")]
        ).alias("address")
    )
    gc = geo.geocode(sp["address"])
    ok = (gc["precision"] == "voie+arrondissement").fill_null(False) & (
        gc["insee"] == sp["arrondissement_insee"]
    ).fill_null(False)
    sp = sp.filter(ok)
    sp = sp.unique(subset=["name", "arrondissement_insee", "lon", "lat"], keep="first")
    sp = geo.h3_cells(sp).sort(["h3_cell", "lon", "lat", "name"])
    cells = np.array(sorted(sp["h3_cell"].unique().to_list()), dtype=object)
    cell_idx = np.searchsorted(cells, sp["h3_cell"].to_numpy())
    lon, lat = sp["lon"].to_numpy(), sp["lat"].to_numpy()
    x, y = to_metric(lon, lat)
    # population share of the arrondissement spread over its points
    arr = geo.arrondissements().select(pl.col("insee_arm").cast(pl.Utf8), "population")
    pop = dict(zip(arr["insee_arm"].to_list(), arr["population"].to_list()))
    insee = sp["arrondissement_insee"].to_numpy().astype(object)
    counts = {k: int(v) for k, v in zip(*np.unique(insee.astype(str), return_counts=True))}
    base = np.array([pop[i] / counts[i] for i in insee], dtype="float64")
    base /= base.sum()
    return Space(
        lon=lon,
        lat=lat,
        x=x,
        y=y,
        street=sp["name"].to_numpy().astype(object),
        insee=insee,
        quartier=sp["quartier_code"].to_numpy().astype(object),
        address=sp["address"].to_numpy().astype(object),
        cell=cell_idx.astype(np.int64),
        cells=cells,
        base=base,
        tree=cKDTree(np.column_stack([x, y])),
    )


def category_weights(sp: Space, mix: dict[str, float]) -> np.ndarray:
    """Static weight of a category at each point: population density × hotspot mixture (sums to 1)."""
    kern = np.full(sp.n, mix.get("base", 1.0))
    for group, a in mix.items():
        if group != "base":
            kern = kern + C.HOTSPOT_STRENGTH * a * _group_kernel(group)
    w = sp.base * kern
    return w / w.sum()


@lru_cache(maxsize=8)
def _group_kernel(group: str) -> np.ndarray:
    k = space().kernel(C.HOTSPOTS[group])
    k.setflags(write=False)
    return k


def beach_weights(sp: Space) -> np.ndarray:
    """Where the summer beach crowds are (not population-weighted)."""
    k = _group_kernel("plages").copy()
    k[k < 1e-3] = 0.0
    return k / k.sum()


@dataclass(frozen=True)
class Cameras:
    """The CSU cameras: each one sits on a street point."""

    ids: np.ndarray  # "CAM-0001"...
    point: np.ndarray  # index into Space


@lru_cache(maxsize=1)
def cameras() -> Cameras:
    """~1,600 cameras, denser in arrondissements 1-7 and at strategic points; fixed layout."""
    sp = space()
    rng = np.random.default_rng(C.CAMERA_LAYOUT_SEED)
    arr_num = np.array([int(i[-2:]) for i in sp.insee])
    centre = arr_num <= 7
    strategic = sp.kernel(C.CAMERA_STRATEGIC)
    score = sp.base * (0.3 + 4.0 * strategic) + 1e-12
    n_centre = int(round(C.N_CAMERAS * C.CAMERA_ARR_SHARE_CENTRE))
    chosen = []
    # centre: weighted by density and strategic points
    idx_c = np.flatnonzero(centre)
    p = score[idx_c] * (1.0 + 2.5 * _group_kernel("centre_jour")[idx_c])
    chosen.append(rng.choice(idx_c, size=n_centre, replace=False, p=p / p.sum()))
    # elsewhere: every arrondissement, proportional to population, then density + strategic points
    rest = C.N_CAMERAS - n_centre
    arr_codes = sorted({i for i in sp.insee if int(i[-2:]) > 7})
    pops = {r["insee_arm"]: r["population"] for r in geo.arrondissements().iter_rows(named=True)}
    tot = sum(pops[a] for a in arr_codes)
    quotas = {a: int(round(rest * pops[a] / tot)) for a in arr_codes}
    quotas[arr_codes[-1]] += rest - sum(quotas.values())
    for a in arr_codes:
        idx = np.flatnonzero(sp.insee == a)
        p = score[idx] * (1.0 + 4.0 * _group_kernel("nord")[idx])
        chosen.append(rng.choice(idx, size=min(quotas[a], idx.size), replace=False, p=p / p.sum()))
    pts = np.concatenate(chosen)
    order = np.lexsort((sp.lat[pts], sp.lon[pts], arr_num[pts]))
    pts = pts[order]
    ids = np.array([f"CAM-{i + 1:04d}" for i in range(pts.size)], dtype=object)
    return Cameras(ids=ids, point=pts)


def neighbours(candidates: np.ndarray, radius_m: float = C.NEIGHBOUR_RADIUS_M) -> tuple[np.ndarray, np.ndarray]:
    """CSR neighbour lists among `candidates` (point indices): for candidate i, the candidate
    positions within `radius_m` (itself included) are `indices[indptr[i]:indptr[i+1]]`."""
    sp = space()
    xy = np.column_stack([sp.x[candidates], sp.y[candidates]])
    tree = cKDTree(xy)
    lists = tree.query_ball_point(xy, r=radius_m)
    lens = np.fromiter((len(v) for v in lists), dtype=np.int64, count=len(lists))
    indptr = np.concatenate([[0], np.cumsum(lens)])
    indices = np.fromiter((j for v in lists for j in sorted(v)), dtype=np.int64, count=int(indptr[-1]))
    return indptr, indices


def jitter(
    sp: Space, points: np.ndarray, rng: np.random.Generator, sigma_m: float = 6.0
) -> tuple[np.ndarray, np.ndarray]:
    """Street point + a few metres of noise, kept only if it stays inside the commune and in the
    point's own H3 cell (so that the truth per cell stays exact)."""
    dx = rng.normal(0.0, sigma_m, points.size)
    dy = rng.normal(0.0, sigma_m, points.size)
    lon, lat = to_wgs84(sp.x[points] + dx, sp.y[points] + dy)
    lon, lat = np.round(lon, 6), np.round(lat, 6)
    ok = geo.marseille().contains(lon, lat)
    cells = geo.h3_cells(pl.DataFrame({"lon": lon, "lat": lat}))["h3_cell"].to_numpy()
    ok &= cells == sp.cells[sp.cell[points]]
    lon = np.where(ok, lon, np.round(sp.lon[points], 6))
    lat = np.where(ok, lat, np.round(sp.lat[points], 6))
    return lon, lat
