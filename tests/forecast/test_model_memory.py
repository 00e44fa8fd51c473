"""A fitted model keeps nothing of its training data (issue 14: 8 years in ≤ 4 GB).

The backtest keeps every origin's models (8 origins × 3 groups × several models) until it
scores them: a model that holds on to its training rows multiplies the peak by the number
of origins, whatever the training window."""

import gc

import numpy as np
import statsmodels.genmod.generalized_linear_model as glm_module
from statsmodels.regression._tools import _MinimalWLS

from tranquillite.forecasting.models import fit_glm, fit_lightgbm_groups
from tests.forecast.test_model_store import SPEC, rows


def _glm_objects() -> int:
    """statsmodels GLMs, results and IRLS steps (each with its weighted copy of the design) still
    in memory, reachable or awaiting collection."""
    kinds = (glm_module.GLM, glm_module.GLMResults, _MinimalWLS)
    return sum(isinstance(o, kinds) for o in gc.get_objects())


def test_a_glm_fit_leaves_no_statsmodels_results_awaiting_collection():
    X, y = rows(n=4000)
    gc.collect()
    before = _glm_objects()
    gc.disable()          # as between two of the interpreter's rare full collections
    try:
        model = fit_glm("glm_poisson", "a", X, y, np.ones_like(y), SPEC, with_events=True)
        left = _glm_objects() - before
    finally:
        gc.enable()
    assert left == 0, f"{left} statsmodels objects (and their IRLS arrays) outlive the fit"
    assert np.isfinite(model.predict(X)).all() and model.predict(X).mean() > 0


def test_a_lightgbm_model_does_not_keep_its_training_dataset():
    X, y = rows(n=3000)
    Y = np.vstack([y, y[::-1]])
    models = fit_lightgbm_groups("lgbm_sans_evenements", ["a", "b"], X, Y, np.ones_like(y), rounds=10, threads=1)
    assert len(models) == 2
    for m in models:
        # a booster from `lgb.train` is bound to its training data on the C++ side (scores,
        # gradients, bins); `train_set_version` marks one, a booster read from model text has none
        assert not hasattr(m.obj, "train_set_version"), "the booster is still bound to its training rows"
        assert np.isfinite(m.predict(X)).all()
    # the two groups' boosters were trained on their own labels, not the same one twice
    assert not np.allclose(models[0].predict(X), models[1].predict(X))
