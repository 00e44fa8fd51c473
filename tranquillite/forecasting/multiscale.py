"""A learned model that sees both the long and the short term (`multi_echelle`, issue #13).

One LightGBM (Poisson) per category and per horizon — the next day and the next week — on one
row per cell × past weekly origin (at least a year of origins where the data allow). Its
features, all computed from the facts before each origin (daily counts, cumulative sums):

* the cell's rate over the last 1, 4, 13 and 52 weeks and over all its history;
* the mean rate of its neighbours at H3 rings 1, 2 and 3 (last 4 and 52 weeks);
* kernel densities (quartic, 400 / 800 / 1,600 m) of the last 4 and 52 weeks;
* the grid SEPP's excitation at the origin (`forecasting.sepp`: θ, ω fitted on the facts before
  the forecast origin; the background is left out — it would be fitted on the training targets —
  the long-term rates carry it);
* for a single category, the same cell's rate of all categories over 4 and 52 weeks.

Empty cell × origin rows are sampled (2 per row with a fact) and weighted by the inverse of
their inclusion probability: an unbiased Poisson likelihood at a fraction of the cost.

Hyper-parameters come from a small grid chosen by time-ordered cross-validation: the models are
trained on the older origins and scored (hit rate at 5 % of the area, the champion's metric) on
the 8 most recent origins of the window; the best setting is then retrained on every origin.

The next shift uses the next-day model (its map times the category's share of facts in that
shift), the other days of the week the next-week model (a seventh of it per day, same shares).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sps

from tranquillite.forecasting import baselines as B
from tranquillite.forecasting import sepp as SP
from tranquillite.forecasting.metrics import selection_hits
from tranquillite.forecasting.models import FittedModel
from tranquillite.forecasting.threads import map_in_threads

if TYPE_CHECKING:  # LightGBM (0.7 s with scikit-learn) loads where a model is fitted or read
    import lightgbm as lgb

NAME = "multi_echelle"
WEEKS = (1, 4, 13, 52)
RINGS = (1, 2, 3)
BANDWIDTHS_M = (400.0, 800.0, 1600.0)
HORIZONS = ("jour", "semaine")
BASE_PARAMS = {
    "objective": "poisson",
    "learning_rate": 0.05,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.7,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "max_bin": 63,
    "verbose": -1,
    "deterministic": True,
    "force_row_wise": True,
    "seed": 2025,
}
GRID = ({"num_leaves": 7, "min_data_in_leaf": 200}, {"num_leaves": 31, "min_data_in_leaf": 100})


@dataclass(frozen=True)
class MultiScaleConfig:
    train_origins: int = 52  # weekly origins of training (≥ a year where the data allow)
    min_origins: int = 4
    rounds: int = 150
    cv_origins: int = 8  # most recent training origins held out to choose the setting
    zeros_per_fact: float = 2.0
    grid: tuple = GRID
    seed: int = 42


@dataclass
class Context:
    """What every origin reuses: daily counts and their cumulative sums per category, the ring
    and kernel matrices, the shift shares."""

    cum: list[np.ndarray]  # per category: cells × (days + 1), facts before each day
    seen_cum: np.ndarray  # days received before each day
    slots: list[np.ndarray]  # per category: cells × slots (the originals)
    rings: list[sps.csr_matrix]
    kernels: list[sps.csr_matrix]
    n: int  # slots per day
    names: list[str] = field(default_factory=list)


def ring_matrices(cells: list[str], rings=RINGS) -> list[sps.csr_matrix]:
    """Row-normalised adjacency of the cells at exactly H3 distance k, for each k."""
    from tranquillite.forecasting.grid import disk_pairs

    p = disk_pairs(cells, max(rings))
    N = len(cells)
    out = []
    for k in rings:
        q = p.filter(p["dist"] == k)
        M = sps.csr_matrix((np.ones(q.height), (q["cell_idx"].to_numpy(), q["nbr_idx"].to_numpy())), shape=(N, N))
        deg = np.asarray(M.sum(axis=1)).ravel()
        out.append(sps.diags(1.0 / np.maximum(deg, 1.0)) @ M)
    return out


def context(Ycats: list[np.ndarray], seen: np.ndarray | None, n: int, cells: list[str], xy: np.ndarray) -> Context:
    """`Ycats`: per category (the groups, then all), cells × slots from the data's first slot."""
    T = Ycats[0].shape[1]
    D = T // n
    obs = np.ones(T, dtype=bool) if seen is None else np.asarray(seen[:T], dtype=bool)
    cum = []
    for Y in Ycats:
        daily = (Y[:, : D * n] * obs[: D * n]).reshape(Y.shape[0], D, n).sum(axis=2, dtype=np.float64)
        c = np.zeros((Y.shape[0], D + 1), dtype=np.float64)
        np.cumsum(daily, axis=1, out=c[:, 1:])
        cum.append(c.astype(np.float32))
    day_seen = obs[: D * n].reshape(D, n).any(axis=1)
    seen_cum = np.concatenate([[0], np.cumsum(day_seen)]).astype(np.float64)
    return Context(cum, seen_cum, Ycats, ring_matrices(cells), [B.quartic_kernel(xy, b) for b in BANDWIDTHS_M], n)


