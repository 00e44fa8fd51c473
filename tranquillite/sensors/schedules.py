"""Time-based triggers: the daily forecast before the morning shift, the weekly training.

`prevision_quotidienne` runs the `prevision` job every day at 05:30 (Europe/Paris) over the two
service days that just ended (the night shift of the last one is still running, and late
records of the day before arrive overnight: both partitions are recomputed, in one run), then
the next 7 days' forecast from the latest fact by the champion in service and its stored models
— so the 06:00 shift starts with a fresh map in seconds. `entrainement_hebdomadaire` runs the
training job every Monday at 03:30 over the week that ended: backtest, champion, the champion
retrained and put in service. Both are off by default (a demo home gets no new data every day);
the operators switch them on in the Dagster UI, or with `TRANQUILLITE_PREVISION_AUTO=1` in the
deployment's environment.
"""

from __future__ import annotations


from datetime import timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from tranquillite.jobs import RANGE_END_TAG, RANGE_START_TAG, prevision_job, purge_job, training_job
from tranquillite.settings import settings
from tranquillite.timezones import PARIS_NAME

PREVISION_SCHEDULE = "prevision_quotidienne"
TIMEZONE = PARIS_NAME


def _range_schedule(job: dg.JobDefinition, name: str, cron: str, days: int, description: str) -> dg.ScheduleDefinition:
    """A schedule of `job` over the `days` service days that ended before its tick (range tags, one
    run per tick: the run key is the day), on when `TRANQUILLITE_PREVISION_AUTO` says so."""
    on = settings().prevision_auto

    @dg.schedule(
        job=job,
        name=name,
        cron_schedule=cron,
        execution_timezone=TIMEZONE,
        description=description,
        default_status=dg.DefaultScheduleStatus.RUNNING if on else dg.DefaultScheduleStatus.STOPPED,
    )
    def _tick(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        today = context.scheduled_execution_time.astimezone(ZoneInfo(TIMEZONE)).date()
        first, last = (today - timedelta(days=days)).isoformat(), (today - timedelta(days=1)).isoformat()
        return dg.RunRequest(
            run_key=f"{job.name}:{today.isoformat()}", tags={RANGE_START_TAG: first, RANGE_END_TAG: last}
        )

    return _tick


def prevision_schedule() -> dg.ScheduleDefinition:
    return _range_schedule(
        prevision_job,
        PREVISION_SCHEDULE,
        "30 5 * * *",
        2,
        "Prévision du jour avant la relève de 06 h: caractéristiques des deux derniers jours de service, "
        "prévision des 7 jours par le champion en service (sans backtest ni entraînement).",
    )


TRAINING_SCHEDULE = "entrainement_hebdomadaire"


def training_schedule() -> dg.ScheduleDefinition:
    return _range_schedule(
        training_job,
        TRAINING_SCHEDULE,
        "30 3 * * 1",
        7,
        "Entraînement du lundi: caractéristiques de la semaine écoulée, backtest, champion, champion réentraîné "
        "et mis en service pour les prévisions quotidiennes.",
    )


PURGE_SCHEDULE = "purge_quarantaine_quotidienne"


def purge_schedule() -> dg.ScheduleDefinition:
    """Every day at 03:15: the retention of quarantined personal data is an obligation, on by default."""
    return dg.ScheduleDefinition(
        name=PURGE_SCHEDULE,
        job=purge_job,
        cron_schedule="15 3 * * *",
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=(
            "Purge quotidienne de la quarantaine: données personnelles conservées au-delà de la durée "
            "fixée par le DPO (C2)."
        ),
    )
