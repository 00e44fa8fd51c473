"""Configurable Dagster resources: the landing zone and the warehouse.

Import the module you need (`tranquillite.resources.landing`, `tranquillite.resources.warehouse`);
the names below load on first use (PEP 562), so that the landing sensor does not pay for DuckDB.
"""

__all__ = ["LandingZone", "Warehouse"]


def __getattr__(name: str):
    if name == "LandingZone":
        from tranquillite.resources.landing import LandingZone

        return LandingZone
    if name == "Warehouse":
        from tranquillite.resources.warehouse import Warehouse

        return Warehouse
    raise AttributeError(f"module 'tranquillite.resources' has no attribute {name!r}")