def feature_names(single: bool) -> list[str]:
    names = [f"taux_{w}sem" for w in WEEKS] + ["taux_historique"]
    names += [f"voisins_r{k}_{w}sem" for k in RINGS for w in (4, 52)]
    names += [f"densite_{int(b)}m_{w}sem" for b in BANDWIDTHS_M for w in (4, 52)]
    names += ["sepp_excitation"]
    if single:
        names += ["toutes_4sem", "toutes_52sem"]
    return names


def _rate(ctx: Context, ci: int, d: int, days: int | None) -> np.ndarray:
    c = ctx.cum[ci]
    lo = 0 if days is None else max(0, d - days)
    n_seen = ctx.seen_cum[d] - ctx.seen_cum[lo]
    return (c[:, d] - c[:, lo]).astype(np.float64) / max(n_seen, 1.0)


def features(ctx: Context, ci: int, d: int, excitation: np.ndarray) -> np.ndarray:
    """Cells × features at the start of day `d` (index from the data's first day)."""
    all_i = len(ctx.cum) - 1
    r = {w: _rate(ctx, ci, d, 7 * w) for w in WEEKS}
    cols = [r[w] for w in WEEKS] + [_rate(ctx, ci, d, None)]
    cols += [R @ r[w] for R in ctx.rings for w in (4, 52)]
    cols += [K.T @ r[w] for K in ctx.kernels for w in (4, 52)]
    cols += [excitation]
    if ci != all_i:
        cols += [_rate(ctx, all_i, d, 28), _rate(ctx, all_i, d, 364)]
    return np.column_stack(cols).astype(np.float32)


def _target(ctx: Context, ci: int, d: int, horizon: str) -> np.ndarray:
    c = ctx.cum[ci]
    k = 1 if horizon == "jour" else 7
    return (c[:, d + k] - c[:, d]).astype(np.float64)


def _window_seen(ctx: Context, d: int, k: int) -> bool:
    return ctx.seen_cum[d + k] - ctx.seen_cum[d] == k


def training_days(ctx: Context, d0: int, cfg: MultiScaleConfig) -> list[int]:
    """Past weekly origins (days) whose next week is fully received and known before `d0`,
    most recent first, with at least 4 weeks of history."""
    out = []
    for k in range(1, cfg.train_origins + 1):
        d = d0 - 7 * k
        if d < 28:
            break
        if _window_seen(ctx, d, 7):
            out.append(d)
    return out


def daily(ctx: Context, ci: int) -> np.ndarray:
    return np.diff(ctx.cum[ci].astype(np.float64), axis=1)


def _excitations(ctx: Context, ci: int, fitted: SP.SEPPFit) -> np.ndarray:
    """SEPP excitation (a fit on daily counts) at every day start, from the days before it
    (cells × days + 1)."""
    Yd = daily(ctx, ci)
    return SP.excitation(np.concatenate([Yd, np.zeros((Yd.shape[0], 1))], axis=1), fitted)


def sepp_fits(ctx: Context, d0: int, weeks: int = 104) -> list[SP.SEPPFit]:
    """A SEPP per category on the daily counts of the last `weeks` weeks before day `d0`."""
    lo = max(0, d0 - 7 * weeks)
    got = np.diff(ctx.seen_cum)[lo:d0] > 0
    return [SP.fit(daily(ctx, ci)[:, lo:d0], got) for ci in range(len(ctx.cum))]


