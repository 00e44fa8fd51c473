"""The event-aware LightGBM: the event-blind booster times planned-event multipliers fitted by a
ridge Poisson regression with the booster as offset."""

import json

import numpy as np
import polars as pl
import pytest

from tranquillite.forecasting.models import fit_event_multipliers, fit_lightgbm_groups
from tranquillite.resources.model_store import LocalModelStore


def simulated(n=200_000, seed=0):
    """A base rate, two rare event columns (a 'match' with a real effect, a 'market' without) and
    a column never non-zero; counts drawn from base × exp(0.4 log(1 + match))."""
    rng = np.random.default_rng(seed)
    base = rng.gamma(1.0, 0.2, n)
    match = np.where(rng.random(n) < 0.01, np.log1p(rng.integers(20_000, 60_000, n)), 0.0)
    market = np.where(rng.random(n) < 0.02, np.log1p(rng.integers(500, 3_000, n)), 0.0)
    E = pl.DataFrame({"ev_match_r0": match, "ev_marche_r0": market, "ev_jamais_r0": np.zeros(n)})
    y = rng.poisson(base * np.exp(0.4 * np.log1p(match)))
    return E, y.astype(np.float64), base


def test_multipliers_recover_a_known_effect_and_ignore_the_others():
    E, y, base = simulated()
    ev = fit_event_multipliers(E, y, np.ones_like(y), base)
    beta = dict(zip(ev["columns"], ev["coef"]))
    assert beta["ev_match_r0"] == pytest.approx(0.4, abs=0.05)
    assert abs(beta["ev_marche_r0"]) < 0.05
    assert beta["ev_jamais_r0"] == 0.0


def test_sampling_weights_keep_the_estimate_unbiased():
    """Rows without facts kept at random with p = 0.25 and weight 4: same β as all rows."""
    E, y, base = simulated(seed=1)
    keep = (y > 0) | (np.random.default_rng(2).random(y.size) < 0.25)
    w = np.where(y > 0, 1.0, 4.0)[keep]
    ev = fit_event_multipliers(E.filter(pl.Series(keep)), y[keep], w, base[keep])
    assert dict(zip(ev["columns"], ev["coef"]))["ev_match_r0"] == pytest.approx(0.4, abs=0.06)


def test_aware_twin_reuses_the_blind_booster_and_round_trips(tmp_path):
    rng = np.random.default_rng(3)
    n = 20_000
    X = pl.DataFrame(
        {"a_28d": rng.integers(0, 5, n).astype(np.float64), "ev_match_r0": np.where(rng.random(n) < 0.05, 10.0, 0.0)}
    )
    mu = 0.1 + 0.2 * X["a_28d"].to_numpy()
    y = rng.poisson(mu * np.exp(0.5 * np.log1p(X["ev_match_r0"].to_numpy())))[None].astype(np.float64)
    w = np.ones(n)
    (blind,) = fit_lightgbm_groups("lgbm_sans_evenements", ["a"], X.select("a_28d"), y, w, rounds=30, threads=1)
    (aware,) = fit_lightgbm_groups(
        "lgbm_avec_evenements", ["a"], X, y, w, rounds=30, threads=1, event_columns=["ev_match_r0"], boosters=[blind]
    )
    assert aware.obj is blind.obj and aware.features == ["a_28d", "ev_match_r0"]
    beta = aware.events["coef"][0]
    assert beta == pytest.approx(0.5, abs=0.1)
    factor = np.exp(beta * np.log1p(X["ev_match_r0"].to_numpy()))
    assert np.allclose(aware.predict(X), blind.predict(X.select("a_28d")) * factor)
    # explanations: TreeSHAP of the booster plus the event term β log(1 + x)
    C, names = aware.contributions(X.head(50))
    assert names == ["a_28d", "ev_match_r0"]
    assert np.allclose(C[:, 1], np.log(factor[:50]))
    ex = json.loads(aware.top_contributions(X.filter(pl.col("ev_match_r0") > 0).head(1), 1)[0])
    assert ex[0]["feature"] == "ev_match_r0"
    # the model store keeps the multipliers with the booster
    store = LocalModelStore(root=str(tmp_path / "models"))
    v = store.save(
        aware,
        {
            "usage": "backtest",
            "origin_start": "2025-12-01T06:00:00",
            "train_start": "2025-08-11T06:00:00",
            "train_end": "2025-12-01T06:00:00",
            "n_rows": n,
            "data_version": "x",
            "metrics": {},
            "conventions": ["internal"],
        },
    )
    back = store.load("lgbm_avec_evenements", "a", v)
    assert back.events == aware.events and np.allclose(back.predict(X), aware.predict(X))
