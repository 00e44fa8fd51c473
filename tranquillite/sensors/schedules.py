"""Time-based triggers: the daily forecast, before the morning shift.

`prevision_quotidienne` runs the `prevision` job every day at 05:30 (Europe/Paris) over the two
service days that just ended (the night shift of the last one is still running, and late
records of the day before arrive overnight: both partitions are recomputed, in one run), then
the backtest, the champion and the next 7 days' forecast from the latest fact — so the 06:00
shift starts with a fresh map. It is off by default (a demo home gets no new data every day);
the operators switch it on in the Dagster UI, or with `TRANQUILLITE_PREVISION_AUTO=1` in the
deployment's environment.
"""

from __future__ import annotations


from datetime import timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from tranquillite.jobs import PREVISION_JOB, RANGE_END_TAG, RANGE_START_TAG, prevision_job, purge_job
from tranquillite.settings import settings

PREVISION_SCHEDULE = "prevision_quotidienne"
TIMEZONE = "Europe/Paris"


def prevision_schedule() -> dg.ScheduleDefinition:
    on = settings().prevision_auto

    @dg.schedule(job=prevision_job, name=PREVISION_SCHEDULE, cron_schedule="30 5 * * *",
                 execution_timezone=TIMEZONE,
                 default_status=dg.DefaultScheduleStatus.RUNNING if on else dg.DefaultScheduleStatus.STOPPED,
                 description=("Prévision du jour avant la relève de 06 h: caractéristiques des deux derniers "
                              "jours de service, backtest, champion, prévision des 7 jours."))
    def prevision_quotidienne(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        today = context.scheduled_execution_time.astimezone(ZoneInfo(TIMEZONE)).date()
        first, last = (today - timedelta(days=2)).isoformat(), (today - timedelta(days=1)).isoformat()
        return dg.RunRequest(run_key=f"{PREVISION_JOB}:{today.isoformat()}",
                             tags={RANGE_START_TAG: first, RANGE_END_TAG: last})

    return prevision_quotidienne


PURGE_SCHEDULE = "purge_quarantaine_quotidienne"


def purge_schedule() -> dg.ScheduleDefinition:
    """Every day at 03:15: the retention of quarantined personal data is an obligation, on by default."""
    return dg.ScheduleDefinition(
        name=PURGE_SCHEDULE, job=purge_job, cron_schedule="15 3 * * *", execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=("Purge quotidienne de la quarantaine: données personnelles conservées au-delà de la durée "
                     "fixée par le DPO (C2)."))
