"""Row-level lineage of the forecasting layer: every count, exposure, feature row, model and
forecast row carries exactly the conventions of the data it was computed from — and a model
trained without the Préfecture's data owes it nothing, not even the choice of its rows."""

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from tests.forecast.conftest import facts_from_truth, planned_records
from tranquillite.forecasting.backtest import (
    BacktestConfig,
    forecasts_at,
    kernels_for,
    make_forecast,
    model_conventions,
    run_backtest,
    training_rows,
)
from tranquillite.forecasting.features import stored_features
from tranquillite.forecasting.pipeline import from_events
from tranquillite.forecasting.study_area import AreaSpec
from tranquillite.synthetic import generate

FIRST, DAYS = date(2025, 1, 1), 35
SPEC = AreaSpec()
PREF, CITY = "prefecture_police_13", "internal"
CFG = BacktestConfig(
    n_origins=1,
    train_weeks=2,
    lgbm_rounds=15,
    workers=1,
    threads=1,
    models=("moyenne_saisonniere", "lgbm_sans_evenements", "lgbm_avec_evenements"),
)


@pytest.fixture(scope="module")
def grid():
    from tranquillite.forecasting.grid import build_grid

    return build_grid(SPEC.area(), SPEC.h3_resolution)


@pytest.fixture(scope="module")
def events(tmp_path_factory) -> pl.DataFrame:
    home = tmp_path_factory.mktemp("lignage")
    generate(home, start=FIRST, days=DAYS, seed=5, scale=0.2)
    return pl.concat([facts_from_truth(home), planned_records(FIRST, DAYS)])


@pytest.fixture(scope="module")
def data(events, grid):
    return from_events(events, SPEC, grid=grid, first_day=FIRST)


@pytest.fixture(scope="module")
def origin():
    from tranquillite.forecasting.slots import SlotScheme

    return SlotScheme(SPEC.shift_hours).first_slot(FIRST + timedelta(days=24))


def test_counts_and_exposures_carry_their_records_conventions(data):
    assert data.counts["conventions"].to_list() == [[CITY]] * data.counts.height  # the City's facts
    ex = data.features.exposure
    by_source = ex.group_by("source").agg(pl.col("conventions").explode().unique())
    got = {s: sorted(c) for s, c in by_source.iter_rows()}
    assert got == {"manifestation_deambulatoire": [PREF], "evenements_publics": [CITY]}


def test_feature_rows_carry_the_conventions_of_the_planned_records_known_at_their_start(data, grid):
    fs = data.features
    out = stored_features(fs.states, SPEC, data.scheme, fs.exposure, grid)
    pref = fs.exposure.filter(pl.col("convention") == PREF)
    touched = (
        pref.filter(pl.col("known_slot") <= pl.col("slot"))
        .select("cell_idx", "slot")
        .unique()
        .with_columns(pl.lit(True).alias("_t"))
    )
    assert touched.height > 0
    out = out.join(touched, on=["cell_idx", "slot"], how="left").with_columns(pl.col("_t").fill_null(False))
    with_pref = out.filter(pl.col("_t"))
    assert with_pref.height == touched.filter(pl.col("slot").is_between(fs.s0, fs.s1)).height
    assert all(PREF in c for c in with_pref["conventions"].to_list())
    # every other row: the City's facts, grid and calendar, or the City's public events only
    assert set(map(tuple, out.filter(~pl.col("_t"))["conventions"].to_list())) == {(CITY,)}


def test_the_event_blind_models_owe_nothing_to_the_prefecture(events, grid, data, origin):
    """Without any Préfecture record, the event-blind LightGBM and the baselines forecast exactly the
    same; the event model does not. (Before, the blind model's training rows were chosen with the
    planned events: its forecast changed with the Préfecture's records.)"""
    without = from_events(
        events.filter(~pl.col("source").str.starts_with("manifestation")), SPEC, grid=grid, first_day=FIRST
    )
    fa, _ = forecasts_at(data, data.Y(), origin, CFG, kernels_for(data, CFG))
    fb, _ = forecasts_at(without, without.Y(), origin, CFG, kernels_for(without, CFG))
    for name in ("moyenne_saisonniere", "lgbm_sans_evenements"):
        assert np.array_equal(fa[name][0], fb[name][0]), name
        assert fa[name][2] == [CITY]
    assert not np.array_equal(fa["lgbm_avec_evenements"][0], fb["lgbm_avec_evenements"][0])
    assert fa["lgbm_avec_evenements"][2] == [CITY, PREF] and fb["lgbm_avec_evenements"][2] == [CITY]
    # the rows of the blind models are the same draws, whatever the planned records
    ra = training_rows(data.Y(), data, origin, CFG, np.random.default_rng([CFG.seed, origin]))
    rb = training_rows(without.Y(), without, origin, CFG, np.random.default_rng([CFG.seed, origin]))
    keep_a, keep_b = ra[4] > 0, rb[4] > 0
    for i in (0, 1, 2):
        assert np.array_equal(ra[i][keep_a], rb[i][keep_b])
    assert np.array_equal(ra[4][keep_a], rb[4][keep_b])


def test_champions_and_forecast_rows(data):
    res = run_backtest(data, CFG)
    conv = model_conventions(res.backtest)
    assert conv == {"moyenne_saisonniere": [CITY], "lgbm_sans_evenements": [CITY], "lgbm_avec_evenements": [CITY, PREF]}
    assert res.champion_internal in ("moyenne_saisonniere", "lgbm_sans_evenements")
    planned = res.planned.filter(pl.col("model") == "moyenne_saisonniere")
    assert planned["conventions"].to_list() == [[CITY, PREF]] * planned.height  # its slots: chosen by the records
    # the event model's forecast: trained on the Préfecture's records, every row carries them
    kept = []
    fc = make_forecast(data, "lgbm_avec_evenements", CFG, on_model=lambda m, meta: kept.append(meta["conventions"]))
    assert kept and all(c == [CITY, PREF] for c in kept)
    assert set(map(tuple, fc["conventions"].to_list())) == {(CITY, PREF)}
    # the City's own forecast: the same model on the City's data only carries none of them
    city = make_forecast(data.restricted({CITY}), "lgbm_avec_evenements", CFG)
    assert set(map(tuple, city["conventions"].to_list())) == {(CITY,)}
    assert city.height == fc.height
    blind = make_forecast(data, "lgbm_sans_evenements", CFG)
    assert set(map(tuple, blind["conventions"].to_list())) == {(CITY,)}