def choose_settings(
    ctx: Context,
    o_idx: int,
    area: np.ndarray,
    cfg: MultiScaleConfig,
    threads: int = 1,
    fits: list[SP.SEPPFit] | None = None,
    workers: int = 1,
) -> tuple[dict, dict]:
    """The setting of each category × horizon by time-ordered cross-validation at one origin
    (the backtest runs it at its earliest origin and keeps it: the grid is searched once). The
    category × horizon pairs run `workers` at a time (threads: LightGBM releases the GIL); each
    pair's boosters are the same whatever the order, so the choice is too."""
    d0 = o_idx // ctx.n
    days = training_days(ctx, d0, cfg)
    fits = fits or sepp_fits(ctx, d0)
    pairs = [(ci, hz) for ci in range(len(ctx.cum)) for hz in HORIZONS]
    exc = {ci: _excitations(ctx, ci, fits[ci]) for ci in range(len(ctx.cum))}

    def one(pair: tuple[int, str]) -> tuple[dict, dict]:
        ci, hz = pair
        return choose_setting(ctx, ci, days, hz, exc[ci], area, cfg, threads)

    results = map_in_threads(one, pairs, workers)
    chosen = {pair: r[0] for pair, r in zip(pairs, results)}
    cv = {f"{ci}:{hz}": r[1] for (ci, hz), r in zip(pairs, results)}
    return chosen, cv


def _rows(
    ctx: Context,
    ci: int,
    days: list[int],
    horizon: str,
    exc: np.ndarray,
    rng: np.random.Generator,
    zeros_per_fact: float,
):
    X = np.concatenate([features(ctx, ci, d, exc[:, d]) for d in days])
    y = np.concatenate([_target(ctx, ci, d, horizon) for d in days])
    fact = y > 0
    p0 = min(1.0, zeros_per_fact * fact.sum() / max((~fact).sum(), 1))
    keep = fact | (rng.random(y.size) < p0)
    w = np.where(fact, 1.0, 1.0 / p0)[keep]
    return X[keep], y[keep], w


def _train(X, y, w, params: dict, rounds: int, threads: int, names: list[str]) -> lgb.Booster:
    import lightgbm as lgb

    p = {**BASE_PARAMS, **params, "num_threads": threads}
    ds = lgb.Dataset(
        X,
        label=y,
        weight=w,
        feature_name=names,
        params={"max_bin": p["max_bin"], "verbose": -1, "min_data_in_leaf": p["min_data_in_leaf"]},
    )
    return lgb.train(p, ds, num_boost_round=rounds)


def _hit5(pred: np.ndarray, y: np.ndarray, area: np.ndarray) -> float:
    tot = y.sum()
    return float(selection_hits(pred, y, area, (0.05,))[0] / tot) if tot > 0 else np.nan


def choose_setting(
    ctx: Context,
    ci: int,
    days: list[int],
    horizon: str,
    exc: np.ndarray,
    area: np.ndarray,
    cfg: MultiScaleConfig,
    threads: int,
) -> tuple[dict, dict]:
    """Time-ordered cross-validation: train on the older origins, score the `cv_origins` most
    recent ones (mean hit rate at 5 %); returns the best setting and every setting's score."""
    if len(cfg.grid) == 1 or len(days) < cfg.cv_origins + cfg.min_origins:
        return dict(cfg.grid[0]), {}
    valid, train = days[: cfg.cv_origins], days[cfg.cv_origins :]
    rng = np.random.default_rng([cfg.seed, ci, days[0]])
    X, y, w = _rows(ctx, ci, train, horizon, exc, rng, cfg.zeros_per_fact)
    names = feature_names(ci != len(ctx.cum) - 1)
    scores = {}
    for i, s in enumerate(cfg.grid):
        b = _train(X, y, w, s, cfg.rounds, threads, names)
        hr = [
            _hit5(b.predict(features(ctx, ci, d, exc[:, d]), num_threads=threads), _target(ctx, ci, d, horizon), area)
            for d in valid
        ]
        scores[i] = float(np.nanmean(hr)) if np.isfinite(hr).any() else -1.0
    best = max(scores, key=lambda i: (scores[i], -i))
    return dict(cfg.grid[best]), {str(cfg.grid[i]): round(v, 4) for i, v in scores.items()}


