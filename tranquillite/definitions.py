"""Assembles the code location: assets, checks, jobs, sensor, resources. Nothing else lives here."""

from __future__ import annotations

import dagster as dg

from tranquillite.assets import ALL_ASSETS
from tranquillite.jobs import ingest_job, publish_job
from tranquillite.resources import LandingZone, Warehouse
from tranquillite.sensors import landing_sensor
from tranquillite.settings import paths


def resources() -> dict:
    p = paths()
    return {
        "landing": LandingZone(root=str(p.landing)),
        "warehouse": Warehouse(root=str(p.warehouse)),
    }


defs = dg.Definitions(
    assets=ALL_ASSETS,
    jobs=[ingest_job, publish_job],
    sensors=[landing_sensor, dg.AutomationConditionSensorDefinition(
        "automatisation_publication", target=dg.AssetSelection.groups("clean", "governance"),
        default_status=dg.DefaultSensorStatus.RUNNING)],
    resources=resources(),
)
