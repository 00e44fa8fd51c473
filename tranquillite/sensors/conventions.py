"""Reminders and end of the conventions as Dagster triggers (#12).

* `rappels_conventions_quotidiens` — every day at 07:00 (Europe/Paris), the alerts table is
  recomputed: a term end or the maximum duration approaching, a notice running, the destruction
  deadline at D-5, D-1 and overdue, contractors' due dates (the app shows them to the
  gestionnaire and the DPO).
* `capteur_conventions` — every 5 minutes: when the reminders change (a notice recorded in the
  app, a hand-over registered, a contract changed), the alerts are recomputed at once; when a
  convention has just ENDED, the forecasts are recomputed without its data (publication,
  features, models and indicators over the features' range, with its planned sources left out).
* `destruction_a_echeance` — OFF by default (the operator switches it on, or
  `TRANQUILLITE_DESTRUCTION_AUTO=1`): on the day before the
  destruction deadline of an ended convention whose destruction has been ordered and not done,
  launches the destruction job.
The decisions are pure functions (`evaluate`), tested without a daemon.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta

import dagster as dg

from tranquillite.assets import constants as K
from tranquillite.assets.convention_lifecycle import ALERTS_KEY
from tranquillite.assets.destruction import DESTRUCTION_JOB, destruction_job
from tranquillite.settings import settings
from tranquillite.timezones import PARIS_NAME
from tranquillite.indicators.incremental import FULL_TAG
from tranquillite.jobs import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    indicators_selection,
    prevision_selection,
    publish_selection,
    training_selection,
)

ALERTS_JOB = "rappels_conventions"
RECOMPUTE_JOB = "recalcul_sans_convention"

alerts_job = dg.define_asset_job(
    ALERTS_JOB,
    selection=dg.AssetSelection.assets(ALERTS_KEY),
    description="Recalcule les rappels et alertes des conventions.",
)
recompute_job = dg.define_asset_job(
    RECOMPUTE_JOB,
    selection=publish_selection | training_selection | prevision_selection | indicators_selection,
    tags={FULL_TAG: "oui"},  # every indicator table whole (indicators.incremental)
    description=(
        "Après la fin d'une convention: publication, caractéristiques, backtest, modèles réentraînés, "
        "prévisions et indicateurs recalculés sans ses données (ses sources prévues sont écartées)."
    ),
)


def _digest(rows: list[dict]) -> str:
    keep = [(r["kind"], r["level"], r["convention_id"], r["subject"], str(r["due_on"])) for r in rows]
    return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:16]


def evaluate(
    cursor: dict, reminders: list[dict], ended: set[str], feature_days: list[str], today: date
) -> tuple[list[dg.RunRequest], dict]:
    """Pure decision of the conventions sensor: (run requests, new cursor)."""
    requests = []
    digest = _digest(reminders)
    if digest != cursor.get("digest"):
        requests.append(dg.RunRequest(run_key=f"{ALERTS_JOB}:{today.isoformat()}:{digest}", job_name=ALERTS_JOB))
    newly = sorted(ended - set(cursor.get("ended", [])))
    if newly and feature_days:
        requests.append(
            dg.RunRequest(
                run_key=f"{RECOMPUTE_JOB}:{'+'.join(newly)}",
                job_name=RECOMPUTE_JOB,
                tags={
                    RANGE_START_TAG: feature_days[0],
                    RANGE_END_TAG: feature_days[-1],
                    "tranquillite/conventions_terminees": ",".join(newly),
                },
            )
        )
    return requests, {"digest": digest, "ended": sorted(ended | set(cursor.get("ended", [])))}


def due_destructions(lifecycles: dict, registry_rows: dict[str, dict], today: date) -> list[str]:
    """Ended, ordered, not destroyed, deadline tomorrow or past: to destroy now."""
    out = []
    for code, lc in lifecycles.items():
        row = registry_rows.get(code) or {}
        if (
            lc.ended(today)
            and not row.get("destroyed_on")
            and row.get("destruction_ordered_by")
            and lc.destruction_deadline - timedelta(days=1) <= today
        ):
            out.append(code)
    return sorted(out)


@dg.sensor(
    name="capteur_conventions",
    jobs=[alerts_job, recompute_job],
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Rappels des conventions recalculés dès qu'ils changent; prévisions recalculées sans les "
        "données d'une convention qui vient de prendre fin."
    ),
)
def conventions_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    from tranquillite.app_core import store
    from tranquillite.conventions import reminders, usage
    from tranquillite.resources.warehouse import Warehouse
    from tranquillite.settings import paths

    today = date.today()
    with store.connect() as con:
        rows = reminders.all_reminders(con, today)
        ended = usage.ended_conventions(con, today)
    days = Warehouse(root=str(paths().warehouse)).partitions(K.FEATURES, "observed_counts")
    cursor = json.loads(context.cursor) if context.cursor else {}
    requests, new_cursor = evaluate(cursor, rows, ended, days, today)
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps(new_cursor),
        skip_reason=None if requests else "aucun changement des rappels",
    )


@dg.sensor(
    name="destruction_a_echeance",
    job=destruction_job,
    minimum_interval_seconds=3600,
    default_status=dg.DefaultSensorStatus.RUNNING if settings().destruction_auto else dg.DefaultSensorStatus.STOPPED,
    description=(
        "Lance la destruction ordonnée d'une convention terminée la veille de l'échéance des 15 jours "
        "(à activer par l'exploitant)."
    ),
)
def destruction_due_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    from tranquillite.app_core import store
    from tranquillite.conventions import registry

    today = date.today()
    with store.connect() as con:
        codes = due_destructions(registry.lifecycles(con), {r["convention"]: r for r in registry.rows(con)}, today)
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"{DESTRUCTION_JOB}:{c}",
                run_config={
                    "ops": {
                        "detruire_convention": {"config": {"convention": c, "executee_par": "destruction_a_echeance"}}
                    }
                },
            )
            for c in codes
        ]
    )


@dg.schedule(
    job=alerts_job,
    name="rappels_conventions_quotidiens",
    cron_schedule="0 7 * * *",
    execution_timezone=PARIS_NAME,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Chaque matin, les rappels et alertes des conventions.",
)
def conventions_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=f"{ALERTS_JOB}:{context.scheduled_execution_time.date().isoformat()}")


CONVENTION_JOBS = [alerts_job, recompute_job]
CONVENTION_SENSORS = [conventions_sensor, destruction_due_sensor]
CONVENTION_SCHEDULES = [conventions_schedule]
