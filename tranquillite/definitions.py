"""Assembles the code location: assets, checks, jobs, sensors, resources. Nothing else lives here."""

from __future__ import annotations

import dagster as dg

from tranquillite.assets import ALL_ASSETS
from tranquillite.assets.conventions import with_conventions
from tranquillite.assets.convention_lifecycle import CONVENTION_ASSETS, extraction_job, nature_checks
from tranquillite.assets.destruction import destruction_job
from tranquillite.sensors.alert_mail import SmtpResource, alert_mail_sensor
from tranquillite.sensors.alerts import alerts_sensor
from tranquillite.forecasting.study_area import StudyArea
from tranquillite.indicators import IndicatorSettings
from tranquillite.jobs import indicators_job, ingest_job, prevision_job, publish_job, purge_job, training_job
from tranquillite.resources import LandingZone, Warehouse
from tranquillite.resources.model_store import LocalModelStore
from tranquillite.sensors.landing import landing_sensor
from tranquillite.sensors.access_log import ACCESS_LOG, access_log_heads_sensor
from tranquillite.sensors.conventions import CONVENTION_JOBS, CONVENTION_SCHEDULES, CONVENTION_SENSORS
from tranquillite.sensors.schedules import prevision_schedule, purge_schedule, training_schedule
from tranquillite.filemodes import private_home
from tranquillite.settings import Paths, paths


def build_defs(p: Paths | None = None) -> dg.Definitions:
    """The whole platform for one home directory (`$TRANQUILLITE_HOME` by default).

    Every asset's conventions are derived through the asset graph here, once; an asset whose
    hand-typed convention tags disagree stops the code location from loading (`ConventionError`)."""
    p = p or paths()
    return dg.Definitions(
        assets=with_conventions([*ALL_ASSETS, *CONVENTION_ASSETS, ACCESS_LOG]),
        asset_checks=nature_checks(),
        jobs=[
            ingest_job,
            publish_job,
            training_job,
            prevision_job,
            indicators_job,
            purge_job,
            destruction_job,
            extraction_job,
            *CONVENTION_JOBS,
        ],
        schedules=[prevision_schedule(), training_schedule(), purge_schedule(), *CONVENTION_SCHEDULES],
        sensors=[
            landing_sensor,
            alerts_sensor,
            alert_mail_sensor,
            access_log_heads_sensor,
            dg.AutomationConditionSensorDefinition(
                "automatisation_publication",
                target=dg.AssetSelection.groups("clean", "governance", "indicators"),
                default_status=dg.DefaultSensorStatus.RUNNING,
            ),
            *CONVENTION_SENSORS,
        ],
        resources={
            "landing": LandingZone(root=str(p.landing)),
            "warehouse": Warehouse(root=str(p.warehouse)),
            "study_area": StudyArea.from_settings(home_paths=p),  # TRANQUILLITE_AREA and the others
            "model_store": LocalModelStore(root=str(p.home / "models")),
            "indicators": IndicatorSettings(),
            "smtp": SmtpResource.from_settings(),  # TRANQUILLITE_SMTP_* (empty host: no e-mail)
        },
    )


private_home()  # the code location (webserver, daemon, run workers): umask 077, home 0700
defs = build_defs()
