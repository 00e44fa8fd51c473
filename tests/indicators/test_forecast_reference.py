"""The forecast the indicators compare facts with: models.forecast (coming days) plus
models.forecast_history (the next-day part of earlier forecasts), the latest origin winning."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from tranquillite.assets.indicator_inputs import read_forecast
from tranquillite.indicators import alerts as A
from tranquillite.indicators.config import AlertParams
from tranquillite.indicators.periods import Shifts
from tranquillite.resources import Warehouse

CELL = "89396815307ffff"
D1, D2 = datetime(2025, 3, 10, 6), datetime(2025, 3, 11, 6)


def _fc(origin: datetime, starts: list[datetime], expected: float, upper: float) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "origin": [origin] * len(starts),
            "slot_start": starts,
            "category": ["all"] * len(starts),
            "h3_cell": [CELL] * len(starts),
            "expected": [expected] * len(starts),
            "upper_95": [upper] * len(starts),
            "lead": list(range(len(starts))),
        }
    )


def test_history_and_current_forecast_latest_origin_wins(tmp_path):
    wh = Warehouse(root=str(tmp_path / "warehouse"))
    sh = Shifts((6, 14, 22))
    day1 = [D1 + timedelta(hours=8 * i) for i in range(3)]
    day2 = [D2 + timedelta(hours=8 * i) for i in range(3)]
    assert read_forecast(wh, sh) is None  # nothing published yet
    wh.write("models", "forecast_history", _fc(D1, day1 + [day2[0]], 0.5, 2.0), partition="2025-03-10")
    wh.write("models", "forecast", _fc(D2, day2, 1.5, 4.0))
    out = read_forecast(wh, sh).sort("slot")
    assert out["slot"].to_list() == [sh.slot_of(t) for t in day1 + day2]  # one row per cell × category × shift
    assert out["expected"].to_list() == [0.5] * 3 + [1.5] * 3  # D2's forecast of 11 March 06–14 wins
    # a past shift forecast the day before is judged against that forecast, not the 8-week baseline
    facts = pl.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(4)],
            "source": ["interventions"] * 4,
            "start": [D1 + timedelta(hours=1)] * 4,
            "h3_cell": [CELL] * 4,
            "arrondissement": ["13201"] * 4,
        }
    )
    alerts = A.exceedance_alerts(
        facts,
        sh,
        as_of=D1 + timedelta(days=1),
        params=AlertParams(),
        forecast=out,
        cell_zone=pl.DataFrame({"h3_cell": [CELL], "arrondissement": ["13201"]}),
    )
    cell_alerts = alerts.filter(pl.col("area_level") == "cellule")
    assert cell_alerts.height >= 1
    assert "models.forecast" in cell_alerts.filter(pl.col("category") == "all")["explanation"][0]


def test_of_one_origins_forecasts_the_citys_own_one_is_read_with_its_conventions(tmp_path):
    """The champion used the Préfecture's records (`complete`); the City's own forecast
    (`internal`) is the one the indicators read: the planned events enter them directly."""
    wh = Warehouse(root=str(tmp_path / "warehouse"))
    sh = Shifts((6, 14, 22))
    day2 = [D2 + timedelta(hours=8 * i) for i in range(3)]
    complete = _fc(D2, day2, 3.0, 9.0).with_columns(
        pl.lit("complete").alias("variant"), pl.lit(["internal", "prefecture_police_13"]).alias("conventions")
    )
    internal = _fc(D2, day2, 1.5, 4.0).with_columns(
        pl.lit("internal").alias("variant"), pl.lit(["internal"]).alias("conventions")
    )
    wh.write("models", "forecast", pl.concat([complete, internal]))
    out = read_forecast(wh, sh)
    assert out.height == 3 and out["expected"].to_list() == [1.5] * 3
    assert out["conventions"].to_list() == [["internal"]] * 3
    # an exceedance judged against a forecast carries that forecast's conventions
    facts = pl.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(9)],
            "source": ["interventions"] * 9,
            "start": [D2 + timedelta(hours=1)] * 9,
            "h3_cell": [CELL] * 9,
            "arrondissement": ["13201"] * 9,
            "convention": ["internal"] * 9,
        }
    )
    only = complete.with_columns(pl.lit(1.0).alias("expected"), pl.lit(2.0).alias("upper_95"))
    wh.write("models", "forecast", only)
    alerts = A.exceedance_alerts(
        facts,
        sh,
        as_of=D2 + timedelta(days=1),
        params=AlertParams(),
        forecast=read_forecast(wh, sh),
        cell_zone=pl.DataFrame({"h3_cell": [CELL], "arrondissement": ["13201"]}),
    )
    judged = alerts.filter(pl.col("reference").str.contains("models.forecast"))
    assert judged.height >= 1
    assert set(map(tuple, judged["conventions"].to_list())) == {("internal", "prefecture_police_13")}
