"""The scoreboard: a rolling-origin backtest, the champion, and the published forecast.

For each origin `o` (the first shift of a day, weekly, the last `n_origins` weeks whose 7-day
horizon is fully observed) every model is trained again on what was known at `o` — target slots
before `o`, features at an earlier origin (a random lead per row, so the models learn how
information ages), planned events known at that origin — and forecasts the 21 shifts `o ..
o + 20`. Baselines only look at facts before `o`. Scores per model × group × horizon:
`creneau_suivant` (lead 0), `jour_suivant` (leads 0–2), `7_jours` (leads 0–20, each shift's map
on its shift), `semaine_suivante` (one map: the week's expected facts per cell against the
week's facts). The champion is chosen per horizon by the honest rule of `forecasting.champion`
(a learned model must beat the best baseline beyond noise, paired test over the origins); the
published forecast's shifts come from the champion at `champion_metric` (next day). On synthetic
data the generator's true intensity (background + excitation, the part knowable at each slot
start) is scored the same way (`oracle`).

Training rows: every cell × target slot of the last `train_weeks` weeks where a fact happened or
that a planned event touched, plus a random share of the other (empty) ones, weighted by the
inverse of their inclusion probability (an unbiased Poisson likelihood at a fraction of the cost).
Origins are trained in parallel threads (`workers`), one LightGBM thread each.
"""

from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import polars as pl

from tranquillite.forecasting import baselines as B
from tranquillite.forecasting import champion as CH
from tranquillite.forecasting import conventions as CV
from tranquillite.forecasting import multiscale as MS
from tranquillite.forecasting import sepp as SP
from tranquillite.forecasting.counts import dense
from tranquillite.forecasting.features import FeatureStore, model_feature_columns, state_features
from tranquillite.forecasting.labels import MODEL_LABELS
from tranquillite.forecasting.metrics import (
    COVERAGES,
    aggregate_hits,
    jittered_interval,
    per_slot_hits,
    pit_coverage_from,
    pit_steps,
    poisson_deviance,
    strict_coverage_from,
)
from tranquillite.forecasting.models import (
    LGBM_ROUNDS,
    FittedModel,
    combine_alpha,
    fit_glm,
    fit_lightgbm_groups,
    heap_frozen,
)
from tranquillite.forecasting.slots import SlotScheme
from tranquillite.forecasting.study_area import ALL, AreaSpec
from tranquillite.forecasting.threads import cores, map_in_threads

BASELINES = (
    "compte_52_semaines",
    "compte_historique",
    "derniere_periode",
    "moyenne_saisonniere",
    "hotspot_retrospectif",
    "hotspot_prospectif",
    "sepp",
)  # simplest first (the champion's ties)
LEARNED = ("glm_poisson", "lgbm_sans_evenements", "lgbm_avec_evenements", MS.NAME)
ORACLE = "oracle"
EVENT_AWARE, EVENT_BLIND = "lgbm_avec_evenements", "lgbm_sans_evenements"
EVENT_MODELS = ("glm_poisson", EVENT_AWARE)  # the learned models that read planned-event exposure
FALLBACK = "moyenne_saisonniere"  # champion when no model could be scored (facts only)


WEEKLY = "semaine_suivante"  # one map for the whole next week (not 21 shift maps)
HORIZONS = ("creneau_suivant", "jour_suivant", "7_jours", WEEKLY)
CHAMPION_HORIZONS = ("creneau_suivant", "jour_suivant", WEEKLY)


def horizon_slots(scheme: SlotScheme) -> dict[str, int]:
    """Per-shift horizons: the first `h` shifts' maps, each scored on its own shift."""
    return {"creneau_suivant": 1, "jour_suivant": scheme.n, "7_jours": 7 * scheme.n}


@dataclass(frozen=True)
class BacktestConfig:
    n_origins: int = 8
    horizon_days: int = 7
    train_weeks: int = 16
    zeros_per_fact: float = 2.0  # empty rows kept per row with a fact (then reweighted)
    lgbm_rounds: int = LGBM_ROUNDS
    lgbm_params: dict = field(default_factory=dict)
    threads: int = 0  # LightGBM threads per model (0: all cores, or 1 with workers > 1)
    workers: int = 0  # origins trained at the same time (0: one per core)
    explain_share: float = 0.05  # explanations for the cells of the top 5 % of the area of each shift
    seasonal_weeks: int = 8
    retro_weeks: int = 8
    retro_bandwidth_m: float = 400.0
    bjp_bandwidth_m: float = 400.0
    bjp_days: int = 61  # 2 months
    models: tuple[str, ...] = BASELINES + LEARNED
    seed: int = 42
    champion_metric: tuple[str, str, float] = ("jour_suivant", ALL, 0.05)
    trailing_weeks: int = 52  # compte_52_semaines
    sepp_weeks: int = 104  # the SEPP is fitted on the last 2 years before each origin
    sepp_iterations: int = 60
    multiscale: MS.MultiScaleConfig = field(default_factory=MS.MultiScaleConfig)
    imposed: str | None = None  # a predictor imposed by configuration (else: the champion rule)
    alpha: float = CH.ALPHA  # level of the champion rule's paired test


@dataclass
class ForecastData:
    """Everything the backtest needs, in memory."""

    spec: AreaSpec
    scheme: SlotScheme
    grid: pl.DataFrame  # sorted by cell_idx
    counts: pl.DataFrame  # sparse (group, cell_idx, slot, n)
    features: FeatureStore
    xy: np.ndarray  # cell centres, metres
    grid_distance: object  # sparse cell × cell H3 distance (1..k) of near pairs
    data_start: int  # first slot covered by the data
    data_end: int  # first slot not fully observed (the latest fact's slot)
    truth: pl.DataFrame | None = None  # sparse (group, cell_idx, slot, mu) — synthetic only
    neighbours: object = None  # adjacency (k = 1) for on-the-fly state features
    observed: np.ndarray | None = None  # per slot from data_start: was its day received? (None: all)
    missing_days: list = field(default_factory=list)  # days of the data's span with no data received

    def seen(self, lo: int, hi: int) -> np.ndarray:
        """Received flags of slots lo .. hi - 1 (slots past the data: received)."""
        out = np.ones(max(0, hi - lo), dtype=bool)
        if self.observed is None or out.size == 0:
            return out
        a, b = max(lo, self.data_start), min(hi, self.data_start + self.observed.size)
        if b > a:
            out[a - lo : b - lo] = self.observed[a - self.data_start : b - self.data_start]
        out[: max(0, min(hi, self.data_start) - lo)] = False
        return out

    @property
    def area(self) -> np.ndarray:
        return self.grid["area_m2"].to_numpy()

    @property
    def n_cells(self) -> int:
        return self.grid.height

    def Y(self) -> np.ndarray:
        """Observed counts, groups × cells × slots data_start .. data_end - 1."""
        return dense(self.counts, self.spec.groups, self.n_cells, self.data_start, self.data_end - self.data_start)

    def fact_conventions(self) -> list[str]:
        """What every model row is made of besides planned events: the groups' facts (their
        contracts' conventions), the grid and the calendar (reference data)."""
        return sorted(set(CV.of_sources(self.spec.groups)) | {CV.REFERENCE})

    def restricted(self, conventions: set[str]) -> "ForecastData":
        """The same data with only the planned records of these conventions (a forecast that must
        not use another convention's data: e.g. the City's own, without the Préfecture's)."""
        fs = copy.copy(self.features)
        ex = fs.exposure
        fs.exposure = (
            ex.filter(pl.col("convention").is_in(sorted(conventions)))
            if "convention" in ex.columns
            else ex.filter(
                pl.col("source")
                .replace_strict(CV.contract_conventions(), default=CV.REFERENCE)
                .is_in(sorted(conventions))
            )
        )
        return replace(self, features=fs)

    def ensure_states(self, slot: int) -> None:
        """Extend the feature store to `slot` (a forecast origin just after the stored range)."""
        fs = self.features
        if slot <= fs.s1:
            return
        extra = state_features(
            self.counts.filter(pl.col("slot") < slot),
            self.n_cells,
            self.spec.groups,
            self.scheme,
            fs.s1 + 1,
            slot,
            self.data_start,
            self.neighbours,
            self.observed,
        )
        self.features = FeatureStore(
            pl.concat([fs.states, extra.select(fs.states.columns)]), self.n_cells, self.spec, self.scheme, fs.exposure
        )


