"""Measures of how a point-event world behaves in space and time, to calibrate the synthetic
generator against real data (issue #13, « a harder, truer synthetic world »).

Pure functions (no Dagster, no I/O) on any events table with an H3 cell (`h3_cell`, resolution 9
in the project) and a `timestamp` (naive local or aware; only calendar days and weeks are used):

* `concentration` — share of a year's events in its top 5 % of cells;
* `rank_stability` — mean Spearman correlation of the cells' counts between consecutive weeks;
* `knox` — near-repeat strength: pairs close in space (within k H3 rings) and in time (within t
  days) against their expectation if space and time were independent, with an analytic (Poisson)
  and a Monte-Carlo p-value (timestamps permuted among events);
* `hotspot_turnover` — share of a quarter's top-5 % cells still top 5 % the next quarter, and the
  births / deaths of top cells per quarter;
* `oracle_lead` — next-week hit rate at 5 % of the cells of perfect foresight against the
  trailing-52-week count's, over weekly origins at the end of the table.

The universe of cells is the `cells` argument when given (the study area), else the cells with
any event in the table. Top-k selections break ties by cell id, so every figure is deterministic.
Everything is vectorised: counts are matrices (cells × days / weeks) built with `np.add.at`-like
bincounts, and the Knox pair counts are sparse-matrix products (H3 `grid_disk` neighbours × a
banded time window), never a loop over pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
import polars_h3 as plh3
import scipy.sparse as sps

TOP_SHARE = 0.05


# --------------------------------------------------------------------------- shaping
@dataclass(frozen=True)
class Indexed:
    """Events as integer indices: cell (into `cells`), day since `day0`."""

    cells: np.ndarray  # sorted cell ids (str)
    cell: np.ndarray  # per event, index into `cells`
    day: np.ndarray  # per event, days since day0
    day0: date

    @property
    def n(self) -> int:
        return int(self.cell.size)


def index_events(
    events: pl.DataFrame, cells: list[str] | None = None, cell_col: str = "h3_cell", time_col: str = "timestamp"
) -> Indexed:
    """Events (any frame with a cell and a timestamp column) → integer indices. Events outside
    `cells` (when given) or with a null cell / time are dropped."""
    t = pl.col(time_col)
    if isinstance(events.schema[time_col], pl.Datetime) and events.schema[time_col].time_zone:
        t = t.dt.replace_time_zone(None)  # wall-clock days of the city
    df = events.select(pl.col(cell_col).cast(pl.Utf8).alias("c"), t.dt.date().alias("d")).drop_nulls()
    universe = np.array(sorted(set(cells) if cells is not None else set(df["c"].unique().to_list())), dtype=object)
    c = df["c"].to_numpy().astype(object)
    pos = np.searchsorted(universe, c)
    pos = np.minimum(pos, max(universe.size - 1, 0))
    ok = universe.size > 0
    keep = (universe[pos] == c) if ok else np.zeros(c.size, dtype=bool)
    days = df["d"].to_numpy().astype("datetime64[D]")
    if keep.any():
        d0 = days[keep].min()
        day = (days[keep] - d0).astype(np.int64)
        day0 = d0.astype(object)
    else:
        day, day0 = np.zeros(0, np.int64), date(1970, 1, 1)
    return Indexed(cells=universe, cell=pos[keep].astype(np.int64), day=day, day0=day0)


def _matrix(ix: Indexed, bins: np.ndarray, n_bins: int) -> np.ndarray:
    """Dense cells × bins count matrix."""
    flat = ix.cell * n_bins + bins
    return np.bincount(flat, minlength=ix.cells.size * n_bins).reshape(ix.cells.size, n_bins).astype("float64")


def _top(counts: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest entries of each column (ties: lower cell index first), shape k × cols."""
    order = np.lexsort((np.broadcast_to(np.arange(counts.shape[0])[:, None], counts.shape), -counts), axis=0)
    return order[:k]


def _k(n_cells: int, share: float = TOP_SHARE) -> int:
    return max(1, int(math.ceil(share * n_cells)))


