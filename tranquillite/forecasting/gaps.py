"""Days with no data received: unknown, not days without facts.

An export that arrives late, or a partner that sends nothing for weeks, leaves days for which the
platform knows nothing. They must not read as days when nothing happened: a day is *received*
when an export of that day holds facts, or facts of that day arrived in any export
(`assets.features.received_days`), and the features and forecasts treat every other day as
unknown:

* `features.observed_counts` has no partition for a day not received (an empty partition would
  say "no fact");
* a state window (`forecasting.features.state_features`) reaching into such a day is null, and
  the yearly rates are rates over the received days;
* the backtest only scores horizons entirely received and trains on received target slots;
* the baselines look at received slots only.

The night shift of a received day is counted from what its export holds (its part after
midnight belongs to the next day's export), as for the latest day of the data.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Iterable

import numpy as np
import polars as pl

from tranquillite.forecasting.slots import SlotScheme


def as_dates(days: Iterable[date | str]) -> set[date]:
    return {d if isinstance(d, date) else date.fromisoformat(d) for d in days}


def observed_slots(received: Iterable[date | str], scheme: SlotScheme, first_slot: int, n_slots: int) -> np.ndarray:
    """For slots first_slot .. first_slot + n_slots - 1: was the service day of the slot received?"""
    got = {scheme.first_slot(d) // scheme.n for d in as_dates(received)}
    days = np.arange(first_slot, first_slot + n_slots, dtype=np.int64) // scheme.n
    return np.isin(days, np.fromiter(got, dtype=np.int64, count=len(got)))


def missing_days(received: Iterable[date | str], first: date, last: date) -> list[date]:
    """Days of [first, last] not received."""
    got = as_dates(received)
    return [first + timedelta(days=i) for i in range((last - first).days + 1) if first + timedelta(days=i) not in got]


def periods(days: list[date]) -> list[tuple[date, date]]:
    """Runs of consecutive days, as (first, last)."""
    out: list[tuple[date, date]] = []
    for d in sorted(days):
        if out and d == out[-1][1] + timedelta(days=1):
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out


def describe(days: list[date], limit: int = 12) -> list[str]:
    """'2025-03-31 → 2025-05-11 (42 j)' per run of missing days (the `limit` latest)."""
    runs = periods(days)[-limit:]
    return [f"{a} → {b} ({(b - a).days + 1} j)" if a != b else f"{a} (1 j)" for a, b in runs]


def missing_in_window(missing: np.ndarray, back_from: int, back_to: int) -> np.ndarray:
    """For each slot i of a series: how many of the slots i - back_from .. i - back_to (inclusive,
    clipped to the series) are missing."""
    T = missing.size
    cm = np.concatenate([[0], np.cumsum(missing.astype(np.int64))])
    i = np.arange(T)
    lo = np.clip(i - back_from, 0, T)
    hi = np.clip(i - back_to + 1, 0, T)
    return np.where(hi > lo, cm[hi] - cm[lo], 0)


def complete_panel(
    states: pl.DataFrame,
    n_cells: int,
    scheme: SlotScheme,
    received: Iterable[date | str],
    first_slot: int | None = None,
    last_slot: int | None = None,
) -> tuple[pl.DataFrame, list[date]]:
    """The state panel with null rows for the days that were not received and have no features,
    so that it covers every slot of its range (`FeatureStore` needs a complete panel).

    Returns the panel and the days filled. A received day whose rows are missing or incomplete is a
    defect (the features of that day were not computed, or were cut): `ValueError` naming the days."""
    got = as_dates(received)
    if states.height == 0:
        return states, []
    s0 = int(states["slot"].min()) if first_slot is None else first_slot
    s1 = int(states["slot"].max()) if last_slot is None else last_slot
    s0, s1 = s0 - s0 % scheme.n, s1 - s1 % scheme.n + scheme.n - 1
    per_day = states.filter(pl.col("slot").is_between(s0, s1)).group_by((pl.col("slot") // scheme.n).alias("_d")).len()
    rows = dict(per_day.iter_rows())
    first_day = s0 // scheme.n
    expected = n_cells * scheme.n
    fill, broken = [], []
    for k in range(first_day, s1 // scheme.n + 1):
        d = date(1970, 1, 1) + timedelta(days=k)
        have = rows.get(k, 0)
        if have == expected:
            continue
        if have == 0 and d not in got:
            fill.append(d)
        else:
            broken.append(f"{d} ({have}/{expected} lignes)")
    if broken:
        raise ValueError(
            "panel de caractéristiques incomplet pour des jours reçus (caractéristiques non calculées "
            "ou tronquées: relancer le job prevision sur ces jours): "
            + ", ".join(broken[:10])
            + (f" et {len(broken) - 10} autres" if len(broken) > 10 else "")
        )
    if not fill:
        return states, []
    slots = np.concatenate([np.arange(scheme.first_slot(d), scheme.first_slot(d) + scheme.n) for d in fill])
    blank = pl.DataFrame(
        {
            "cell_idx": np.repeat(np.arange(n_cells, dtype=np.int32), slots.size),
            "slot": np.tile(slots.astype(np.int64), n_cells),
        }
    )
    blank = blank.with_columns(
        [pl.lit(None, dtype=t).alias(c) for c, t in states.schema.items() if c not in ("cell_idx", "slot")]
    )
    panel = pl.concat([states, blank.select(states.columns).cast(states.schema)])
    return panel, fill
