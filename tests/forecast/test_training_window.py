"""The training over a range longer than its window (issue 14: 8 years of `cell_slot` computed for
196 days read): a real chain in a temporary instance on a small generated Marseille (10 weeks at
10 % volume, settings whose window is 8 weeks). The grid and the counts cover the whole range (the
count rules, SEPP and the multi-scale model read the whole history), the per-slot features and the
models only the window — the same features, day by day, as one run over the whole range."""

from datetime import date, timedelta

import dagster as dg
import polars as pl
import pytest

from tranquillite import runner
from tranquillite.assets import constants as K
from tranquillite.assets.models import ForecastSettings, training_days
from tranquillite.definitions import build_defs
from tranquillite.jobs import PREVISION_JOB, TRAINING_JOB
from tranquillite.settings import paths
from tranquillite.synthetic import generate

pytestmark = pytest.mark.slow

FIRST, DAYS = date(2025, 3, 3), 70
LAST = FIRST + timedelta(days=DAYS - 1)
SMALL = {"n_origins": 2, "train_weeks": 1, "lgbm_rounds": 10, "workers": 1, "threads": 1}
WINDOW = training_days(ForecastSettings(**SMALL).backtest_config()) + runner.WINDOW_MARGIN_DAYS
WINDOW_FIRST = LAST - timedelta(days=WINDOW)


def _days(a: date, b: date) -> set[str]:
    return {(a + timedelta(days=i)).isoformat() for i in range((b - a).days + 1)}


def _materialized(instance, run_id) -> set:
    return {
        e.dagster_event.asset_key
        for e in instance.all_logs(run_id)
        if e.dagster_event and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"
    }


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    home = tmp_path_factory.mktemp("fenetre")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRANQUILLITE_HOME", str(home))
    mp.setenv("DAGSTER_HOME", str(home / "dagster"))
    generate(home, start=FIRST, days=DAYS, seed=7, scale=0.1)
    defs = build_defs()
    instance = runner.instance()
    outcomes = runner.materialize(defs, FIRST, LAST, instance, forecast_settings=SMALL)
    yield defs, instance, outcomes
    mp.undo()


def test_a_range_within_the_window_is_one_run_of_the_whole_job():
    defs = build_defs()
    (run,) = runner.training_runs(defs, LAST - timedelta(days=WINDOW), LAST, SMALL)
    assert (run.start, run.end, run.selection, run.scope) == (LAST - timedelta(days=WINDOW), LAST, None, "")
    # the default settings' window (196 days and the margin): a year is two runs, the second over the window
    counts, rest = runner.training_runs(defs, date(2025, 1, 1), date(2025, 12, 31))
    assert (counts.start, rest.start, rest.end) == (
        date(2025, 1, 1),
        date(2025, 12, 31) - timedelta(days=203),
        date(2025, 12, 31),
    )
    assert set(counts.selection) == set(runner.HISTORY_KEYS)
    job_keys = defs.resolve_job_def(TRAINING_JOB).asset_layer.executable_asset_keys
    assert set(rest.selection) == set(job_keys) - set(runner.HISTORY_KEYS)  # every other asset, nothing twice


