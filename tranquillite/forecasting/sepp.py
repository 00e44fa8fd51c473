"""A grid self-exciting point process (SEPP), fitted by expectation–maximisation.

The model of Mohler, Short, Brantingham, Schoenberg & Tita (2011), "Self-exciting point process
modeling of crime" (JASA 106(493)), in its grid form — the one open_cp implements as `seppexp`:
each cell `i` has its own constant background rate μ_i, and every fact triggers further facts in
its own cell with the kernel θ ω e^{−ω t} (θ: mean number of offspring per fact, 1/ω: their mean
delay). The conditional intensity of cell i at time t is

    λ_i(t) = μ_i + θ Σ_{t_j < t, in cell i} ω e^{−ω (t − t_j)}.

Facts are counted per time bin (a shift), so the kernel is taken in its binned form: a fact of
bin t − k (k ≥ 1) adds θ (1 − r) r^{k−1} expected facts to bin t, r = e^{−ω Δ} (the exact
integral of the exponential over the bin; Σ_k = θ). EM (Veen & Schoenberg 2008; Mohler et al.
2011, § 3):

* E step: each count y_i(t) is shared between the background (μ_i / λ_i(t)) and every earlier
  bin of its cell (θ (1 − r) r^{k−1} y_i(t − k) / λ_i(t));
* M step: μ_i = background share of the cell's facts / its observed bins; θ = triggered facts /
  facts that could trigger (each weighted by the share of its kernel inside the window); r from
  the mean delay of the triggered facts (the geometric law's maximum-likelihood estimate).

Every sum over earlier bins is a first-order recursion along time (`scipy.signal.lfilter`),
vectorised over cells: no loop over facts or pairs, O(cells × bins) per iteration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

R_MIN, R_MAX = 1e-4, 0.9995  # the decay per bin stays in (0, 1): a delay from ~1 bin to ~2000 bins
THETA_MAX = 0.95  # sub-critical process (θ < 1)


@dataclass(frozen=True)
class SEPPFit:
    mu: np.ndarray  # background rate per cell, facts per bin
    theta: float  # mean offspring per fact
    r: float  # kernel decay per bin (e^{−ω Δ})
    iterations: int
    loglik: float

    @property
    def omega(self) -> float:
        """Decay rate ω per bin (1 / mean delay in bins of the continuous kernel)."""
        return float(-np.log(self.r))


def lfilter(b: list[float], a: list[float], x: np.ndarray, axis: int = -1) -> np.ndarray:
    """`scipy.signal.lfilter`, imported on first use: scipy.signal loads scipy.stats (0.7 s), which
    every run's start-up would pay through the assets' imports."""
    from scipy.signal import lfilter as recursion

    return recursion(b, a, x, axis=axis)


def _lagged(y: np.ndarray, r: float) -> np.ndarray:
    """A(t) = Σ_{k ≥ 1} r^{k−1} y(t − k), along the last axis."""
    return lfilter([0.0, 1.0], [1.0, -r], y, axis=-1)


def _lag_weighted(a: np.ndarray, r: float) -> np.ndarray:
    """C(t) = Σ_{k ≥ 1} k r^{k−1} y(t − k), from A (C(t) = A(t) + r C(t − 1))."""
    return lfilter([1.0], [1.0, -r], a, axis=-1)


def fit(
    Y: np.ndarray, seen: np.ndarray | None = None, iterations: int = 60, tol: float = 1e-7, init: SEPPFit | None = None
) -> SEPPFit:
    """Fit μ (per cell), θ and r on counts `Y` (cells × bins); `seen` flags the bins observed
    (the others are left out of the likelihood; their counts are taken as 0)."""
    Y = np.asarray(Y, dtype=np.float64)
    N, T = Y.shape
    obs = np.ones(T, dtype=bool) if seen is None else np.asarray(seen, dtype=bool)
    Y = Y * obs
    active = Y.sum(axis=1) > 0
    if 0 < active.sum() < N:  # cells without facts: μ = 0 and no excitation; fit on the others
        sub = fit(
            Y[active],
            obs,
            iterations,
            tol,
            None if init is None else SEPPFit(init.mu[active], init.theta, init.r, 0, 0.0),
        )
        mu_all = np.zeros(N)
        mu_all[active] = sub.mu
        return SEPPFit(mu_all, sub.theta, sub.r, sub.iterations, sub.loglik)
    n_obs = max(int(obs.sum()), 1)
    total = Y.sum()
    if total == 0:
        return SEPPFit(np.zeros(N), 0.0, 0.5, 0, 0.0)
    if init is not None and init.mu.shape == (N,):
        mu, theta, r = np.maximum(init.mu, 1e-9), init.theta, init.r
    else:
        mu, theta, r = np.maximum(Y.sum(axis=1) / n_obs * 0.5, 1e-9), 0.5, 0.5
    ll_prev, it = -np.inf, 0
    rows, cols = np.nonzero(Y)  # only bins with facts carry responsibility
    yv = Y[rows, cols]
    all_obs = bool(obs.all())
    left = (T - 1 - np.arange(T)).astype(np.float64)
    facts_per_bin = Y.sum(axis=0)
    for _ in range(iterations):
        A = _lagged(Y, r)
        k = theta * (1.0 - r)
        a_o = A[rows, cols]
        lam_o = mu[rows] + k * a_o
        compensator = mu.sum() * n_obs + k * (A.sum() if all_obs else A[:, obs].sum())
        ll = float(np.sum(yv * np.log(lam_o)) - compensator)
        # E step
        trig = k * a_o / lam_o  # triggered share of each count
        bg = np.bincount(rows, weights=yv * (1.0 - trig), minlength=N)
        n_trig = float(np.sum(yv * trig))
        C = _lag_weighted(A, r)
        lag_sum = float(np.sum(yv * k * C[rows, cols] / lam_o))
        # M step
        mu = np.maximum(bg / n_obs, 1e-12)
        mean_lag = lag_sum / n_trig if n_trig > 0 else 1.0
        r = float(np.clip(1.0 - 1.0 / max(mean_lag, 1.0 + 1e-9), R_MIN, R_MAX))
        # parents: each fact's kernel mass inside the window (1 − r^{bins left after it})
        parents = float(np.sum(facts_per_bin * (1.0 - r**left)))
        theta = float(np.clip(n_trig / parents, 0.0, THETA_MAX)) if parents > 0 else 0.0
        if abs(ll - ll_prev) <= tol * max(1.0, abs(ll)):
            ll_prev = ll
            break
        ll_prev = ll
    return SEPPFit(mu, theta, r, it, ll_prev)


def excitation(Y: np.ndarray, fitted: SEPPFit) -> np.ndarray:
    """The triggered part of the intensity at every bin start, cells × bins (only facts of
    earlier bins): θ (1 − r) Σ_k r^{k−1} y(t − k)."""
    return fitted.theta * (1.0 - fitted.r) * _lagged(np.asarray(Y, dtype=np.float64), fitted.r)


def forecast(Y: np.ndarray, o: int, H: int, fitted: SEPPFit, seen: np.ndarray | None = None) -> np.ndarray:
    """Expected facts in bins o .. o + H − 1 (cells × H) given the facts of bins before `o`:
    μ_i + the decaying excitation of the known facts (their unknown offspring are not added,
    as open_cp's prediction of the intensity)."""
    hist = np.asarray(Y[:, :o], dtype=np.float64)
    if seen is not None:
        hist = hist * np.asarray(seen[:o], dtype=bool)
    if hist.shape[1] == 0:
        return np.repeat(fitted.mu[:, None], H, axis=1)
    a = lfilter([1.0], [1.0, -fitted.r], hist, axis=-1)[:, -1]  # Σ_{k ≥ 1} r^{k−1} y(o − k)
    decay = fitted.r ** np.arange(H)
    return fitted.mu[:, None] + fitted.theta * (1.0 - fitted.r) * a[:, None] * decay[None, :]


def simulate(mu: np.ndarray, theta: float, r: float, T: int, rng: np.random.Generator) -> np.ndarray:
    """Counts (cells × bins) of the binned process: y(t) ~ Poisson(μ + θ (1 − r) Σ_k r^{k−1} y(t − k))
    (a loop over bins, vectorised over cells; for tests and calibration)."""
    N = len(mu)
    Y = np.zeros((N, T))
    a = np.zeros(N)  # Σ_{k ≥ 1} r^{k−1} y(t − k)
    for t in range(T):
        Y[:, t] = rng.poisson(mu + theta * (1.0 - r) * a)
        a = Y[:, t] + r * a
    return Y
