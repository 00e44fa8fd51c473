"""Scores of a forecast against what happened.

Hotspot metrics work per slot (one map per shift, as a manager reads it), then add up over the
slots of a horizon:

* cells are ranked by forecast *density* (expected facts per km²) and selected, best first, until
  the selected land area reaches `coverage` × the study area; ties at the cut are shared pro
  rata (the expected result of breaking them at random), so the selected area is exactly the
  coverage and a model predicting the same value everywhere gets exactly hit rate = coverage;
* **hit rate** = facts in the selected cells / all facts (over the horizon's slots);
* **PAI** (Chainey et al. 2008) = hit rate / area share = hit rate / coverage;
* **PEI** (Hunt 2016) = facts captured / the most facts any selection of the same area could
  have captured (cells ranked by observed density): 1 is a perfect map;
* **Poisson deviance**: mean over cell × slot of 2 (y log(y/μ) − (y − μ));
* **interval coverage**: share of outcomes inside the central 80 % / 95 % predictive intervals
  (negative binomial, or Poisson when α = 0). Counts are discrete and ~97 % of cell × shift
  outcomes are 0: no interval of integers can cover 95 % of them (it holds 0, and then covers
  at least P(Y = 0) + …, or it does not and covers at most 1 − P(Y = 0)). The published
  intervals are therefore those of the *jittered* count Z = Y + U, U ~ Uniform(0, 1) (Machado &
  Santos Silva 2005, "Quantiles for counts"): `jittered_interval`, with fractional bounds. Their
  coverage — the share of jittered outcomes y + u inside — has for expectation over u the
  non-randomised PIT coverage (Czado, Gneiting & Held 2009): the share of each outcome's
  probability step [F(y−1), F(y)] inside [α/2, 1−α/2], which equals the nominal level when the
  predictive distribution is right. That is `interval_coverage_*`. The integer interval
  [q(α/2), q(1−α/2)] is also scored (`strict_coverage_*`): it over-covers by construction. For
  an integer count n, n > upper (jittered) ⟺ n > q(1−α/2), so alert thresholds are unchanged.
"""

from __future__ import annotations

import numpy as np
from scipy import special

COVERAGES = (0.01, 0.05, 0.10, 0.20)
MU_FLOOR = 1e-6


