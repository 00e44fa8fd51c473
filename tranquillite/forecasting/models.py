"""Learned models: a Poisson GLM (statsmodels, light ridge) and LightGBM with a Poisson objective, with and
without the planned-event features — one model per group, trained on rows built by
`features.FeatureStore.rows` (state at the origin, calendar of the target, lead, exposure).

The event-aware LightGBM is the event-blind booster (history, neighbourhood, calendar) times
planned-event multipliers: exp(Σ β_j log(1 + exposure_j)), one β per event kind × H3 ring,
fitted by a ridge Poisson regression of the training rows with the booster's log-rate as
offset. Planned events are rare (a match touches a handful of cells a few times a month): trees
with leaves of ≥ 50 rows cannot isolate them, while one shared coefficient per kind × ring
learns from every occurrence. The two twins thus differ by the event data only — the measured
value of the Préfecture's and the City's planned events — and the β are readable (a match
multiplies facts in its cells by e^{β log(1+w)}). Explanations add β_j log(1 + x_j) to TreeSHAP.

Every fitted model carries a negative-binomial dispersion α, estimated by moments on its
training rows, for its prediction intervals, and can explain a prediction: LightGBM's exact
TreeSHAP contributions (`pred_contrib=True`), or β × (x − mean) for the GLM — both on the log
scale of the expected count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gc
import json
import pickle
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from tranquillite.forecasting.exposure import exposure_columns
from tranquillite.forecasting.metrics import dispersion
from tranquillite.forecasting.study_area import AreaSpec
from tranquillite.forecasting.threads import map_in_threads

if TYPE_CHECKING:  # LightGBM (0.7 s with scikit-learn) loads where a model is fitted or read
    import lightgbm as lgb

LGBM_PARAMS = {
    "objective": "poisson",
    "learning_rate": 0.1,
    "num_leaves": 31,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.5,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "max_bin": 63,
    "verbose": -1,
    "deterministic": True,
    "force_row_wise": True,
    "seed": 2025,
}
LGBM_ROUNDS = 150
GLM_MAX_ROWS = 20_000
GLM_RIDGE = 1.0  # L2 penalty of the GLM's coefficients but the constant, on the weighted log-likelihood (see fit_glm)
DISPERSION_ROWS = 30_000


def _matrix(X: pl.DataFrame) -> np.ndarray:
    return np.ascontiguousarray(X.select(pl.all().cast(pl.Float32)).to_numpy())


@dataclass
class FittedModel:
    name: str
    kind: str  # "lightgbm" | "glm"
    group: str
    features: list[str]
    params: dict
    alpha: float = 0.0
    obj: object = None  # lgb.Booster or GLM coefficients (dict)
    info: dict = field(default_factory=dict)
    events: dict | None = None  # event multipliers of the event-aware booster: {"columns", "coef"}

    @property
    def booster_features(self) -> list[str]:
        ev = set(self.events["columns"]) if self.events else set()
        return [f for f in self.features if f not in ev]

    def _event_terms(self, X: pl.DataFrame) -> np.ndarray:
        """β_j log(1 + x_j) per row and event column (rows × columns)."""
        Z = np.log1p(np.maximum(_matrix(X.select(self.events["columns"])).astype(np.float64), 0.0))
        return Z * np.asarray(self.events["coef"])[None, :]

    # ------------------------------------------------------------------ prediction
    def predict(self, X: pl.DataFrame) -> np.ndarray:
        if self.kind == "lightgbm":
            mu = self.obj.predict(
                _matrix(X.select(self.booster_features)), num_threads=self.params.get("num_threads", 0)
            )
            return mu * np.exp(self._event_terms(X).sum(axis=1)) if self.events else mu
        Z, _ = glm_design(X, self.group, self.obj["spec"], self.obj["with_events"])
        return np.exp(np.clip(Z @ self.obj["coef"], -30, 10))

    def contributions(self, X: pl.DataFrame, threads: int | None = None) -> tuple[np.ndarray, list[str]]:
        """Per-row contributions to log(expected count), one column per feature (names returned)."""
        if self.kind == "lightgbm":
            n = self.params.get("num_threads", 0) if threads is None else threads
            c = self.obj.predict(_matrix(X.select(self.booster_features)), pred_contrib=True, num_threads=n)[:, :-1]
            if not self.events:
                return c, list(self.booster_features)
            return np.hstack([c, self._event_terms(X)]), [*self.booster_features, *self.events["columns"]]
        Z, names = glm_design(X, self.group, self.obj["spec"], self.obj["with_events"])
        return (Z - self.obj["mean"]) * self.obj["coef"], names

    def top_contributions(self, X: pl.DataFrame, k: int = 3, threads: int | None = None) -> list[str]:
        """JSON per row: the k largest contributions by magnitude, each
        {"feature", "contribution" (to log expected count), "value" (of the feature)}."""
        C, names = self.contributions(X, threads)
        if C.size == 0:
            return ["[]"] * X.height
        top = np.argsort(-np.abs(C), axis=1)[:, :k]
        raw = {n: X[n].to_numpy() for n in set(names) & set(X.columns)}
        out = []
        for i in range(C.shape[0]):
            items = []
            for j in top[i]:
                n = names[j]
                v = raw[n][i] if n in raw else None
                items.append(
                    {
                        "feature": n,
                        "contribution": round(float(C[i, j]), 4),
                        "value": None if v is None or (isinstance(v, float) and np.isnan(v)) else round(float(v), 3),
                    }
                )
            out.append(json.dumps(items, ensure_ascii=False))
        return out

    # ------------------------------------------------------------------ persistence
    def dump(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        if self.kind == "lightgbm":
            path = folder / "model.txt"
            self.obj.save_model(str(path))
            if self.events:
                ev = folder / "event_multipliers.json"
                ev.write_text(
                    json.dumps(
                        {"columns": list(self.events["columns"]), "coef": [float(c) for c in self.events["coef"]]},
                        indent=1,
                    ),
                    encoding="utf-8",
                )
                return [path, ev]
        else:
            path = folder / "model.pkl"
            path.write_bytes(pickle.dumps(self.obj))
        return [path]

    @classmethod
    def load(cls, folder: Path, meta: dict) -> "FittedModel":
        events = None
        if meta["kind"] == "lightgbm":
            import lightgbm as lgb

            obj = lgb.Booster(model_file=str(folder / "model.txt"))
            if (folder / "event_multipliers.json").exists():
                events = json.loads((folder / "event_multipliers.json").read_text(encoding="utf-8"))
        else:
            obj = pickle.loads((folder / "model.pkl").read_bytes())
        return cls(
            meta["name"],
            meta["kind"],
            meta["group"],
            meta["features"],
            meta["params"],
            meta.get("alpha", 0.0),
            obj,
            meta.get("info", {}),
            events,
        )


# --------------------------------------------------------------------------- LightGBM
def _without_training_data(booster):
    """The trained booster, reloaded from its model text: a Booster from `lgb.train` stays bound,
    on the C++ side, to its training data (scores, gradients, bins) for as long as it lives — the
    backtest keeps every origin's models (8 origins × 3 groups × several models): 8 years,
    +370 MB. The predictions are the same."""
    import lightgbm as lgb

    return lgb.Booster(model_str=booster.model_to_string())


def fit_lightgbm_groups(
    name: str,
    groups: list[str],
    X: pl.DataFrame,
    Y: np.ndarray,
    w: np.ndarray,
    params: dict | None = None,
    rounds: int = LGBM_ROUNDS,
    threads: int = 0,
    event_columns: list[str] | None = None,
    boosters: list["FittedModel"] | None = None,
    workers: int = 1,
) -> list[FittedModel]:
    """One LightGBM per group on the same rows: the binned dataset is built once, relabelled; with
    `workers` > 1 the groups train at the same time (threads), each on its own dataset of the same
    bins — the same boosters (the backtest, whose origins already share the cores, runs one).

    With `event_columns`, the booster is trained without them and each group's model gets event
    multipliers fitted on them (`fit_event_multipliers`); `boosters` (the event-blind twins
    fitted on the same rows) are then reused instead of training the same boosters again."""
    import lightgbm as lgb

    p = {**LGBM_PARAMS, **(params or {}), "num_threads": threads}
    event_columns = [c for c in (event_columns or []) if c in X.columns]
    Xb = X.drop(event_columns) if event_columns else X
    M = _matrix(Xb)
    sub = np.arange(M.shape[0])
    if sub.size > DISPERSION_ROWS:  # dispersion from a subsample of the training rows
        sub = np.sort(np.random.default_rng(0).choice(sub, DISPERSION_ROWS, replace=False))

    def dataset(label: np.ndarray) -> lgb.Dataset:
        return lgb.Dataset(
            M,
            label=label,
            weight=w,
            feature_name=list(Xb.columns),
            free_raw_data=False,
            params={k: p[k] for k in ("max_bin", "verbose", "min_data_in_leaf") if k in p},
        )

    def train_alone(gi: int) -> tuple[lgb.Booster, float]:
        t0 = time.perf_counter()
        return _without_training_data(lgb.train(p, dataset(Y[gi]), num_boost_round=rounds)), time.perf_counter() - t0

    trained = None
    if boosters is None and workers > 1 and len(groups) > 1:  # each group's own dataset: the same bins
        trained = map_in_threads(train_alone, range(len(groups)), workers)
    ds = None
    out = []
    for gi, g in enumerate(groups):
        t0 = time.perf_counter()
        if boosters is not None:
            booster = boosters[gi].obj
        elif trained is not None:
            booster, seconds = trained[gi]
            t0 -= seconds
        else:
            if ds is None:
                ds = dataset(Y[gi])
            ds.set_label(Y[gi])
            booster = _without_training_data(lgb.train(p, ds, num_boost_round=rounds))
        m = FittedModel(name, "lightgbm", g, list(Xb.columns) + event_columns, {**p, "rounds": rounds}, obj=booster)
        if event_columns:
            base = booster.predict(M, num_threads=threads)
            m.events = fit_event_multipliers(X.select(event_columns), Y[gi], w, base)
            m.info["event_fit_s"] = round(time.perf_counter() - t0, 3)
        m.alpha = dispersion(
            m.predict(X[sub]) if event_columns else booster.predict(M[sub], num_threads=threads), Y[gi][sub], w[sub]
        )
        m.info["fit_s"] = round(time.perf_counter() - t0, 3)
        out.append(m)
    return out


EVENT_RIDGE = 1.0  # L2 penalty on the event coefficients (per unit of weighted training rows: see below)
EVENT_COEF_BOUND = 3.0


def fit_event_multipliers(
    E: pl.DataFrame, y: np.ndarray, w: np.ndarray, base: np.ndarray, ridge: float = EVENT_RIDGE, iterations: int = 25
) -> dict:
    """β maximising Σ w [y (o + z·β) − exp(o + z·β)] − ridge/2 |β|², with o = log(base) and
    z = log(1 + exposure), by Newton's method on the rows touched by an event (elsewhere z = 0:
    they carry no information on β). Columns never non-zero get β = 0."""
    cols = E.columns
    Z = np.log1p(np.maximum(_matrix(E).astype(np.float64), 0.0))
    touched = (Z > 0).any(axis=1)
    beta = np.zeros(len(cols))
    if touched.any():
        Zt, yt, wt = Z[touched], y[touched].astype(np.float64), w[touched].astype(np.float64)
        ot = np.log(np.maximum(base[touched], 1e-9))
        active = (Zt > 0).any(axis=0)
        Za = Zt[:, active]
        b = np.zeros(Za.shape[1])
        for _ in range(iterations):
            mu = np.exp(np.clip(ot + Za @ b, -30, 10))
            grad = Za.T @ (wt * (yt - mu)) - ridge * b
            hess = (Za * (wt * mu)[:, None]).T @ Za + ridge * np.eye(Za.shape[1])
            step = np.linalg.solve(hess, grad)
            b = np.clip(b + step, -EVENT_COEF_BOUND, EVENT_COEF_BOUND)
            if np.max(np.abs(step)) < 1e-6:
                break
        beta[active] = b
    return {"columns": list(cols), "coef": beta.tolist()}


def fit_lightgbm(
    name: str,
    group: str,
    X: pl.DataFrame,
    y: np.ndarray,
    w: np.ndarray,
    params: dict | None = None,
    rounds: int = LGBM_ROUNDS,
    threads: int = 0,
    event_columns: list[str] | None = None,
) -> FittedModel:
    return fit_lightgbm_groups(name, [group], X, y[None], w, params, rounds, threads, event_columns)[0]


# --------------------------------------------------------------------------- GLM
def glm_design(X: pl.DataFrame, group: str, spec: AreaSpec, with_events: bool) -> tuple[np.ndarray, list[str]]:
    """Design matrix of the Poisson GLM: log counts of the group, other groups' recent level,
    calendar dummies, log exposure. Unknown windows (null) are 0 with an indicator."""
    g = group
    cols: list[pl.Expr] = [pl.lit(1.0).alias("constante")]
    for c in ("lag1", "1d", "7d", "28d", "28d_same", "84d_same", "nb_1d", "nb_7d", "nb_84d"):
        cols.append(pl.col(f"{g}_{c}").cast(pl.Float64).fill_null(0).log1p().alias(f"log_{g}_{c}"))
    cols.append((pl.col(f"{g}_rate_same").cast(pl.Float64).fill_null(0) + 1e-3).log().alias(f"log_{g}_rate_same"))
    cols.append(pl.col(f"{g}_84d_same").is_null().cast(pl.Float64).alias(f"{g}_84d_inconnu"))
    for other in spec.groups:
        if other != g:
            cols.append(
                pl.col(f"{other}_28d_same").cast(pl.Float64).fill_null(0).log1p().alias(f"log_{other}_28d_same")
            )
    n_kinds = len(spec.shift_hours)
    cols += [(pl.col("kind") == k).cast(pl.Float64).alias(f"creneau_{k}") for k in range(1, n_kinds)]
    cols += [(pl.col("weekday") == d).cast(pl.Float64).alias(f"jour_{d}") for d in range(1, 7)]
    cols += [pl.col(c).cast(pl.Float64).alias(c) for c in ("ferie", "veille_ferie", "vacances")]
    if with_events:
        cols += [pl.col(c).cast(pl.Float64).log1p().alias(f"log_{c}") for c in exposure_columns(spec)]
    Z = X.select(cols)
    return Z.to_numpy(), Z.columns


@contextmanager
def heap_frozen() -> Iterator[None]:
    """The objects alive when the fits start (a Dagster run's ~350k: its definitions, the loaded
    data) set aside from the garbage collector while they run (`gc.freeze`), then handed back:
    `fit_glm`'s full collection then walks only what the fits made — 0.24 s each otherwise, most of
    it spent on objects that were never garbage. Nested uses leave the outer one's freeze alone."""
    if gc.get_freeze_count():
        yield
        return
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def fit_glm(
    name: str,
    group: str,
    X: pl.DataFrame,
    y: np.ndarray,
    w: np.ndarray,
    spec: AreaSpec,
    with_events: bool,
    max_rows: int = GLM_MAX_ROWS,
    seed: int = 0,
) -> FittedModel:
    """Poisson GLM by maximum likelihood with a light ridge (`GLM_RIDGE` on every coefficient but
    the constant); above `max_rows` rows, a uniform subsample (weights scaled up).

    The ridge matters only where the likelihood has no maximum: a rare column (a planned-event
    kind seen a few times, never with a fact of the group in the window) separates the data, and
    unpenalised IRLS walks its coefficient towards −∞ for 100 iterations without converging
    (coefficients of −80: "a visit makes any alert impossible"). Elsewhere the penalty weighs
    nothing against thousands of rows (predictions within 1 % of the unpenalised fit)."""
    import warnings

    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    t0 = time.perf_counter()
    if X.height > max_rows:
        q = max_rows / X.height
        pick = np.random.default_rng(seed).random(X.height) < q
        X, y, w = X.filter(pl.Series(pick)), y[pick], w[pick] / q
    Z, names = glm_design(X, group, spec, with_events)
    keep = Z[:, 1:].std(axis=0) > 0  # constant columns (e.g. an exposure never seen) are dropped
    keep = np.r_[True, keep]
    glm = sm.GLM(y, Z[:, keep], family=sm.families.Poisson(), freq_weights=w)
    # statsmodels' ridge objective is the log-likelihood per row: the penalty is scaled to match
    penalty = np.r_[0.0, np.full(int(keep.sum()) - 1, GLM_RIDGE)] / glm.nobs
    start = np.zeros(int(keep.sum()))
    start[0] = np.log(max(float(np.average(y, weights=w)), 1e-9))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        res = glm.fit_regularized(alpha=penalty, L1_wt=0.0, start_params=start)
    coef_k = np.asarray(res.params)
    if not np.all(np.isfinite(coef_k)):  # never seen; a model that cannot predict must not be kept
        raise ValueError(f"GLM de Poisson non convergé (groupe {group})")
    converged = not any(issubclass(c.category, ConvergenceWarning) for c in caught)
    del res, glm
    # statsmodels' models and results refer to each other: the fit's arrays stay in memory
    # until a full collection, which allocation counts seldom trigger (8 years: +1 GB per origin);
    # cheap under `heap_frozen` (the backtest and the training)
    gc.collect()
    coef = np.zeros(Z.shape[1])
    coef[keep] = coef_k
    mean = np.average(Z, axis=0, weights=w)
    obj = {"coef": coef, "mean": mean, "names": names, "spec": spec, "with_events": with_events}
    m = FittedModel(
        name,
        "glm",
        group,
        list(X.columns),
        {"family": "poisson", "link": "log", "with_events": with_events, "ridge": GLM_RIDGE},
        obj=obj,
    )
    m.alpha = dispersion(m.predict(X), y, w)
    m.info["fit_s"] = round(time.perf_counter() - t0, 3)
    m.info["converged"] = bool(converged)
    return m


def combine_alpha(mu: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """NB2 dispersion of a sum of independent NB counts (moment match): groups on axis 0."""
    total = mu.sum(axis=0)
    var_extra = (alpha[:, None, None] * mu**2).sum(axis=0) if alpha.ndim == 1 else (alpha * mu**2).sum(axis=0)
    return np.where(total > 0, var_extra / np.maximum(total, 1e-12) ** 2, 0.0)