@dataclass
class BacktestResult:
    backtest: pl.DataFrame
    scores: pl.DataFrame
    planned: pl.DataFrame
    champion: str
    models: list[tuple[FittedModel, dict]]
    timings: dict
    champion_internal: str = FALLBACK  # the best among the models trained on the City's data only
    champions: pl.DataFrame | None = None  # the champion rule per horizon × category (forecasting.champion)


def origins(data: ForecastData, cfg: BacktestConfig) -> list[int]:
    """Weekly origins (first shift of a day), latest last, with a fully observed horizon — every
    day of it received — and at least one week of features and facts before them (the latest
    `n_origins` such; after a gap, the weeks before it)."""
    n, H = data.scheme.n, cfg.horizon_days * data.scheme.n
    last = data.data_end - H
    last -= last % n
    earliest = max(data.data_start, data.features.s0) + 7 * n
    out: list[int] = []
    o = last
    while o >= earliest and len(out) < cfg.n_origins:
        if data.seen(o, o + H).all() and data.seen(o - 7 * n, o).any():
            out.append(o)
        o -= 7 * n
    return sorted(out)


def training_rows(Y: np.ndarray, data: ForecastData, o: int, cfg: BacktestConfig, rng: np.random.Generator):
    """Rows (cell, target, origin) before `o`, with their targets (groups × rows) and two sets of
    weights: `w_blind` for the models without planned events, `w_events` for those with them.

    Every cell × slot with a fact is kept; so, for the event models, is every one a planned event
    touched (ring ≤ 1). The other (empty) ones are sampled with probability p0 and weighted
    1 / p0 — the inclusion depends on the outcome (and, for the event models, the planned events)
    only, so the weighted Poisson likelihood stays unbiased. The models without planned events
    never depend on them, not even through the choice of their rows (`w_blind` is 0 on the rows
    kept only because an event touched them): a model trained without the Préfecture's data owes
    it nothing."""
    fs = data.features
    H = cfg.horizon_days * data.scheme.n
    lo = max(o - cfg.train_weeks * data.scheme.per_week, fs.s0, data.data_start)
    targets = np.arange(lo, min(o, data.data_end), dtype=np.int64)  # outcomes fully observed before o
    targets = targets[data.seen(lo, lo + targets.size)]  # …on days received
    if targets.size == 0:
        raise ValueError("aucune donnée d'apprentissage avant l'origine (aucun jour reçu dans la fenêtre)")
    y = Y[:, :, targets - data.data_start]  # G × N × S
    lead = rng.integers(0, H, size=y.shape[1:])
    origin = targets[None, :] - lead
    valid = origin >= fs.s0
    if data.observed is not None:  # a state at an origin in a day not received is unknown
        valid &= data.seen(fs.s0, fs.s1 + 1)[np.clip(origin - fs.s0, 0, fs.s1 - fs.s0)]
    fact = (y.sum(axis=0) > 0) & valid
    touched = np.zeros_like(fact)
    ex = fs.exposure
    if ex.height:
        e = ex.filter((pl.col("ring") <= 1) & (pl.col("slot") >= targets[0]) & (pl.col("slot") <= targets[-1]))
        touched[e["cell_idx"].to_numpy(), e["slot"].to_numpy() - targets[0]] = True
    touched &= valid & ~fact
    empty = ~fact & valid
    p0 = min(1.0, cfg.zeros_per_fact * fact.sum() / max(empty.sum(), 1))
    sampled = empty & (rng.random(y.shape[1:]) < p0)
    keep = fact | sampled | touched
    cell, col = np.nonzero(keep)
    f, sm, t = fact[cell, col], sampled[cell, col], touched[cell, col]
    w_blind = np.where(f, 1.0, np.where(sm, 1.0 / p0, 0.0))
    w_events = np.where(f | t, 1.0, 1.0 / p0)
    return cell, targets[col], origin[cell, col], np.ascontiguousarray(y[:, cell, col]), w_blind, w_events


def fit_models(
    data: ForecastData,
    X: pl.DataFrame,
    yg: np.ndarray,
    w_blind: np.ndarray,
    w_events: np.ndarray,
    cfg: BacktestConfig,
    names: tuple[str, ...],
    workers: int = 1,
) -> dict[str, list[FittedModel]]:
    """The learned models on the same rows: the event-blind ones on the rows of `w_blind` > 0
    (chosen without the planned events), the event models on every row with `w_events`;
    `workers`: LightGBM's groups trained at the same time (`fit_lightgbm_groups`)."""
    spec, sch = data.spec, data.scheme
    blind_cols = model_feature_columns(spec, sch, with_events=False)
    event_cols = [c for c in X.columns if c not in set(blind_cols)]
    out: dict[str, list[FittedModel]] = {}
    for name in names:
        if name == "glm_poisson":
            out[name] = [
                fit_glm(name, g, X, yg[gi], w_events, spec, with_events=bool(spec.planned_sources), seed=cfg.seed)
                for gi, g in enumerate(spec.groups)
            ]
    if EVENT_BLIND in names or EVENT_AWARE in names:
        sel = w_blind > 0
        out[EVENT_BLIND] = fit_lightgbm_groups(
            EVENT_BLIND,
            spec.groups,
            X.select(blind_cols).filter(pl.Series(sel)),
            np.ascontiguousarray(yg[:, sel]),
            w_blind[sel],
            cfg.lgbm_params,
            cfg.lgbm_rounds,
            cfg.threads,
            workers=workers,
        )
    if EVENT_AWARE in names:  # the blind twin's boosters × planned-event multipliers (see models.py)
        out[EVENT_AWARE] = fit_lightgbm_groups(
            EVENT_AWARE,
            spec.groups,
            X,
            yg,
            w_events,
            cfg.lgbm_params,
            cfg.lgbm_rounds,
            cfg.threads,
            event_columns=event_cols,
            boosters=out[EVENT_BLIND],
        )
    return {n: out[n] for n in names if n in out}


