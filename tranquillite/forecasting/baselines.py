"""The baselines every model must beat, implemented as published.

All take `Y` — observed counts of one group, cells × slots, column 0 being the first slot of the
history — and the origin `o` (an index into the columns: history is `Y[:, :o]`, never more), and
return expected counts for the `H` slots `o .. o + H - 1` (cells × H).

* `last_period`: the last shift's count, for every target slot.
* `seasonal_average`: mean of the same shift of the same weekday over the last `n_weeks` weeks.
* `retrospective_hotspot`: kernel density (quartic kernel, bandwidth `bandwidth_m`) of the facts
  of the last `weeks` weeks, on the grid; the same map for every target slot.
* `prospective_hotspot`: Bowers, Johnson & Pease (2004), "Prospective hot-spotting: the future of
  crime mapping?" (Brit. J. Criminol. 44(5)): every fact of the last `days` days (2 months) adds
  1/(1 + d) × 1/(1 + w) to the cells within `bandwidth_m` (400 m), d being the distance in cells
  and w the number of whole weeks since the fact.
* `trailing_count`: the facts of each cell over the last `window` slots (52 weeks), or over all
  the history (`window=None`), per slot received — the naive count every forecast is measured
  against in the field (e.g. Mohler et al. 2015, "Randomized controlled field trials of
  predictive policing", JASA 110(512): the analysts' long-term hot spots). No smoothing, no
  decay: cells are ranked by their raw past count.
* the grid self-exciting point process (`forecasting.sepp`): per-cell background rate and
  exponential triggering, fitted by EM.

`seen` (optional, one flag per column of `Y`): whether the slot's day was received; the
baselines only look at received slots (a day with no data received is unknown, not zero).

Hotspot surfaces are scores; they are rescaled to expected counts per slot (their sum equals the
mean facts per slot over their window) so that deviance and intervals can be computed too —
rankings are unchanged.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sps


def _received(seen: np.ndarray | None, lo: int, hi: int) -> np.ndarray | None:
    return None if seen is None else np.asarray(seen[lo:hi], dtype=bool)


def last_period(Y: np.ndarray, o: int, H: int, seen: np.ndarray | None = None) -> np.ndarray:
    if seen is not None:  # the last received slot before the origin
        got = np.flatnonzero(_received(seen, 0, o))
        o = int(got[-1]) + 1 if got.size else 0
    if o < 1:
        return np.zeros((Y.shape[0], H))
    return np.repeat(Y[:, o - 1 : o].astype(np.float64), H, axis=1)


def seasonal_average(
    Y: np.ndarray, o: int, H: int, per_week: int, n_weeks: int = 8, seen: np.ndarray | None = None
) -> np.ndarray:
    out = np.zeros((Y.shape[0], H))
    for h in range(H):
        t = o + h
        w0 = h // per_week + 1  # the first week back that is already observed at the origin
        idx = [t - w * per_week for w in range(w0, w0 + n_weeks) if t - w * per_week >= 0]
        if seen is not None:
            idx = [i for i in idx if seen[i]]
        if idx:
            out[:, h] = Y[:, idx].mean(axis=1)
    return out


def quartic_kernel(xy: np.ndarray, bandwidth_m: float) -> sps.csr_matrix:
    """Row-normalised quartic kernel between cell centres: row i spreads one fact of cell i."""
    from scipy.spatial import cKDTree

    tree = cKDTree(xy)
    pairs = tree.query_pairs(bandwidth_m, output_type="ndarray")
    i = np.concatenate([pairs[:, 0], pairs[:, 1], np.arange(len(xy))])
    j = np.concatenate([pairs[:, 1], pairs[:, 0], np.arange(len(xy))])
    d = np.linalg.norm(xy[i] - xy[j], axis=1)
    w = (1.0 - (d / bandwidth_m) ** 2) ** 2
    K = sps.csr_matrix((w, (i, j)), shape=(len(xy), len(xy)))
    return sps.diags(1.0 / np.asarray(K.sum(axis=1)).ravel()) @ K


def bjp_spatial_weights(xy: np.ndarray, cell_distance: sps.spmatrix, bandwidth_m: float) -> sps.csr_matrix:
    """1 / (1 + d) between cells whose centres are within `bandwidth_m`; `cell_distance` holds the
    H3 grid distance d of neighbouring pairs (self pairs implicit, d = 0)."""
    n = len(xy)
    cd = sps.coo_matrix(cell_distance)
    near = np.linalg.norm(xy[cd.row] - xy[cd.col], axis=1) <= bandwidth_m
    i = np.concatenate([np.arange(n), cd.row[near]])
    j = np.concatenate([np.arange(n), cd.col[near]])
    w = np.concatenate([np.ones(n), 1.0 / (1.0 + cd.data[near])])
    return sps.csr_matrix((w, (i, j)), shape=(n, n))


def _rescale(score: np.ndarray, total_per_slot: float) -> np.ndarray:
    s = score.sum()
    return score * (total_per_slot / s) if s > 0 else score


def _slots_seen(seen: np.ndarray | None, lo: int, o: int) -> int:
    return o - lo if seen is None else int(_received(seen, lo, o).sum())


def retrospective_hotspot(
    Y: np.ndarray, o: int, H: int, kernel: sps.spmatrix, window: int, seen: np.ndarray | None = None
) -> np.ndarray:
    lo = max(0, o - window)
    n_seen = _slots_seen(seen, lo, o)
    if o <= lo or n_seen == 0:
        return np.zeros((Y.shape[0], H))
    cols = Y[:, lo:o] if seen is None else Y[:, lo:o] * _received(seen, lo, o)
    counts = cols.sum(axis=1).astype(np.float64)
    density = kernel.T @ counts
    return np.repeat(_rescale(density, counts.sum() / n_seen)[:, None], H, axis=1)


def prospective_hotspot(
    Y: np.ndarray, o: int, H: int, weights: sps.spmatrix, window: int, per_week: int, seen: np.ndarray | None = None
) -> np.ndarray:
    lo = max(0, o - window)
    n_seen = _slots_seen(seen, lo, o)
    if o <= lo or n_seen == 0:
        return np.zeros((Y.shape[0], H))
    ago = (o - 1 - np.arange(lo, o)) // per_week  # whole weeks since each slot
    time_w = 1.0 / (1.0 + ago)
    recent = Y[:, lo:o].astype(np.float64)
    if seen is not None:
        recent = recent * _received(seen, lo, o)
    per_cell = recent @ time_w  # Σ facts × 1/(1+w), per source cell
    risk = weights.T @ per_cell  # spread with 1/(1+d)
    return np.repeat(_rescale(risk, recent.sum() / n_seen)[:, None], H, axis=1)


def trailing_count(Y: np.ndarray, o: int, H: int, window: int | None, seen: np.ndarray | None = None) -> np.ndarray:
    """Facts of each cell in the last `window` slots before `o` (all of them when None), divided
    by the slots received in that window: the expected count per slot, the same for every
    target slot."""
    lo = 0 if window is None else max(0, o - window)
    n_seen = _slots_seen(seen, lo, o)
    if o <= lo or n_seen == 0:
        return np.zeros((Y.shape[0], H))
    cols = Y[:, lo:o] if seen is None else Y[:, lo:o] * _received(seen, lo, o)
    rate = cols.sum(axis=1, dtype=np.float64) / n_seen
    return np.repeat(rate[:, None], H, axis=1)
