"""Periods (ISO week, month, day) and police shifts (slots), as Polars expressions.

Periods label facts for the hot-spot statistics and the catalogue: `semaine` is the ISO week
(`2025-W03`, Monday start), `mois` the calendar month (`2025-03`), `jour` the date.

A slot is one police shift (06–14, 14–22, 22–06 by default, the night shift belonging to the
day it starts), numbered `days since 1970-01-01 × shifts per day + shift index` — the same
numbering as the forecasting package, so that `indicators.tension` and `models.forecast` join
on the slot. Times are naive local wall-clock times, as in `clean.events`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

EPOCH = date(1970, 1, 1)
PERIOD_LABEL = {"jour": "%Y-%m-%d", "semaine": "%G-W%V", "mois": "%Y-%m"}


def period_start(ts: pl.Expr, level: str) -> pl.Expr:
    """Start date of the period containing `ts` (date or datetime)."""
    d = ts.cast(pl.Date)
    if level == "jour":
        return d
    if level == "semaine":
        return d.dt.truncate("1w")
    if level == "mois":
        return d.dt.truncate("1mo")
    raise ValueError(f"niveau de période inconnu: {level}")


def period_end(start: pl.Expr, level: str) -> pl.Expr:
    """Exclusive end date of the period starting at `start`."""
    return {"jour": start.dt.offset_by("1d"), "semaine": start.dt.offset_by("1w"), "mois": start.dt.offset_by("1mo")}[
        level
    ]


def period_label(start: pl.Expr, level: str) -> pl.Expr:
    return start.dt.strftime(PERIOD_LABEL[level])


class Shifts:
    """Police shifts starting at `hours` (local time); a slot is one shift of one day."""

    def __init__(self, hours: tuple[int, ...] = (6, 14, 22)):
        h = tuple(sorted(int(x) for x in hours))
        if not h or h[0] < 0 or h[-1] > 23 or len(set(h)) != len(h):
            raise ValueError(f"heures de prise de service invalides: {hours}")
        self.hours = h
        self.n = len(h)

    def slot_expr(self, ts: pl.Expr) -> pl.Expr:
        """Naive local datetime → slot number."""
        s0 = self.hours[0]
        shifted = ts - pl.duration(hours=s0)
        minutes = shifted.dt.hour().cast(pl.Int64) * 60 + shifted.dt.minute().cast(pl.Int64)
        k = pl.lit(0, dtype=pl.Int64)
        for i, h in enumerate(self.hours[1:], start=1):
            k = pl.when(minutes >= (h - s0) * 60).then(pl.lit(i, dtype=pl.Int64)).otherwise(k)
        days = (shifted.dt.date() - pl.lit(EPOCH)).dt.total_days().cast(pl.Int64)
        return days * self.n + k

    def start_expr(self, slot: pl.Expr) -> pl.Expr:
        hours = pl.lit(self.hours[0], dtype=pl.Int64)
        for i, h in enumerate(self.hours[1:], start=1):
            hours = pl.when(slot % self.n == i).then(pl.lit(h, dtype=pl.Int64)).otherwise(hours)
        return (
            pl.lit(datetime(1970, 1, 1)).cast(pl.Datetime("us"))
            + pl.duration(days=slot // self.n)
            + pl.duration(hours=hours)
        )

    def slot_of(self, t: datetime) -> int:
        u = t - timedelta(hours=self.hours[0])
        minutes = u.hour * 60 + u.minute
        k = max(i for i, h in enumerate(self.hours) if (h - self.hours[0]) * 60 <= minutes)
        return (u.date() - EPOCH).days * self.n + k

    def start(self, slot: int) -> datetime:
        day, k = divmod(int(slot), self.n)
        return datetime.combine(EPOCH + timedelta(days=day), datetime.min.time()) + timedelta(hours=self.hours[k])

    def next_start(self, t: datetime) -> int:
        """The first slot starting at or after `t`."""
        s = self.slot_of(t)
        return s if self.start(s) == t else s + 1

    def label(self, slot: pl.Expr) -> pl.Expr:
        """`06h-14h` style label of the shift kind."""
        ends = self.hours[1:] + (self.hours[0],)
        out = pl.lit(f"{self.hours[0]:02d}h-{ends[0]:02d}h")
        for i, h in enumerate(self.hours[1:], start=1):
            out = pl.when(slot % self.n == i).then(pl.lit(f"{h:02d}h-{ends[i]:02d}h")).otherwise(out)
        return out