def uses_events(name: str, spec: AreaSpec) -> bool:
    return name in EVENT_MODELS and bool(spec.planned_sources)


def _days_before(Yg: np.ndarray, o_idx: int, n: int, days: int | None, seen: np.ndarray | None):
    """Daily counts (cells × days) of the whole days before slot `o_idx` (the last `days` of
    them), and which days were received (None: all)."""
    hi = o_idx - o_idx % n
    lo = 0 if days is None else max(0, hi - days * n)
    lo += (hi - lo) % n
    D = (hi - lo) // n
    Yd = np.asarray(Yg[:, lo:hi], dtype=np.float64).reshape(Yg.shape[0], D, n).sum(axis=2)
    got = None if seen is None else np.asarray(seen[lo:hi], dtype=bool).reshape(D, n).any(axis=1)
    return Yd, got


def sepp_fit(Yg: np.ndarray, o_idx: int, data: ForecastData, cfg: BacktestConfig) -> SP.SEPPFit:
    """The grid SEPP fitted by EM on the daily counts of the last `sepp_weeks` weeks before the
    origin (days received; time bins of a day: the facts' times within a day are too coarse in
    most records — unknown hours default to midnight or noon — and a day bin is 3× cheaper)."""
    seen = None if data.observed is None else data.seen(data.data_start, data.data_start + Yg.shape[1])
    Yd, got = _days_before(Yg, o_idx, data.scheme.n, cfg.sepp_weeks * 7, seen)
    return SP.fit(Yd, got, iterations=cfg.sepp_iterations)


def sepp_forecast(Yg: np.ndarray, o_idx: int, H: int, n: int, fit: SP.SEPPFit, seen: np.ndarray | None) -> np.ndarray:
    """Per slot: the SEPP's expected facts of the slot's day (from the whole days before the
    origin), shared equally among the day's slots (the ranking of cells is the day's)."""
    Yd, got = _days_before(Yg, o_idx, n, None, seen)
    start = o_idx - o_idx % n
    leads = np.arange(o_idx, o_idx + H) - start  # slots from the last day start
    days = leads // n + 1
    daily = SP.forecast(Yd, Yd.shape[1], int(days.max()), fit, got)
    return daily[:, days - 1] / n


def baseline_forecast(
    name: str,
    Yg: np.ndarray,
    o_idx: int,
    H: int,
    data: ForecastData,
    cfg: BacktestConfig,
    kernels: dict,
    fit: SP.SEPPFit | None = None,
) -> np.ndarray:
    sch = data.scheme
    seen = None if data.observed is None else data.seen(data.data_start, data.data_start + Yg.shape[1])
    if name == "compte_52_semaines":
        return B.trailing_count(Yg, o_idx, H, cfg.trailing_weeks * sch.per_week, seen)
    if name == "compte_historique":
        return B.trailing_count(Yg, o_idx, H, None, seen)
    if name == "sepp":
        fit = fit or sepp_fit(Yg, o_idx, data, cfg)
        return sepp_forecast(Yg, o_idx, H, sch.n, fit, seen)
    if name == "derniere_periode":
        return B.last_period(Yg, o_idx, H, seen)
    if name == "moyenne_saisonniere":
        return B.seasonal_average(Yg, o_idx, H, sch.per_week, cfg.seasonal_weeks, seen)
    if name == "hotspot_retrospectif":
        return B.retrospective_hotspot(Yg, o_idx, H, kernels["quartic"], cfg.retro_weeks * sch.per_week, seen)
    if name == "hotspot_prospectif":
        return B.prospective_hotspot(Yg, o_idx, H, kernels["bjp"], cfg.bjp_days * sch.n, sch.per_week, seen)
    raise KeyError(name)


def kernels_for(data: ForecastData, cfg: BacktestConfig, Y: np.ndarray | None = None) -> dict:
    out = {
        "quartic": B.quartic_kernel(data.xy, cfg.retro_bandwidth_m),
        "bjp": B.bjp_spatial_weights(data.xy, data.grid_distance, cfg.bjp_bandwidth_m),
    }
    if Y is not None and MS.NAME in cfg.models:
        seen = None if data.observed is None else data.seen(data.data_start, data.data_start + Y.shape[2])
        out["multi"] = MS.context([*Y, Y.sum(axis=0)], seen, data.scheme.n, data.grid["h3_cell"].to_list(), data.xy)
    return out


def multiscale_forecast(
    data: ForecastData,
    Y: np.ndarray,
    o_idx: int,
    H: int,
    cfg: BacktestConfig,
    kernels: dict,
    fits: list | None,
    threads: int = 1,
):
    """The multi-scale model at `o_idx` (see `forecasting.multiscale`): mu, weekly map, models."""
    if "multi" not in kernels:
        kernels["multi"] = kernels_for(data, replace(cfg, models=(MS.NAME,)), Y)["multi"]
    names = [*data.spec.groups, ALL]
    return MS.forecast(
        kernels["multi"],
        o_idx,
        H,
        data.area,
        cfg.multiscale,
        max(1, threads),
        fits,
        kernels.get("multi_settings"),
        names=names,
    )


def truth_block(data: ForecastData, o: int, H: int) -> np.ndarray | None:
    if data.truth is None or data.truth.height == 0:
        return None
    t = data.truth.filter((pl.col("slot") >= o) & (pl.col("slot") < o + H))
    out = np.zeros((len(data.spec.groups), data.n_cells, H))
    gi = (
        t["group"]
        .replace_strict({g: i for i, g in enumerate(data.spec.groups)}, default=-1, return_dtype=pl.Int64)
        .to_numpy()
    )
    ok = gi >= 0
    np.add.at(out, (gi[ok], t["cell_idx"].to_numpy()[ok], t["slot"].to_numpy()[ok] - o), t["mu"].to_numpy()[ok])
    return out


def _predict_group_models(models: list[FittedModel], X: pl.DataFrame, N: int, H: int) -> tuple[np.ndarray, np.ndarray]:
    mu = np.stack([m.predict(X).reshape(N, H) for m in models])  # G × N × H
    alpha = np.array([m.alpha for m in models])
    return mu, alpha


