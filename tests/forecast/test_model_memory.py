"""A fitted model keeps nothing of its training data (issue 14: 8 years in ≤ 4 GB).

The backtest keeps every origin's models (8 origins × 3 groups × several models) until it
scores them: a model that holds on to its training rows multiplies the peak by the number
of origins, whatever the training window."""

import gc
from dataclasses import replace

import numpy as np
import statsmodels.genmod.generalized_linear_model as glm_module
from statsmodels.regression._tools import _MinimalWLS

from tranquillite.forecasting import models as models_module
from tranquillite.forecasting.backtest import run_backtest, train_service
from tranquillite.forecasting.models import fit_glm, fit_lightgbm_groups, heap_frozen
from tests.forecast.test_conventions import CFG, data, events, grid  # noqa: F401 - the lineage test's small city
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
    gc.disable()  # as between two of the interpreter's rare full collections
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


def test_objects_alive_before_the_fits_are_set_aside_from_the_collector_then_handed_back():
    """`fit_glm`'s full collection walks the whole heap — in a Dagster run, ~350k objects that are
    never garbage, 0.24 s each time; the fits run with those set aside (`gc.freeze`)."""
    X, y = rows(n=2000)
    gc.collect()
    alive = len(gc.get_objects())
    assert gc.get_freeze_count() == 0
    with heap_frozen():
        frozen = gc.get_freeze_count()
        with heap_frozen():  # nested: the outer freeze is left alone
            assert gc.get_freeze_count() == frozen
        fit_glm("glm_poisson", "a", X, y, np.ones_like(y), SPEC, with_events=True)
        assert gc.get_freeze_count() <= frozen  # the fit's own objects were collected, not frozen
    assert frozen >= 0.9 * alive
    assert gc.get_freeze_count() == 0  # handed back: collectable again


def test_the_backtest_and_the_training_collect_with_the_older_objects_set_aside(data, monkeypatch):  # noqa: F811
    cfg = replace(CFG, models=("moyenne_saisonniere", "glm_poisson"))
    seen = []
    real = gc.collect

    def collect(*args, **kwargs):
        seen.append(gc.get_freeze_count())
        return real(*args, **kwargs)

    monkeypatch.setattr(models_module.gc, "collect", collect)
    res = run_backtest(data, cfg)
    assert res.backtest.height and "glm_poisson" in res.backtest["model"].unique().to_list()
    in_backtest = len(seen)
    assert in_backtest >= 3 and all(seen[1:]), seen  # every GLM's collection: heap frozen
    service = train_service(data, "glm_poisson", cfg)
    assert service and len(seen) > in_backtest + 1 and all(seen[in_backtest + 1 :]), seen
    assert gc.get_freeze_count() == 0


def test_groups_trained_at_the_same_time_give_the_boosters_of_groups_trained_in_turn():
    """The weekly training fits the champion's groups two at a time, each on its own dataset: the
    bins, hence the trees, are those of the one dataset relabelled group after group."""
    X, y = rows(n=3000)
    Y = np.vstack([y, y[::-1], np.roll(y, 7)])
    w = np.ones_like(y)
    one = fit_lightgbm_groups("lgbm_sans_evenements", ["a", "b", "c"], X, Y, w, rounds=15, threads=1)
    two = fit_lightgbm_groups("lgbm_sans_evenements", ["a", "b", "c"], X, Y, w, rounds=15, threads=1, workers=2)
    assert [m.group for m in two] == ["a", "b", "c"]
    for a, b in zip(one, two):
        assert a.obj.model_to_string() == b.obj.model_to_string()
        assert a.alpha == b.alpha
    assert one[0].obj.model_to_string() != one[1].obj.model_to_string()  # three groups, three labels
