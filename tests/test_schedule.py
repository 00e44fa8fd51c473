"""The daily forecast schedule: 05:30 Paris time, the two service days that just ended (one run),
off unless switched on; the weekly training: Mondays 03:30, the week that ended. (tests/forecast/
test_materialize.py runs the daily request for real.)"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from tranquillite import runner
from tranquillite.definitions import build_defs
from tranquillite.jobs import PREVISION_JOB, TRAINING_JOB
from tranquillite.sensors.schedules import PREVISION_SCHEDULE, TRAINING_SCHEDULE, prevision_schedule, training_schedule


def test_the_daily_forecast_targets_the_day_that_ended(home):
    sched = build_defs().resolve_schedule_def(PREVISION_SCHEDULE)
    assert sched.job_name == PREVISION_JOB
    assert sched.cron_schedule == "30 5 * * *" and sched.execution_timezone == "Europe/Paris"
    assert sched.default_status == dg.DefaultScheduleStatus.STOPPED
    when = datetime(2026, 3, 10, 5, 30, tzinfo=ZoneInfo("Europe/Paris"))
    with dg.build_schedule_context(scheduled_execution_time=when) as ctx:
        (req,) = sched.evaluate_tick(ctx).run_requests
    assert req.tags[runner.RANGE_START_TAG] == "2026-03-08" and req.tags[runner.RANGE_END_TAG] == "2026-03-09"
    assert req.run_key == "prevision:2026-03-10"


def test_the_weekly_training_targets_the_week_that_ended(home):
    sched = build_defs().resolve_schedule_def(TRAINING_SCHEDULE)
    assert sched.job_name == TRAINING_JOB
    assert sched.cron_schedule == "30 3 * * 1" and sched.execution_timezone == "Europe/Paris"
    assert sched.default_status == dg.DefaultScheduleStatus.STOPPED
    when = datetime(2026, 3, 9, 3, 30, tzinfo=ZoneInfo("Europe/Paris"))  # a Monday
    with dg.build_schedule_context(scheduled_execution_time=when) as ctx:
        (req,) = sched.evaluate_tick(ctx).run_requests
    assert req.tags[runner.RANGE_START_TAG] == "2026-03-02" and req.tags[runner.RANGE_END_TAG] == "2026-03-08"
    assert req.run_key == "entrainement_hebdomadaire:2026-03-09"


def test_operators_switch_it_on_from_the_environment(monkeypatch):
    monkeypatch.setenv("TRANQUILLITE_PREVISION_AUTO", "1")
    assert prevision_schedule().default_status == dg.DefaultScheduleStatus.RUNNING
    assert training_schedule().default_status == dg.DefaultScheduleStatus.RUNNING
