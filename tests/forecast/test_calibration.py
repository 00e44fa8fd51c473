"""Calibration measures (`forecasting.calibration`) on tiny tables whose answer is known by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

import h3
import numpy as np
import polars as pl
import pytest

from tranquillite.forecasting import calibration as K

C0 = h3.latlng_to_cell(43.2948, 5.3742, 9)  # Vieux-Port
RING1 = sorted(h3.grid_ring(C0, 1))
FAR = h3.latlng_to_cell(43.35, 5.42, 9)  # ~7 km away
#: 20 cells → the top 5 % is exactly one cell
CELLS = sorted({C0, FAR, *RING1, *sorted(h3.grid_ring(C0, 2))[:12]})[:20]
A, B = CELLS[0], CELLS[1]
DAY0 = datetime(2025, 1, 6, 10)  # a Monday


def table(rows: list[tuple[str, int]]) -> pl.DataFrame:
    """(cell, day offset) rows → an events table."""
    return pl.DataFrame(
        {"h3_cell": [c for c, _ in rows], "timestamp": [DAY0 + timedelta(days=d) for _, d in rows]},
        schema={"h3_cell": pl.Utf8, "timestamp": pl.Datetime("us")},
    )


def test_cells_are_twenty():
    assert len(CELLS) == 20 and C0 in CELLS and FAR in CELLS


def test_concentration_top_cell_share():
    rows = [(A, d) for d in range(10)] + [(c, 3) for c in CELLS[1:]]
    assert K.concentration(table(rows), CELLS) == {2025: pytest.approx(10 / 29)}
    # the universe matters: with only the cells that have events, still 20 cells here
    assert K.concentration(table(rows)) == {2025: pytest.approx(10 / 29)}


def test_concentration_per_year():
    rows = [(A, 0), (A, 1), (B, 2), (B, 400), (A, 401), (B, 402)]
    assert K.concentration(table(rows), CELLS) == {2025: pytest.approx(2 / 3), 2026: pytest.approx(2 / 3)}


def test_rank_stability_identical_then_reversed_weeks():
    cells = CELLS[:3]
    week = [[1, 2, 3], [1, 2, 3], [3, 2, 1]]  # counts of cells 0..2 in weeks 0..2
    # weeks are 7-day blocks from the table's first day: one event on day 0, the others on day 6 of their week
    rows = [
        (cells[i], 7 * w + (0 if (w, i, j) == (0, 0, 0) else 6))
        for w, counts in enumerate(week)
        for i, n in enumerate(counts)
        for j in range(n)
    ]
    # Spearman(week0, week1) = 1, Spearman(week1, week2) = -1 → mean 0
    assert K.rank_stability(table(rows), cells) == pytest.approx(0.0)
    rows2 = [r for r in rows if r[1] < 14]
    assert K.rank_stability(table(rows2), cells) == pytest.approx(1.0)


def test_rank_stability_average_ranks_for_ties():
    cells = CELLS[:3]
    # week 0: (0, 1, 1) ranks (1, 2.5, 2.5); week 1: (0, 1, 2) ranks (1, 2, 3) → r = 0.866…
    rows = [(cells[1], 0), (cells[2], 1), (cells[1], 7), (cells[2], 8), (cells[2], 13)]
    expected = np.corrcoef([1, 2.5, 2.5], [1, 2, 3])[0, 1]
    assert K.rank_stability(table(rows), cells) == pytest.approx(expected)


def test_knox_counts_and_expectation():
    # two events at C0 a day apart, two at FAR 30 days apart; window 7 days, same cell
    kx = K.knox(table([(C0, 0), (C0, 1), (FAR, 30), (FAR, 60)]), rings=0, days=7, permutations=0)
    assert (kx.pairs_space, kx.pairs_time, kx.observed) == (2, 1, 1)
    assert kx.expected == pytest.approx(2 * 1 / 6)
    assert kx.ratio == pytest.approx(3.0)


def test_knox_rings_make_neighbours_close():
    rows = [(C0, 0), (RING1[0], 2), (FAR, 40)]
    same_cell = K.knox(table(rows), rings=0, days=7, permutations=0)
    ring = K.knox(table(rows), rings=1, days=7, permutations=0)
    assert (same_cell.pairs_space, same_cell.observed) == (0, 0)
    assert (ring.pairs_space, ring.pairs_time, ring.observed) == (1, 1, 1)
    assert ring.expected == pytest.approx(1 / 3)


def test_knox_monte_carlo_p_value():
    # under permutation of the days {0, 1, 30, 60}, the only close-in-time pair lands on one of the
    # two close-in-space pairs with probability 2/6: p = 1/3
    kx = K.knox(table([(C0, 0), (C0, 1), (FAR, 30), (FAR, 60)]), rings=0, days=7, permutations=1999, seed=1)
    assert kx.p_monte_carlo == pytest.approx(1 / 3, abs=0.03)
    # P(Poisson(1/3) >= 1) = 1 - e^{-1/3}
    assert kx.p_analytic == pytest.approx(1 - np.exp(-1 / 3))


def test_knox_detects_clustered_bursts():
    rng = np.random.default_rng(0)
    cells = CELLS
    rows = [(cells[int(rng.integers(20))], int(rng.integers(365))) for _ in range(300)]
    bursts = [
        (cells[i], d0 + int(rng.integers(3))) for i, d0 in zip(range(0, 20, 2), range(10, 360, 36)) for _ in range(8)
    ]
    kx = K.knox(table(rows + bursts), rings=0, days=3, permutations=99)
    assert kx.ratio > 1.5 and kx.p_monte_carlo == pytest.approx(0.01)
    flat = K.knox(table(rows), rings=0, days=3, permutations=99)
    assert abs(flat.ratio - 1) < 0.2 and flat.p_monte_carlo > 0.05


def test_rings_for_distance():
    assert K.rings_for_distance(100) == 0
    assert K.rings_for_distance(400) == 1  # res-9 centres are ~350 m apart
    assert K.rings_for_distance(700) == 2


def test_hotspot_turnover():
    # quarters Q1, Q2, Q3 of 2025 (days from Monday 6 January): top cell A, A, B
    rows = [(A, 5)] * 3 + [(B, 6)] + [(A, 100)] * 3 + [(B, 101)] + [(B, 190)] * 3 + [(A, 191)]
    to = K.hotspot_turnover(table(rows), CELLS)
    assert (to.quarters, to.top_cells) == (3, 1)
    assert to.persistence == pytest.approx(0.5)
    assert to.births == pytest.approx(0.5) and to.deaths == pytest.approx(0.5)


def test_oracle_lead_next_week():
    # 13 weeks with 2 events a week at A; then a week with 3 events at B and 2 at A
    rows = [(A, 7 * w) for w in range(13)] * 2 + [(B, 92), (B, 93), (B, 94), (A, 95), (A, 97)]
    ol = K.oracle_lead(table(rows), CELLS, origins=1)
    assert ol.origins == 1 and ol.history_weeks == 13
    assert ol.count == pytest.approx(2 / 5) and ol.oracle == pytest.approx(3 / 5)
    assert ol.lead == pytest.approx(1.5)
    # an incomplete last week is not an origin
    assert K.oracle_lead(table(rows[:-1]), CELLS, origins=1).origins == 0


def test_oracle_lead_history_window():
    # A busy long ago, B busy in the last 2 weeks: a 2-week count picks B, a 52-week one picks A
    rows = [(A, 7 * w) for w in range(13) for _ in range(3)] + [(B, 7 * w + 1) for w in (13, 14)] * 2
    rows += [(B, 107), (A, 108), (B, 109), (B, 110), (A, 111)]  # week 15: B 3, A 2
    short = K.oracle_lead(table(rows), CELLS, origins=1, history_weeks=2)
    long_ = K.oracle_lead(table(rows), CELLS, origins=1, history_weeks=52)
    assert short.count == pytest.approx(3 / 5) and long_.count == pytest.approx(2 / 5)
    assert short.oracle == long_.oracle == pytest.approx(3 / 5)


def test_aware_timestamps_use_local_days():
    t = pl.Series([datetime(2025, 3, 1, 23, 30)]).dt.replace_time_zone("Europe/Paris")
    ix = K.index_events(pl.DataFrame({"h3_cell": [A], "timestamp": t}))
    assert ix.day0.isoformat() == "2025-03-01"