def planned_slots(data: ForecastData, o: int, H: int, min_attendance: int = 1000) -> np.ndarray:
    """Leads whose slot has a planned event known at `o` expecting at least `min_attendance`
    people (a demonstration, a match, a concert…): where planned-event data can matter."""
    ex = data.features.exposure
    if ex.height == 0:
        return np.zeros(H, dtype=bool)
    hit = ex.filter(
        (pl.col("slot") >= o)
        & (pl.col("slot") < o + H)
        & (pl.col("known_slot") <= o)
        & (pl.col("ring") == 0)
        & (pl.col("weight") >= float(np.log1p(min_attendance)))
    )
    mask = np.zeros(H, dtype=bool)
    mask[np.unique(hit["slot"].to_numpy() - o)] = True
    return mask


def exposed_cells(data: ForecastData, o: int, H: int) -> np.ndarray:
    """Cells × leads touched (ring ≤ 1) by a planned event known at `o`."""
    ex = data.features.exposure
    out = np.zeros((data.n_cells, H), dtype=bool)
    if ex.height:
        hit = ex.filter(
            (pl.col("slot") >= o) & (pl.col("slot") < o + H) & (pl.col("known_slot") <= o) & (pl.col("ring") <= 1)
        )
        out[hit["cell_idx"].to_numpy(), hit["slot"].to_numpy() - o] = True
    return out


def _fit_learned(
    data: ForecastData, Y: np.ndarray, o: int, cfg: BacktestConfig, names: tuple[str, ...], workers: int = 1
):
    """Train the learned models at origin `o` (target slots before it): ({name: group models},
    [(model, meta)] — the meta holds the conventions of its training rows)."""
    spec = data.spec
    rng = np.random.default_rng([cfg.seed, o])  # same draws whatever the order of the origins
    cell, target, orig, yg, w_blind, w_events = training_rows(Y, data, o, cfg, rng)
    events = bool(spec.planned_sources)
    X = data.features.rows(cell, target, orig, with_events=events, with_conventions=True)
    trained_on = CV.union_of(X.filter(pl.Series(w_events > 0)), "ev_conventions") if events else set()
    X = X.drop("ev_conventions", strict=False)
    models = fit_models(data, X, yg, w_blind, w_events, cfg, names, workers)
    del X
    base = set(data.fact_conventions())
    fitted = []
    for name, ms in models.items():
        model_conv = sorted(base | (trained_on if uses_events(name, spec) else set()))
        fitted += [
            (
                m,
                {
                    "origin": o,
                    "train_targets": [int(target.min()), int(target.max())],
                    "n_rows": int(target.size),
                    "alpha": m.alpha,
                    "conventions": model_conv,
                },
            )
            for m in ms
        ]
    return models, fitted


def _predict_learned(
    data: ForecastData,
    o: int,
    cfg: BacktestConfig,
    models: dict[str, list[FittedModel]],
    trained_conv: dict[str, list[str]],
):
    """Forecast the H slots from `o` with learned models already trained: the forecasts, the
    prediction rows and, per model, the conventions of each prediction row (cell-major: row =
    cell × H + lead)."""
    spec, N, H = data.spec, data.n_cells, cfg.horizon_days * data.scheme.n
    events = bool(spec.planned_sources)
    pc = np.repeat(np.arange(N), H)
    pt = np.tile(np.arange(o, o + H), N)
    Xp = data.features.rows(pc, pt, np.full(pc.size, o), with_events=events, with_conventions=True)
    ev_rows = Xp.get_column("ev_conventions") if "ev_conventions" in Xp.columns else None
    Xp = Xp.drop("ev_conventions", strict=False)
    out, conv = {}, {}
    for name, ms in models.items():
        mu, alpha = _predict_group_models(ms, Xp, N, H)
        out[name] = (
            np.concatenate([mu, mu.sum(axis=0)[None]]),  # 'all' = the sum of the groups
            np.concatenate([np.broadcast_to(alpha[:, None, None], mu.shape), combine_alpha(mu, alpha)[None]]),
        )
        model_conv = trained_conv[name]
        rows = (
            CV.union_rows(ev_rows.to_frame(), [ev_rows.name], model_conv)
            if uses_events(name, spec) and ev_rows is not None
            else None
        )
        conv[name] = (model_conv, rows)
    return out, Xp, conv


def _learned_forecasts(data: ForecastData, Y: np.ndarray, o: int, cfg: BacktestConfig, names: tuple[str, ...]):
    """Train the learned models at origin `o` and forecast the H slots from `o` (`_fit_learned`,
    `_predict_learned`): the forecasts, the fitted models, the prediction rows, the conventions."""
    models, fitted = _fit_learned(data, Y, o, cfg, names)
    conv = {}
    for m, meta in fitted:
        conv[m.name] = meta["conventions"]
    out, Xp, rows = _predict_learned(data, o, cfg, models, conv)
    return out, fitted, Xp, rows


def _conventions_of(conv: tuple[list[str], pl.Series | None]) -> list[str]:
    """Every convention a model's forecast rows carry (model ∪ every row's exposures)."""
    model_conv, rows = conv
    return sorted(set(model_conv) | (set(rows.explode().drop_nulls().to_list()) if rows is not None else set()))


def forecasts_at(data: ForecastData, Y: np.ndarray, o: int, cfg: BacktestConfig, kernels: dict) -> tuple[dict, list]:
    """Every model's forecast issued at origin `o` for the H slots `o .. o + H - 1`, per group and
    `all`: {model: (mu (G+1) × cells × H, alpha, conventions)}. Only data before `o` are used (the
    oracle aside); `conventions` are those of the model's training rows and of the planned
    records its forecast rows read."""
    spec, H = data.spec, cfg.horizon_days * data.scheme.n
    o_idx = o - data.data_start
    G = len(spec.groups)
    forecasts, fitted = {}, []
    learned = tuple(m for m in cfg.models if m in LEARNED and m != MS.NAME)
    facts = data.fact_conventions()
    if learned:
        fc, fitted, _, conv = _learned_forecasts(data, Y, o, cfg, learned)
        forecasts = {name: (*v, _conventions_of(conv[name])) for name, v in fc.items()}
    Yall = Y.sum(axis=0)
    cats = [*(Y[gi] for gi in range(G)), Yall]
    fits = None
    if "sepp" in cfg.models or MS.NAME in cfg.models:
        t0 = time.perf_counter()
        fits = [sepp_fit(Yc, o_idx, data, cfg) for Yc in cats]
        fitted.append((None, {"model": "sepp", "seconds": time.perf_counter() - t0}))
    for name in (m for m in cfg.models if m in BASELINES):
        t0 = time.perf_counter()
        mu = np.stack(
            [
                baseline_forecast(name, Yc, o_idx, H, data, cfg, kernels, fits[ci] if fits else None)
                for ci, Yc in enumerate(cats)
            ]
        )
        forecasts[name] = (mu, np.zeros(G + 1), facts)  # baselines only look at the facts
        fitted.append((None, {"model": name, "seconds": time.perf_counter() - t0}))
    if MS.NAME in cfg.models:
        t0 = time.perf_counter()
        try:
            mu, week, models, _ = multiscale_forecast(data, Y, o_idx, H, cfg, kernels, fits, cfg.threads or 1)
        except ValueError:  # too few past origins to learn from: the model is not scored at this origin
            models = None
        if models is not None:
            forecasts[MS.NAME] = (mu, np.zeros(G + 1), facts, week)
            fitted.append((None, {"model": MS.NAME, "seconds": time.perf_counter() - t0}))
    truth = truth_block(data, o, H)
    if truth is not None:
        forecasts[ORACLE] = (np.concatenate([truth, truth.sum(axis=0)[None]]), np.zeros(G + 1), facts)
    return forecasts, fitted


