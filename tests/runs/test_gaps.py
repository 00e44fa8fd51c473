"""Gaps are normal: three weeks of exports, then nothing for seven weeks, then one isolated day (an
export that arrived alone). Through the real runner: the forecasting job handles the gap (days
with no data received are unknown, not days without facts, and said so in the metadata), and the
indicators run. Then a training that fails (a damaged feature file in its window) stops neither
the daily forecast (the models in service still serve, it reads no old features) nor the
indicators, and the CLI says so with its exit code.

One generated home for the module (a small Marseille: 3 weeks at 20 % volume)."""

from __future__ import annotations

import shutil
import time
from datetime import date, timedelta

import dagster as dg
import polars as pl
import pytest

from tests.factories import SMALL_FORECAST as SMALL
from tranquillite import runner
from tranquillite.assets import constants as K
from tranquillite.cli import main
from tranquillite.definitions import build_defs
from tranquillite.jobs import INDICATORS_JOB, PREVISION_JOB
from tranquillite.settings import paths
from tranquillite.synthetic import generate

FIRST, DAYS = date(2025, 3, 3), 21
LAST = FIRST + timedelta(days=DAYS - 1)  # 2025-03-23, a Sunday
LATE = date(2025, 5, 12)  # 49 days without any export, then this one (a Monday)
GAP = (LATE - LAST).days - 1
pytestmark = pytest.mark.slow


def _materialization(instance: dg.DagsterInstance, run_id: str, key: dg.AssetKey) -> dict:
    for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        m = e.dagster_event.event_specific_data.materialization
        if m.asset_key == key:
            return {k: v.value for k, v in m.metadata.items()}
    raise AssertionError(f"{key.to_user_string()} not materialised in run {run_id}")


@pytest.fixture(scope="module")
def gap(tmp_path_factory):
    home = tmp_path_factory.mktemp("gap_home")
    late = tmp_path_factory.mktemp("gap_late")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRANQUILLITE_HOME", str(home))
        mp.setenv("DAGSTER_HOME", str(home / "dagster"))
        generate(home, start=FIRST, days=DAYS, seed=11, scale=0.2)
        generate(late, start=LATE, days=1, seed=12, scale=0.2)
        for p in (late / "landing").rglob("*"):
            if p.is_file():
                dst = home / "landing" / p.relative_to(late / "landing")
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(p, dst)
        defs, instance = build_defs(), runner.instance()
        span = runner.materialize(defs, FIRST, LAST, instance, forecast_settings=SMALL)
        assert all(o.success for o in span), span
        t0 = time.perf_counter()
        isolated = runner.materialize(defs, LATE, LATE, instance, forecast_settings=SMALL)
        elapsed = time.perf_counter() - t0
        print(
            f"\nisolated day after a {GAP}-day gap: {elapsed:.1f} s "
            + ", ".join(f"{o.job} {'ok' if o.success else 'ÉCHEC'}" for o in isolated)
        )
        yield home, defs, instance, isolated


def test_the_isolated_day_is_ingested_forecast_and_indicators_computed(gap):
    home, defs, instance, outcomes = gap
    by_job = {o.job: o for o in outcomes}
    assert [o.job for o in outcomes] == ["ingestion_quotidienne", "publication", PREVISION_JOB, INDICATORS_JOB]
    assert by_job[PREVISION_JOB].success, by_job[PREVISION_JOB].reason
    assert by_job[INDICATORS_JOB].success, by_job[INDICATORS_JOB].reason
    wh = paths().warehouse
    fc = pl.read_parquet(wh / "models" / "forecast" / "data.parquet")
    assert fc["origin"][0].date() == LATE + timedelta(days=1)  # forecast from the isolated day on
    assert fc["slot_start"].min().date() == LATE + timedelta(days=1)


