"""`state_features` by cumulative sums, at the slots asked only (issue 14), gives exactly what the
Polars rolling windows over the whole panel gave: on every column, every row, nulls (windows
before the data start, or over days not received) and NaN (a yearly rate with no shift of its
kind yet) included — for the full range the weekly training reads, and for the last days the
daily forecast reads.

The reference below is the implementation that was in `forecasting/features.py` before (frozen
here, unchanged but for its name)."""

from datetime import date

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sps
from polars.testing import assert_frame_equal

from tranquillite.forecasting import features as F
from tranquillite.forecasting.counts import COUNT_SCHEMA, dense
from tranquillite.forecasting.gaps import missing_in_window, observed_slots
from tranquillite.forecasting.slots import SlotScheme

SCH = SlotScheme((6, 14, 22))
N_CELLS = 5
GROUPS = ["a", "b"]
# cells 0-1-2-3 in a line, 4 next to 1 and 2
NB = sps.csr_matrix(
    np.array([[0, 1, 0, 0, 0], [1, 0, 1, 0, 1], [0, 1, 0, 1, 1], [0, 0, 1, 0, 0], [0, 1, 1, 0, 0]], dtype=np.float32)
)


# --------------------------------------------------------------------------- the former code
def _reference_unknown_windows(observed, data_start_slot, start, T, n):
    if observed is None:
        return {}
    obs = np.ones(T, dtype=bool)
    k = min(T, max(0, observed.size - (start - data_start_slot)))
    obs[:k] = observed[start - data_start_slot : start - data_start_slot + k]
    if obs.all():
        return {}
    miss = ~obs
    win = {
        "lag1": (1, 1),
        "1d": (n, 1),
        "7d": (7 * n, 1),
        "28d": (28 * n, 1),
        "84d": (84 * n, 1),
        "ly": (364 * n, 357 * n + 1),
    }
    return {"obs": obs, **{name: missing_in_window(miss, a, b) > 0 for name, (a, b) in win.items()}}


def reference_state_features(
    counts, n_cells, groups, scheme, first_slot, last_slot, data_start_slot, neighbours, observed=None
):
    n = scheme.n
    hist = 371 * n
    start = max(int(data_start_slot), int(first_slot) - hist)
    first_slot = max(int(first_slot), start)
    T = int(last_slot) - start + 1
    if T <= 0 or n_cells == 0:
        return pl.DataFrame(schema={"cell_idx": pl.Int32, "slot": pl.Int64})
    Y = dense(counts, groups, n_cells, start, T)
    slots = np.arange(start, start + T, dtype=np.int64)
    kind = slots % n
    data = {"cell_idx": np.repeat(np.arange(n_cells, dtype=np.int32), T), "slot": np.tile(slots, n_cells)}
    for i, g in enumerate(groups):
        data[f"_c_{g}"] = Y[i].ravel()
        data[f"_nb_{g}"] = (neighbours @ Y[i]).ravel()
    panel = pl.DataFrame(data)
    del Y, data
    kind_col = pl.Series("_kind", np.tile(kind, n_cells).astype(np.int8))
    panel = panel.with_columns(kind_col)
    unknown = _reference_unknown_windows(observed, int(data_start_slot), start, T, n)
    if unknown:
        panel = panel.with_columns([pl.Series(f"_u_{k}", np.tile(v, n_cells)) for k, v in unknown.items()])

    def win(col, w, shift=1, min_samples=None):
        return col.rolling_sum(w, min_samples=w if min_samples is None else min_samples).shift(shift).over("cell_idx")

    def known(e, window):
        return pl.when(pl.col(f"_u_{window}")).then(None).otherwise(e) if unknown else e

    exprs = []
    year = 364 * n
    received = pl.col("_u_obs") if unknown else pl.lit(True)
    for g in groups:
        c, nb = pl.col(f"_c_{g}"), pl.col(f"_nb_{g}")
        exprs += [
            known(c.shift(1).over("cell_idx"), "lag1").alias(f"{g}_lag1"),
            known(win(c, n), "1d").alias(f"{g}_1d"),
            known(win(c, 7 * n), "7d").alias(f"{g}_7d"),
            known(win(c, 28 * n), "28d").alias(f"{g}_28d"),
            known(win(c, 7 * n, shift=357 * n + 1), "ly").alias(f"{g}_ly"),
        ]
        for k in range(n):
            ck = pl.when(pl.col("_kind") == k).then(c).otherwise(0.0)
            exprs += [
                known(win(ck, 28 * n), "28d").alias(f"{g}_28d_k{k}"),
                known(win(ck, 84 * n), "84d").alias(f"{g}_84d_k{k}"),
            ]
            seen = pl.when((pl.col("_kind") == k) & received).then(1.0).otherwise(0.0)
            rate = win(ck, year, min_samples=1) / win(seen, year, min_samples=1)
            if unknown:
                rate = pl.when(win(seen, year, min_samples=1) > 0).then(rate)
            exprs.append(rate.alias(f"{g}_rate_k{k}"))
        exprs += [
            known(win(nb, n), "1d").alias(f"{g}_nb_1d"),
            known(win(nb, 7 * n), "7d").alias(f"{g}_nb_7d"),
            known(win(nb, 84 * n), "84d").alias(f"{g}_nb_84d"),
        ]
    out = panel.with_columns(exprs).filter(pl.col("slot") >= first_slot)
    cols = F.state_columns(groups, n)
    casts = [pl.col(c).cast(pl.Float32) if "_rate_" in c else pl.col(c).cast(pl.UInt16) for c in cols]
    return out.select("cell_idx", "slot", *casts)


