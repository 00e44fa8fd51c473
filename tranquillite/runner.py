"""Run the graph through the persistent Dagster instance, as the CLI and `make demo` do.

A date range is one run of the ingestion job (single-run backfill: the range's partitions are
processed at once), followed by one run of the publication job, one run of the training job when
no model is in service yet (`entrainement_hebdomadaire`: features of the same range in a single
run, or for a range longer than its window the counts of the range then the rest over the window
(`training_runs`), backtest, champion, the champion trained and stored; its weekly schedule does it afterwards),
one run of the daily forecasting job (`prevision`: the features of the new days, the forecast by
the models in service — nothing retrained) and one run of the indicators job (which republishes
the catalog). Every run, its materialisations and
check results are recorded in `$TRANQUILLITE_HOME/dagster`, so that `make ui` shows them.

The instance's configuration is the committed template `tranquillite/dagster_instance.yaml`
(telemetry off, one writer at a time in the `warehouse_writer` pool, run monitoring for the
daemon). Before a chain, runs left in progress by a process that died are failed and their slots
freed (`run_guard.sweep`); each run is watched (`run_guard.RunWatch`): it waits at most
`TRANQUILLITE_POOL_WAIT_SECONDS` for a slot held by a live run, and stops on SIGTERM.
A job whose required job failed is not run (`jobs.REQUIRES`); the others are.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import sqlalchemy
import yaml
from dagster._core.utils import make_new_run_id
from sqlalchemy import event

from tranquillite import backfills
from tranquillite.assets import constants as K
from tranquillite.jobs import (
    INDICATORS_JOB,
    INGEST_JOB,
    PREVISION_JOB,
    PUBLISH_JOB,
    RANGE_END_TAG,  # noqa: F401
    RANGE_START_TAG,
    REQUIRES,
    TRAINING_JOB,
)
from tranquillite.run_guard import (
    HOST_TAG,  # noqa: F401
    PID_TAG,  # noqa: F401
    PROCESS_TAG,  # noqa: F401
    PoolWaitExpired,
    RunWatch,  # noqa: F401
    SweptRun,
    free_after_run,
    process_tags,
    sweep,
)
from tranquillite.settings import SettingsError, paths, settings

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
INSTANCE_TEMPLATE = Path(__file__).with_name("dagster_instance.yaml")
PRODUCTION_INSTANCE = Path(__file__).resolve().parents[1] / "deploy" / "dagster.yaml"
TEMPLATE_MARKER = "# tranquillite: modèle d'instance Dagster"
# what earlier versions wrote: replaced by the template
LEGACY_CONFIG = "telemetry:\n  enabled: false\nconcurrency:\n  pools:\n    default_limit: 1\n"


_FAST_SQLITE: set[str] = set()
PG_POOL_RECYCLE_SECONDS = 3600  # a kept PostgreSQL connection is renewed after an hour
PG_POOL_OVERFLOW = 4  # connections beyond the kept one, closed when returned
PLANNED_SUBSET_ENV = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"  # Dagster's switch
EVENT_BATCH_ENV, EVENT_BATCH_SIZE = "DAGSTER_EVENT_BATCH_SIZE", "1000"  # Dagster's switch and its batch


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


def install_instance_config(dagster_home: Path) -> Path:
    """`dagster.yaml` of the instance from the committed template. A file that does not start with
    the template's first line is the administrator's and is left as it is."""
    cfg = dagster_home / "dagster.yaml"
    template = INSTANCE_TEMPLATE.read_text(encoding="utf-8")
    current = cfg.read_text(encoding="utf-8") if cfg.exists() else None
    if current is None or current == LEGACY_CONFIG or (current.startswith(TEMPLATE_MARKER) and current != template):
        fd, tmp = tempfile.mkstemp(dir=dagster_home, prefix=".dagster-", suffix=".yaml")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(template)
        os.replace(tmp, cfg)
    return cfg


class InstanceMisconfigured(SettingsError):
    """Production without its committed PostgreSQL instance (`deploy/dagster.yaml`)."""


def check_production_instance(dagster_home: Path) -> Path:
    """In production, the instance's `dagster.yaml` is the administrator's copy of the committed
    `deploy/dagster.yaml`: never written here, and it must keep Dagster's history in PostgreSQL."""
    cfg = dagster_home / "dagster.yaml"
    if settings().dagster_pg_url is None:
        raise InstanceMisconfigured(
            "TRANQUILLITE_ENV=production: TRANQUILLITE_DAGSTER_PG_URL (l'URL de la base "
            "PostgreSQL de Dagster) est obligatoire — voir docs/deploiement.md"
        )
    if not cfg.exists():
        raise InstanceMisconfigured(
            f"TRANQUILLITE_ENV=production: {cfg} manque — copier {PRODUCTION_INSTANCE.name} "
            "du dossier deploy/ (docs/deploiement.md)"
        )
    config = yaml.safe_load(cfg.read_text(encoding="utf-8")) or {}
    if "postgres" not in (config.get("storage") or {}):
        raise InstanceMisconfigured(
            f"TRANQUILLITE_ENV=production: {cfg} ne range pas l'historique dans PostgreSQL "
            "(section storage: postgres: attendue, voir deploy/dagster.yaml)"
        )
    return cfg


