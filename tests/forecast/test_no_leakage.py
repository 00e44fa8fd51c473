"""No leakage: everything a forecast issued at origin t uses — state features, model rows
(including planned events), trained models, baselines — is unchanged when the data after t are
perturbed; and it does change when data before t are (the test can fail)."""

from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from tests.forecast.conftest import EVENT_SCHEMA, facts_from_truth, planned_records
from tranquillite.forecasting.backtest import BacktestConfig, forecasts_at, kernels_for
from tranquillite.forecasting.pipeline import from_events
from tranquillite.forecasting.study_area import AreaSpec
from tranquillite.synthetic import generate

FIRST, DAYS = date(2025, 1, 1), 42
SPEC = AreaSpec()
CFG = BacktestConfig(n_origins=1, train_weeks=2, lgbm_rounds=15, workers=1, threads=1)


@pytest.fixture(scope="module")
def events(tmp_path_factory) -> pl.DataFrame:
    home = tmp_path_factory.mktemp("fuite")
    generate(home, start=FIRST, days=DAYS, seed=7, scale=0.2)
    return pl.concat([facts_from_truth(home), planned_records(FIRST, DAYS)])


@pytest.fixture(scope="module")
def origin():
    from tranquillite.forecasting.slots import SlotScheme

    return SlotScheme(SPEC.shift_hours).first_slot(FIRST + timedelta(days=24))


def perturb_after(ev: pl.DataFrame, t: datetime) -> pl.DataFrame:
    """Drop a third of the facts after t, duplicate another third, add new facts and a planned
    event entered after t — keeping the very last fact so that the data span is the same."""
    rng = np.random.default_rng(0)
    facts = ev.filter(pl.col("attendance").is_null() & pl.col("geometry").is_null())
    planned = ev.filter(~(pl.col("attendance").is_null() & pl.col("geometry").is_null()))
    before, after = facts.filter(pl.col("start") < t), facts.filter(pl.col("start") >= t)
    last = after.sort("start").tail(1)
    u = rng.random(after.height)
    dup = after.filter(pl.Series(u > 2 / 3)).with_columns((pl.col("event_id") + "-bis").alias("event_id"))
    new = after.sample(200, seed=1, with_replacement=True).with_columns(
        (pl.col("event_id") + "-new").alias("event_id"),
        pl.col("lon") + 0.004,
        pl.col("lat") - 0.003,
        pl.lit(None, dtype=pl.Utf8).alias("h3_cell"),
    )
    surprise = pl.DataFrame(
        [
            {
                "event_id": "evenements_publics:SURPRISE",
                "source": "evenements_publics",
                "start": t + timedelta(days=1, hours=14),
                "end": t + timedelta(days=1, hours=18),
                "geometry": '{"type": "Point", "coordinates": [5.3742, 43.2948]}',
                "geometry_type": "Point",
                "lon": 5.3742,
                "lat": 43.2948,
                "h3_cell": None,
                "attendance": 80000,
                "entered_at": t + timedelta(hours=2),
                "_partition": t.date().isoformat(),
            }
        ],
        schema=EVENT_SCHEMA,
    )
    late = (pl.col("entered_at") >= t).fill_null(False)
    planned = pl.concat([planned.filter(~late), planned.filter(late).with_columns(pl.col("attendance") * 10)])
    return pl.concat([before, after.filter(pl.Series(u <= 1 / 3)), dup, new, last, planned, surprise]).unique(
        "event_id", keep="first"
    )


@pytest.fixture(scope="module")
def grid():
    from tranquillite.forecasting.grid import build_grid

    return build_grid(SPEC.area(), SPEC.h3_resolution)


def _inputs(events, grid):
    return from_events(events, SPEC, grid=grid, first_day=FIRST)


def test_nothing_after_the_origin_changes_a_forecast_issued_at_the_origin(events, origin, grid):
    from tranquillite.forecasting.slots import SlotScheme

    t = SlotScheme(SPEC.shift_hours).start(origin)
    a = _inputs(events, grid)
    b = _inputs(perturb_after(events, t), grid)
    assert a.data_end == b.data_end
    assert not a.counts.equals(b.counts)  # the future did change
    # 1. state features of every slot up to the origin
    sa = a.features.states.filter(pl.col("slot") <= origin)
    sb = b.features.states.filter(pl.col("slot") <= origin)
    assert sa.height == a.n_cells * (origin - a.features.s0 + 1) and sa.equals(sb)
    # 2. model rows for the 21 shifts ahead, planned events included
    N, H = a.n_cells, 21
    cells, targets = np.repeat(np.arange(N), H), np.tile(np.arange(origin, origin + H), N)
    ra = a.features.rows(cells, targets, np.full(cells.size, origin), with_events=True)
    rb = b.features.rows(cells, targets, np.full(cells.size, origin), with_events=True)
    assert ra.equals(rb)
    assert (b.features.exposure["event_id"] == "evenements_publics:SURPRISE").any()  # known later only
    # 3. every model trained at the origin, and every baseline, forecasts exactly the same
    fa, _ = forecasts_at(a, a.Y(), origin, CFG, kernels_for(a, CFG))
    fb, _ = forecasts_at(b, b.Y(), origin, CFG, kernels_for(b, CFG))
    # (the multi-scale model needs 4 weeks of history before its oldest training origin: not yet at day 24;
    # test_multiscale checks that its features do not read the future)
    assert set(fa) == {
        "compte_52_semaines",
        "compte_historique",
        "derniere_periode",
        "moyenne_saisonniere",
        "hotspot_retrospectif",
        "hotspot_prospectif",
        "sepp",
        "glm_poisson",
        "lgbm_sans_evenements",
        "lgbm_avec_evenements",
    }
    for name in fa:
        assert np.array_equal(fa[name][0], fb[name][0]), name


def test_the_check_is_sensitive_to_the_past(events, origin, grid):
    from tranquillite.forecasting.slots import SlotScheme

    t = SlotScheme(SPEC.shift_hours).start(origin)
    a = _inputs(events, grid)
    earlier = events.with_columns(
        pl.when(pl.col("start").is_between(t - timedelta(days=3), t, closed="left") & pl.col("attendance").is_null())
        .then(pl.col("start") - timedelta(hours=8))
        .otherwise(pl.col("start"))
        .alias("start")
    )
    b = _inputs(earlier, grid)
    sa = a.features.states.filter(pl.col("slot") == origin)
    sb = b.features.states.filter(pl.col("slot") == origin)
    assert not sa.equals(sb)
