"""Scores against hand-computed values."""

import math

import numpy as np
import pytest

from tranquillite.forecasting.metrics import (
    cdf,
    dispersion,
    hotspot_scores,
    interval,
    jittered_coverage,
    jittered_interval,
    jittered_quantile,
    pit_coverage,
    poisson_deviance,
    selection_hits,
    strict_coverage,
)

AREA = np.array([1.0, 1.0, 2.0, 1.0])  # total 5
Y = np.array([2.0, 1.0, 3.0, 0.0])  # 6 facts


def test_hit_rate_pai_pei_hand_computed():
    pred = np.array([4.0, 1.0, 4.0, 0.0])  # densities 4, 1, 2, 0
    s = hotspot_scores(pred, Y, AREA, coverages=(0.2, 0.5, 0.6))
    # 20 % = 1 area unit: cell 0 (2 facts); 50 % = 2.5: cell 0 + 3/4 of cell 2; 60 % = 3: cells 0 and 2
    assert s["hits"] == pytest.approx([2.0, 2.0 + 0.75 * 3, 5.0])
    assert s["hit_rate"] == pytest.approx([2 / 6, 4.25 / 6, 5 / 6])
    assert s["pai"] == pytest.approx([(2 / 6) / 0.2, (4.25 / 6) / 0.5, (5 / 6) / 0.6])
    assert s["n_events"] == 6
    assert s["pei"] == pytest.approx([1.0, 1.0, 1.0])  # the best possible map here


def test_pei_below_one_when_the_map_misses():
    pred = np.array([1.0, 4.0, 4.0, 0.0])  # densities 1, 4, 2, 0: cell 1 first (1 fact)
    s = hotspot_scores(pred, Y, AREA, coverages=(0.2, 0.5))
    assert s["hits"] == pytest.approx([1.0, 1.0 + 0.75 * 3])
    # best: observed densities 2, 1, 1.5, 0 → cell 0 (2), then 3/4 of cell 2
    assert s["max_hits"] == pytest.approx([2.0, 2.0 + 0.75 * 3])
    assert s["pei"] == pytest.approx([0.5, 3.25 / 4.25])


def test_ties_are_shared_pro_rata():
    flat = AREA.copy()  # the same density everywhere
    assert selection_hits(flat, Y, AREA, (0.2, 0.5, 1.0)) == pytest.approx([1.2, 3.0, 6.0])
    # cells 0, 1, 3 tie at density 1 (3 facts, area 3), cell 2 is below: 20 % takes 1/3 of the tie
    assert selection_hits(np.ones(4), Y, AREA, (0.2, 0.6, 0.8)) == pytest.approx([1.0, 3.0, 3.0 + 1.5])
    s = hotspot_scores(flat, Y, AREA, coverages=(0.2,))
    assert s["hit_rate"][0] == pytest.approx(0.2) and s["pai"][0] == pytest.approx(1.0)


def test_hit_rate_adds_up_over_slots():
    pred = np.array([[4.0, 0.0], [1.0, 5.0], [4.0, 0.0], [0.0, 0.0]])
    y = np.array([[2.0, 0.0], [1.0, 1.0], [3.0, 1.0], [0.0, 0.0]])
    s = hotspot_scores(pred, y, AREA, coverages=(0.2,))
    assert s["hits"][0] == pytest.approx(2.0 + 1.0) and s["n_events"] == 8
    assert s["hit_rate"][0] == pytest.approx(3 / 8)


def test_poisson_deviance_hand_computed():
    assert poisson_deviance(np.array([1.0, 2.0]), np.array([0.0, 3.0])) == pytest.approx(
        (2.0 + 2.0 * (3 * math.log(1.5) - 1.0)) / 2
    )
    assert poisson_deviance(np.array([2.0, 3.0]), np.array([2.0, 3.0])) == pytest.approx(0.0)


def test_interval_coverage_hand_computed():
    mu = np.full(3, 0.5)
    y = np.array([0, 1, 2])
    f0, f1, f2 = math.exp(-0.5), math.exp(-0.5) * 1.5, math.exp(-0.5) * (1.5 + 0.125)
    assert cdf(y, mu, 0.0) == pytest.approx([f0, f1, f2])
    # PIT share inside [0.1, 0.9]: y=0 → (f0 - 0.1)/f0; y=1 → (0.9 - f0)/(f1 - f0); y=2 → 0
    expected = ((f0 - 0.1) / f0 + (0.9 - f0) / (f1 - f0) + 0.0) / 3
    assert pit_coverage(mu, 0.0, y, 0.80) == pytest.approx(expected)
    lo, hi = interval(mu, 0.0, 0.80)
    assert list(lo) == [0, 0, 0] and list(hi) == [1, 1, 1]
    assert strict_coverage(mu, 0.0, y, 0.80) == pytest.approx(2 / 3)


