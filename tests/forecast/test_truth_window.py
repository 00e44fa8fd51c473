"""The synthetic truth (the backtest's perfect foresight) is read over the backtest's window only,
and not at all by the training nor the daily forecast: read whole, 8 years at Marseille's volume
(30 M source × cell × shift rows) held GBs in the daily forecast for nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from tranquillite.assets.models import TRUTH_FILE, read_truth
from tranquillite.resources import Warehouse


def _truth(home, tz: str | None = "Europe/Paris") -> pl.DataFrame:
    start = datetime(2025, 1, 1, 6)
    slots = [start + timedelta(hours=8 * i) for i in range(3 * 10)]  # 10 days of three shifts
    df = pl.DataFrame(
        {
            "source": "interventions",
            "h3_cell": "89396800007ffff",
            "slot_start": slots,
            "background": [float(i) for i in range(len(slots))],
            "excitation": 0.0,
            "excitation_intra": 0.0,
        }
    )
    if tz:
        df = df.with_columns(pl.col("slot_start").dt.replace_time_zone(tz))
    path = home / TRUTH_FILE
    path.parent.mkdir(parents=True)
    df.write_parquet(path)
    return df


def test_the_truth_is_read_from_the_day_before_the_window_on(tmp_path):
    wh = Warehouse(root=str(tmp_path / "warehouse"))
    assert read_truth(wh, "2025-01-05") is None  # real data: no truth file
    full = _truth(tmp_path)
    got = read_truth(wh, "2025-01-05")
    # from the evening before the window's first day (its night shift may start then), nothing earlier
    assert got["slot_start"].min().replace(tzinfo=None) == datetime(2025, 1, 4, 6)
    assert got.equals(full.filter(pl.col("slot_start").dt.replace_time_zone(None) >= datetime(2025, 1, 4)))
    assert read_truth(wh, "2025-01-01").equals(full)


def test_a_naive_truth_is_windowed_alike(tmp_path):
    full = _truth(tmp_path, tz=None)
    got = read_truth(Warehouse(root=str(tmp_path / "warehouse")), "2025-01-08")
    assert got.equals(full.filter(pl.col("slot_start") >= datetime(2025, 1, 7)))
