"""The Poisson GLM converges, with bounded coefficients, when a rare column never meets a fact.

On the demo year, a planned-event kind seen a handful of times (an official visit in a cell where
no camera alert ever fell in the training window) separates the data: the unpenalised likelihood
grows without end as that column's coefficient goes to −∞. IRLS then ran its 100 iterations without
converging (2.5 s a fit, 2 of 3 groups at every origin) and left coefficients of −80 to −95 — a
model saying that a visit makes any alert impossible, and explanations of the same size. A light
ridge bounds them, as it does the event multipliers of the event-aware LightGBM."""

import numpy as np
import polars as pl

from tranquillite.forecasting.features import model_feature_columns
from tranquillite.forecasting.models import fit_glm
from tranquillite.forecasting.slots import SlotScheme
from tranquillite.forecasting.study_area import AreaSpec

SPEC = AreaSpec(sources=("a",), planned_sources=("evenements_publics",), kinds_by_subcategory=())


def _rows(n: int = 6000, seed: int = 0, separated: str | None = None) -> tuple[pl.DataFrame, np.ndarray]:
    """Rows whose counts follow the group's 28-day level; `separated`: an exposure column non-zero
    on 0.3 % of the rows, all of them without a fact."""
    rng = np.random.default_rng(seed)
    cols = model_feature_columns(SPEC, SlotScheme(), with_events=True)
    X = {c: rng.integers(0, 5, n).astype(np.float64) for c in cols if not c.startswith("ev_")}
    X |= {c: np.zeros(n) for c in cols if c.startswith("ev_")}
    y = rng.poisson(0.2 + 0.3 * X["a_28d_same"]).astype(np.float64)
    if separated:
        rare = np.flatnonzero(y == 0)[: n // 300]
        X[separated][rare] = 1.0
    return pl.DataFrame(X), y


def test_a_column_that_never_meets_a_fact_gets_a_bounded_coefficient_and_the_fit_converges():
    cols = model_feature_columns(SPEC, SlotScheme(), with_events=True)
    rare = next(c for c in cols if c.startswith("ev_") and c.endswith("_r0"))
    X, y = _rows(separated=rare)
    m = fit_glm("glm_poisson", "a", X, y, np.ones_like(y), SPEC, with_events=True)
    names, coef = m.obj["names"], m.obj["coef"]
    beta = coef[names.index(f"log_{rare}")]
    assert m.info["converged"], "the fit stopped at its iteration limit"
    assert -6.0 < beta < 0.0, f"coefficient of a column never seen with a fact: {beta:.1f}"
    mu = m.predict(X)
    assert np.isfinite(mu).all()
    # the rows it touches are predicted lower, not zero: the data say "rare", not "impossible"
    touched = X[rare].to_numpy() > 0
    assert 0.01 * mu[~touched].mean() < mu[touched].mean() < mu[~touched].mean()
    # its explanation stays of the size of the others
    C, _ = m.contributions(X.filter(pl.Series(touched)))
    assert np.abs(C).max() < 10.0


def test_the_ridge_is_light_where_the_data_identify_the_coefficients():
    """Without separation, the penalised fit is the maximum-likelihood one to a fraction of a
    percent (the ridge only matters where the likelihood has no maximum)."""
    import statsmodels.api as sm

    from tranquillite.forecasting.models import glm_design

    X, y = _rows(seed=1)
    m = fit_glm("glm_poisson", "a", X, y, np.ones_like(y), SPEC, with_events=False)
    Z, names = glm_design(X, "a", SPEC, with_events=False)
    keep = np.r_[True, Z[:, 1:].std(axis=0) > 0]
    mle = np.exp(Z[:, keep] @ np.asarray(sm.GLM(y, Z[:, keep], family=sm.families.Poisson()).fit().params))
    assert m.info["converged"]
    assert np.abs(m.predict(X) / mle - 1).max() < 0.01
    level = names.index("log_a_28d_same")
    assert m.obj["coef"][level] > 0.3  # the signal the rows were drawn with is learned
