"""Named places of the synthetic calendar, resolved on the offline gazetteer.

A place is a real street (name + arrondissement) of `geo.streets()`: its address is built with
`geo.format_address` so that it always geocodes, and its point is either a monument of
`geo.places()` or the street's representative point.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl

from tranquillite import geo


@dataclass(frozen=True)
class Place:
    label: str  # what the data call it ("Orange Vélodrome", "Préfecture des Bouches-du-Rhône")
    street: str
    insee: str
    lon: float
    lat: float

    @property
    def address(self) -> str:
        return geo.format_address(self.street, self.insee)


@lru_cache(maxsize=1)
def _streets() -> dict[tuple[str, str], tuple[str, float, float]]:
    s = geo.streets()
    return {
        (geo.normalize_name(n), i): (n, lo, la)
        for n, i, lo, la in zip(s["name"], s["arrondissement_insee"], s["lon"], s["lat"])
    }


@lru_cache(maxsize=1)
def _monuments() -> dict[str, tuple[float, float]]:
    p = geo.places()
    return {n: (lo, la) for n, lo, la in zip(p["name"], p["lon"], p["lat"])}


def street(name: str, insee: str) -> tuple[str, float, float]:
    """(display name, lon, lat) of a street of the gazetteer; KeyError if it does not exist or
    if its address would not geocode back to it."""
    key = (geo.normalize_name(name), insee)
    if key not in _streets():
        raise KeyError(f"street not in the gazetteer: {name!r} ({insee})")
    if key not in _geocodable_keys():
        raise KeyError(f"street address does not geocode: {name!r} ({insee})")
    return _streets()[key]


@lru_cache(maxsize=1)
def _geocodable_keys() -> frozenset[tuple[str, str]]:
    s = geocodable_streets()
    return frozenset((geo.normalize_name(n), i) for n, i in zip(s["name"], s["arrondissement_insee"]))


def place(
    label: str, street_name: str, insee: str, monument: str | None = None, lonlat: tuple[float, float] | None = None
) -> Place:
    """A place at a monument's point (or an explicit point, or the street's point)."""
    name, lon, lat = street(street_name, insee)
    if monument is not None:
        lon, lat = _monuments()[monument]
    if lonlat is not None:
        lon, lat = lonlat
    return Place(label, name, insee, float(lon), float(lat))


@lru_cache(maxsize=1)
def street_points_by_key() -> dict[tuple[str, str], np.ndarray]:
    """All gazetteer points of each (normalised street name, arrondissement): array (n, 2) lon/lat."""
    sp = geo.street_points().select("normalized_name", "arrondissement_insee", "lon", "lat")
    sp = sp.filter(pl.Series(geo.marseille().contains(sp["lon"].to_numpy(), sp["lat"].to_numpy())))
    out: dict[tuple[str, str], np.ndarray] = {}
    for (nn, insee), g in sp.group_by(["normalized_name", "arrondissement_insee"], maintain_order=True):
        out[(nn, insee)] = g.select("lon", "lat").to_numpy()
    return out


@lru_cache(maxsize=1)
def geocodable_streets() -> pl.DataFrame:
    """Streets of the gazetteer whose formatted address geocodes back to the same street and
    arrondissement (a few names, e.g. starting with a number, do not)."""
    s = geo.streets()
    addr = pl.Series([geo.format_address(n, i) for n, i in zip(s["name"], s["arrondissement_insee"])])
    g = geo.geocode(addr)
    ok = (g["precision"] == "voie+arrondissement").fill_null(False) & (
        g["insee"] == s["arrondissement_insee"]
    ).fill_null(False)
    return s.filter(ok)


def quartier_streets(quartier_names: list[str], kinds=("voie",)) -> pl.DataFrame:
    """Geocodable streets (one row per street and arrondissement) lying in the named quartiers."""
    s = geocodable_streets().filter(pl.col("quartier").is_in(quartier_names) & pl.col("kind").is_in(list(kinds)))
    return s.sort(["quartier", "name", "arrondissement_insee"])