def _mask_conventions(data: ForecastData, o: int, H: int) -> list[str]:
    """Conventions of the planned records that select the slots and cells of `backtest_evenements`."""
    ex = data.features.exposure
    if ex.height == 0 or "convention" not in ex.columns:
        return []
    hit = ex.filter(
        (pl.col("slot") >= o) & (pl.col("slot") < o + H) & (pl.col("known_slot") <= o) & (pl.col("ring") <= 1)
    )
    return sorted(set(hit["convention"].drop_nulls().unique().to_list()))


def _hit_rows(sc: dict, name: str, cat: str, horizon: str, origin_dt, conv, oracle_hr: dict) -> list[tuple]:
    """One backtest row per coverage of a predictor's scores, with its ratio to the oracle's (the
    oracle is scored first and recorded in `oracle_hr`)."""
    out = []
    for k, c in enumerate(COVERAGES):
        hr = float(sc["hit_rate"][k])
        if name == ORACLE:
            oracle_hr[(cat, horizon, c)] = hr
        ref = oracle_hr.get((cat, horizon, c))
        out.append(
            (
                name,
                cat,
                horizon,
                origin_dt,
                c,
                hr,
                float(sc["pai"][k]),
                float(sc["pei"][k]),
                int(sc["n_events"]),
                float(sc["hits"][k]),
                float(sc["max_hits"][k]),
                ref,
                (hr / ref) if ref else None,
                conv,
            )
        )
    return out


def score_origin(data: ForecastData, o: int, forecasts: dict, y_obs: np.ndarray, cfg: BacktestConfig):
    """Rows of the three backtest tables for one origin."""
    spec, sch, N = data.spec, data.scheme, data.n_cells
    H = cfg.horizon_days * sch.n
    hz = {k: min(v, H) for k, v in horizon_slots(sch).items()}
    area = data.area
    y_full = np.concatenate([y_obs, y_obs.sum(axis=0)[None]])
    cats = [*spec.groups, ALL]
    origin_dt = sch.start(o)
    psl = planned_slots(data, o, H)
    ex = exposed_cells(data, o, H)
    oracle_hr: dict = {}
    rows, score_rows, planned_rows = [], [], []
    masks = _mask_conventions(data, o, H)
    for name in ([ORACLE] if ORACLE in forecasts else []) + [m for m in forecasts if m != ORACLE]:
        mu, alpha, conv = forecasts[name][:3]
        week = forecasts[name][3] if len(forecasts[name]) > 3 else None
        conv_planned = sorted(set(conv) | set(masks))
        for ci, cat in enumerate(cats):
            a = alpha[ci] if np.ndim(alpha) > 1 else np.full(mu[ci].shape, alpha[ci])
            m_, y_ = mu[ci], y_full[ci]
            hits, best, nev = per_slot_hits(m_, y_, area)
            f_lo, f_hi = pit_steps(m_, a, y_)
            for hname, h in hz.items():
                sc = aggregate_hits(hits[:h], best[:h], nev[:h])
                rows.extend(_hit_rows(sc, name, cat, hname, origin_dt, conv, oracle_hr))
                fl, fh = f_lo[:, :h], f_hi[:, :h]
                score_rows.append(
                    (
                        name,
                        cat,
                        hname,
                        origin_dt,
                        poisson_deviance(m_[:, :h], y_[:, :h]),
                        pit_coverage_from(fl, fh, 0.80),
                        pit_coverage_from(fl, fh, 0.95),
                        strict_coverage_from(fl, fh, 0.80),
                        strict_coverage_from(fl, fh, 0.95),
                        float(m_[:, :h].sum()),
                        float(y_[:, :h].sum()),
                        N,
                        h,
                        conv,
                    )
                )
            # the week as one map: the expected facts of the week per cell against the week's facts
            if H >= 7 * sch.n:
                wm = week[ci] if week is not None else m_[:, : 7 * sch.n].sum(axis=1)
                wy = y_[:, : 7 * sch.n].sum(axis=1)
                sc = aggregate_hits(*per_slot_hits(wm, wy, area))
                rows.extend(_hit_rows(sc, name, cat, WEEKLY, origin_dt, conv, oracle_hr))
            # slots with planned events, and the cells they touch
            sc = (
                aggregate_hits(hits[psl], best[psl], nev[psl])
                if psl.any()
                else {"hit_rate": [np.nan] * len(COVERAGES), "n_events": 0.0}
            )
            # the facts in the cells the planned events touch: does the map flag them?
            se = (
                aggregate_hits(*per_slot_hits(m_, y_ * ex, area))
                if ex.any()
                else {"hit_rate": [np.nan] * len(COVERAGES), "n_events": 0.0}
            )
            planned_rows.append(
                (
                    name,
                    cat,
                    origin_dt,
                    int(psl.sum()),
                    int(sc["n_events"]),
                    float(sc["hit_rate"][COVERAGES.index(0.05)]),
                    int(se["n_events"]),
                    float(se["hit_rate"][COVERAGES.index(0.05)]),
                    int(ex.sum()),
                    poisson_deviance(m_[ex], y_[ex]) if ex.any() else None,
                    float(m_[ex].sum()),
                    float(y_[ex].sum()),
                    conv_planned,
                )
            )
    return rows, score_rows, planned_rows


BACKTEST_SCHEMA = {
    "model": pl.Utf8,
    "category": pl.Utf8,
    "horizon": pl.Utf8,
    "origin": pl.Datetime("us"),
    "coverage": pl.Float64,
    "hit_rate": pl.Float64,
    "pai": pl.Float64,
    "pei": pl.Float64,
    "n_events": pl.Int64,
    "hits": pl.Float64,
    "max_hits": pl.Float64,
    "oracle_hit_rate": pl.Float64,
    "hit_rate_vs_oracle": pl.Float64,
    "conventions": pl.List(pl.Utf8),
    "champion": pl.Boolean,
    "champion_pourquoi": pl.Utf8,
}
_ROW_SCHEMA = {k: v for k, v in BACKTEST_SCHEMA.items() if k not in ("champion", "champion_pourquoi")}
SCORES_SCHEMA = {
    "model": pl.Utf8,
    "category": pl.Utf8,
    "horizon": pl.Utf8,
    "origin": pl.Datetime("us"),
    "poisson_deviance": pl.Float64,
    "interval_coverage_80": pl.Float64,
    "interval_coverage_95": pl.Float64,
    "strict_coverage_80": pl.Float64,
    "strict_coverage_95": pl.Float64,
    "expected": pl.Float64,
    "observed": pl.Float64,
    "n_cells": pl.Int64,
    "n_slots": pl.Int64,
    "conventions": pl.List(pl.Utf8),
}
PLANNED_SCHEMA = {
    "model": pl.Utf8,
    "category": pl.Utf8,
    "origin": pl.Datetime("us"),
    "planned_slots": pl.Int64,
    "n_events": pl.Int64,
    "hit_rate_5": pl.Float64,
    "n_events_exposed": pl.Int64,
    "hit_rate_5_exposed": pl.Float64,
    "exposed_cell_slots": pl.Int64,
    "poisson_deviance_exposed": pl.Float64,
    "expected_exposed": pl.Float64,
    "observed_exposed": pl.Float64,
    "conventions": pl.List(pl.Utf8),
}


