"""Places in words: quartiers and arrondissements by name, never by code.

Reference data only (`tranquillite.geo`: IGN ADMIN EXPRESS arrondissements, the 111 quartiers of
IGN IRIS-GE), nothing read from the warehouse: an H3 cell gets the quartier its centre lies in.
"""

from __future__ import annotations

from functools import lru_cache

import h3
import numpy as np

from tranquillite import geo
from tranquillite.app_core.carte import arrondissement_names


@lru_cache(maxsize=1)
def quartier_names() -> dict[str, str]:
    """« 1320101 » → « Belsunce »."""
    q = geo.quartiers()
    return dict(zip(q.zone_codes.tolist(), q.zone_names.tolist()))


@lru_cache(maxsize=4096)
def _cell_quartier(cell: str) -> str | None:
    lat, lng = h3.cell_to_latlng(cell)
    return geo.quartiers().zone_of(np.array([lng]), np.array([lat]))[0]


def cell_quartiers(cells) -> dict[str, str | None]:
    """The quartier code of each H3 cell (its centre's; None outside every quartier)."""
    out = {}
    for c in cells:
        try:
            out[c] = _cell_quartier(c)
        except (ValueError, TypeError, h3.H3BaseException):  # not an H3 cell
            out[c] = None
    return out


def quartier_name(code: str | None) -> str:
    """The quartier's name; an unknown code as it is (another city's zones)."""
    if not code:
        return ""
    return quartier_names().get(code, code)


def arrondissement_name(code: str | None) -> str:
    if not code:
        return ""
    return arrondissement_names().get(code, code)


def place(quartier: str | None = None, arrondissement: str | None = None) -> str:
    """« Belsunce (1er arrondissement) », « 1er arrondissement », « Belsunce »: the quartier's own
    arrondissement first (its code starts with it), else the one given."""
    q = quartier_name(quartier)
    arr = quartier[:5] if quartier and quartier in quartier_names() else arrondissement
    a = arrondissement_name(arr)
    if q and a:
        return f"{q} ({a})"
    return q or a