# --------------------------------------------------------------------------- synthetic history
DAYS = 520
S0 = SCH.first_slot(date(2024, 1, 3))  # the data start (a Wednesday)
LAST = S0 + DAYS * SCH.n - 1


def history(seed: int = 7) -> pl.DataFrame:
    """Sparse counts over DAYS days: Poisson-ish facts, some cells and slots much busier."""
    rng = np.random.default_rng(seed)
    rows = []
    for g, rate in (("a", 0.25), ("b", 0.08)):
        lam = rate * rng.uniform(0.2, 3.0, size=(N_CELLS, 1)) * np.tile([1.0, 1.6, 0.5], DAYS)[None, :]
        y = rng.poisson(lam)
        for cell, t in zip(*np.nonzero(y)):
            rows.append((g, int(cell), int(S0 + t), int(y[cell, t]), ["internal"]))
    return pl.DataFrame(rows, schema=list(COUNT_SCHEMA), orient="row").cast(COUNT_SCHEMA)


def received_flags(missing_days: list[tuple[int, int]], n_days: int = DAYS) -> np.ndarray:
    """Per slot from S0: was its day received (runs of day offsets [a, b) not received)?"""
    days = [date(2024, 1, 3).toordinal() + d for d in range(n_days) if not any(a <= d < b for a, b in missing_days)]
    return observed_slots([date.fromordinal(d) for d in days], SCH, S0, n_days * SCH.n)


COUNTS = history()
# a gap of 3 weeks, one lone day, a gap of 2 days near the end — and the counts of the days not
# received dropped (as `observed_counts` has no partition for them)
GAPS = [(40, 61), (200, 201), (DAYS - 9, DAYS - 7)]
OBSERVED = received_flags(GAPS)


def without_gaps(counts: pl.DataFrame, observed: np.ndarray) -> pl.DataFrame:
    return counts.filter(pl.Series(observed)[(counts["slot"] - S0).to_numpy()])


CASES = {
    # the weekly training / any city: every slot from the data start
    "full": dict(first_slot=S0, last_slot=LAST, data_start_slot=S0),
    # the daily forecast: the last day, or two, with a year of history before them
    "last_day": dict(first_slot=LAST - 2, last_slot=LAST, data_start_slot=S0),
    "last_two_days": dict(first_slot=LAST - 5, last_slot=LAST, data_start_slot=S0),
    # the forecast's origin just after the stored states (`ForecastData.ensure_states`): one slot
    "one_slot": dict(first_slot=LAST, last_slot=LAST, data_start_slot=S0),
    # a day within the first year: windows reaching before the data start are unknown
    "early_day": dict(first_slot=S0 + 30 * 3, last_slot=S0 + 31 * 3 - 1, data_start_slot=S0),
    "first_slots": dict(first_slot=S0, last_slot=S0 + 5, data_start_slot=S0),
    # a range of the middle (a chunk of `cell_slot`) starting past a year of history
    "middle": dict(first_slot=S0 + 380 * 3 + 1, last_slot=S0 + 420 * 3, data_start_slot=S0),
    # the range asked starts before the data: it starts at the data start
    "before_data": dict(first_slot=S0 - 30, last_slot=S0 + 400 * 3, data_start_slot=S0),
    # states past the latest count (the slots after it have no facts)
    "past_counts": dict(first_slot=LAST - 2, last_slot=LAST + 9, data_start_slot=S0),
}


def both(counts, observed, **kw):
    args = (counts, N_CELLS, GROUPS, SCH, kw["first_slot"], kw["last_slot"], kw["data_start_slot"], NB, observed)
    return F.state_features(*args), reference_state_features(*args)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("gaps", ["none", "observed_all", "gaps", "gaps_short_observed", "gaps_counts_kept"])
def test_identical_to_the_rolling_windows(case, gaps):
    kw = CASES[case]
    counts, observed = COUNTS, None
    if gaps == "observed_all":
        observed = np.ones(DAYS * SCH.n, dtype=bool)
    elif gaps == "gaps":
        counts, observed = without_gaps(COUNTS, OBSERVED), OBSERVED
    elif gaps == "gaps_short_observed":  # `observed` ends before the range: the slots after it are received
        counts, observed = without_gaps(COUNTS, OBSERVED), OBSERVED[: (DAYS - 20) * SCH.n]
    elif gaps == "gaps_counts_kept":  # facts on days said not received (`from_events` callers)
        observed = OBSERVED
    new, ref = both(counts, observed, **kw)
    assert new.columns == ref.columns and new.schema == ref.schema
    assert new.height == ref.height > 0
    assert_frame_equal(new, ref, check_exact=True)  # nulls at the same places, NaN where NaN


