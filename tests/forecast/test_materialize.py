"""A real Dagster materialisation of the features and models assets, in a temporary instance, on
a small generated Marseille (4 weeks at 20 % volume), as `tranquillite materialize` runs it:
ingestion, publication, the `prevision` job over the same range (single run, small settings
passed through the runner), indicators; then one day again (incremental)."""

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl
import pytest

from tranquillite import runner
from tranquillite.assets import constants as K
from tranquillite.assets.models import BACKTEST_COLUMNS
from tranquillite.definitions import build_defs
from tranquillite.jobs import PREVISION_JOB
from tranquillite.resources.warehouse import open_catalog
from tranquillite.sensors.schedules import PREVISION_SCHEDULE
from tranquillite.settings import paths
from tranquillite.synthetic import generate

FIRST, DAYS = date(2025, 3, 3), 28
LAST = FIRST + timedelta(days=DAYS - 1)
SMALL = {"n_origins": 2, "train_weeks": 2, "lgbm_rounds": 20, "workers": 1, "threads": 1}
RUN_CONFIG = {"ops": {"backtest": {"config": SMALL}, "forecast": {"config": SMALL}},
              "loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@pytest.fixture(scope="module")
def materialized(tmp_path_factory):
    home = tmp_path_factory.mktemp("prevision")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRANQUILLITE_HOME", str(home))
    mp.setenv("DAGSTER_HOME", str(home / "dagster"))
    generate(home, start=FIRST, days=DAYS, seed=11, scale=0.2)
    defs = build_defs()
    instance = runner.instance()
    outcomes = runner.materialize(defs, FIRST, LAST, instance, forecast_settings=SMALL)
    (prevision,) = [o for o in outcomes if o.job == PREVISION_JOB]
    yield home, defs, instance, outcomes, prevision
    mp.undo()


def test_the_prevision_job_materialises_every_asset(materialized):
    home, defs, instance, outcomes, prevision = materialized
    assert [o.job for o in outcomes] == ["ingestion_quotidienne", "publication", PREVISION_JOB, "indicateurs"]
    assert all(o.success for o in outcomes), outcomes
    events = instance.all_logs(prevision.run_id)
    keys = {e.dagster_event.asset_key for e in events
            if e.dagster_event and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"}
    assert keys == {K.STUDY_GRID_KEY, K.PLANNED_EXPOSURE_KEY, K.OBSERVED_COUNTS_KEY, K.CELL_SLOT_KEY, K.BACKTEST_KEY,
                    K.BACKTEST_SCORES_KEY, K.BACKTEST_PLANNED_KEY, K.FORECAST_KEY, K.FORECAST_HISTORY_KEY,
                    K.MODEL_REGISTRY_KEY}
    assert instance.get_materialized_partitions(K.CELL_SLOT_KEY) == {
        (FIRST + timedelta(days=i)).isoformat() for i in range(DAYS)}
    # the forecast history is a partitioned asset: the partition of the forecast's origin day
    assert instance.get_materialized_partitions(K.FORECAST_HISTORY_KEY) == {(LAST + timedelta(days=1)).isoformat()}
    runs = instance.get_runs(dg.RunsFilter(job_name=PREVISION_JOB))
    assert len(runs) == 1                                            # the range is one run
    checks = {e.dagster_event.event_specific_data.check_name: e.dagster_event.event_specific_data.passed
              for e in events if e.dagster_event and e.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"}
    # the runner passed the small settings to both models assets
    run = instance.get_run_by_id(prevision.run_id)
    assert run.run_config["ops"]["backtest"]["config"]["n_origins"] == 2
    assert run.run_config["ops"]["forecast"]["config"]["train_weeks"] == 2
    for name in ("surface_de_la_grille", "panel_complet", "colonnes_stables", "prevision_complete",
                 "intervalles_coherents", "connu_avant_usage"):
        assert checks[name] is True, name


def test_published_tables(materialized):
    home, *_ = materialized
    wh = paths().warehouse
    grid = pl.read_parquet(wh / "features" / "study_grid" / "data.parquet")
    assert grid.height == 2599
    cells = pl.read_parquet(wh / "features" / "cell_slot" / f"{LAST.isoformat()}.parquet")
    assert cells.height == grid.height * 3
    with open_catalog(wh / "catalog.duckdb") as con:
        cols = [r[0] for r in con.execute("DESCRIBE models.backtest").fetchall()]
        assert cols[:len(BACKTEST_COLUMNS)] == BACKTEST_COLUMNS
        models = {r[0] for r in con.execute("SELECT DISTINCT model FROM models.backtest").fetchall()}
        assert {"oracle", "lgbm_avec_evenements", "hotspot_prospectif"} <= models
        n_origins = con.execute("SELECT count(DISTINCT origin) FROM models.backtest").fetchall()[0][0]
        assert n_origins == 2
        fc = con.execute("SELECT count(*), count(DISTINCT category), min(slot_start), count(DISTINCT variant) "
                         "FROM models.forecast").fetchall()[0]
        variants = fc[3]                                         # the City's own forecast too, when needed
        assert fc[0] == grid.height * 21 * 4 * variants and fc[1] == 4
        assert fc[2].date() == LAST + timedelta(days=1)
        # every row says which conventions it was computed from; the City's forecast holds none of a partner's
        bad = con.execute("SELECT count(*) FROM models.forecast WHERE len(conventions) = 0 "
                          "OR conventions <> list_sort(list_distinct(conventions))").fetchall()[0][0]
        assert bad == 0
        per_variant = dict(con.execute("SELECT variant, list_sort(list_distinct(flatten(list(conventions)))) "
                                       "FROM models.forecast GROUP BY variant").fetchall())
        assert per_variant.get("internal", ["internal"]) == ["internal"]
        assert (variants == 2) == (per_variant["complete"] != ["internal"])
        # the next-day part of the forecast is kept, one file per origin day
        hist = con.execute("SELECT count(*), count(DISTINCT slot), min(origin) FROM models.forecast_history").fetchall()[0]
        assert hist[0] == grid.height * 3 * 4 * variants and hist[1] == 3 and hist[2].date() == LAST + timedelta(days=1)
        reg = con.execute("SELECT count(*) FROM models.model_registry").fetchall()[0][0]
        assert reg >= 2 * 9                                     # 2 origins × 3 learned models × 3 groups
    champion = json.loads((home / "models" / "champion.json").read_text(encoding="utf-8"))
    assert champion["model"] in models
    # the best model trained on the City's data only, for the profiles that do not see the Préfecture's
    assert champion["internal"]["conventions"] == ["internal"] and champion["internal"]["model"] in models


def test_a_new_day_updates_only_its_partition(materialized):
    home, defs, instance, _, _ = materialized
    wh = paths().warehouse
    path = wh / "features" / "cell_slot" / f"{LAST.isoformat()}.parquet"
    before = pl.read_parquet(path)
    other = wh / "features" / "cell_slot" / f"{FIRST.isoformat()}.parquet"
    mtime = other.stat().st_mtime_ns
    job = defs.resolve_job_def(PREVISION_JOB)
    sel = dg.AssetSelection.assets(K.OBSERVED_COUNTS_KEY, K.CELL_SLOT_KEY)
    res = job.get_subset(asset_selection=set(sel.resolve(defs.resolve_asset_graph()))).execute_in_process(
        instance=instance, partition_key=LAST.isoformat(), run_config={"loggers": RUN_CONFIG["loggers"]})
    assert res.success
    assert pl.read_parquet(path).equals(before)                 # the incremental day = the backfilled one
    assert other.stat().st_mtime_ns == mtime                    # the other days are not recomputed


def test_the_daily_schedule_run_refreshes_the_last_two_days_and_the_forecast(materialized):
    home, defs, instance, _, _ = materialized
    wh = paths().warehouse
    sched = defs.resolve_schedule_def(PREVISION_SCHEDULE)
    morning = datetime.combine(LAST + timedelta(days=1), datetime.min.time()).replace(hour=5, minute=30,
                                                                                        tzinfo=ZoneInfo("Europe/Paris"))
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=morning) as ctx:
        (req,) = sched.evaluate_tick(ctx).run_requests
    untouched = wh / "features" / "cell_slot" / f"{FIRST.isoformat()}.parquet"
    mtime = untouched.stat().st_mtime_ns
    res = defs.resolve_job_def(PREVISION_JOB).execute_in_process(
        instance=instance, tags=req.tags, run_config=RUN_CONFIG, raise_on_error=False)
    assert res.success
    done = {(e.asset_key, e.partition) for e in res.get_asset_materialization_events()}
    assert {p for k, p in done if k == K.CELL_SLOT_KEY} == {(LAST - timedelta(days=1)).isoformat(), LAST.isoformat()}
    assert (K.FORECAST_KEY, None) in done and (K.BACKTEST_KEY, None) in done
    assert untouched.stat().st_mtime_ns == mtime
    with open_catalog(wh / "catalog.duckdb") as con:
        first_slot = con.execute("SELECT min(slot_start) FROM models.forecast").fetchall()[0][0]
    assert first_slot.date() == LAST + timedelta(days=1)


def test_a_predictor_that_loses_to_a_reference_is_not_published(materialized):
    """The check `champion_bat_les_references` is blocking: a predictor imposed by configuration
    that does worse than a reference (the last shift's count, against the trailing counts and hot
    spots) fails it, and the forecast is not published (nor does it become the one in service)."""
    home, defs, instance, _, _ = materialized
    wh = paths().warehouse
    forecast_file = next((wh / "models" / "forecast").glob("*.parquet"))
    mtime = forecast_file.stat().st_mtime_ns
    in_service = json.loads((home / "models" / "champion.json").read_text(encoding="utf-8"))["model"]
    bad = {**SMALL, "predicteur_impose": "derniere_periode"}
    job = defs.resolve_job_def(PREVISION_JOB)
    sel = dg.AssetSelection.assets(K.BACKTEST_KEY, K.BACKTEST_SCORES_KEY, K.BACKTEST_PLANNED_KEY, K.FORECAST_KEY,
                                   K.MODEL_REGISTRY_KEY)
    res = job.get_subset(asset_selection=set(sel.resolve(defs.resolve_asset_graph()))).execute_in_process(
        instance=instance, raise_on_error=False,
        run_config={"ops": {"backtest": {"config": bad}, "forecast": {"config": bad}}, "loggers": RUN_CONFIG["loggers"]})
    checks = {e.check_name: e for e in res.get_asset_check_evaluations()}
    assert checks["champion_bat_les_references"].passed is False
    done = {e.asset_key for e in res.get_asset_materialization_events()}
    assert K.BACKTEST_KEY in done and K.FORECAST_KEY not in done
    assert forecast_file.stat().st_mtime_ns == mtime
    assert json.loads((home / "models" / "champion.json").read_text(encoding="utf-8"))["model"] == in_service
    # the published backtest says which predictor was imposed and why
    bt = pl.read_parquet(wh / "models" / "backtest" / "*.parquet")
    why = bt.filter(pl.col("champion") & (pl.col("category") == "all"))["champion_pourquoi"].unique().to_list()
    assert why and all("imposé" in w for w in why)