def test_negative_binomial_cdf_and_calibration():
    from scipy import stats

    mu, a = np.array([3.0]), 1.2
    assert cdf(np.array([4]), mu, a)[0] == pytest.approx(stats.nbinom(1 / a, 1 / (1 + a * 3.0)).cdf(4))
    rng = np.random.default_rng(1)
    m = rng.gamma(2.0, 0.5, 20000)
    draws = rng.negative_binomial(1 / 0.5, 1 / (1 + 0.5 * m))
    assert pit_coverage(m, 0.5, draws, 0.95) == pytest.approx(0.95, abs=0.01)
    assert pit_coverage(m, 0.5, draws, 0.80) == pytest.approx(0.80, abs=0.01)
    assert dispersion(m, draws) == pytest.approx(0.5, abs=0.1)


def test_jittered_quantile_hand_computed():
    # Poisson(0.5): F(0) = e^-0.5 ≈ 0.607, F(1) ≈ 0.910, F(2) ≈ 0.986
    mu = np.array([0.5])
    f0, f1 = math.exp(-0.5), math.exp(-0.5) * 1.5
    assert jittered_quantile(0.1, mu, 0.0)[0] == pytest.approx(0.1 / f0)  # k = 0
    assert jittered_quantile(0.9, mu, 0.0)[0] == pytest.approx(1 + (0.9 - f0) / (f1 - f0))  # k = 1
    lo, hi = jittered_interval(mu, 0.0, 0.80)
    assert (lo[0], hi[0]) == pytest.approx((0.1 / f0, 1 + (0.9 - f0) / (f1 - f0)))
    # integer bounds are the floors, and an integer count exceeds the jittered upper bound exactly
    # when it exceeds the integer one
    ilo, ihi = interval(mu, 0.0, 0.80)
    assert (int(np.floor(lo[0])), int(np.floor(hi[0]))) == (ilo[0], ihi[0])


def test_jittered_intervals_cover_their_level_on_sparse_counts():
    """On sparse counts (most outcomes 0) the integer 95 % interval over-covers, while the jittered
    one covers 95 % — directly counted, and equal to the PIT coverage."""
    rng = np.random.default_rng(3)
    m = rng.gamma(0.5, 0.1, 200_000)  # mean 0.05: ~95 % zeros
    y = rng.negative_binomial(1 / 0.8, 1 / (1 + 0.8 * m))
    lo, hi = jittered_interval(m, 0.8, 0.95)
    direct = jittered_coverage(lo, hi, y, np.random.default_rng(4))
    assert direct == pytest.approx(0.95, abs=0.003)
    assert direct == pytest.approx(pit_coverage(m, 0.8, y, 0.95), abs=0.003)
    assert strict_coverage(m, 0.8, y, 0.95) > 0.99
    lo80, hi80 = jittered_interval(m, 0.8, 0.80)
    assert np.all((lo <= lo80) & (lo80 <= hi80) & (hi80 <= hi))
    assert jittered_coverage(lo80, hi80, y, np.random.default_rng(5)) == pytest.approx(0.80, abs=0.004)


def test_count_quantile_is_the_least_count_whose_cdf_reaches_p():
    """SciPy's ppf agrees with the definition q(p) = min{k : F(k) >= p} on this module's own cdf
    (Poisson and NB2, sparse and large means, tails and centre)."""
    from tranquillite.forecasting.metrics import count_quantile

    rng = np.random.default_rng(7)
    mu = np.concatenate([rng.gamma(0.3, 2.0, 3000), rng.uniform(0.0, 60.0, 1000), [0.0, 1e-9, 1.0, 2.0]])
    alpha = np.where(rng.random(mu.size) < 0.5, 0.0, rng.gamma(1.0, 0.5, mu.size))
    for p in (0.025, 0.1, 0.5, 0.9, 0.975):
        q = count_quantile(p, mu, alpha)
        assert (cdf(q, mu, alpha) >= p).all()
        assert (cdf(q - 1, mu, alpha) < p).all()  # and not one less (cdf(-1) = 0)