def run_backtest(data: ForecastData, cfg: BacktestConfig = BacktestConfig()) -> BacktestResult:
    """Rolling-origin backtest; origins run `cfg.workers` at a time (threads: LightGBM, NumPy and
    Polars release the GIL), each LightGBM on one thread."""
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    H = cfg.horizon_days * data.scheme.n
    Y = data.Y()
    kernels = kernels_for(data, cfg, Y)
    work = origins(data, cfg)
    workers = min(cores(cfg.workers), max(1, len(work)))
    if workers > 1 and cfg.threads == 0:
        cfg = replace(cfg, threads=1)
    if MS.NAME in cfg.models and work:  # its hyper-parameters: time-ordered CV at the earliest origin
        t_cv = time.perf_counter()
        with threadpool_limits(limits=1, user_api="blas"):
            kernels["multi_settings"], kernels["multi_cv"] = MS.choose_settings(
                kernels["multi"],
                work[0] - data.data_start,
                data.area,
                cfg.multiscale,
                max(1, cfg.threads or 1),
                workers=cores(cfg.workers),
            )
        kernels["multi_cv_s"] = time.perf_counter() - t_cv

    def one(o: int):
        forecasts, fitted = forecasts_at(data, Y, o, cfg, kernels)
        o_idx = o - data.data_start
        return score_origin(data, o, forecasts, Y[:, :, o_idx : o_idx + H], cfg), fitted

    with threadpool_limits(limits=1, user_api="blas"), heap_frozen():
        results = map_in_threads(one, work, workers)
    rows = [r for (b, _, _), _ in results for r in b]
    score_rows = [r for (_, s, _), _ in results for r in s]
    planned_rows = [r for (_, _, p), _ in results for r in p]
    per_model: dict[str, float] = {}
    for _, fs in results:
        for m, meta in fs:
            name = m.name if m is not None else meta["model"]
            per_model[name] = per_model.get(name, 0.0) + (
                m.info.get("fit_s", 0.0) if m is not None else meta["seconds"]
            )
    fitted = [f for _, fs in results for f in fs if f[0] is not None]
    backtest = pl.DataFrame(rows, schema=_ROW_SCHEMA, orient="row")
    scores = pl.DataFrame(score_rows, schema=SCORES_SCHEMA, orient="row")
    planned = pl.DataFrame(planned_rows, schema=PLANNED_SCHEMA, orient="row")
    if "multi_cv_s" in kernels:
        per_model[MS.NAME] = per_model.get(MS.NAME, 0.0) + kernels["multi_cv_s"]
    timings = {
        "backtest_s": time.perf_counter() - t0,
        "origines": len(work),
        "workers": workers,
        "par_modele_s": {k: round(v, 2) for k, v in per_model.items()},
    }
    if "multi_settings" in kernels:
        cats = [*data.spec.groups, ALL]
        timings["multi_echelle_reglages"] = {f"{cats[ci]}:{hz}": v for (ci, hz), v in kernels["multi_settings"].items()}
        timings["multi_echelle_validation"] = kernels["multi_cv"]
    table = champions(backtest, cfg, [*data.spec.groups, ALL])
    return BacktestResult(
        mark_champions(backtest, table),
        scores,
        planned,
        choose_champion(backtest, scores, cfg),
        fitted,
        timings,
        choose_champion(backtest, scores, cfg, within=set(data.fact_conventions())),
        table,
    )


def summary(backtest: pl.DataFrame, horizon: str = "jour_suivant", coverage: float = 0.05) -> pl.DataFrame:
    """Mean hit rate per model × category at one horizon and coverage, with the ratio to the oracle."""
    b = backtest.filter((pl.col("horizon") == horizon) & ((pl.col("coverage") - coverage).abs() < 1e-9))
    return (
        b.group_by("model", "category")
        .agg(
            pl.col("hit_rate").mean(),
            pl.col("pai").mean(),
            pl.col("pei").mean(),
            (pl.col("hits").sum() / pl.col("n_events").sum()).alias("hit_rate_pooled"),
            (pl.col("hits").sum() / pl.col("oracle_hit_rate").mul(pl.col("n_events")).sum()).alias("ratio_oracle"),
            pl.col("n_events").sum(),
        )
        .sort("category", "hit_rate", descending=[False, True])
    )


def model_conventions(backtest: pl.DataFrame) -> dict[str, list[str]]:
    """Every convention each model was trained on over the backtest's origins."""
    if backtest.height == 0 or "conventions" not in backtest.columns:
        return {}
    c = (
        backtest.select("model", pl.col("conventions"))
        .explode("conventions")
        .group_by("model")
        .agg(pl.col("conventions").drop_nulls().unique().sort())
    )
    return {m: list(v) for m, v in c.iter_rows()}


def _candidates(backtest: pl.DataFrame, within: set[str] | None) -> tuple[list[str], list[str]]:
    present = set(backtest["model"].unique().to_list()) if backtest.height else set()
    if within is not None:
        conv = model_conventions(backtest)
        present = {m for m in present if set(conv.get(m, [])) <= within}
    return [m for m in BASELINES if m in present], [m for m in LEARNED if m in present]


def choose_champion(
    backtest: pl.DataFrame, scores: pl.DataFrame, cfg: BacktestConfig, within: set[str] | None = None
) -> str:
    """The champion at the champion metric by the honest rule (`forecasting.champion`): the best
    baseline unless a learned model beats it by more than noise (paired test over the origins),
    among the models trained only on data of the conventions `within` when given (the seasonal
    average when none can be scored). An imposed predictor (`cfg.imposed`) is returned as is."""
    if cfg.imposed:
        return cfg.imposed
    horizon, cat, cov = cfg.champion_metric
    bl, le = _candidates(backtest, within)
    if not bl and not le:
        return FALLBACK  # no origin could be scored (too little data), or no model qualifies
    row = CH.decide(backtest, horizon, cat, cov, bl, le, cfg.alpha)
    return row["predictor"] or FALLBACK


