"""Police shifts as integer slots.

A slot is one shift of a day (by default 06–14, 14–22 and 22–06 local time); the night shift
belongs to the day it starts. Slots are numbered `day × n + k` where `day` counts days since
1970-01-01 and `k` is the shift index, so consecutive shifts have consecutive numbers, the
number is stable across partitions, and `slot % n` is the kind of shift. Times are naive local
wall-clock times (as in `clean.events`); a night shift across a DST change lasts 7 or 9 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class SlotScheme:
    shift_hours: tuple[int, ...] = (6, 14, 22)

    def __post_init__(self):
        h = tuple(sorted(self.shift_hours))
        if not h or h[0] < 0 or h[-1] > 23 or len(set(h)) != len(h):
            raise ValueError(f"heures de prise de service invalides: {self.shift_hours}")
        object.__setattr__(self, "shift_hours", h)

    @property
    def n(self) -> int:
        """Shifts per day."""
        return len(self.shift_hours)

    @property
    def per_week(self) -> int:
        return 7 * self.n

    # ------------------------------------------------------------------ Polars expressions
    def slot_expr(self, ts: pl.Expr) -> pl.Expr:
        """Naive local datetime → slot number (the shift containing the instant)."""
        s0 = self.shift_hours[0]
        shifted = ts - pl.duration(hours=s0)
        day = shifted.dt.date()
        minutes = shifted.dt.hour().cast(pl.Int64) * 60 + shifted.dt.minute().cast(pl.Int64)
        k = pl.lit(0, dtype=pl.Int64)
        for i, h in enumerate(self.shift_hours[1:], start=1):
            k = pl.when(minutes >= (h - s0) * 60).then(pl.lit(i, dtype=pl.Int64)).otherwise(k)
        days = (day - pl.lit(EPOCH)).dt.total_days().cast(pl.Int64)
        return days * self.n + k

    def start_expr(self, slot: pl.Expr) -> pl.Expr:
        """Slot number → naive local start datetime."""
        day = slot // self.n
        k = slot % self.n
        hours = pl.lit(self.shift_hours[0], dtype=pl.Int64)
        for i, h in enumerate(self.shift_hours[1:], start=1):
            hours = pl.when(k == i).then(pl.lit(h, dtype=pl.Int64)).otherwise(hours)
        base = pl.lit(datetime(1970, 1, 1)).cast(pl.Datetime("us"))
        return base + pl.duration(days=day) + pl.duration(hours=hours)

    def day_expr(self, slot: pl.Expr) -> pl.Expr:
        """Slot number → the day the shift belongs to."""
        return pl.lit(EPOCH) + pl.duration(days=slot // self.n)

    # ------------------------------------------------------------------ scalars
    def slot_of(self, t: datetime) -> int:
        s0 = self.shift_hours[0]
        u = t - timedelta(hours=s0)
        minutes = u.hour * 60 + u.minute
        k = max(i for i, h in enumerate(self.shift_hours) if (h - s0) * 60 <= minutes)
        return (u.date() - EPOCH).days * self.n + k

    def start(self, slot: int) -> datetime:
        day, k = divmod(int(slot), self.n)
        return datetime.combine(EPOCH + timedelta(days=day), datetime.min.time()) + timedelta(hours=self.shift_hours[k])

    def end(self, slot: int) -> datetime:
        return self.start(slot + 1)

    def day(self, slot: int) -> date:
        return EPOCH + timedelta(days=int(slot) // self.n)

    def first_slot(self, d: date) -> int:
        """First shift of a day."""
        return (d - EPOCH).days * self.n

    def next_boundary(self, t: datetime) -> int:
        """The first slot starting at or after `t`."""
        s = self.slot_of(t)
        return s if self.start(s) == t else s + 1

    def days_range(self, first: date, last: date) -> np.ndarray:
        """Every slot of the days first..last (inclusive)."""
        return np.arange(self.first_slot(first), self.first_slot(last) + self.n, dtype=np.int64)

    def starts(self, slots) -> pl.Series:
        return (
            pl.DataFrame({"slot": np.asarray(slots, dtype=np.int64)})
            .select(self.start_expr(pl.col("slot")).alias("slot_start"))
            .to_series()
        )
