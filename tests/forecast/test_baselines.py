"""Each baseline against a hand-computed case on a tiny grid: three cells on a line, 0, 300 and
900 m apart (cells 0–1 neighbours, 1–2 neighbours in the H3 sense but 600 m apart)."""

import numpy as np
import pytest
import scipy.sparse as sps

from tranquillite.forecasting import baselines as B

XY = np.array([[0.0, 0.0], [300.0, 0.0], [900.0, 0.0]])
DIST = sps.csr_matrix(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=float))
PER_WEEK = 21
ORIGIN = 200  # origin: history is Y[:, :200]


def history() -> np.ndarray:
    Y = np.zeros((3, 260))
    Y[0, ORIGIN - 21] = 1  # same shift, 1 week before
    Y[0, ORIGIN - 42] = 1  # same shift, 2 weeks before
    Y[1, ORIGIN - 1] = 2  # the last shift
    Y[2, ORIGIN - 5] = 1
    Y[:, ORIGIN:] = 9  # the future: never read
    return Y


def test_last_period():
    p = B.last_period(history(), ORIGIN, 3)
    assert p.tolist() == [[0, 0, 0], [2, 2, 2], [0, 0, 0]]


def test_seasonal_average_same_shift_same_weekday():
    p = B.seasonal_average(history(), ORIGIN, 21, PER_WEEK, n_weeks=2)
    assert p[:, 0].tolist() == [1.0, 0.0, 0.0]  # (1 + 1) / 2
    assert p[:, 20].tolist() == [0.0, 1.0, 0.0]  # lead 20: slot ORIGIN-1 one week back, ORIGIN-22 two
    assert p[:, 16].tolist() == [0.0, 0.0, 0.5]  # slot ORIGIN+16-21 = ORIGIN-5
    assert p[:, 1:16].sum() == 0


def test_retrospective_hotspot_quartic_kernel():
    K = B.quartic_kernel(XY, 400.0)
    w = (1 - (300 / 400) ** 2) ** 2  # 0.19140625 between cells 0 and 1
    assert K.toarray() == pytest.approx(np.array([[1, w, 0], [w, 1, 0], [0, 0, 1]]) / np.array([[1 + w], [1 + w], [1]]))
    Y = np.zeros((3, 100))
    Y[0, 90], Y[0, 95], Y[2, 99] = 1, 1, 1  # counts over the window: [2, 0, 1]
    p = B.retrospective_hotspot(Y, 100, 2, K, window=42)
    density = np.array([2 / (1 + w), 2 * w / (1 + w), 1.0])
    assert p[:, 0] == pytest.approx(density * (3 / 42) / density.sum())
    assert p[:, 0].sum() == pytest.approx(3 / 42) and (p[:, 1] == p[:, 0]).all()


def test_prospective_hotspot_bowers_johnson_pease():
    W = B.bjp_spatial_weights(XY, DIST, 400.0)
    assert W.toarray().tolist() == [[1, 0.5, 0], [0.5, 1, 0], [0, 0, 1]]  # cells 1–2 are 600 m apart
    Y = np.zeros((3, 300))
    Y[0, ORIGIN - 1] = 1  # 0 whole weeks ago: weight 1
    Y[0, ORIGIN - 22] = 1  # 1 week ago: 1/2
    Y[2, ORIGIN - 50] = 1  # 2 weeks ago: 1/3
    Y[1, ORIGIN - 190] = 5  # older than 2 months (183 shifts): ignored
    p = B.prospective_hotspot(Y, ORIGIN, 4, W, window=183, per_week=PER_WEEK)
    risk = np.array([1.5, 0.75, 1 / 3])
    assert p[:, 0] == pytest.approx(risk * (3 / 183) / risk.sum())
    assert np.argsort(-p[:, 3]).tolist() == [0, 1, 2]


def test_baselines_never_read_the_future():
    Y = history()
    Z = Y.copy()
    Z[:, ORIGIN:] = np.random.default_rng(0).integers(0, 50, Z[:, ORIGIN:].shape)
    K = B.quartic_kernel(XY, 400.0)
    W = B.bjp_spatial_weights(XY, DIST, 400.0)
    for f in (
        lambda y: B.last_period(y, ORIGIN, 21),
        lambda y: B.seasonal_average(y, ORIGIN, 21, PER_WEEK, 8),
        lambda y: B.retrospective_hotspot(y, ORIGIN, 21, K, 168),
        lambda y: B.prospective_hotspot(y, ORIGIN, 21, W, 183, PER_WEEK),
    ):
        assert np.array_equal(f(Y), f(Z))


def test_trailing_count_over_52_weeks_and_all_history():
    Y = history()
    Y[2, 3] = 4  # an old fact: in all history, outside a 100-slot window
    p52 = B.trailing_count(Y, ORIGIN, 3, 100)
    # window = slots 100 .. 199: cell 0 has 2 facts, cell 1 has 2, cell 2 has 1 → per slot / 100
    assert np.allclose(p52, np.array([[2, 2, 2], [2, 2, 2], [1, 1, 1]]) / 100)
    pall = B.trailing_count(Y, ORIGIN, 3, None)
    assert np.allclose(pall[:, 0], np.array([2, 2, 5]) / 200)
    # the future (Y[:, ORIGIN:] = 9) is never read; days not received are left out of the rate
    seen = np.ones(260, dtype=bool)
    seen[180:200] = False  # the 20 latest slots not received: cells 1 and 2 facts unknown
    ps = B.trailing_count(Y, ORIGIN, 1, 100, seen)
    assert np.allclose(ps[:, 0], np.array([2, 0, 0]) / 80)
    assert B.trailing_count(Y, 0, 2, 100).tolist() == [[0, 0]] * 3