def mark_champions(backtest: pl.DataFrame, table: pl.DataFrame) -> pl.DataFrame:
    """The backtest with `champion` (this model is the champion of its horizon × category, by
    the champion rule) and `champion_pourquoi` (why, in French, on the champion's rows) — what
    the app reads to say which predictor is in use and why."""
    t = table.filter(pl.col("predictor").is_not_null()).select(
        pl.col("predictor").alias("model"),
        "horizon",
        "category",
        pl.lit(True).alias("champion"),
        pl.col("pourquoi").alias("champion_pourquoi"),
    )
    out = backtest.drop("champion", "champion_pourquoi", strict=False).join(
        t, on=["model", "horizon", "category"], how="left"
    )
    return out.with_columns(pl.col("champion").fill_null(False)).select(list(BACKTEST_SCHEMA)).cast(BACKTEST_SCHEMA)


def champions(
    backtest: pl.DataFrame,
    cfg: BacktestConfig,
    categories: list[str],
    horizons: tuple[str, ...] = CHAMPION_HORIZONS,
    labels: dict | None = None,
) -> pl.DataFrame:
    """The champion rule at each horizon (next shift, next day, next week) × category, at the
    champion metric's coverage: predictor, hit rates, p-value, why (`forecasting.champion`, in French
    words: the reason is published in `models.backtest` and shown on Prévisions and the model card)."""
    bl, le = _candidates(backtest, None)
    present = set(backtest["horizon"].unique().to_list()) if backtest.height else set()
    return CH.champion_table(
        backtest,
        [h for h in horizons if h in present] or list(horizons),
        categories,
        cfg.champion_metric[2],
        bl,
        le,
        cfg.alpha,
        cfg.imposed,
        labels or MODEL_LABELS,
    )


# --------------------------------------------------------------------------- the published forecast
SEPP_KIND = "sepp"  # a stored SEPP fit (background, θ, ω) of one category
MS_SEPP = f"{MS.NAME}_sepp"  # the SEPP fits the multi-scale model's features read


def _one_thread(cfg: BacktestConfig) -> BacktestConfig:
    # one LightGBM thread: OpenMP threads on a busy 2-core host ran 4× slower
    return replace(cfg, threads=1) if cfg.threads == 0 else cfg


def _explain_threads(cfg: BacktestConfig) -> int:
    """Threads of the TreeSHAP explanations: one large call (thousands of rows × 150 trees), which two
    threads run 1.6–1.9× faster even on a busy 2-core host (unlike training's many small calls); up to 4."""
    return cfg.threads or max(1, min(os.cpu_count() or 1, 4))


def _sepp_model(name: str, group: str, fit: SP.SEPPFit, cfg: BacktestConfig) -> FittedModel:
    return FittedModel(
        name,
        SEPP_KIND,
        group,
        [],
        {"iterations": cfg.sepp_iterations, "weeks": cfg.sepp_weeks},
        obj=fit,
        info={"theta": fit.theta, "omega_par_jour": fit.omega, "loglik": fit.loglik},
    )


def forecast_origin(data: ForecastData, origin: int | None = None) -> int:
    """The forecast's first shift: the one after the latest fact (default)."""
    return data.data_end + 1 if origin is None else origin


def _day_index(data: ForecastData, o: int) -> int:
    """Index (from the data's first slot) of the start of the last day fully known at `o`."""
    o_idx = min(o, data.data_end) - data.data_start
    return o_idx - o_idx % data.scheme.n


def train_service(
    data: ForecastData, champion: str, cfg: BacktestConfig, origin: int | None = None
) -> list[tuple[FittedModel, dict]]:
    """The models the daily forecast of `champion` reads, trained on everything known before
    `origin` (default: the shift after the latest fact), with their meta (origin, training
    window, rows, conventions of the training data): the learned models one per group, the
    multi-scale boosters per category × horizon and their SEPP fits, the SEPP fit per category.
    The count rules and hot spots learn nothing: they read the facts when forecasting (empty list).
    The weekly training job stores them; the daily forecast (`forecast_from`) never retrains."""
    from threadpoolctl import threadpool_limits

    sch, spec = data.scheme, data.spec
    o = forecast_origin(data, origin)
    # groups / category × horizon pairs at once, each on one thread (not with threads set per model)
    workers = cores(cfg.workers) if cfg.threads <= 1 else 1
    cfg = _one_thread(cfg)
    facts = data.fact_conventions()
    cats = [*spec.groups, ALL]
    with threadpool_limits(limits=1, user_api="blas"), heap_frozen():
        if champion in LEARNED and champion != MS.NAME:
            Y = data.Y()
            return [
                (m, {**meta, "usage": "prevision"})
                for m, meta in _fit_learned(data, Y, o, cfg, (champion,), workers)[1]
            ]
        if champion == MS.NAME:
            Y = data.Y()
            o_idx = _day_index(data, o)
            ctx = kernels_for(data, replace(cfg, models=(MS.NAME,)), Y)["multi"]
            boosters, metas, fits, _ = MS.train(
                ctx, o_idx, data.area, cfg.multiscale, cfg.threads or 1, names=cats, workers=workers
            )
            out = []
            for (ci, hz), m in boosters.items():
                d = metas[(ci, hz)]
                out.append(
                    (
                        m,
                        {
                            "usage": "prevision",
                            "origin": o,
                            "n_rows": d["n_rows"],
                            "conventions": facts,
                            "train_targets": [
                                data.data_start + d["train_days"][0] * sch.n,
                                data.data_start + (d["train_days"][1] + 7) * sch.n - 1,
                            ],
                        },
                    )
                )
            lo = max(data.data_start, data.data_start + o_idx - 7 * 104 * sch.n)
            return out + [
                (
                    _sepp_model(MS_SEPP, c, f, cfg),
                    {
                        "usage": "prevision",
                        "origin": o,
                        "n_rows": 0,
                        "conventions": facts,
                        "train_targets": [lo, o - 1],
                    },
                )
                for c, f in zip(cats, fits)
            ]
        if champion == "sepp":
            Y = data.Y()
            o_idx = min(o, data.data_end) - data.data_start
            lo = max(data.data_start, o - cfg.sepp_weeks * sch.per_week)
            return [
                (
                    _sepp_model("sepp", c, sepp_fit(Yc, o_idx, data, cfg), cfg),
                    {
                        "usage": "prevision",
                        "origin": o,
                        "n_rows": 0,
                        "conventions": facts,
                        "train_targets": [lo, o - 1],
                    },
                )
                for c, Yc in zip(cats, [*Y, Y.sum(axis=0)])
            ]
    return []