def selection_hits(score: np.ndarray, y: np.ndarray, area: np.ndarray, coverages=COVERAGES) -> np.ndarray:
    """Facts captured by the best cells (by score / area) within each coverage of the total area."""
    score = np.asarray(score, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    area = np.asarray(area, dtype=np.float64)
    density = score / area
    order = np.argsort(-density, kind="stable")
    d, a, yy = density[order], area[order], y[order]
    new = np.empty(d.size, dtype=bool)
    new[:1] = True
    new[1:] = d[1:] != d[:-1]
    gid = np.cumsum(new) - 1
    ga = np.bincount(gid, weights=a)
    gy = np.bincount(gid, weights=yy)
    cum_a, cum_y = np.cumsum(ga), np.cumsum(gy)
    total = area.sum()
    out = np.empty(len(coverages))
    for i, c in enumerate(coverages):
        budget = c * total
        k = int(np.searchsorted(cum_a, budget - 1e-9 * total, side="left"))
        if k >= ga.size:
            out[i] = cum_y[-1]
            continue
        before_a = cum_a[k - 1] if k else 0.0
        before_y = cum_y[k - 1] if k else 0.0
        out[i] = before_y + gy[k] * min(1.0, max(0.0, (budget - before_a) / ga[k]))
    return out


def per_slot_hits(pred: np.ndarray, y: np.ndarray, area: np.ndarray, coverages=COVERAGES):
    """Per slot (columns of cells × slots arrays): facts captured, most facts capturable, facts."""
    pred = np.asarray(pred, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if pred.ndim == 1:
        pred, y = pred[:, None], y[:, None]
    S = pred.shape[1]
    hits = np.zeros((S, len(coverages)))
    best = np.zeros((S, len(coverages)))
    for s in range(S):
        if y[:, s].sum() > 0:
            hits[s] = selection_hits(pred[:, s], y[:, s], area, coverages)
            best[s] = selection_hits(y[:, s], y[:, s], area, coverages)
    return hits, best, y.sum(axis=0)


def aggregate_hits(hits: np.ndarray, best: np.ndarray, n: np.ndarray, coverages=COVERAGES) -> dict:
    """Hit rate, PAI and PEI over a set of slots (rows of `per_slot_hits`)."""
    h, b, total = hits.sum(axis=0), best.sum(axis=0), float(n.sum())
    cov = np.asarray(coverages, dtype=np.float64)
    hr = h / total if total else np.full(len(coverages), np.nan)
    return {
        "hits": h,
        "max_hits": b,
        "n_events": total,
        "hit_rate": hr,
        "pai": hr / cov,
        "pei": np.where(b > 0, h / np.where(b > 0, b, 1), np.nan),
    }


def hotspot_scores(pred: np.ndarray, y: np.ndarray, area: np.ndarray, coverages=COVERAGES) -> dict:
    """Hit rate, PAI, PEI of a forecast (cells × slots) over all its slots."""
    return aggregate_hits(*per_slot_hits(pred, y, area, coverages), coverages)


def poisson_deviance(mu: np.ndarray, y: np.ndarray) -> float:
    mu = np.maximum(np.asarray(mu, dtype=np.float64), MU_FLOOR)
    y = np.asarray(y, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0)
    return float(np.mean(2.0 * (term - (y - mu))))


# --------------------------------------------------------------------------- predictive distribution
def cdf(k: np.ndarray, mu: np.ndarray, alpha) -> np.ndarray:
    """P(Y <= k) for Y ~ NB2(mu, alpha) (variance mu + alpha mu²), Poisson when alpha = 0."""
    mu = np.maximum(np.asarray(mu, dtype=np.float64), MU_FLOOR)
    alpha = np.broadcast_to(np.asarray(alpha, dtype=np.float64), mu.shape)
    k = np.broadcast_to(np.asarray(k, dtype=np.float64), mu.shape)
    out = np.zeros(mu.shape)
    ok = k >= 0
    nb = ok & (alpha > 1e-8)
    po = ok & ~nb
    if po.any():
        out[po] = special.pdtr(np.floor(k[po]), mu[po])
    if nb.any():
        r = 1.0 / alpha[nb]
        out[nb] = special.betainc(r, np.floor(k[nb]) + 1.0, r / (r + mu[nb]))
    return out


def count_quantile(p: float, mu: np.ndarray, alpha) -> np.ndarray:
    """q(p) = min{k : P(Y <= k) >= p}, elementwise: SciPy's `poisson.ppf` and `nbinom.ppf` (the
    NB2 of `cdf`: n = 1/alpha, success probability n / (n + mu))."""
    from scipy import stats

    mu = np.maximum(np.asarray(mu, dtype=np.float64), MU_FLOOR)
    alpha = np.broadcast_to(np.asarray(alpha, dtype=np.float64), mu.shape)
    q = np.zeros(mu.shape, dtype=np.int64)
    nb = alpha > 1e-8
    if (~nb).any():
        q[~nb] = stats.poisson.ppf(p, mu[~nb])
    if nb.any():
        r = 1.0 / alpha[nb]
        q[nb] = stats.nbinom.ppf(p, r, r / (r + mu[nb]))
    return q


def interval(mu: np.ndarray, alpha, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Central predictive interval of integers [q((1-level)/2), q((1+level)/2)]."""
    return count_quantile((1.0 - level) / 2.0, mu, alpha), count_quantile((1.0 + level) / 2.0, mu, alpha)


def jittered_quantile(p: float, mu: np.ndarray, alpha) -> np.ndarray:
    """Quantile p of Z = Y + U (U uniform on [0, 1)): k + (p − F(k−1)) / P(Y = k), where k is
    the count quantile q(p) = min{k : F(k) >= p}. Continuous, increasing in p, in [k, k + 1]."""
    k = count_quantile(p, mu, alpha)
    f_prev = cdf(k - 1, mu, alpha)
    f_k = cdf(k, mu, alpha)
    step = f_k - f_prev
    frac = np.where(step > 1e-12, (p - f_prev) / np.where(step > 1e-12, step, 1.0), 0.0)
    return k + np.clip(frac, 0.0, 1.0)


def jittered_interval(mu: np.ndarray, alpha, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Central `level` interval of the jittered count Y + U (see the module docstring)."""
    lo_p, hi_p = (1.0 - level) / 2.0, (1.0 + level) / 2.0
    return jittered_quantile(lo_p, mu, alpha), jittered_quantile(hi_p, mu, alpha)


def jittered_coverage(lo: np.ndarray, hi: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> float:
    """Share of jittered outcomes y + u inside [lo, hi] for one draw of u (its expectation is the
    PIT coverage; this is the direct count, used to check it)."""
    z = np.asarray(y, dtype=np.float64) + rng.random(np.shape(y))
    return float(np.mean((z >= lo) & (z <= hi)))


def pit_steps(mu: np.ndarray, alpha, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(F(y − 1), F(y)) for every outcome."""
    y = np.asarray(y, dtype=np.float64)
    return cdf(y - 1, mu, alpha), cdf(y, mu, alpha)


def pit_coverage_from(f_lo: np.ndarray, f_hi: np.ndarray, level: float) -> float:
    a, b = (1.0 - level) / 2.0, (1.0 + level) / 2.0
    step = f_hi - f_lo
    inside = np.clip(np.minimum(f_hi, b) - np.maximum(f_lo, a), 0.0, None)
    share = np.where(step > 1e-12, inside / np.where(step > 1e-12, step, 1.0), ((f_hi >= a) & (f_hi <= b)) * 1.0)
    return float(share.mean())


def strict_coverage_from(f_lo: np.ndarray, f_hi: np.ndarray, level: float) -> float:
    """Share of outcomes y with q(α/2) <= y <= q(1 − α/2), i.e. F(y) >= α/2 and F(y − 1) < 1 − α/2."""
    a, b = (1.0 - level) / 2.0, (1.0 + level) / 2.0
    return float(np.mean((f_hi >= a) & (f_lo < b)))


def pit_coverage(mu: np.ndarray, alpha, y: np.ndarray, level: float) -> float:
    """Mean share of each outcome's PIT step [F(y−1), F(y)] inside the central `level` interval."""
    return pit_coverage_from(*pit_steps(mu, alpha, y), level)


def strict_coverage(mu: np.ndarray, alpha, y: np.ndarray, level: float) -> float:
    return strict_coverage_from(*pit_steps(mu, alpha, y), level)


def dispersion(mu: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Method-of-moments NB2 dispersion α: E[(y − μ)² − μ] = α E[μ²] (0 if under-dispersed)."""
    mu = np.asarray(mu, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.ones_like(mu) if weights is None else np.asarray(weights, dtype=np.float64)
    num = np.sum(w * ((y - mu) ** 2 - mu))
    den = np.sum(w * mu**2)
    return float(max(0.0, num / den)) if den > 0 else 0.0