def test_days_without_data_are_unknown_and_said_so(gap):
    home, defs, instance, outcomes = gap
    wh = paths().warehouse
    # no count table for days that received nothing (they are not days without facts)
    days = set(p.stem for p in (wh / "features" / "observed_counts").glob("*.parquet"))
    assert LATE.isoformat() in days and (LAST + timedelta(days=1)).isoformat() not in days
    prevision = next(o for o in outcomes if o.job == PREVISION_JOB)
    cells = _materialization(instance, prevision.run_id, K.CELL_SLOT_KEY)
    assert cells["jours_sans_donnees"] == GAP
    assert cells["periodes_sans_donnees"] == [f"{LAST + timedelta(days=1)} → {LATE - timedelta(days=1)} ({GAP} j)"]
    # the daily forecast (models in service, nothing retrained) says so too
    fc = _materialization(instance, prevision.run_id, K.FORECAST_KEY)
    assert fc["jours_sans_donnees"] == GAP
    # the first shift of the isolated day: every window reaching into the gap is unknown (null),
    # never 0; the yearly rate is the rate over the days that were received
    part = pl.read_parquet(wh / "features" / "cell_slot" / f"{LATE.isoformat()}.parquet")
    first = part.filter(pl.col("slot") == part["slot"].min())
    for col in (
        "interventions_lag1",
        "interventions_1d",
        "interventions_7d",
        "interventions_28d",
        "interventions_nb_1d",
        "interventions_28d_k0",
    ):
        assert first[col].null_count() == first.height, col
    rate = first["interventions_rate_k0"]
    assert rate.null_count() == 0 and rate.is_nan().sum() == 0 and float(rate.sum()) > 0
    # within the isolated day, the previous shift is known again
    second = part.filter(pl.col("slot") == part["slot"].min() + 1)
    assert second["interventions_lag1"].null_count() == 0
    # the backtest only scores horizons fully received (March), never the gap
    backtest = pl.read_parquet(wh / "models" / "backtest" / "data.parquet")
    origins = sorted({o.date() for o in backtest["origin"].to_list()})
    assert origins and all(o + timedelta(days=7) <= LAST + timedelta(days=1) for o in origins)


def test_the_indicators_do_not_read_the_gap_as_weeks_without_facts(gap):
    home, defs, instance, outcomes = gap
    hot = pl.read_parquet(paths().warehouse / "indicators" / "hotspots" / "*.parquet")  # one file per year
    weeks = hot.filter(pl.col("period_level") == "semaine").select("period_start", "complete").unique()
    gap_weeks = weeks.filter(pl.col("period_start").is_between(LAST + timedelta(days=1), LATE - timedelta(days=7)))
    assert gap_weeks.height == GAP // 7 and not gap_weeks["complete"].any()  # no week of the gap is "complete"
    latest = weeks.filter(pl.col("complete"))["period_start"].max()
    assert latest == LAST - timedelta(days=6)  # the last week received
    indicators = next(o for o in outcomes if o.job == INDICATORS_JOB)
    meta = _materialization(instance, indicators.run_id, dg.AssetKey(["indicators", "hotspots"]))
    assert meta["jours_sans_donnees"] == GAP


def test_a_failed_training_stops_neither_the_daily_forecast_nor_the_indicators(gap, capsys):
    home, defs, instance, _ = gap
    # the features of a day that WAS received are lost (a partial restore): a defect, not a gap —
    # the training job fails and says which day; the daily forecast (the models in service, the
    # features of its origin only) and the indicators do not need it and run
    lost = FIRST + timedelta(days=7)
    (paths().warehouse / "features" / "cell_slot" / f"{lost.isoformat()}.parquet").unlink()
    code = main(["materialize", "--from", LATE.isoformat(), "--to", LATE.isoformat(), "--entrainer"])
    out = capsys.readouterr().out
    assert code == 1
    line = next(ln for ln in out.splitlines() if ln.startswith("entrainement_hebdomadaire:"))
    assert "ÉCHEC" in line and "étape backtest" in line and "jours reçus" in line and lost.isoformat() in line
    assert "prevision: succès" in out  # the models in service
    assert "indicateurs: succès" in out  # ran all the same
    runs = instance.get_runs(dg.RunsFilter(job_name=INDICATORS_JOB))
    assert runs[0].status == dg.DagsterRunStatus.SUCCESS