def forecast_from(
    data: ForecastData,
    champion: str,
    models: list[FittedModel],
    cfg: BacktestConfig,
    conventions: list[str] | None = None,
    origin: int | None = None,
) -> pl.DataFrame:
    """The next `horizon_days` days, per shift and cell, for each group and `all`, from the
    champion's models already trained (`train_service`, stored by the weekly training job) and
    the facts and planned events known at `origin` (default: the first shift after the latest
    fact). Nothing is trained here. `conventions`: those of the models' training data (default:
    the facts').

    Explanations (top 3 contributions to log(expected count), TreeSHAP for LightGBM) are computed
    for the cells in the top `explain_share` of the area of each shift in any category — the
    hotspots a manager looks at; exact SHAP for every cell × shift would cost minutes — and are an
    empty list elsewhere (and for baselines, which have no features).

    Each row's `conventions`: those of the model's training rows, plus, for a model reading planned
    events, those of the records that touch its cell × shift (known at the origin). To forecast
    without a convention's data, pass `data.restricted(...)`."""
    from threadpoolctl import threadpool_limits

    sch, spec = data.scheme, data.spec
    H = cfg.horizon_days * sch.n
    G, N = len(spec.groups), data.n_cells
    o = forecast_origin(data, origin)
    explain_threads = _explain_threads(cfg)
    cfg = _one_thread(cfg)
    data.ensure_states(o)
    ex = np.full((G + 1, N, H), "[]", dtype=object)
    trained_conv = sorted(conventions or data.fact_conventions())
    row_conv = CV.lit(trained_conv)
    cats = [*spec.groups, ALL]
    by = {(m.name, m.group): m for m in models}

    def need(name: str, groups: list[str]) -> list[FittedModel]:
        missing = [g for g in groups if (name, g) not in by]
        if missing:
            raise ValueError(
                f"{champion}: modèle(s) {name} absent(s) du magasin pour {', '.join(missing)} — "
                "relancer l'entraînement hebdomadaire"
            )
        return [by[(name, g)] for g in groups]

    with threadpool_limits(limits=1, user_api="blas"):
        if champion in LEARNED and champion != MS.NAME:
            group_models = need(champion, list(spec.groups))
            fc, Xp, conv = _predict_learned(data, o, cfg, {champion: group_models}, {champion: trained_conv})
            mu, a = fc[champion]
            model_conv, rows = conv[champion]
            row_conv = pl.lit(rows) if rows is not None else CV.lit(model_conv)
            # explanations for the hotspot cells of each slot: a group's model explains its own top
            # cells, and the top cells of 'all' where that group is the leading one
            dens = mu / data.area[None, :, None]
            k = max(1, int(np.ceil(cfg.explain_share * N)))
            top = np.zeros((G + 1, N, H), dtype=bool)
            for ci in range(G + 1):
                idx = np.argpartition(-dens[ci], k - 1, axis=0)[:k]  # k best cells of each slot
                top[ci, idx, np.arange(H)[None, :]] = True
            lead_group = mu[:G].argmax(axis=0)
            for gi, m in enumerate(group_models):
                rows = np.flatnonzero((top[gi] | (top[G] & (lead_group == gi))).ravel())  # row = cell * H + lead
                if rows.size == 0:
                    continue
                text = np.asarray(m.top_contributions(Xp[rows], 3, threads=explain_threads), dtype=object)
                ex[gi].ravel()[rows] = text
                mine = (top[G] & (lead_group == gi)).ravel()[rows]
                ex[G].ravel()[rows[mine]] = text[mine]
        elif champion == MS.NAME:
            o_idx = _day_index(data, o)  # its features are daily: the last day fully known
            ctx = kernels_for(data, replace(cfg, models=(MS.NAME,)), data.Y())["multi"]
            boosters = {(ci, hz): m for hz in MS.HORIZONS for ci, m in enumerate(need(f"{MS.NAME}_{hz}", cats))}
            mu_, _ = MS.predict(
                ctx,
                o_idx,
                H + (o - data.data_start - o_idx),
                boosters,
                [m.obj for m in need(MS_SEPP, cats)],
                cfg.threads or 1,
            )
            mu = mu_[:, :, -H:]
            a = np.zeros_like(mu)
        else:
            o_idx = min(o, data.data_end) - data.data_start
            kernels = kernels_for(data, cfg)
            Y = data.Y()
            fits = [m.obj for m in need("sepp", cats)] if champion == "sepp" else [None] * (G + 1)
            mu = np.stack(
                [
                    baseline_forecast(champion, Yc, o_idx, H, data, cfg, kernels, fit)
                    for Yc, fit in zip([*Y, Y.sum(axis=0)], fits)
                ]
            )
            a = np.zeros_like(mu)
    slots = np.arange(o, o + H, dtype=np.int64)
    frames = []
    for ci, cat in enumerate([*spec.groups, ALL]):
        m, al = mu[ci], a[ci]
        lo80, hi80 = jittered_interval(m, al, 0.80)  # fractional bounds: see metrics' docstring
        lo95, hi95 = jittered_interval(m, al, 0.95)
        dens = m / data.area[:, None]
        rank = (-dens).argsort(axis=0, kind="stable").argsort(axis=0, kind="stable") + 1
        frames.append(
            pl.DataFrame(
                {
                    "category": cat,
                    "cell_idx": np.repeat(np.arange(N, dtype=np.int32), H),
                    "slot": np.tile(slots, N),
                    "lead": np.tile(np.arange(H, dtype=np.int16), N),
                    "expected": m.ravel(),
                    "lower_80": lo80.ravel(),
                    "upper_80": hi80.ravel(),
                    "lower_95": lo95.ravel(),
                    "upper_95": hi95.ravel(),
                    "rank": rank.ravel().astype(np.int32),
                    "explanations": ex[ci].ravel().tolist(),
                }
            ).with_columns(row_conv.alias("conventions"))
        )
    out = pl.concat(frames)
    times = pl.DataFrame({"slot": slots, "slot_start": sch.starts(slots), "slot_end": sch.starts(slots + 1)})
    out = out.join(times, on="slot", how="left").join(
        data.grid.select("cell_idx", "h3_cell", "zone"), on="cell_idx", how="left"
    )
    return out.select(
        pl.lit(sch.start(o)).alias("origin"),
        "slot",
        "slot_start",
        "slot_end",
        "lead",
        "category",
        "h3_cell",
        "zone",
        "expected",
        "lower_80",
        "upper_80",
        "lower_95",
        "upper_95",
        "rank",
        "explanations",
        pl.lit(champion).alias("model"),
        "conventions",
    ).sort("category", "slot", "rank")


def make_forecast(
    data: ForecastData,
    champion: str,
    cfg: BacktestConfig,
    origin: int | None = None,
    on_model: Callable[[FittedModel, dict], None] | None = None,
) -> pl.DataFrame:
    """Train the champion at `origin` (`train_service`) and forecast from it (`forecast_from`) in
    one go — what the benchmarks and the domain tests do; the platform splits the two (weekly
    training job, daily forecast)."""
    trained = train_service(data, champion, cfg, origin)
    for m, meta in trained:
        if on_model:
            on_model(m, meta)
    conv = sorted({c for _, meta in trained for c in meta["conventions"]}) or None
    return forecast_from(data, champion, [m for m, _ in trained], cfg, conv, origin)
