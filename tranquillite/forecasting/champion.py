"""The honest champion rule (issue #13): a learned model must beat the field's baselines by more
than noise.

For each horizon (and category), on the backtest's per-origin hit rates at 5 % of the area:

1. the best baseline is the baseline with the highest mean hit rate over the origins (ties: the
   simpler one, in the order of `BASELINE_ORDER`);
2. the best learned model is the learned model with the highest mean;
3. the learned model is champion only if its mean is higher **and** a one-sided paired t-test on
   the per-origin differences (learned − baseline, the same origins) rejects "no gain" at 5 %;
   otherwise the best baseline is champion — a tie goes to the count.

Every row says why, in French (`pourquoi`), with the p-value, the hit rates, and the ratio to the
trailing 52-week count (`compte_52_semaines`), the field's naive reference.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

REFERENCE = "compte_52_semaines"
ALPHA = 0.05

CHAMPION_SCHEMA = {
    "horizon": pl.Utf8,
    "category": pl.Utf8,
    "coverage": pl.Float64,
    "predictor": pl.Utf8,
    "predictor_kind": pl.Utf8,
    "hit_rate": pl.Float64,
    "best_baseline": pl.Utf8,
    "best_baseline_hit_rate": pl.Float64,
    "best_learned": pl.Utf8,
    "best_learned_hit_rate": pl.Float64,
    "gain_vs_baseline": pl.Float64,
    "p_value": pl.Float64,
    "reference_hit_rate": pl.Float64,
    "ratio_vs_reference": pl.Float64,
    "n_origins": pl.Int64,
    "imposed": pl.Boolean,
    "pourquoi": pl.Utf8,
}


def per_origin(
    backtest: pl.DataFrame, horizon: str, category: str, coverage: float, models: list[str]
) -> tuple[list[str], np.ndarray]:
    """Hit rates, models × origins, on the origins every model was scored at (sorted)."""
    b = backtest.filter(
        (pl.col("horizon") == horizon)
        & (pl.col("category") == category)
        & ((pl.col("coverage") - coverage).abs() < 1e-9)
        & pl.col("model").is_in(models)
        & pl.col("hit_rate").is_not_nan()
    )
    if b.height == 0:
        return [], np.zeros((0, 0))
    wide = b.pivot(on="model", index="origin", values="hit_rate", aggregate_function="mean").drop_nulls().sort("origin")
    names = [m for m in models if m in wide.columns]
    return names, wide.select(names).to_numpy().T if names else np.zeros((0, 0))


def paired_p(a: np.ndarray, b: np.ndarray) -> float:
    """One-sided paired t-test p-value of mean(a − b) > 0 (nan with fewer than 2 origins; 1
    when every difference is zero or negative and constant)."""
    from scipy import stats

    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if d.size < 2:
        return float("nan")
    if np.allclose(d, d[0]):
        return 0.0 if d[0] > 1e-12 else 1.0
    return float(stats.ttest_rel(a, b, alternative="greater").pvalue)


def _pct(x: float) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{100 * x:.1f} %".replace(".", ",")


def _num(x: float) -> str:
    """A p-value or threshold as the French write it (decimal comma)."""
    return f"{x:.3f}".replace(".", ",") if x >= 0.01 or x == 0 else f"{x:.1e}".replace(".", ",")


def decide(
    backtest: pl.DataFrame,
    horizon: str,
    category: str,
    coverage: float,
    baselines: list[str],
    learned: list[str],
    alpha: float = ALPHA,
    imposed: str | None = None,
    labels: dict | None = None,
) -> dict:
    """One row of the champion table (see the module docstring)."""
    lab = labels or {}

    def name(m: str) -> str:
        return lab.get(m, m)

    models, H = per_origin(backtest, horizon, category, coverage, [*baselines, *learned])
    row = {k: None for k in CHAMPION_SCHEMA} | {
        "horizon": horizon,
        "category": category,
        "coverage": coverage,
        "n_origins": int(H.shape[1]) if H.size else 0,
        "imposed": imposed is not None,
    }
    if not models:
        row |= {
            "predictor": imposed,
            "predictor_kind": None,
            "pourquoi": "Aucune origine évaluée: pas assez d'historique pour comparer les prévisions.",
        }
        return row
    mean = dict(zip(models, H.mean(axis=1)))
    series = dict(zip(models, H))
    bl = [m for m in baselines if m in mean]
    le = [m for m in learned if m in mean]
    best_b = max(bl, key=lambda m: (mean[m], -bl.index(m))) if bl else None
    best_l = max(le, key=lambda m: (mean[m], -le.index(m))) if le else None
    ref = mean.get(REFERENCE)
    row |= {
        "best_baseline": best_b,
        "best_baseline_hit_rate": mean.get(best_b),
        "best_learned": best_l,
        "best_learned_hit_rate": mean.get(best_l),
        "reference_hit_rate": ref,
    }
    p = paired_p(series[best_l], series[best_b]) if best_l and best_b else float("nan")
    row["p_value"] = p
    if best_l and best_b:
        row["gain_vs_baseline"] = float(mean[best_l] - mean[best_b])
    if imposed is not None:
        champ, why = imposed, (f"{name(imposed)} est imposé par la configuration (pas choisi par le rétro-test).")
    elif best_b is None:
        champ, why = best_l, f"{name(best_l)}: aucune référence évaluée, seul un modèle appris l'a été."
    elif best_l is not None and mean[best_l] > mean[best_b] and math.isfinite(p) and p < alpha:
        champ = best_l
        why = (
            f"{name(best_l)} capte {_pct(mean[best_l])} des faits dans {_pct(coverage)} de la surface contre "
            f"{_pct(mean[best_b])} pour la meilleure référence ({name(best_b)}), sur {H.shape[1]} origines: "
            f"un gain que le test apparié juge réel (p = {_num(p)} < {_num(alpha)})."
        )
    else:
        champ = best_b
        if best_l is None:
            why = f"{name(best_b)} est la meilleure des références évaluées ({_pct(mean[best_b])})."
        elif mean[best_l] <= mean[best_b]:
            why = (
                f"{name(best_b)} fait au moins aussi bien ({_pct(mean[best_b])}) que le meilleur modèle appris "
                f"({name(best_l)}, {_pct(mean[best_l])}): la référence la plus simple reste en service."
            )
        else:
            why = (
                f"{name(best_l)} fait un peu mieux ({_pct(mean[best_l])} contre {_pct(mean[best_b])}) mais le "
                f"test apparié sur {H.shape[1]} origines ne distingue pas ce gain du bruit "
                f"(p = {_num(p)} ≥ {_num(alpha)}): {name(best_b)}, plus simple, reste en service."
            )
    hr = mean.get(champ)
    row |= {
        "predictor": champ,
        "predictor_kind": "reference" if champ in baselines else "appris",
        "hit_rate": hr,
        "ratio_vs_reference": (hr / ref) if hr is not None and ref else None,
        "pourquoi": why,
    }
    return row


def champion_table(
    backtest: pl.DataFrame,
    horizons: list[str],
    categories: list[str],
    coverage: float,
    baselines: list[str],
    learned: list[str],
    alpha: float = ALPHA,
    imposed: str | None = None,
    labels: dict | None = None,
) -> pl.DataFrame:
    rows = [
        decide(backtest, h, c, coverage, baselines, learned, alpha, imposed, labels)
        for h in horizons
        for c in categories
    ]
    return pl.DataFrame(rows, schema=CHAMPION_SCHEMA, orient="row")


def beats_references(
    backtest: pl.DataFrame,
    champion: str,
    horizon: str,
    category: str,
    coverage: float,
    references: list[str],
    alpha: float = ALPHA,
) -> tuple[bool, dict]:
    """Does the champion do at least as well as every reference (mean hit rate over the same
    origins), with no reference significantly better (one-sided paired t-test at `alpha`)?"""
    models, H = per_origin(backtest, horizon, category, coverage, list(dict.fromkeys([champion, *references])))
    if champion not in models:
        return False, {"raison": "champion non évalué"}
    s = dict(zip(models, H))
    out, ok = {}, True
    for r in models:
        if r == champion:
            continue
        p = paired_p(s[r], s[champion])
        worse = bool(s[champion].mean() < s[r].mean() - 1e-12)
        out[r] = {
            "taux_reference": round(float(s[r].mean()), 4),
            "taux_champion": round(float(s[champion].mean()), 4),
            "p_reference_meilleure": None if not math.isfinite(p) else round(p, 4),
        }
        ok &= not worse
    return ok, out