def train(
    ctx: Context,
    o_idx: int,
    area: np.ndarray,
    cfg: MultiScaleConfig,
    threads: int = 1,
    fits: list[SP.SEPPFit] | None = None,
    settings: dict | None = None,
    names: list[str] | None = None,
    workers: int = 1,
):
    """The boosters of every category × horizon trained at slot `o_idx` (a day start, index from
    the data's first slot) on the weekly origins before it: ({(category index, horizon): fitted
    model}, their meta, the SEPP fits, the cross-validation scores). `fits`: a SEPP fit per
    category (from the facts before the origin); `settings`: {(category index, horizon): LightGBM
    setting} to skip the cross-validation (it is run and returned otherwise). The pairs run
    `workers` at a time (threads; the backtest, whose origins already share the cores, runs one)."""
    d0 = o_idx // ctx.n
    C = len(ctx.cum)
    days = training_days(ctx, d0, cfg)
    if len(days) < cfg.min_origins:
        raise ValueError(f"{NAME}: {len(days)} origines d'apprentissage (il en faut {cfg.min_origins})")
    fits = fits or sepp_fits(ctx, d0)
    chosen = dict(settings or {})
    exc = {ci: _excitations(ctx, ci, fits[ci]) for ci in range(C)}

    def one(key: tuple[int, str]) -> tuple[FittedModel, dict, dict, dict]:
        ci, hz = key
        t0 = time.perf_counter()
        if key in chosen:
            setting, scores = chosen[key], {}
        else:
            setting, scores = choose_setting(ctx, ci, days, hz, exc[ci], area, cfg, threads)
        rng = np.random.default_rng([cfg.seed, ci, d0, HORIZONS.index(hz)])
        X, y, w = _rows(ctx, ci, days, hz, exc[ci], rng, cfg.zeros_per_fact)
        fn = feature_names(ci != C - 1)
        b = _train(X, y, w, setting, cfg.rounds, threads, fn)
        group = (names or [str(i) for i in range(C)])[ci]
        model = FittedModel(
            f"{NAME}_{hz}",
            "lightgbm",
            group,
            fn,
            {**BASE_PARAMS, **setting, "rounds": cfg.rounds},
            obj=b,
            info={
                "fit_s": time.perf_counter() - t0,
                "cv": scores,
                "sepp": {"theta": fits[ci].theta, "omega_par_jour": fits[ci].omega},
            },
        )
        meta = {"origin_day": d0, "train_days": [min(days), max(days)], "n_rows": int(y.size)}
        return model, meta, setting, scores

    keys = [(ci, hz) for ci in range(C) for hz in HORIZONS]
    results = map_in_threads(one, keys, workers)  # each pair's booster is the same whatever the order
    boosters = {key: r[0] for key, r in zip(keys, results)}
    meta = {key: r[1] for key, r in zip(keys, results)}
    cv = {key: r[3] for key, r in zip(keys, results) if key not in chosen}
    chosen |= {key: r[2] for key, r in zip(keys, results)}
    return boosters, meta, fits, {"settings": chosen, "cv": {f"{k[0]}:{k[1]}": v for k, v in cv.items() if v}}


def predict(ctx: Context, o_idx: int, H: int, boosters: dict, fits: list[SP.SEPPFit], threads: int = 1):
    """The forecast issued at slot `o_idx` (a day start) for the H slots from it, per category,
    by boosters already trained (`train`, or the model store's): (mu categories × cells × H, weekly
    map categories × cells). The features are those of the facts before the origin, the SEPP
    excitation from the stored fits."""
    n = ctx.n
    d0 = o_idx // n
    C, N = len(ctx.cum), ctx.cum[0].shape[0]
    mu = np.zeros((C, N, H))
    week = np.zeros((C, N))
    for ci in range(C):
        exc = _excitations(ctx, ci, fits[ci])
        hist = ctx.slots[ci][:, :o_idx].sum(axis=0)
        share = np.bincount(np.arange(o_idx) % n, weights=hist, minlength=n)
        share = share / share.sum() if share.sum() > 0 else np.full(n, 1.0 / n)
        pred = {
            hz: np.maximum(boosters[(ci, hz)].obj.predict(features(ctx, ci, d0, exc[:, d0]), num_threads=threads), 0.0)
            for hz in HORIZONS
        }
        lead_shift = (o_idx + np.arange(H)) % n
        day_of = np.arange(H) // n
        per_slot = np.where(day_of[None, :] == 0, pred["jour"][:, None], pred["semaine"][:, None] / 7.0)
        mu[ci] = per_slot * share[lead_shift][None, :] * n
        week[ci] = pred["semaine"]
    return mu, week


def forecast(
    ctx: Context,
    o_idx: int,
    H: int,
    area: np.ndarray,
    cfg: MultiScaleConfig,
    threads: int = 1,
    fits: list[SP.SEPPFit] | None = None,
    settings: dict | None = None,
    names: list[str] | None = None,
):
    """Train at slot `o_idx` (`train`) and forecast the H slots from it (`predict`): (mu
    categories × cells × H, weekly map categories × cells, fitted models with their meta, info)."""
    boosters, meta, fits, info = train(ctx, o_idx, area, cfg, threads, fits, settings, names)
    mu, week = predict(ctx, o_idx, H, boosters, fits, threads)
    return mu, week, [(boosters[k], meta[k]) for k in boosters], info
