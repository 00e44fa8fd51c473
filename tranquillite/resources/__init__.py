"""Configurable Dagster resources: the landing zone and the warehouse."""

from tranquillite.resources.landing import LandingZone
from tranquillite.resources.warehouse import Warehouse

__all__ = ["LandingZone", "Warehouse"]