def instance() -> dg.DagsterInstance:
    """The persistent instance in `$TRANQUILLITE_HOME/dagster` (created if needed): SQLite from the
    embedded template in development, PostgreSQL from `deploy/dagster.yaml` in production."""
    home = paths().dagster_home
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    # a range run plans one event per asset (its partition range), not one per asset × day: 8
    # years of days were 60,000 planned events and minutes before the first step (#13)
    os.environ.setdefault(PLANNED_SUBSET_ENV, "1")
    # and hands the event log an output's materialisations over the range's days as batches, each
    # written in one transaction (dagster_storage; dagster-postgres: one INSERT), not one per day
    os.environ.setdefault(EVENT_BATCH_ENV, EVENT_BATCH_SIZE)
    s = settings()
    if s.is_production:
        check_production_instance(home)
        # Dagster reads the URL from the environment (`postgres_url: env:`): the validated one
        os.environ["TRANQUILLITE_DAGSTER_PG_URL"] = s.dagster_pg_url.get_secret_value()
        inst = dg.DagsterInstance.get()
        # dagster-postgres opens a new connection for every statement unless asked to keep one (as
        # its webserver does): a range run records a materialisation per asset and day, ~40 ms
        # each without the kept connection. No statement timeout (0): a run's writes are small.
        inst.optimize_for_webserver(
            statement_timeout=0, pool_recycle=PG_POOL_RECYCLE_SECONDS, max_overflow=PG_POOL_OVERFLOW
        )
        return inst
    install_instance_config(home)
    _fast_local_sqlite(str(home))
    return dg.DagsterInstance.get()


@dataclass
class RunOutcome:
    job: str
    run_id: str
    success: bool
    failed_checks: list[str]
    reason: str = ""  # why it failed or was not run (French)
    skipped: bool = False  # not run: a job it needs failed
    interrupted: bool = False  # stopped by SIGTERM/SIGINT
    scope: str = ""  # which part of the job, when it ran in parts (French; `training_runs`)
    swept: list[SweptRun] = field(default_factory=list)  # dead runs found while it waited


def _errors(err):
    while err is not None:
        yield err
        err = err.cause


def _failure_reason(result) -> tuple[str, bool]:
    """(French summary of the failed steps, whether an interruption stopped the run)."""
    reasons, interrupted = [], False
    for ev in result.all_events:
        if ev.event_type_value not in ("STEP_FAILURE", "RUN_FAILURE"):
            continue
        chain = list(_errors(getattr(ev.event_specific_data, "error", None)))
        interrupted |= any(e.cls_name == "DagsterExecutionInterruptedError" for e in chain)
        if ev.event_type_value == "STEP_FAILURE" and chain:
            inner = chain[-1]
            if inner.cls_name == "DagsterExecutionInterruptedError":
                reasons.append(f"étape {ev.step_key}: interrompue par un signal d'arrêt (SIGTERM ou Ctrl-C)")
                continue
            text = (inner.message or "").strip().splitlines()
            msg = text[0] if text else inner.cls_name or "erreur"
            if inner.cls_name and msg.startswith(f"{inner.cls_name}: "):
                msg = msg[len(inner.cls_name) + 2 :]
            if msg.startswith("dagster._core.definitions.events.Failure: "):
                msg = msg.split(": ", 1)[1]
            reasons.append(f"étape {ev.step_key}: {msg}")
    return "; ".join(dict.fromkeys(reasons)), interrupted


