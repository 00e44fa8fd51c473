"""The forecast the indicators compare facts with: models.forecast (coming days) plus
models.forecast_history (the next-day part of earlier forecasts), the latest origin winning."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from tranquillite.assets.indicators import read_forecast
from tranquillite.indicators import alerts as A
from tranquillite.indicators.config import AlertParams
from tranquillite.indicators.periods import Shifts
from tranquillite.resources import Warehouse

CELL = "89396815307ffff"
D1, D2 = datetime(2025, 3, 10, 6), datetime(2025, 3, 11, 6)


def _fc(origin: datetime, starts: list[datetime], expected: float, upper: float) -> pl.DataFrame:
    return pl.DataFrame({"origin": [origin] * len(starts), "slot_start": starts, "category": ["all"] * len(starts),
                         "h3_cell": [CELL] * len(starts), "expected": [expected] * len(starts),
                         "upper_95": [upper] * len(starts), "lead": list(range(len(starts)))})


def test_history_and_current_forecast_latest_origin_wins(tmp_path):
    wh = Warehouse(root=str(tmp_path / "warehouse"))
    sh = Shifts((6, 14, 22))
    day1 = [D1 + timedelta(hours=8 * i) for i in range(3)]
    day2 = [D2 + timedelta(hours=8 * i) for i in range(3)]
    assert read_forecast(wh, sh) is None                                  # nothing published yet
    wh.write("models", "forecast_history", _fc(D1, day1 + [day2[0]], 0.5, 2.0), partition="2025-03-10")
    wh.write("models", "forecast", _fc(D2, day2, 1.5, 4.0))
    out = read_forecast(wh, sh).sort("slot")
    assert out["slot"].to_list() == [sh.slot_of(t) for t in day1 + day2]  # one row per cell × category × shift
    assert out["expected"].to_list() == [0.5] * 3 + [1.5] * 3             # D2's forecast of 11 March 06–14 wins
    # a past shift forecast the day before is judged against that forecast, not the 8-week baseline
    facts = pl.DataFrame({"event_id": [f"e{i}" for i in range(4)], "source": ["interventions"] * 4,
                          "start": [D1 + timedelta(hours=1)] * 4, "h3_cell": [CELL] * 4,
                          "arrondissement": ["13201"] * 4})
    alerts = A.exceedance_alerts(facts, sh, as_of=D1 + timedelta(days=1), params=AlertParams(),
                                 forecast=out, cell_zone=pl.DataFrame({"h3_cell": [CELL], "arrondissement": ["13201"]}))
    cell_alerts = alerts.filter(pl.col("area_level") == "cellule")
    assert cell_alerts.height >= 1
    assert "models.forecast" in cell_alerts.filter(pl.col("category") == "all")["explanation"][0]
