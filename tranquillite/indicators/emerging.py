"""Emerging hot spots: ESRI's space-time patterns from each cell's series of Gi* results.

For each cell the series of its Gi* over the complete periods (weeks or months) gives, per
period, a significant hot spot (q < α, z > 0), a significant cold spot (q < α, z < 0) or
nothing; the **Mann–Kendall** test of the series of z-scores gives the trend of the intensity
of clustering. ESRI's definitions (ArcGIS Pro, *How Emerging Hot Spot Analysis works*), with
"90 %" = `share` of the periods, the last period being the most recent:

| code | ESRI | rule (hot; cold is symmetric) |
|---|---|---|
| point_chaud_nouveau | New Hot Spot | hot at the last period, never hot before |
| point_chaud_consecutif | Consecutive Hot Spot | a single uninterrupted run (≥ 2) of hot periods ending at the last one, never hot before the run, < 90 % hot |
| point_chaud_intensification | Intensifying Hot Spot | hot ≥ 90 % of periods including the last, significant upward trend |
| point_chaud_persistant | Persistent Hot Spot | hot ≥ 90 % of periods including the last, no significant trend |
| point_chaud_diminution | Diminishing Hot Spot | hot ≥ 90 % of periods including the last, significant downward trend |
| point_chaud_sporadique | Sporadic Hot Spot | hot at the last period, on and off before, < 90 % hot, never cold |
| point_chaud_oscillant | Oscillating Hot Spot | hot at the last period, < 90 % hot, cold at some earlier period |
| point_chaud_historique | Historical Hot Spot | not hot at the last period, hot ≥ 90 % of periods |
| aucun_motif | No Pattern Detected | none of the above |

The first matching rule wins in the order of the table (hot patterns need the last period hot,
cold patterns the last period cold, so they never compete; historical ones come last).

Gi* is relative to the whole map, so the z-score of a neighbourhood that stays empty moves with
city-wide changes in how facts are spread: cold-spot trends mostly say that (ESRI's definitions
are applied as published).

Mann–Kendall (vectorised over cells): S = Σ_{i<j} sign(z_j − z_i); Var(S) with the tie
correction; Z = (S − sign S)/√Var (continuity correction); two-sided p; τ = Kendall's τ-b of
the series against time (as `Kendall::MannKendall` and `scipy.stats.kendalltau`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

EMERGING_CLASSES: dict[str, tuple[str, str]] = {
    # code: (French label, ESRI name)
    "point_chaud_nouveau": ("Nouveau point chaud", "New Hot Spot"),
    "point_chaud_consecutif": ("Point chaud consécutif", "Consecutive Hot Spot"),
    "point_chaud_intensification": ("Point chaud en intensification", "Intensifying Hot Spot"),
    "point_chaud_persistant": ("Point chaud persistant", "Persistent Hot Spot"),
    "point_chaud_diminution": ("Point chaud en diminution", "Diminishing Hot Spot"),
    "point_chaud_sporadique": ("Point chaud sporadique", "Sporadic Hot Spot"),
    "point_chaud_oscillant": ("Point chaud oscillant", "Oscillating Hot Spot"),
    "point_chaud_historique": ("Point chaud historique", "Historical Hot Spot"),
    "point_froid_nouveau": ("Nouveau point froid", "New Cold Spot"),
    "point_froid_consecutif": ("Point froid consécutif", "Consecutive Cold Spot"),
    "point_froid_intensification": ("Point froid en intensification", "Intensifying Cold Spot"),
    "point_froid_persistant": ("Point froid persistant", "Persistent Cold Spot"),
    "point_froid_diminution": ("Point froid en diminution", "Diminishing Cold Spot"),
    "point_froid_sporadique": ("Point froid sporadique", "Sporadic Cold Spot"),
    "point_froid_oscillant": ("Point froid oscillant", "Oscillating Cold Spot"),
    "point_froid_historique": ("Point froid historique", "Historical Cold Spot"),
    "aucun_motif": ("Aucun motif détecté", "No Pattern Detected"),
}
NO_PATTERN = "aucun_motif"
EMERGING_SCHEMA = {
    "h3_cell": pl.Utf8,
    "arrondissement": pl.Utf8,
    "category": pl.Utf8,
    "period_level": pl.Utf8,
    "class_code": pl.Utf8,
    "class_label": pl.Utf8,
    "class_esri": pl.Utf8,
    "trend_tau": pl.Float64,
    "trend_s": pl.Float64,
    "trend_z": pl.Float64,
    "trend_p": pl.Float64,
    "n_periods": pl.Int32,
    "n_hot": pl.Int32,
    "n_cold": pl.Int32,
    "last_z": pl.Float64,
    "last_period": pl.Utf8,
    "first_period": pl.Utf8,
}


@dataclass(frozen=True)
class MannKendall:
    s: np.ndarray
    var: np.ndarray
    z: np.ndarray
    p: np.ndarray
    tau: np.ndarray


def _tie_sums(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: Σ t(t−1)(2t+5) and Σ t(t−1)/2 over the groups of tied values."""
    m, n = Y.shape
    Ys = np.sort(Y, axis=1)
    new = np.ones((m, n), dtype=bool)
    new[:, 1:] = Ys[:, 1:] != Ys[:, :-1]
    gid = np.cumsum(new, axis=1) - 1 + (np.arange(m) * n)[:, None]
    t = np.bincount(gid.ravel(), minlength=m * n).astype(np.float64)
    row = np.repeat(np.arange(m), n)
    return (
        np.bincount(row, weights=t * (t - 1) * (2 * t + 5), minlength=m),
        np.bincount(row, weights=t * (t - 1) / 2, minlength=m),
    )