def _outcome(job: str, result) -> RunOutcome:
    failed = []
    for ev in result.all_events:
        if ev.event_type_value == "ASSET_CHECK_EVALUATION":
            data = ev.event_specific_data
            if not data.passed:
                failed.append(f"{data.asset_key.to_user_string()}:{data.check_name}")
    reason, interrupted = ("", False) if result.success else _failure_reason(result)
    return RunOutcome(job, result.run_id, result.success, failed, reason=reason, interrupted=interrupted)


def idle_sources() -> list[str]:
    """Sources with no landing file and nothing ingested (no raw table): a city's unused sources
    (Marseille's five sources elsewhere, `incidents` in Marseille). Their assets are left out of
    the ingestion run: neither planned nor executed."""
    from tranquillite import landing
    from tranquillite.assets import constants as K

    p = paths()
    return [s for s in K.SOURCES if not landing.source_files(p.landing, s) and not (p.warehouse / K.RAW / s).exists()]


def ingest_selection(job: dg.JobDefinition) -> list[dg.AssetKey] | None:
    """The ingestion job's assets without those of the idle sources (None: all of them)."""
    from tranquillite.jobs import source_selection

    idle = {k for s in idle_sources() for k in source_selection(s)}
    keys = set(job.asset_layer.executable_asset_keys)
    if not idle & keys:
        return None
    return sorted(keys - idle, key=lambda k: k.to_user_string())


def _run(
    defs: dg.Definitions,
    name: str,
    inst: dg.DagsterInstance,
    tags: dict | None = None,
    run_config: dict | None = None,
    wait_seconds: float | None = None,
    selection: list[dg.AssetKey] | None = None,
    scope: str = "",
) -> RunOutcome:
    run_id = make_new_run_id()
    job = defs.resolve_job_def(name)
    if selection is None and name == INGEST_JOB:
        selection = ingest_selection(job)
    # a range of partitions: a backfill in the UI (its record is written once the run ended)
    backfill = backfills.new_backfill_id() if tags and RANGE_START_TAG in tags else None
    if backfill:
        tags = {**tags, backfills.BACKFILL_TAG: backfill}
    started = time.time()
    wait = settings().pool_wait_seconds if wait_seconds is None else wait_seconds
    result, stopped = None, None
    with RunWatch(inst, run_id, wait) as watch:
        try:
            try:
                result = job.execute_in_process(
                    instance=inst,
                    run_id=run_id,
                    raise_on_error=False,
                    asset_selection=selection,
                    tags={**process_tags(), **(tags or {})},
                    run_config={**QUIET, **(run_config or {})},
                )
            finally:
                watch.finish()
        except (PoolWaitExpired, dg.DagsterExecutionInterruptedError, KeyboardInterrupt) as exc:
            stopped = exc  # raised outside Dagster's own handling: the run is closed below
    interrupted = watch.interrupted or isinstance(stopped, (dg.DagsterExecutionInterruptedError, KeyboardInterrupt))
    free_after_run(
        inst,
        run_id,
        watch.reason
        or ("Exécution interrompue (signal d'arrêt)." if interrupted else "Exécution arrêtée avant sa fin."),
    )

    def _record(success: bool) -> None:
        if backfill:
            assets = selection or sorted(job.asset_layer.executable_asset_keys, key=lambda k: k.to_user_string())
            backfills.record_range_backfill(
                inst,
                defs,
                backfill,
                name,
                assets,
                date.fromisoformat(tags[RANGE_START_TAG]),
                date.fromisoformat(tags[RANGE_END_TAG]),
                run_id,
                success,
                started,
            )

    if result is None:
        _record(False)
        return RunOutcome(
            name,
            run_id,
            False,
            [],
            reason=watch.reason or "interrompu",
            interrupted=interrupted,
            swept=watch.swept,
            scope=scope,
        )
    out = _outcome(name, result)
    out.interrupted |= interrupted
    out.scope = scope
    _record(out.success)
    out.swept = watch.swept
    if watch.reason:
        out.reason = watch.reason
    return out


FORECAST_OPS = {TRAINING_JOB: ("backtest", "model_registry"), PREVISION_JOB: ("forecast",)}


