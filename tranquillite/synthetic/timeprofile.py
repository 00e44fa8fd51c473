"""Time axis of a generation: an hourly grid in UTC with local (Europe/Paris) attributes,
8-hour police shifts (06:00, 14:00, 22:00 local) and the hourly intensity profile of a category.

Internally an instant is an integer number of minutes since the span start (local midnight of
`start`, as UTC); the hourly grid never meets a DST gap or overlap because it is built in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import polars as pl

from tranquillite.synthetic import config as C

PARIS = ZoneInfo(C.TIMEZONE)
SHIFT_HOURS = (6, 14, 22)


def local_midnight_utc(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=PARIS).astimezone(timezone.utc)


@dataclass(frozen=True)
class TimeGrid:
    """Hourly grid covering [start 00:00, start+days 00:00) local time."""

    start: date
    days: int

    @cached_property
    def t0(self) -> datetime:
        """Span start (aware, UTC)."""
        return local_midnight_utc(self.start)

    @cached_property
    def t_end(self) -> datetime:
        return local_midnight_utc(self.start + timedelta(days=self.days))

    @cached_property
    def span_minutes(self) -> int:
        return int((self.t_end - self.t0).total_seconds() // 60)

    @cached_property
    def n_hours(self) -> int:
        return self.span_minutes // 60

    def minutes_of(self, dt: datetime) -> int:
        """Aware datetime → minutes since the span start."""
        return int((dt - self.t0).total_seconds() // 60)

    def local(self, minutes: np.ndarray) -> pl.Series:
        """Minutes since span start → naive local datetimes (polars)."""
        base = int(self.t0.timestamp()) * 1_000_000
        us = base + np.asarray(minutes, dtype=np.int64) * 60_000_000
        return pl.Series("t", us, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")).dt.convert_time_zone(C.TIMEZONE)

    @cached_property
    def hours(self) -> pl.DataFrame:
        """One row per hour: local hour, weekday (0=Mon), month, date, night attributes."""
        t = self.local(np.arange(self.n_hours, dtype=np.int64) * 60)
        night = t - timedelta(hours=6)  # the night of day D runs from D 22:00 to D+1 05:59
        df = pl.DataFrame(
            {
                "hour": t.dt.hour().cast(pl.Int32),
                "weekday": (t.dt.weekday() - 1).cast(pl.Int32),
                "month": t.dt.month().cast(pl.Int32),
                "day": t.dt.date(),
                "night_day": night.dt.date(),
                "night_weekday": (night.dt.weekday() - 1).cast(pl.Int32),
                "night_md": (night.dt.month().cast(pl.Int32) * 100 + night.dt.day().cast(pl.Int32)),
            }
        )
        years = sorted({d.year for d in (self.start - timedelta(days=2), self.start + timedelta(days=self.days + 2))})
        fr = holidays.France(years=list(range(years[0], years[-1] + 1)))
        hol = sorted(fr.keys())
        eve = sorted(d - timedelta(days=1) for d in hol)
        return df.with_columns(
            pl.col("day").is_in(hol).alias("holiday"),
            (pl.col("night_day").is_in(hol) | pl.col("night_day").is_in(eve)).alias("holiday_night"),
        )

    # ------------------------------------------------------------------ 8-hour slots
    @cached_property
    def slot_bounds(self) -> np.ndarray:
        """Minutes (since span start) of every shift boundary from the day before the span start
        to the first boundary at or after the span end."""
        out = []
        d = self.start - timedelta(days=1)
        while True:
            for h in SHIFT_HOURS:
                m = self.minutes_of(datetime.combine(d, time(h), tzinfo=PARIS).astimezone(timezone.utc))
                out.append(m)
            if out[-1] >= self.span_minutes and out[-2] >= self.span_minutes:
                break
            d += timedelta(days=1)
        b = np.array(out, dtype=np.int64)
        first = np.flatnonzero(b <= 0)[-1]  # slot containing the span start
        last = np.flatnonzero(b >= self.span_minutes)[0]  # end boundary of the last slot
        return b[first : last + 1]

    @property
    def n_slots(self) -> int:
        return self.slot_bounds.size - 1

    def slot_of(self, minutes: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.slot_bounds, np.asarray(minutes), side="right") - 1

    @cached_property
    def hour_slot(self) -> np.ndarray:
        return self.slot_of(np.arange(self.n_hours, dtype=np.int64) * 60)

    @cached_property
    def slot_start_local(self) -> pl.Series:
        return self.local(self.slot_bounds[:-1]).alias("slot_start")

    # ------------------------------------------------------------------ profiles
    def profile(self, shape: str, weekend: str, season: str, holidays_matter: bool = True) -> np.ndarray:
        """Relative intensity per hour of the grid, normalised so that a typical year averages 1."""
        h = self.hours
        hour = h["hour"].to_numpy()
        wd = h["weekday"].to_numpy()
        nwd = h["night_weekday"].to_numpy()
        month = h["month"].to_numpy()
        daily = np.asarray(C.HOURLY_SHAPES[shape], dtype="float64")
        rule = C.WEEKEND_RULES[weekend]
        week = _week_matrix(daily, rule)  # 7 x 24, mean 1
        r = week[wd, hour].copy()
        if holidays_matter:
            is_night = (hour >= 22) | (hour < 6)
            nightlife = rule["weekend_night"] > 1.0
            if nightlife:
                # nights of (and before) public holidays look like weekend nights
                hol_night = h["holiday_night"].to_numpy() & is_night & ~np.isin(nwd, (4, 5))
                r[hol_night] *= C.HOLIDAY_NIGHT_FACTOR
                nmd = h["night_md"].to_numpy()
                fest = np.ones(r.shape[0])
                for (mo, dd), f in C.FESTIVE_NIGHTS.items():
                    fest[nmd == mo * 100 + dd] = f
                r = np.where(is_night, r * fest, r)
            # daytime of a public holiday follows the Sunday pattern
            hol_day = h["holiday"].to_numpy() & (hour >= 6) & (hour < 18) & (wd < 6)
            r[hol_day] = week[6, hour][hol_day]
        m = np.asarray(C.MONTHLY[season], dtype="float64")
        m = m / m.mean()
        return r * m[month - 1]


def _week_matrix(daily: np.ndarray, rule: dict[str, float]) -> np.ndarray:
    """7 x 24 relative intensity (Mon..Sun x hour), weekend modulations applied, mean 1."""
    w = np.tile(daily, (7, 1))
    hours = np.arange(24)
    night_late = hours < 6  # belongs to the night started the previous day
    night_early = hours >= 22
    evening = (hours >= 18) & (hours < 22)
    day = (hours >= 6) & (hours < 18)
    for d in range(7):
        if d in (4, 5):  # Friday and Saturday nights start
            w[d, night_early] *= rule["weekend_night"]
            w[d, evening] *= rule["weekend_evening"]
        if d in (5, 6):  # the night started on Friday / Saturday ends on Saturday / Sunday morning
            w[d, night_late] *= rule["weekend_night"]
        if d == 5:
            w[d, day] *= rule["saturday_day"]
        if d == 6:
            w[d, day] *= rule["sunday_day"]
    return w / w.mean()