# --------------------------------------------------------------------------- concentration
def concentration(events: pl.DataFrame, cells: list[str] | None = None, share: float = TOP_SHARE) -> dict[int, float]:
    """Per calendar year: share of the year's events in its top `share` of the cells (by that
    year's counts)."""
    ix = index_events(events, cells)
    if ix.n == 0:
        return {}
    years = (np.datetime64(ix.day0, "D") + ix.day).astype("datetime64[Y]").astype(np.int64) + 1970
    y0 = int(years.min())
    M = _matrix(ix, years - y0, int(years.max()) - y0 + 1)
    k = _k(ix.cells.size, share)
    top = _top(M, k)
    out = {}
    for j in range(M.shape[1]):
        tot = M[:, j].sum()
        if tot > 0:
            out[y0 + j] = float(M[top[:, j], j].sum() / tot)
    return out


# --------------------------------------------------------------------------- weeks
def _weeks(ix: Indexed) -> tuple[np.ndarray, int]:
    """Week index of each event (7-day blocks from the first day) and the number of complete weeks."""
    return ix.day // 7, int((ix.day.max() + 1) // 7) if ix.n else 0


def rank_stability(events: pl.DataFrame, cells: list[str] | None = None) -> float:
    """Mean over consecutive complete weeks of the Spearman correlation of the cells' counts
    (average ranks for ties; weeks with constant counts are skipped)."""
    from scipy import stats

    ix = index_events(events, cells)
    week, n_weeks = _weeks(ix)
    if n_weeks < 2:
        return float("nan")
    keep = week < n_weeks
    M = _matrix(Indexed(ix.cells, ix.cell[keep], ix.day[keep], ix.day0), week[keep], n_weeks)
    R = stats.rankdata(M, axis=0)
    R = R - R.mean(axis=0)
    num = (R[:, :-1] * R[:, 1:]).sum(axis=0)
    den = np.sqrt((R[:, :-1] ** 2).sum(axis=0) * (R[:, 1:] ** 2).sum(axis=0))
    ok = den > 0
    return float(np.mean(num[ok] / den[ok])) if ok.any() else float("nan")


# --------------------------------------------------------------------------- Knox
@dataclass(frozen=True)
class Knox:
    """Knox test: unordered pairs of events close in space (within `rings` H3 rings) and in time
    (within `days` calendar days), observed vs expected if space and time were independent."""

    rings: int
    days: int
    n_events: int
    pairs_space: float  # pairs close in space
    pairs_time: float  # pairs close in time
    observed: float  # pairs close in both
    expected: float  # pairs_space × pairs_time / all pairs
    p_analytic: float  # P(Poisson(expected) >= observed)
    p_monte_carlo: float  # (1 + #permutations with >= observed) / (1 + permutations)
    permutations: int

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected > 0 else float("nan")


def rings_for_distance(distance_m: float, resolution: int = 9) -> int:
    """H3 rings whose centres lie within `distance_m` (centre spacing = √3 × mean edge length)."""
    import h3

    spacing = math.sqrt(3.0) * h3.average_hexagon_edge_length(resolution, unit="m")
    return max(0, int(math.floor(distance_m / spacing + 1e-9)))


def ring_adjacency(cells: np.ndarray, rings: int) -> sps.csr_matrix:
    """Symmetric 0/1 matrix of the cells within `rings` grid steps of each other (self included)."""
    n = cells.size
    df = (
        pl.DataFrame({"i": np.arange(n), "c": cells.astype(str)})
        .with_columns(plh3.grid_disk(pl.col("c"), rings).alias("n"))
        .explode("n")
    )
    df = df.with_columns(pl.col("n").cast(pl.Utf8))
    j = np.searchsorted(cells.astype(str), df["n"].to_numpy().astype(str))
    j = np.minimum(j, n - 1)
    ok = cells.astype(str)[j] == df["n"].to_numpy().astype(str)
    i = df["i"].to_numpy()[ok]
    return sps.csr_matrix((np.ones(int(ok.sum())), (i, j[ok])), shape=(n, n))


