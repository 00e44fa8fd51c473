"""The local model store: save, load (same predictions), register, champion."""

import json

import numpy as np
import polars as pl
import pytest

from tranquillite.forecasting.models import fit_glm, fit_lightgbm
from tranquillite.forecasting.study_area import AreaSpec
from tranquillite.resources.model_store import LocalModelStore

SPEC = AreaSpec(sources=("a",), planned_sources=())


def rows(n=3000, seed=0) -> tuple[pl.DataFrame, np.ndarray]:
    from tranquillite.forecasting.features import model_feature_columns
    from tranquillite.forecasting.slots import SlotScheme

    rng = np.random.default_rng(seed)
    cols = model_feature_columns(SPEC, SlotScheme(), with_events=True)
    X = pl.DataFrame({c: rng.integers(0, 5, n).astype(np.float64) for c in cols})
    y = rng.poisson(0.2 + 0.3 * X["a_28d_same"].to_numpy())
    return X, y.astype(np.float64)


def test_save_load_register_and_champion(tmp_path):
    store = LocalModelStore(root=str(tmp_path / "models"))
    X, y = rows()
    w = np.ones_like(y)
    lg = fit_lightgbm("lgbm_avec_evenements", "a", X, y, w, rounds=20, threads=1)
    gl = fit_glm("glm_poisson", "a", X, y, w, SPEC, with_events=True)
    meta = {
        "usage": "backtest",
        "origin_start": "2025-12-01T06:00:00",
        "train_start": "2025-08-11T06:00:00",
        "train_end": "2025-12-01T06:00:00",
        "n_rows": 3000,
        "data_version": "abc123",
        "metrics": {"hit_rate_jour_suivant_5pct": 0.5},
    }
    with pytest.raises(ValueError, match="conventions"):  # a model must say what it was trained on
        store.save(lg, meta)
    v1 = store.save(lg, {**meta, "conventions": ["internal", "prefecture_police_13"]})
    v2 = store.save(gl, {**meta, "conventions": ["internal"]})
    back = store.load("lgbm_avec_evenements", "a", v1)
    assert np.allclose(back.predict(X), lg.predict(X)) and back.features == lg.features
    assert np.allclose(store.load("glm_poisson", "a").predict(X), gl.predict(X))
    assert back.alpha == lg.alpha
    reg = store.registry()
    assert reg.height == 2 and set(reg["version"].to_list()) == {v1, v2}
    row = reg.filter(pl.col("model") == "lgbm_avec_evenements").row(0, named=True)
    assert row["train_start"] == "2025-08-11T06:00:00" and row["data_version"] == "abc123"
    assert json.loads(row["metrics"]) == {"hit_rate_jour_suivant_5pct": 0.5}
    assert "num_leaves" in json.loads(row["params"]) and row["n_features"] == len(lg.features)
    assert row["conventions"] == ["internal", "prefecture_police_13"]
    assert reg.filter(pl.col("model") == "glm_poisson")["conventions"].to_list() == [["internal"]]
    assert store.champion() is None
    store.set_champion({"model": "lgbm_avec_evenements", "value": 0.5})
    assert store.champion()["model"] == "lgbm_avec_evenements"
    assert not any(p.name.startswith(".tmp") for p in (tmp_path / "models").iterdir())


def test_explanations_are_the_top_three_contributions():
    X, y = rows(2000, 1)
    m = fit_lightgbm("lgbm_avec_evenements", "a", X, y, np.ones_like(y), rounds=30, threads=1)
    ex = [json.loads(e) for e in m.top_contributions(X.head(5), 3)]
    contrib = m.obj.predict(X.head(5).to_numpy().astype(np.float32), pred_contrib=True)[:, :-1]
    for i, items in enumerate(ex):
        assert len(items) == 3
        best = np.argsort(-np.abs(contrib[i]))[:3]
        assert [it["feature"] for it in items] == [m.features[j] for j in best]
        assert items[0]["value"] == round(float(X[m.features[best[0]]][i]), 3)
        assert items[0]["contribution"] == round(float(contrib[i, best[0]]), 4)
