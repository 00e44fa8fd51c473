"""Assembles the code location: assets, checks, jobs, sensors, resources. Nothing else lives here."""

from __future__ import annotations

import dagster as dg

from tranquillite.assets import ALL_ASSETS
from tranquillite.assets.indicators import alerts_sensor
from tranquillite.forecasting.study_area import StudyArea
from tranquillite.indicators import IndicatorSettings
from tranquillite.jobs import indicators_job, ingest_job, prevision_job, publish_job
from tranquillite.resources import LandingZone, Warehouse
from tranquillite.resources.model_store import LocalModelStore
from tranquillite.sensors import landing_sensor
from tranquillite.sensors.access_log import ACCESS_LOG, access_log_heads_sensor
from tranquillite.sensors.schedules import prevision_schedule
from tranquillite.settings import Paths, paths


def build_defs(p: Paths | None = None) -> dg.Definitions:
    """The whole platform for one home directory (`$TRANQUILLITE_HOME` by default)."""
    p = p or paths()
    return dg.Definitions(
        assets=[*ALL_ASSETS, ACCESS_LOG],
        jobs=[ingest_job, publish_job, prevision_job, indicators_job],
        schedules=[prevision_schedule()],
        sensors=[landing_sensor, alerts_sensor, access_log_heads_sensor, dg.AutomationConditionSensorDefinition(
            "automatisation_publication", target=dg.AssetSelection.groups("clean", "governance", "indicators"),
            default_status=dg.DefaultSensorStatus.RUNNING)],
        resources={
            "landing": LandingZone(root=str(p.landing)),
            "warehouse": Warehouse(root=str(p.warehouse)),
            "study_area": StudyArea(),
            "model_store": LocalModelStore(root=str(p.home / "models")),
            "indicators": IndicatorSettings(),
        },
    )


defs = build_defs()