def forecast_run_config(settings: dict, job: str | None = None) -> dict:
    """Run configuration giving the models assets of a job (training: the backtest and the models
    in service; `prevision`: the forecast; None: all three) the same settings (`ForecastSettings`
    fields: n_origins, train_weeks, lgbm_rounds, workers…)."""
    ops = FORECAST_OPS[job] if job else tuple(op for v in FORECAST_OPS.values() for op in v)
    return {"ops": {op: {"config": dict(settings)} for op in ops}}


# the training's first part over a long range: the grid and the counts of every day
HISTORY_KEYS = (K.STUDY_GRID_KEY, K.OBSERVED_COUNTS_KEY)
# the models count their window back from the latest fact: the range's last days may hold none
WINDOW_MARGIN_DAYS = 7


@dataclass(frozen=True)
class TrainingRun:
    """One run of the training job: its range, its assets (None: the whole job), what it is (French)."""

    start: date
    end: date
    selection: list[dg.AssetKey] | None = None
    scope: str = ""
    window_days: int = 0  # the second part of a long range: planned again after the first (`window_run`)

    def tags(self) -> dict:
        return {RANGE_START_TAG: self.start.isoformat(), RANGE_END_TAG: self.end.isoformat()}


def latest_fact_day(defs: dg.Definitions) -> date | None:
    """The day of the latest fact in the observed counts — what the models count their feature
    states back from (`assets.models.load_data`); None before any count."""
    import polars as pl

    from tranquillite.forecasting.slots import SlotScheme

    wh, area = (defs.resources or {}).get("warehouse"), (defs.resources or {}).get("study_area")
    if wh is None or area is None or not wh.exists(K.FEATURES, "observed_counts"):
        return None
    top = wh.scan(K.FEATURES, "observed_counts").select(pl.col("slot").max()).collect().item()
    return None if top is None else SlotScheme(area.spec().shift_hours).day(int(top))


def training_runs(defs: dg.Definitions, start: date, end: date, settings_: dict | None = None) -> list[TrainingRun]:
    """The training job over [start, end]: one run when the range fits in the feature states the
    backtest and the training read (`assets.models.training_days` and a week); otherwise two —
    the grid and the observed counts of every day of the range (the count rules, the SEPP and the
    multi-scale models read the whole history), then the rest of the job (the per-slot features,
    the backtest, the models in service) over the training window only: the features of the
    earlier days were computed for nothing (8 years: 2,920 days of `cell_slot` for 196 read).

    The window counts back from the range's end, or from the latest fact already counted when the
    data stop earlier (a feed that lags or stopped, a range asked up to today): the models read the
    states of `training_days` before the latest fact, whatever the range. `materialize` and `run_job`
    plan the window again once the first part has counted the range (`window_run`)."""
    from tranquillite.assets.models import ForecastSettings, training_days

    days = training_days(ForecastSettings(**(settings_ or {})).backtest_config()) + WINDOW_MARGIN_DAYS
    window = window_run(defs, start, end, days)
    if window.start <= start:
        return [TrainingRun(start, end)]
    return [TrainingRun(start, end, list(HISTORY_KEYS), "grille et comptes observés de toute la plage"), window]


def window_run(defs: dg.Definitions, start: date, end: date, days: int) -> TrainingRun:
    """The training's second part: every asset of the job but the grid and the counts, over the
    `days` before the range's end or before the latest fact counted, whichever is earlier (never
    before the range's start)."""
    last = latest_fact_day(defs)
    first = end - timedelta(days=days)
    if last is not None and last < end:
        first = min(first, last - timedelta(days=days))
    first = max(first, start)
    keys = defs.resolve_job_def(TRAINING_JOB).asset_layer.executable_asset_keys
    rest = sorted(set(keys) - set(HISTORY_KEYS), key=lambda k: k.to_user_string())
    return TrainingRun(
        first,
        end,
        rest,
        f"caractéristiques et modèles de la fenêtre d'entraînement ({first.isoformat()} → {end.isoformat()})",
        days,
    )


def models_in_service(defs: dg.Definitions) -> bool:
    """Whether a training run already put a champion's models in service (the model store's)."""
    store = (defs.resources or {}).get("model_store")
    champ = store.champion() if store is not None else None
    return bool(champ and champ.get("service"))


def sweep_instance(instance_: dg.DagsterInstance | None = None) -> list[SweptRun]:
    """Fail the runs whose process died and free their slots (see `run_guard.sweep`)."""
    return sweep(instance_ or instance())