def test_the_counts_cover_the_range_and_the_features_the_window(chain):
    defs, instance, outcomes = chain
    assert [(o.job, bool(o.scope)) for o in outcomes] == [
        ("ingestion_quotidienne", False),
        ("publication", False),
        (TRAINING_JOB, True),
        (TRAINING_JOB, True),
        (PREVISION_JOB, False),
        ("indicateurs", False),
    ]
    assert all(o.success for o in outcomes), outcomes
    counts_run, window_run = (o for o in outcomes if o.job == TRAINING_JOB)
    assert "comptes" in counts_run.scope and WINDOW_FIRST.isoformat() in window_run.scope
    tags = [instance.get_run_by_id(o.run_id).tags for o in (counts_run, window_run)]
    assert [(t[runner.RANGE_START_TAG], t[runner.RANGE_END_TAG]) for t in tags] == [
        (FIRST.isoformat(), LAST.isoformat()),
        (WINDOW_FIRST.isoformat(), LAST.isoformat()),
    ]
    assert _materialized(instance, counts_run.run_id) == set(runner.HISTORY_KEYS)
    assert {K.PLANNED_EXPOSURE_KEY, K.CELL_SLOT_KEY, K.BACKTEST_KEY, K.MODEL_REGISTRY_KEY} <= _materialized(
        instance, window_run.run_id
    )
    assert not _materialized(instance, window_run.run_id) & set(runner.HISTORY_KEYS)
    assert instance.get_materialized_partitions(K.OBSERVED_COUNTS_KEY) == _days(FIRST, LAST)
    assert instance.get_materialized_partitions(K.CELL_SLOT_KEY) == _days(WINDOW_FIRST, LAST)
    on_disk = {p.stem for p in (paths().warehouse / K.FEATURES / "cell_slot").glob("*.parquet")}
    assert on_disk == _days(WINDOW_FIRST, LAST)
    assert defs.resources["model_store"].champion().get("service")
    # every model trained reads the features of the window only
    registry = pl.read_parquet(paths().warehouse / K.MODELS / "model_registry" / "*.parquet")
    assert registry.height and registry["train_start"].min() >= WINDOW_FIRST.isoformat()


def test_the_windows_features_equal_those_of_one_run_over_the_whole_range(chain):
    defs, instance, _ = chain
    folder = paths().warehouse / K.FEATURES / "cell_slot"
    windowed = {d: pl.read_parquet(folder / f"{d}.parquet") for d in sorted(_days(WINDOW_FIRST, LAST))}
    whole = runner._run(
        defs,
        TRAINING_JOB,
        instance,
        {runner.RANGE_START_TAG: FIRST.isoformat(), runner.RANGE_END_TAG: LAST.isoformat()},
        selection=[K.CELL_SLOT_KEY],
    )
    assert whole.success, whole
    assert instance.get_materialized_partitions(K.CELL_SLOT_KEY) == _days(FIRST, LAST)
    for d, frame in windowed.items():
        again = pl.read_parquet(folder / f"{d}.parquet")
        assert again.height and again.equals(frame), d


def test_a_failed_first_part_does_not_train_on_missing_counts(chain, monkeypatch):
    defs, instance, _ = chain
    from tranquillite.assets import features

    def broken(*_a, **_k):
        raise RuntimeError("comptes illisibles")

    monkeypatch.setattr(features, "fact_counts", broken)
    before = len(instance.get_runs(dg.RunsFilter(job_name=TRAINING_JOB)))
    out = runner.materialize(defs, FIRST, LAST, instance, forecast_settings=SMALL, train=True)
    training = [o for o in out if o.job == TRAINING_JOB]
    assert [(o.success, o.skipped) for o in training] == [(False, False), (False, True)]
    assert "entrainement_hebdomadaire (en échec)" in training[1].reason
    assert len(instance.get_runs(dg.RunsFilter(job_name=TRAINING_JOB))) == before + 1  # the second never started


def test_the_window_counts_back_from_the_latest_fact_when_the_data_stop_earlier(chain):
    """A range that ends after the last data (a feed that lags or stopped, a range up to today): the
    models read the states of `training_days` before the latest fact, so the window starts there, not
    `WINDOW` days before the range's end (the states the backtest reads were never computed)."""
    defs, *_ = chain
    last = runner.latest_fact_day(defs)
    assert LAST - timedelta(days=2) <= last <= LAST
    late = LAST + timedelta(days=30)
    counts, window = runner.training_runs(defs, FIRST, late, SMALL)
    assert (counts.start, counts.end) == (FIRST, late)
    assert (window.start, window.end) == (last - timedelta(days=WINDOW), late)
    read_from = last - timedelta(days=training_days(ForecastSettings(**SMALL).backtest_config()))
    assert window.start <= read_from  # every state the models read is computed by the window's run
    # a range ending on the data's last day keeps its window from the end
    assert runner.training_runs(defs, FIRST, LAST, SMALL)[1].start == WINDOW_FIRST
