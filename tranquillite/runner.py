"""Run the graph through the persistent Dagster instance, as the CLI and `make demo` do.

A date range is one run of the ingestion job (single-run backfill: the range's partitions are
processed at once), followed by one run of the publication job, one run of the forecasting job
(`prevision`: features of the same range in a single run, backtest, champion, forecast) and one
run of the indicators job (which republishes the catalog). Every run, its materialisations and
check results are recorded in `$TRANQUILLITE_HOME/dagster`, so that `make ui` shows them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date

import dagster as dg
import sqlalchemy
from sqlalchemy import event

from tranquillite.jobs import (INDICATORS_JOB, INGEST_JOB, PREVISION_JOB, PUBLISH_JOB, RANGE_END_TAG,  # noqa: F401
                               RANGE_START_TAG)
from tranquillite.settings import paths

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


_FAST_SQLITE: set[str] = set()


def _fast_local_sqlite(home: str) -> None:
    """Skip fsync on the local instance's SQLite files during CLI runs.

    A year's backfill records ~8,000 partition materialisations; Dagster's SQLite event log opens
    a connection and fsyncs for each, which made `make demo` three times slower than the work
    itself. Only the run history is concerned (the data are atomic Parquet files); a production
    deployment uses dagster-postgres instead of the local SQLite instance.
    """
    if home in _FAST_SQLITE:
        return
    _FAST_SQLITE.add(home)

    @event.listens_for(sqlalchemy.engine.Engine, "connect")
    def _pragma(dbapi_con, _record):  # noqa: ANN001 - SQLAlchemy callback
        if type(dbapi_con).__module__.startswith("sqlite3"):
            path = dbapi_con.execute("PRAGMA database_list").fetchall()[0][2]
            if path.startswith(home):
                dbapi_con.execute("PRAGMA synchronous=OFF")


def instance() -> dg.DagsterInstance:
    """The persistent instance in `$TRANQUILLITE_HOME/dagster` (created if needed)."""
    home = paths().dagster_home
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    cfg = home / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text("telemetry:\n  enabled: false\n"
                       "concurrency:\n  pools:\n    default_limit: 1\n", encoding="utf-8")
    _fast_local_sqlite(str(home))
    return dg.DagsterInstance.get()


@dataclass
class RunOutcome:
    job: str
    run_id: str
    success: bool
    failed_checks: list[str]


def _outcome(job: str, result) -> RunOutcome:
    failed = []
    for ev in result.all_events:
        if ev.event_type_value == "ASSET_CHECK_EVALUATION":
            data = ev.event_specific_data
            if not data.passed:
                failed.append(f"{data.asset_key.to_user_string()}:{data.check_name}")
    return RunOutcome(job, result.run_id, result.success, failed)


def _run(defs: dg.Definitions, name: str, inst: dg.DagsterInstance, tags: dict | None = None,
         run_config: dict | None = None) -> RunOutcome:
    res = defs.resolve_job_def(name).execute_in_process(instance=inst, tags=tags or {}, raise_on_error=False,
                                                        run_config={**QUIET, **(run_config or {})})
    return _outcome(name, res)


def forecast_run_config(settings: dict) -> dict:
    """Run configuration of the `prevision` job giving both models assets the same settings
    (`ForecastSettings` fields: n_origins, train_weeks, lgbm_rounds, workers…)."""
    return {"ops": {op: {"config": dict(settings)} for op in ("backtest", "forecast")}}


def materialize(defs: dg.Definitions, start: date | None, end: date | None,
                instance_: dg.DagsterInstance | None = None, publish: bool = True,
                forecast: bool = True, forecast_settings: dict | None = None) -> list[RunOutcome]:
    """Ingest [start, end] (when given), publish, forecast, compute the indicators.

    A failed run stops the chain: later jobs would read stale or missing inputs. The forecasting
    features are computed for the same range (one run); without a range (publication only), the
    forecast is not refreshed."""
    inst = instance_ or instance()
    tags = {RANGE_START_TAG: start.isoformat(), RANGE_END_TAG: end.isoformat()} if start and end else None
    plan = ([(INGEST_JOB, tags, None)] if tags else []) + ([(PUBLISH_JOB, None, None)] if publish else [])
    if publish and forecast and tags:
        plan.append((PREVISION_JOB, tags, forecast_run_config(forecast_settings or {})))
    if publish:
        plan.append((INDICATORS_JOB, None, None))
    outcomes: list[RunOutcome] = []
    for name, t, cfg in plan:
        outcomes.append(_run(defs, name, inst, t, cfg))
        if not outcomes[-1].success:
            break
    return outcomes
