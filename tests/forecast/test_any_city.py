"""Any city: the whole forecasting path — grid, features, backtest, champion, forecast — on a
made-up town near Lyon, chosen by configuration only (a GeoJSON of two zones, the generic
`incidents` source, no planned events).

Here the synthetic incidents are fed to the forecasting functions directly, shaped like
`clean.events`; `test_any_city_e2e.py` runs another city through the landing files, the contract
and the Dagster jobs, its area set by settings.
"""

import json
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from tranquillite.forecasting.backtest import BACKTEST_SCHEMA, BacktestConfig, make_forecast, run_backtest, summary
from tranquillite.forecasting.pipeline import from_events
from tranquillite.forecasting.slots import SlotScheme
from tranquillite.forecasting.study_area import StudyArea

FIRST, DAYS = date(2025, 9, 1), 63
HOTSPOTS = [(4.815, 45.765, 350.0, 1.0), (4.848, 45.752, 250.0, 0.7)]


def town(tmp_path):
    zones = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "V1", "nom": "Ouest"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[4.80, 45.74], [4.83, 45.74], [4.83, 45.78], [4.80, 45.78], [4.80, 45.74]]],
                },
            },
            {
                "type": "Feature",
                "properties": {"code": "V2", "nom": "Est"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[4.83, 45.74], [4.86, 45.74], [4.86, 45.775], [4.83, 45.775], [4.83, 45.74]]],
                },
            },
        ],
    }
    path = tmp_path / "ville.geojson"
    path.write_text(json.dumps(zones), encoding="utf-8")
    return path


def incidents(seed=5) -> pl.DataFrame:
    """Poisson incidents: two hotspots over a flat background, more at night and on weekends."""
    rng = np.random.default_rng(seed)
    n = 9000
    pick = rng.random(n)
    lon = rng.uniform(4.80, 4.86, n)
    lat = rng.uniform(45.74, 45.775, n)
    for (x, y, sigma, _share), lo, hi in zip(HOTSPOTS, (0.0, 0.45), (0.45, 0.75)):
        m = (pick >= lo) & (pick < hi)
        lon[m] = x + rng.normal(0, sigma / 78_000, m.sum())
        lat[m] = y + rng.normal(0, sigma / 111_000, m.sum())
    minutes = rng.integers(0, DAYS * 24 * 60, n)
    start = [datetime.combine(FIRST, datetime.min.time()) + timedelta(minutes=int(m)) for m in minutes]
    df = pl.DataFrame(
        {
            "event_id": [f"incidents:X-{i}" for i in range(n)],
            "source": "incidents",
            "start": start,
            "lon": lon,
            "lat": lat,
        }
    ).with_columns(pl.col("start").cast(pl.Datetime("us")))
    night = (pl.col("start").dt.hour() >= 22) | (pl.col("start").dt.hour() < 6)
    keep = pl.when(night).then(1.0).otherwise(0.5)  # thin the daytime facts: a time profile
    return df.filter(pl.Series(rng.random(n)) < df.select(keep).to_series())


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = town(tmp_path_factory.mktemp("ville"))
    spec = StudyArea(
        name="Villeneuve-sur-Test",
        boundary_path=str(path),
        zone_property="code",
        sources=["incidents"],
        planned_sources=[],
        school_holidays_subdivision=None,
    ).spec()
    data = from_events(incidents(), spec, first_day=FIRST)
    cfg = BacktestConfig(n_origins=2, train_weeks=4, lgbm_rounds=40, workers=1, threads=1)
    res = run_backtest(data, cfg)
    fc = make_forecast(data, res.champion, cfg)
    return spec, data, res, fc


def test_grid_and_features_of_another_city(run):
    spec, data, _, _ = run
    assert spec.groups == ["incidents"] and spec.area().name == "Villeneuve-sur-Test"
    assert set(data.grid["zone"].to_list()) == {"V1", "V2"}
    assert 150 < data.n_cells < 300  # ~19 km² at resolution 9
    assert data.counts["n"].sum() > 5000
    assert "incidents_28d_k2" in data.features.states.columns


def test_backtest_of_another_city(run):
    _, _, res, _ = run
    b = res.backtest
    assert dict(b.schema) == BACKTEST_SCHEMA
    assert set(b["category"].unique().to_list()) == {"incidents", "all"}
    # the field's baselines run beside the project's; the multi-scale model needs more weeks than 9
    assert set(b["model"].unique().to_list()) == {
        "derniere_periode",
        "moyenne_saisonniere",
        "hotspot_retrospectif",
        "hotspot_prospectif",
        "compte_52_semaines",
        "compte_historique",
        "sepp",
        "glm_poisson",
        "lgbm_sans_evenements",
        "lgbm_avec_evenements",
    }
    assert b["origin"].n_unique() == 2 and set(b["coverage"].unique().to_list()) == {0.01, 0.05, 0.1, 0.2}
    s = summary(b, "7_jours", 0.20).filter(pl.col("category") == "incidents")
    best = dict(zip(s["model"].to_list(), s["hit_rate"].to_list()))
    # the hotspots hold ~3/4 of the incidents on far less than 20 % of the area
    assert best["hotspot_retrospectif"] > 0.5 and best[res.champion] > 0.5
    assert best[res.champion] >= best["derniere_periode"]


def test_forecast_of_another_city(run):
    spec, data, res, fc = run
    H = 21
    assert fc.height == data.n_cells * H * 2
    sch = SlotScheme(spec.shift_hours)
    assert fc["slot_start"].min() == sch.start(data.data_end + 1)
    assert (fc["lower_95"] <= fc["lower_80"]).all() and (fc["upper_80"] <= fc["upper_95"]).all()
    top = fc.filter((pl.col("category") == "incidents") & (pl.col("rank") == 1))
    assert top.height == H
    if res.champion.startswith(("lgbm", "glm")):
        assert all(len(json.loads(e)) == 3 for e in top["explanations"].to_list())


@pytest.mark.parametrize("champion", ["glm_poisson", "hotspot_prospectif"])
def test_any_champion_can_publish_the_forecast(run, champion):
    spec, data, _, _ = run
    cfg = BacktestConfig(n_origins=2, train_weeks=4, lgbm_rounds=40, workers=1, threads=1)
    fc = make_forecast(data, champion, cfg)
    assert fc.height == data.n_cells * 21 * 2 and (fc["model"] == champion).all()
    top = fc.filter((pl.col("category") == "all") & (pl.col("rank") <= 3))["explanations"].to_list()
    if champion == "glm_poisson":
        assert all(len(json.loads(e)) == 3 for e in top)
    else:
        assert set(top) == {"[]"}


def test_no_fact_in_the_area_is_a_clear_error_not_a_type_error(tmp_path):
    """Facts all outside the grid (e.g. another city's data on Marseille's area): a French message
    naming the settings to check, not `int() argument must be … not 'NoneType'`."""
    from tranquillite.forecasting.pipeline import NoFactsError

    spec = StudyArea(
        name="Villeneuve-sur-Test",
        boundary_path=str(town(tmp_path)),
        zone_property="code",
        sources=["incidents"],
        planned_sources=[],
        school_holidays_subdivision=None,
    ).spec()
    far = incidents().head(50).with_columns(pl.col("lon") - 80.0)
    with pytest.raises(NoFactsError, match="TRANQUILLITE_AREA"):
        from_events(far, spec, first_day=FIRST)
