"""Police shifts as slots, and the calendar features."""

from datetime import date, datetime

import numpy as np
import polars as pl
import pytest

from tranquillite.forecasting.calendar import calendar
from tranquillite.forecasting.slots import SlotScheme

S = SlotScheme((6, 14, 22))


@pytest.mark.parametrize(
    "t, day, kind",
    [
        (datetime(2025, 3, 8, 6, 0), date(2025, 3, 8), 0),
        (datetime(2025, 3, 8, 13, 59), date(2025, 3, 8), 0),
        (datetime(2025, 3, 8, 14, 0), date(2025, 3, 8), 1),
        (datetime(2025, 3, 8, 22, 30), date(2025, 3, 8), 2),
        (datetime(2025, 3, 9, 2, 0), date(2025, 3, 8), 2),  # the night belongs to the day it starts
        (datetime(2025, 3, 9, 5, 59), date(2025, 3, 8), 2),
        (datetime(2025, 1, 1, 0, 3), date(2024, 12, 31), 2),
    ],
)
def test_slot_of_a_time(t, day, kind):
    s = S.slot_of(t)
    assert S.day(s) == day and s % 3 == kind
    assert S.start(s) <= t < S.end(s)
    vec = pl.DataFrame({"t": [t]}).select(S.slot_expr(pl.col("t"))).item()
    assert vec == s


def test_slots_are_consecutive_and_round_trip():
    slots = S.days_range(date(2025, 3, 29), date(2025, 3, 31))  # across the DST change (30 March)
    assert list(np.diff(slots)) == [1] * (len(slots) - 1)
    starts = S.starts(slots).to_list()
    assert [S.start(s) for s in slots] == starts
    assert [S.slot_of(t) for t in starts] == list(slots)
    assert starts[:4] == [
        datetime(2025, 3, 29, 6),
        datetime(2025, 3, 29, 14),
        datetime(2025, 3, 29, 22),
        datetime(2025, 3, 30, 6),
    ]
    assert S.next_boundary(datetime(2025, 3, 29, 9, 30)) == slots[1]
    assert S.next_boundary(datetime(2025, 3, 29, 14, 0)) == slots[1]


def test_other_shift_patterns():
    two = SlotScheme((7, 19))
    s = two.slot_of(datetime(2025, 6, 1, 3, 0))
    assert two.day(s) == date(2025, 5, 31) and s % 2 == 1 and two.start(s) == datetime(2025, 5, 31, 19)
    with pytest.raises(ValueError):
        SlotScheme((6, 6))


def test_calendar_holidays_and_school_zone_b():
    slots = S.days_range(date(2025, 2, 7), date(2025, 5, 2))
    cal = calendar(slots, S, "FR", "Zone B").with_columns(S.day_expr(pl.col("slot")).alias("day"))
    day = {d: r for d, r in zip(cal["day"].to_list(), cal.iter_rows(named=True))}
    assert day[date(2025, 5, 1)]["ferie"] == 1 and day[date(2025, 4, 30)]["veille_ferie"] == 1
    assert day[date(2025, 4, 30)]["ferie"] == 0
    assert day[date(2025, 4, 21)]["ferie"] == 1  # Easter Monday
    assert day[date(2025, 2, 7)]["vacances"] == 0  # zone B winter break: 8 → 23 February
    assert day[date(2025, 2, 10)]["vacances"] == 1
    assert day[date(2025, 2, 24)]["vacances"] == 0
    assert day[date(2025, 4, 14)]["vacances"] == 1  # spring break: 5 → 21 April
    assert day[date(2025, 3, 10)]["weekday"] == 0 and day[date(2025, 3, 10)]["month"] == 3
    assert set(cal["kind"].to_list()) == {0, 1, 2}
    none = calendar(slots, S, "FR", None)
    assert none["vacances"].sum() == 0
