"""The grid self-exciting point process (Mohler et al. 2011; open_cp `seppexp`): EM recovers the
parameters of a simulated process, and its forecast is the background plus the decaying
excitation of the known facts."""

import numpy as np

from tranquillite.forecasting import sepp as SP


def test_em_recovers_known_parameters():
    rng = np.random.default_rng(7)
    mu = rng.gamma(1.5, 0.02, 300)
    Y = SP.simulate(mu, theta=0.4, r=0.8, T=4000, rng=rng)
    fit = SP.fit(Y)
    assert abs(fit.theta - 0.4) < 0.04
    assert abs(fit.r - 0.8) < 0.04
    assert np.corrcoef(fit.mu, mu)[0, 1] > 0.95
    assert abs(fit.mu.sum() / mu.sum() - 1) < 0.1
    assert fit.loglik > SP.fit(Y, iterations=1).loglik  # EM climbs


def test_em_finds_no_excitation_in_a_poisson_process():
    rng = np.random.default_rng(3)
    mu = rng.gamma(1.0, 0.05, 200)
    Y = rng.poisson(mu[:, None], (200, 3000)).astype(float)
    fit = SP.fit(Y)
    assert fit.theta < 0.03
    assert np.allclose(fit.mu, Y.mean(axis=1), rtol=0.1, atol=2e-3)


def test_forecast_by_hand():
    fit = SP.SEPPFit(mu=np.array([0.1, 0.0]), theta=0.5, r=0.5, iterations=0, loglik=0.0)
    Y = np.zeros((2, 10))
    Y[0, 8] = 1  # k = 2 bins before the origin 10
    Y[1, 9] = 2  # k = 1
    Y[1, 10:] = 99  # the future is not read
    f = SP.forecast(Y, 10, 2, fit)
    # θ (1 − r) r^{k−1} per fact, then × r per lead
    assert np.allclose(f[:, 0], [0.1 + 0.25 * 0.5, 0.25 * 2])
    assert np.allclose(f[:, 1], [0.1 + 0.25 * 0.25, 0.25 * 2 * 0.5])
    # the excitation feature at each bin start only sees earlier bins
    ex = SP.excitation(Y[:, :10], fit)
    assert ex[0, 8] == 0 and np.isclose(ex[0, 9], 0.25)


def test_unreceived_bins_are_left_out():
    rng = np.random.default_rng(1)
    Y = rng.poisson(0.1, (50, 2000)).astype(float)
    seen = np.ones(2000, dtype=bool)
    seen[1000:1500] = False
    Y[:, 1000:1500] = 0  # nothing received: not "no fact"
    fit = SP.fit(Y, seen)
    assert abs(fit.mu.mean() - 0.1) < 0.01 and fit.theta < 0.05
    assert SP.fit(np.zeros((3, 10))).theta == 0.0