def _band(X: np.ndarray, days: int) -> np.ndarray:
    """X @ T with T[d, d'] = 1 if |d - d'| <= days: a moving sum along the columns (cumsums)."""
    c = np.cumsum(np.pad(X, ((0, 0), (1, 0))), axis=1)
    n = X.shape[1]
    hi = np.minimum(np.arange(n) + days + 1, n)
    lo = np.maximum(np.arange(n) - days, 0)
    return c[:, hi] - c[:, lo]


def _close_both(A: sps.csr_matrix, days: int, cell: np.ndarray, day: np.ndarray, n_cells: int, n_days: int) -> float:
    """Unordered pairs close in space (A) and in time (|Δday| <= days): (Σ X ∘ (A X T) − n) / 2."""
    X = np.bincount(cell * n_days + day, minlength=n_cells * n_days).reshape(n_cells, n_days).astype("float64")
    return float(((X * (A @ _band(X, days))).sum() - cell.size) / 2.0)


def knox(
    events: pl.DataFrame,
    rings: int = 1,
    days: int = 7,
    permutations: int = 99,
    seed: int = 0,
    cells: list[str] | None = None,
) -> Knox:
    """Knox test of space-time interaction (near-repeat). Close in space: same cell or within
    `rings` H3 rings; close in time: |Δ calendar day| <= `days`. Expected = close-in-space pairs ×
    close-in-time pairs / all pairs. Monte-Carlo: the days are permuted among the events
    `permutations` times (seeded)."""
    from scipy import stats

    ix = index_events(events, cells)
    n = ix.n
    if n < 2:
        return Knox(rings, days, n, 0, 0, 0, 0, float("nan"), float("nan"), 0)
    A = ring_adjacency(ix.cells, rings)
    n_days = int(ix.day.max()) + 1
    s = np.bincount(ix.cell, minlength=ix.cells.size).astype("float64")
    pairs_space = float((s @ (A @ s) - n) / 2.0)
    d = np.bincount(ix.day, minlength=n_days).astype("float64")
    pairs_time = float((d @ _band(d[None, :], days)[0] - n) / 2.0)
    total = n * (n - 1) / 2.0
    expected = pairs_space * pairs_time / total
    observed = _close_both(A, days, ix.cell, ix.day, ix.cells.size, n_days)
    p_an = float(stats.poisson.sf(observed - 1, expected)) if expected > 0 else float("nan")
    rng = np.random.default_rng(seed)
    ge = 0
    for _ in range(permutations):
        ge += _close_both(A, days, ix.cell, rng.permutation(ix.day), ix.cells.size, n_days) >= observed
    p_mc = (1 + ge) / (1 + permutations) if permutations else float("nan")
    return Knox(rings, days, n, pairs_space, pairs_time, observed, expected, p_an, p_mc, permutations)


# --------------------------------------------------------------------------- hot spots over quarters
@dataclass(frozen=True)
class Turnover:
    """Top-`share` cells of consecutive quarters: the share kept, and births / deaths per quarter."""

    quarters: int
    top_cells: int
    persistence: float  # mean share of a quarter's top cells still top the next quarter
    births: float  # mean number of cells entering the top per quarter change
    deaths: float  # mean number leaving it

    @property
    def births_share(self) -> float:
        return self.births / self.top_cells if self.top_cells else float("nan")


def hotspot_turnover(events: pl.DataFrame, cells: list[str] | None = None, share: float = TOP_SHARE) -> Turnover:
    """Calendar quarters of the table (quarters with no event are skipped); top cells by count."""
    ix = index_events(events, cells)
    if ix.n == 0:
        return Turnover(0, 0, float("nan"), float("nan"), float("nan"))
    months = (np.datetime64(ix.day0, "D") + ix.day).astype("datetime64[M]").astype(np.int64)
    q = months // 3
    q = q - q.min()
    M = _matrix(ix, q, int(q.max()) + 1)
    M = M[:, M.sum(axis=0) > 0]
    k = _k(ix.cells.size, share)
    top = _top(M, k)
    if M.shape[1] < 2:
        return Turnover(M.shape[1], k, float("nan"), float("nan"), float("nan"))
    kept = np.array([np.intersect1d(top[:, j], top[:, j + 1]).size for j in range(M.shape[1] - 1)])
    births = k - kept
    return Turnover(M.shape[1], k, float(kept.mean() / k), float(births.mean()), float(births.mean()))