def materialize(
    defs: dg.Definitions,
    start: date | None,
    end: date | None,
    instance_: dg.DagsterInstance | None = None,
    publish: bool = True,
    forecast: bool = True,
    forecast_settings: dict | None = None,
    wait_seconds: float | None = None,
    train: bool | None = None,
) -> list[RunOutcome]:
    """Ingest [start, end] (when given), publish, train (when asked, or when no model is in
    service: `train=None`), forecast, compute the indicators.

    A job runs only if the jobs it needs (`jobs.REQUIRES`) succeeded: a failed ingestion stops
    everything, a failed forecast does not stop the indicators (they use the last published
    forecast, or none), a failed training leaves the previous models in service. An interruption
    (SIGTERM) stops the chain. The features are computed for the same range (the training's run
    when it runs — in two parts when the range is longer than its window, `training_runs`: the
    counts of every day, the per-slot features of the window — then the forecast recomputes only
    the last day); without a range (publication only), the forecast is not refreshed."""
    inst = instance_ or instance()
    sweep(inst)
    tags = {RANGE_START_TAG: start.isoformat(), RANGE_END_TAG: end.isoformat()} if start and end else None
    plan = ([(INGEST_JOB, tags, None, None, "", 0)] if tags else []) + (
        [(PUBLISH_JOB, None, None, None, "", 0)] if publish else []
    )
    if publish and forecast and tags:
        fs = forecast_settings or {}
        training = train if train is not None else not models_in_service(defs)
        if training:
            plan += [
                (TRAINING_JOB, r.tags(), forecast_run_config(fs, TRAINING_JOB), r.selection, r.scope, r.window_days)
                for r in training_runs(defs, start, end, fs)
            ]
        daily = {RANGE_START_TAG: end.isoformat(), RANGE_END_TAG: end.isoformat()} if training else tags
        plan.append((PREVISION_JOB, daily, forecast_run_config(fs, PREVISION_JOB), None, "", 0))
    if publish:
        plan.append((INDICATORS_JOB, None, None, None, "", 0))
    outcomes: list[RunOutcome] = []
    # (job, range tags, run configuration, assets (None: the job's), what it is, the training window's days)
    for name, t, cfg, selection, scope, window_days in plan:
        bad = [o.job for o in outcomes if o.job in REQUIRES.get(name, ()) and not o.success]
        if scope and outcomes and outcomes[-1].job == name and not outcomes[-1].success:
            bad.append(name)  # a job's second part needs its first
        if bad:
            state = {o.job: "non lancé" if o.skipped else "en échec" for o in outcomes}
            outcomes.append(
                RunOutcome(
                    name,
                    "",
                    False,
                    [],
                    skipped=True,
                    scope=scope,
                    reason="dépend de " + ", ".join(f"{j} ({state[j]})" for j in bad),
                )
            )
            continue
        if window_days:  # the counts of the range are known now: the window from their latest fact
            w = window_run(defs, start, end, window_days)
            t, selection, scope = w.tags(), w.selection, w.scope
        outcomes.append(_run(defs, name, inst, t, cfg, wait_seconds, selection, scope))
        if outcomes[-1].interrupted:
            break
    return outcomes


def run_job(
    defs: dg.Definitions,
    name: str,
    start: date | None = None,
    end: date | None = None,
    instance_: dg.DagsterInstance | None = None,
    forecast_settings: dict | None = None,
    wait_seconds: float | None = None,
) -> RunOutcome:
    """One job of the chain, as `materialize` runs it (range tags for the ingestion, the training
    and the forecast, the forecast settings for the last two): for benchmarks timing each stage apart."""
    inst = instance_ or instance()
    sweep(inst)
    tags = {RANGE_START_TAG: start.isoformat(), RANGE_END_TAG: end.isoformat()} if start and end else None
    cfg = forecast_run_config(forecast_settings or {}, name) if name in FORECAST_OPS else None
    if name == TRAINING_JOB and tags:
        out = None
        for r in training_runs(defs, start, end, forecast_settings):
            if r.window_days:  # planned again once the first part counted the range
                r = window_run(defs, start, end, r.window_days)
            out = _run(defs, name, inst, r.tags(), cfg, wait_seconds, r.selection, r.scope)
            if not out.success:
                break
        return out
    return _run(defs, name, inst, tags if name in (INGEST_JOB, PREVISION_JOB) else None, cfg, wait_seconds)
