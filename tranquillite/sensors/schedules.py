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

from tranquillite.jobs import (PREVISION_JOB, RANGE_END_TAG, RANGE_START_TAG, TRAINING_JOB, prevision_job, purge_job,
                               training_job)
from tranquillite.settings import settings
from tranquillite.timezones import PARIS_NAME

PREVISION_SCHEDULE = "prevision_quotidienne"
TIMEZONE = PARIS_NAME


def prevision_schedule() -> dg.ScheduleDefinition:
    on = settings().prevision_auto

    @dg.schedule(job=prevision_job, name=PREVISION_SCHEDULE, cron_schedule="30 5 * * *",
                 execution_timezone=TIMEZONE,
                 default_status=dg.DefaultScheduleStatus.RUNNING if on else dg.DefaultScheduleStatus.STOPPED,
                 description=("Prévision du jour avant la relève de 06 h: caractéristiques des deux derniers "
                              "jours de service, prévision des 7 jours par le champion en service (sans "
                              "backtest ni entraînement)."))
    def prevision_quotidienne(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        today = context.scheduled_execution_time.astimezone(ZoneInfo(TIMEZONE)).date()
        first, last = (today - timedelta(days=2)).isoformat(), (today - timedelta(days=1)).isoformat()
        return dg.RunRequest(run_key=f"{PREVISION_JOB}:{today.isoformat()}",
                             tags={RANGE_START_TAG: first, RANGE_END_TAG: last})

    return prevision_quotidienne


TRAINING_SCHEDULE = "entrainement_hebdomadaire"


def training_schedule() -> dg.ScheduleDefinition:
    on = settings().prevision_auto

    @dg.schedule(job=training_job, name=TRAINING_SCHEDULE, cron_schedule="30 3 * * 1",
                 execution_timezone=TIMEZONE,
                 default_status=dg.DefaultScheduleStatus.RUNNING if on else dg.DefaultScheduleStatus.STOPPED,
                 description=("Entraînement du lundi: caractéristiques de la semaine écoulée, backtest, champion, "
                              "champion réentraîné et mis en service pour les prévisions quotidiennes."))
    def entrainement_hebdomadaire(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        today = context.scheduled_execution_time.astimezone(ZoneInfo(TIMEZONE)).date()
        first, last = (today - timedelta(days=7)).isoformat(), (today - timedelta(days=1)).isoformat()
        return dg.RunRequest(run_key=f"{TRAINING_JOB}:{today.isoformat()}",
                             tags={RANGE_START_TAG: first, RANGE_END_TAG: last})

    return entrainement_hebdomadaire


PURGE_SCHEDULE = "purge_quarantaine_quotidienne"


def purge_schedule() -> dg.ScheduleDefinition:
    """Every day at 03:15: the retention of quarantined personal data is an obligation, on by default."""
    return dg.ScheduleDefinition(
        name=PURGE_SCHEDULE, job=purge_job, cron_schedule="15 3 * * *", execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=("Purge quotidienne de la quarantaine: données personnelles conservées au-delà de la durée "
                     "fixée par le DPO (C2)."))