# --------------------------------------------------------------------------- oracle's lead
@dataclass(frozen=True)
class OracleLead:
    """Next-week hit rate at `share` of the cells: perfect foresight vs the trailing count."""

    origins: int
    history_weeks: int  # weeks of history of the trailing count (at most 52, less if the table is shorter)
    oracle: float
    count: float

    @property
    def lead(self) -> float:
        return self.oracle / self.count if self.count > 0 else float("nan")


def oracle_lead(
    events: pl.DataFrame,
    cells: list[str] | None = None,
    origins: int = 26,
    history_weeks: int = 52,
    share: float = TOP_SHARE,
    min_history_weeks: int = 13,
) -> OracleLead:
    """Weekly origins at the end of the table (7-day blocks from its first day): at each, the top
    `share` of the cells by the counts of the `history_weeks` before it (all weeks before when
    fewer, at least `min_history_weeks`) and by the week's own counts (perfect foresight); hit
    rate = share of the week's events in the selection, averaged over the origins (weeks with no
    event are skipped)."""
    ix = index_events(events, cells)
    week, n_weeks = _weeks(ix)
    keep = week < n_weeks
    M = _matrix(Indexed(ix.cells, ix.cell[keep], ix.day[keep], ix.day0), week[keep], max(n_weeks, 1))
    first = max(min_history_weeks, n_weeks - origins)
    ws = [w for w in range(first, n_weeks) if M[:, w].sum() > 0]
    if not ws:
        return OracleLead(0, 0, float("nan"), float("nan"))
    k = _k(ix.cells.size, share)
    C = np.cumsum(np.pad(M, ((0, 0), (1, 0))), axis=1)
    hist = np.column_stack([C[:, w] - C[:, max(0, w - history_weeks)] for w in ws])
    target = M[:, ws]
    tot = target.sum(axis=0)
    cols = np.arange(len(ws))
    hit_count = target[_top(hist, k), cols].sum(axis=0) / tot
    hit_oracle = target[_top(target, k), cols].sum(axis=0) / tot
    used = min(history_weeks, ws[0])
    return OracleLead(len(ws), used, float(hit_oracle.mean()), float(hit_count.mean()))


def measures(events: pl.DataFrame, cells: list[str] | None = None, permutations: int = 19) -> dict[str, float]:
    """Every measure of the module, flat (last complete year for the yearly share)."""
    conc = concentration(events, cells)
    kx = knox(events, permutations=permutations, cells=cells)
    to = hotspot_turnover(events, cells)
    ol = oracle_lead(events, cells)
    ix = index_events(events, cells)
    last = max(conc) if conc else None
    return {
        "events": float(ix.n),
        "cells": float(ix.cells.size),
        "events_per_cell_week": ix.n / max(ix.cells.size, 1) / max((int(ix.day.max()) + 1) / 7.0, 1.0) if ix.n else 0.0,
        "top5_share": conc.get(last, float("nan")) if last is not None else float("nan"),
        "rank_stability": rank_stability(events, cells),
        "knox_ratio": kx.ratio,
        "knox_p_analytic": kx.p_analytic,
        "knox_p_monte_carlo": kx.p_monte_carlo,
        "quarter_persistence": to.persistence,
        "quarter_births": to.births,
        "quarter_births_share": to.births_share,
        "oracle_hit5": ol.oracle,
        "count_hit5": ol.count,
        "oracle_lead": ol.lead,
        "history_weeks": float(ol.history_weeks),
    }