def test_the_cases_reach_unknown_windows_and_nan_rates():
    """The comparison above is not vacuous: it sees nulls of each kind and the NaN rates."""
    new, _ = both(without_gaps(COUNTS, OBSERVED), OBSERVED, **CASES["full"])
    for col in ("a_lag1", "a_1d", "a_7d", "a_28d", "a_ly", "a_84d_k1", "a_nb_84d", "b_rate_k2"):
        assert new[col].null_count() > 0, col
        assert new[col].drop_nulls().len() > 0, col
    # in the gap: a week after it started, the week's window is unknown, the day's too
    s = S0 + 47 * SCH.n
    row = new.filter((pl.col("cell_idx") == 1) & (pl.col("slot") == s))
    assert row["a_7d"].item() is None and row["a_1d"].item() is None and row["a_rate_k0"].item() is not None
    no_gap, _ = both(COUNTS, None, **CASES["first_slots"])
    assert np.isnan(no_gap.filter(pl.col("slot") == S0 + 1)["a_rate_k1"].to_numpy()).all()  # 0 / 0
    assert no_gap.filter(pl.col("slot") == S0)["a_rate_k0"].null_count() == N_CELLS  # no window yet


def test_recent_slots_are_the_full_panel_rows():
    """The daily forecast's few slots, computed alone, are the rows of the whole history's panel."""
    counts = without_gaps(COUNTS, OBSERVED)
    full = F.state_features(counts, N_CELLS, GROUPS, SCH, S0, LAST, S0, NB, OBSERVED)
    for first in (LAST - 2, LAST - 5, S0 + 371 * SCH.n + 4):
        recent = F.state_features(counts, N_CELLS, GROUPS, SCH, first, LAST, S0, NB, OBSERVED)
        assert_frame_equal(recent, full.filter(pl.col("slot") >= first), check_exact=True)


def test_history_covers_the_longest_window():
    """The history read before a slot (`HISTORY_DAYS`) is derived from the windows: their longest
    look-back (the same week last year, the yearly rate: 364 days) and a week of margin."""
    assert F.LOOKBACK_DAYS == 364
    assert F.HISTORY_DAYS == F.LOOKBACK_DAYS + 7 == 371
    for n in (1, 2, 3, 4):
        assert max(w + s - 1 for w, s in F.windows(n).values()) <= F.LOOKBACK_DAYS * n


def test_empty_and_degenerate_ranges():
    assert F.state_features(COUNTS, 0, GROUPS, SCH, S0, LAST, S0, NB).height == 0
    assert F.state_features(COUNTS, N_CELLS, GROUPS, SCH, S0, S0 - 1, S0, NB).height == 0
    empty = COUNTS.head(0)
    new, ref = both(empty, None, **CASES["last_day"])
    assert_frame_equal(new, ref, check_exact=True)


def test_truth_from_the_first_state_slot_is_the_whole_truth_there():
    """`from_tables` keeps the generator's intensity from the first slot of the states read (the
    backtest's origins are all after it; the daily forecast reads none): the same rows as the
    whole truth from that slot on, across a change of time (Paris, 26 October 2025)."""
    import h3

    from tranquillite.forecasting.pipeline import truth_counts
    from tranquillite.forecasting.study_area import AreaSpec

    spec = AreaSpec(sources=("a", "b"), planned_sources=())
    cells = [h3.latlng_to_cell(43.30 + 0.004 * k, 5.37, 9) for k in range(4)]
    grid = pl.DataFrame({"cell_idx": np.arange(4, dtype=np.int32), "h3_cell": cells})
    rng = np.random.default_rng(1)
    hours = pl.datetime_range(
        pl.datetime(2025, 10, 20, 6, time_zone="Europe/Paris"),
        pl.datetime(2025, 11, 2, 5, time_zone="Europe/Paris"),
        "1h",
        eager=True,
    )
    rows = (
        pl.DataFrame({"slot_start": hours})
        .join(pl.DataFrame({"h3_cell": cells + ["8928308280fffff"]}), how="cross")
        .join(pl.DataFrame({"source": ["a", "b", "c"]}), how="cross")
    )
    rows = rows.with_columns(
        pl.Series("background", rng.uniform(0, 1, rows.height)),
        pl.Series("excitation", rng.uniform(0, 0.2, rows.height)),
    )
    whole = truth_counts(rows, grid, spec, SCH)
    for d in (date(2025, 10, 21), date(2025, 10, 26), date(2025, 10, 27)):
        for extra in (0, 1, 2):
            s = SCH.first_slot(d) + extra
            cut = truth_counts(rows, grid, spec, SCH, s)
            assert cut.height > 0 and int(cut["slot"].min()) == s
            assert_frame_equal(
                cut.sort("group", "cell_idx", "slot"),
                whole.filter(pl.col("slot") >= s).sort("group", "cell_idx", "slot"),
                check_exact=True,
            )