def mann_kendall(Y: np.ndarray) -> MannKendall:
    """Mann–Kendall trend test of each row of Y (series in time order)."""
    from scipy import stats

    Y = np.asarray(Y, dtype=np.float64)
    m, n = Y.shape
    s = np.zeros(m)
    for lag in range(1, n):
        s += np.sign(Y[:, lag:] - Y[:, :-lag]).sum(axis=1)
    ties, pairs_tied = _tie_sums(Y) if n > 1 else (np.zeros(m), np.zeros(m))
    var = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, (s - np.sign(s)) / np.sqrt(var), 0.0)
        n0 = n * (n - 1) / 2
        denom = np.sqrt(n0 * (n0 - pairs_tied))
        tau = np.where(denom > 0, s / denom, 0.0)
    p = np.where(var > 0, 2 * stats.norm.sf(np.abs(z)), 1.0)
    return MannKendall(s=s, var=var, z=z, p=p, tau=tau)


def _trailing_run(B: np.ndarray) -> np.ndarray:
    return np.cumprod(B[:, ::-1], axis=1).sum(axis=1)


def classify(
    z: np.ndarray,
    significant: np.ndarray,
    tau: np.ndarray,
    trend_p: np.ndarray,
    trend_alpha: float = 0.05,
    share: float = 0.90,
) -> np.ndarray:
    """Emerging class code of each row (cells × periods, last column = most recent)."""
    z = np.asarray(z, dtype=np.float64)
    sig = np.asarray(significant, dtype=bool)
    m, n = z.shape
    out = np.full(m, NO_PATTERN, dtype=object)
    if n == 0:
        return out
    trend = trend_p < trend_alpha
    kinds = (("chaud", sig & (z > 0), sig & (z < 0), tau > 0), ("froid", sig & (z < 0), sig & (z > 0), tau < 0))
    done = np.zeros(m, dtype=bool)
    historical = []
    for kind, B, other, up in kinds:
        count = B.sum(axis=1)
        last = B[:, -1]
        run = _trailing_run(B)
        ever_other = other.any(axis=1)
        mostly = count / n >= share
        rules = [  # (code, condition) in order of precedence; all need the last period of this kind
            ("nouveau", last & (count == 1)),
            ("consecutif", last & (run >= 2) & (count == run) & ~mostly),
            ("intensification", last & mostly & trend & up),
            ("diminution", last & mostly & trend & ~up),
            ("persistant", last & mostly & ~trend),
            ("sporadique", last & ~mostly & ~ever_other),
            ("oscillant", last & ~mostly & ever_other),
        ]
        for code, cond in rules:
            hit = cond & ~done
            out[hit] = f"point_{kind}_{code}"
            done |= hit
        historical.append((kind, ~last & mostly))
    # the current state first: a historical pattern only for cells without a current one
    for kind, cond in historical:
        hit = cond & ~done
        out[hit] = f"point_{kind}_historique"
        done |= hit
    return out


def emerging_table(
    hotspots: pl.DataFrame, *, trend_alpha: float = 0.05, share: float = 0.90, min_periods: int = 10
) -> pl.DataFrame:
    """One row per cell × category × period level from `indicators.hotspots` (complete periods).

    Groups with fewer than `min_periods` complete periods are skipped (ESRI requires 10)."""
    h = hotspots.filter(pl.col("complete"))
    frames = []
    for (level, cat), g in h.group_by("period_level", "category", maintain_order=True):
        periods = g["period_start"].unique().sort()
        T = periods.len()
        if T < max(min_periods, 2):
            continue
        g = g.sort("h3_cell", "period_start")
        cells = g["h3_cell"].unique(maintain_order=True)
        if g.height != cells.len() * T:
            raise ValueError(f"indicators.hotspots non dense pour {level}/{cat}")
        Z = g["z"].to_numpy().reshape(-1, T)
        S = g["significant"].to_numpy().reshape(-1, T)
        mk = mann_kendall(Z)
        codes = classify(Z, S, mk.tau, mk.p, trend_alpha, share)
        labels = g["period"].gather(np.arange(T))
        frames.append(
            pl.DataFrame(
                {
                    "h3_cell": cells,
                    "arrondissement": g["arrondissement"].gather(np.arange(cells.len()) * T),
                    "category": cat,
                    "period_level": level,
                    "class_code": codes.tolist(),
                    "trend_tau": mk.tau,
                    "trend_s": mk.s,
                    "trend_z": mk.z,
                    "trend_p": mk.p,
                    "n_periods": T,
                    "n_hot": (S & (Z > 0)).sum(axis=1),
                    "n_cold": (S & (Z < 0)).sum(axis=1),
                    "last_z": Z[:, -1],
                    "last_period": labels[-1],
                    "first_period": labels[0],
                }
            )
        )
    if not frames:
        return pl.DataFrame(schema=EMERGING_SCHEMA)
    out = pl.concat(frames, how="vertical_relaxed").with_columns(
        pl.col("class_code").replace_strict({k: v[0] for k, v in EMERGING_CLASSES.items()}).alias("class_label"),
        pl.col("class_code").replace_strict({k: v[1] for k, v in EMERGING_CLASSES.items()}).alias("class_esri"),
    )
    return out.select([pl.col(k).cast(v) for k, v in EMERGING_SCHEMA.items()]).sort(
        "period_level", "category", "h3_cell"
    )
