"""Local hot-spot statistics: Getis-Ord Gi* on the H3 grid, with Benjamini–Hochberg FDR control.

**Gi\\*** (Getis & Ord 1992, Ord & Getis 1995) of cell i, for counts x over the n grid cells and
weights w_ij (binary: j in grid_disk(i, k), i included):

    Gi* = (Σ_j w_ij x_j − x̄ Σ_j w_ij) / (S √((n Σ_j w_ij² − (Σ_j w_ij)²) / (n − 1)))

with x̄ and S² the mean and (population) variance of x over the grid — identical to ESRI's
*Hot Spot Analysis* and to `esda.G_Local(star=True, transform='B').Zs` (tested). Every period
(column of X) is computed at once: one sparse product W·X.

**p-values.** The z-score is reported as is, but for counts its p-value is not read from the
normal distribution: with ~0.1 fact per cell and week the neighbourhood sum L_i = Σ_j w_ij x_j is
a small, skewed count, and normal tails do not keep the FDR: on a uniform Poisson field with
0.05 fact per cell, 3 maps in 4 would show a false hot spot after Benjamini–Hochberg (tested). Gi*'s E[L] and V[L] are the moments of L under the randomisation null (the map's
values shuffled over the cells); the p-value is taken from that null's exact distribution
instead: the Σw-fold convolution of the map's empirical distribution of counts (draws with
replacement; n ≈ 2,500 ≫ 19 makes the difference negligible), computed by FFT once per map and
neighbourhood size. Two-sided: p = min(1, 2 min(P(L ≥ l), P(L ≤ l))). This keeps the nominal
FDR on a uniform Poisson field at any intensity, agrees with esda's permutation p-values for hot
spots (esda's folded p_sim mis-handles the ties of empty neighbourhoods), and costs milliseconds
instead of permutations. For non-count data or non-binary weights the normal p-value is used
(`p_normale` is kept for every cell, for comparison).

Gi* measures the concentration of facts over a *neighbourhood*: one isolated cell with many
facts and quiet neighbours is not, by itself, a significant cluster under this null (its value
could land in any neighbourhood); a lower `k` makes the analysis more local.

**FDR.** Within each (category, period) map, Benjamini–Hochberg q-values; a cell is a
significant hot (cold) spot when q < α (default 0.05) and z > 0 (< 0). Classes follow ESRI's
Gi_Bin: confidence 99 / 95 / 90 % (q < 0.01 / 0.05 / 0.10).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
import scipy.sparse as sps

from tranquillite.indicators.incremental import grouped_digests
from tranquillite.indicators.periods import period_end, period_label, period_start

HOTSPOT_CLASSES = {
    "point_chaud_99": "Point chaud (confiance 99 %)",
    "point_chaud_95": "Point chaud (confiance 95 %)",
    "point_chaud_90": "Point chaud (confiance 90 %)",
    "non_significatif": "Non significatif",
    "point_froid_90": "Point froid (confiance 90 %)",
    "point_froid_95": "Point froid (confiance 95 %)",
    "point_froid_99": "Point froid (confiance 99 %)",
}
HOTSPOT_SCHEMA = {
    "h3_cell": pl.Utf8,
    "arrondissement": pl.Utf8,
    "category": pl.Utf8,
    "period_level": pl.Utf8,
    "period": pl.Utf8,
    "period_start": pl.Date,
    "complete": pl.Boolean,
    "n": pl.Int32,
    "local_sum": pl.Float64,
    "expected": pl.Float64,
    "z": pl.Float64,
    "p": pl.Float64,
    "p_normale": pl.Float64,
    "q": pl.Float64,
    "significant": pl.Boolean,
    "class": pl.Utf8,
}


@dataclass(frozen=True)
class GiStar:
    """Gi* of every cell (rows) and period (columns)."""

    z: np.ndarray
    local: np.ndarray  # L = Σ_j w_ij x_j
    expected: np.ndarray  # E[L] under the null
    variance: np.ndarray  # V[L] under the null
    p: np.ndarray  # two-sided (count tail for counts, normal otherwise)
    p_normal: np.ndarray  # two-sided normal


def gi_star(X: np.ndarray, W: sps.spmatrix, method: str = "auto") -> GiStar:
    """Gi* for each column of X (n cells × T periods). `method`: 'auto' (count tail when X holds
    integers and W is binary), 'counts' or 'normal'."""
    from scipy import stats

    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    W = sps.csr_matrix(W, dtype=np.float64)
    n = X.shape[0]
    xbar = X.mean(axis=0)
    s2 = np.maximum((X**2).mean(axis=0) - xbar**2, 0.0)
    sw = np.asarray(W.sum(axis=1)).ravel()
    sw2 = np.asarray(W.multiply(W).sum(axis=1)).ravel()
    L = np.asarray(W @ X)
    mu = sw[:, None] * xbar[None, :]
    var = s2[None, :] * ((n * sw2 - sw**2) / (n - 1))[:, None]
    sd = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, (L - mu) / sd, 0.0)
    p_norm = np.where(sd > 0, 2.0 * stats.norm.sf(np.abs(z)), 1.0)
    binary = W.nnz == 0 or bool(np.all(W.data == 1.0))
    counts = method == "counts" or (method == "auto" and binary and np.all(X == np.round(X)) and np.all(X >= 0))
    p = randomisation_pvalues(X, L, sw) if counts else p_norm
    return GiStar(z=z, local=L, expected=mu, variance=var, p=p, p_normal=p_norm)


def randomisation_pvalues(X: np.ndarray, L: np.ndarray, card: np.ndarray) -> np.ndarray:
    """Two-sided p-values of the neighbourhood counts `L` (n × T) under the randomisation null of
    each map: L_i is the sum of card_i values drawn from the map's own values X[:, t]. Its exact
    distribution is the card-fold convolution of the map's empirical distribution (computed by
    FFT, once per map and distinct neighbourhood size)."""
    n, T = X.shape
    Xi = np.rint(X).astype(np.int64)
    Li = np.rint(L).astype(np.int64)
    card = np.rint(card).astype(np.int64)
    sizes = np.unique(card)
    p = np.ones(X.shape, dtype=np.float64)
    for t in range(T):
        top = int(Xi[:, t].max())
        if top == 0:
            continue
        pmf = np.bincount(Xi[:, t], minlength=top + 1) / n
        for m in sizes:
            rows = card == m
            size = int(m) * top + 1
            nfft = 1 << int(np.ceil(np.log2(size)))
            dist = np.fft.irfft(np.fft.rfft(pmf, nfft) ** int(m), nfft)[:size]
            dist = np.clip(dist, 0.0, None)
            dist /= dist.sum()
            cdf = np.cumsum(dist)
            upper = np.clip(1.0 - cdf + dist, 0.0, 1.0)  # P(L >= l)
            level = np.clip(Li[rows, t], 0, size - 1)
            p[rows, t] = np.minimum(1.0, 2.0 * np.minimum(upper[level], cdf[level]))
    return p


def bh_qvalues(P: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values) of each column of P (SciPy's
    `false_discovery_control`, the maintained implementation)."""
    from scipy import stats

    return stats.false_discovery_control(np.asarray(P, dtype=np.float64), axis=0, method="bh")


def classify(z: np.ndarray, q: np.ndarray) -> np.ndarray:
    """ESRI Gi_Bin classes from z and q-values (codes of HOTSPOT_CLASSES)."""
    out = np.full(z.shape, "non_significatif", dtype=object)
    for level, conf in ((0.10, "90"), (0.05, "95"), (0.01, "99")):
        out[(q < level) & (z > 0)] = f"point_chaud_{conf}"
        out[(q < level) & (z < 0)] = f"point_froid_{conf}"
    return out


def period_starts(first_day: date, last_day: date, level: str) -> list[date]:
    """Starts of every period overlapping [first_day, last_day]."""
    return (
        (
            pl.select(pl.date_range(first_day, last_day, "1d").alias("d")).select(
                period_start(pl.col("d"), level).unique().sort()
            )
        )
        .to_series()
        .to_list()
    )


def _level_counts(
    f: pl.DataFrame, level: str, first_day: date, last_day: date, all_code: str, received: set[date] | None
) -> tuple[list[date], pl.DataFrame, pl.DataFrame] | None:
    """Of one period level: the period starts, the counts (category, cell_idx, t, len) and the
    periods' meta (t, period_start, period, complete)."""
    starts = period_starts(first_day, last_day, level)
    if not starts:
        return None
    pidx = {s: t for t, s in enumerate(starts)}
    fl = f.with_columns(period_start(pl.col("start"), level).alias("ps"))
    per_cat = fl.group_by("category", "cell_idx", "ps").len()
    per_all = fl.group_by("cell_idx", "ps").len().with_columns(pl.lit(all_code).alias("category"))
    counts = pl.concat([per_cat, per_all.select(per_cat.columns)])
    counts = counts.with_columns(pl.col("ps").replace_strict(pidx, return_dtype=pl.Int64).alias("t"))
    inside = (pl.col("period_start") >= first_day) & (
        period_end(pl.col("period_start"), level) <= pl.lit(last_day).dt.offset_by("1d")
    )
    if received is not None:
        got = pl.Series(sorted(received), dtype=pl.Date).implode()
        inside = (
            inside
            & pl.date_ranges(
                pl.col("period_start"), period_end(pl.col("period_start"), level).dt.offset_by("-1d"), "1d"
            )
            .list.eval(pl.element().is_in(got))
            .list.all()
        )
    meta = pl.DataFrame({"period_start": starts}).with_columns(
        period_label(pl.col("period_start"), level).alias("period"), inside.alias("complete")
    )
    return starts, counts, meta.with_row_index("t").with_columns(pl.col("t").cast(pl.Int64))


def _in_range(facts: pl.DataFrame, first_day: date, last_day: date) -> pl.DataFrame:
    return facts.filter(
        pl.col("cell_idx").is_not_null() & pl.col("start").cast(pl.Date).is_between(first_day, last_day)
    )


def map_digests(
    facts: pl.DataFrame,
    *,
    categories: list[str],
    all_code: str,
    first_day: date,
    last_day: date,
    levels: tuple[str, ...] = ("semaine", "mois"),
    received: set[date] | None = None,
) -> dict:
    """What each map of `hotspot_table` is computed from, as a digest per level and period start
    (its counts per category and cell, and whether it is complete), and which categories have
    maps: two runs with equal digests give that map equal rows (each map is computed alone)."""
    f = _in_range(facts, first_day, last_day)
    out: dict = {"maps": {}, "categories": []}
    present = set(f["category"].unique().drop_nulls().to_list()) if f.height else set()
    out["categories"] = sorted(c for c in categories if c in present)
    for level in levels:
        lc = _level_counts(f, level, first_day, last_day, all_code, received)
        if lc is None:
            continue
        starts, counts, meta = lc
        d = counts.join(meta.select("t", "period_start"), on="t").select("period_start", "category", "cell_idx", "len")
        g = grouped_digests(d.select("period_start"), d.select("category", "cell_idx", "len"), seed=3)
        agg = {r[0]: [r[1], r[2], r[3]] for r in g.select("period_start", "n", "hi", "lo").iter_rows()}
        out["maps"][level] = {
            str(s): [*agg.get(s, [0, 0, 0]), bool(c)] for s, c in meta.select("period_start", "complete").iter_rows()
        }
    return out


def hotspot_table(
    facts: pl.DataFrame,
    grid: pl.DataFrame,
    W: sps.spmatrix,
    *,
    categories: list[str],
    all_code: str,
    first_day: date,
    last_day: date,
    levels: tuple[str, ...] = ("semaine", "mois"),
    fdr_alpha: float = 0.05,
    received: set[date] | None = None,
    only: dict[str, set[date]] | None = None,
) -> pl.DataFrame:
    """Gi* of every grid cell × category (and `all_code`) × period of each level.

    `facts`: one row per fact with `cell_idx` (grid index), `category` and `start`; only facts
    within [first_day, last_day] are counted. A period is `complete` when it lies wholly inside
    and, if `received` (the days with data received) is given, every one of its days was
    received: a week of a gap is not a week without facts.

    `only` ({level: period starts}): the maps of those periods alone (each map is computed from
    its own counts: the rows are those of the whole table's for the same periods).
    """
    n = grid.height
    # the rows come out in the table's order — map (level, category, period start), then cell string —
    # without sorting 17 M rows: each map's block is laid out period by period (the starts ascend),
    # its cells in their strings' order, and the blocks are concatenated in (level, category) order
    cells = grid.select("cell_idx", "h3_cell", "arrondissement").sort("h3_cell")
    order = cells["cell_idx"].to_numpy()
    blocks: list[tuple[tuple[str, str], pl.DataFrame]] = []
    f = _in_range(facts, first_day, last_day)
    present = set(f["category"].unique().drop_nulls().to_list()) if f.height else set()
    for level in levels:
        lc = _level_counts(f, level, first_day, last_day, all_code, received)
        if lc is None:
            continue
        starts, counts, meta = lc
        cols = (
            np.arange(len(starts))
            if only is None
            else np.array([t for t, s in enumerate(starts) if s in only.get(level, set())], dtype=np.int64)
        )
        if cols.size == 0:
            continue
        T = cols.size
        remap = np.full(len(starts), -1, dtype=np.int64)
        remap[cols] = np.arange(T)
        rows_meta = meta.select("period_start", "period", "complete")[np.repeat(cols, n)]
        rows_cells = cells.select("h3_cell", "arrondissement")[np.tile(np.arange(n), T)]
        for cat in [*categories, all_code]:
            if cat != all_code and cat not in present:
                continue  # a category absent from the data: no map
            c = counts.filter(pl.col("category") == cat)
            X = np.zeros((n, T))
            if c.height:
                t = remap[c["t"].to_numpy()]
                sel = t >= 0
                X[c["cell_idx"].to_numpy()[sel], t[sel]] = c["len"].to_numpy()[sel]
            g = gi_star(X, W)
            q = bh_qvalues(g.p)

            def laid(a: np.ndarray) -> np.ndarray:  # cells × periods → period-major, cells in string order
                return a[order].ravel(order="F")

            blocks.append(
                (
                    (level, cat),
                    pl.concat(
                        [
                            rows_cells,
                            rows_meta,
                            pl.DataFrame(
                                {
                                    "n": laid(X).astype(np.int32),
                                    "local_sum": laid(g.local),
                                    "expected": laid(g.expected),
                                    "z": laid(g.z),
                                    "p": laid(g.p),
                                    "p_normale": laid(g.p_normal),
                                    "q": laid(q),
                                    "significant": laid(q < fdr_alpha),
                                    "class": laid(classify(g.z, q)).tolist(),
                                }
                            ),
                        ],
                        how="horizontal",
                    ).with_columns(
                        pl.lit(cat, dtype=pl.Utf8).alias("category"), pl.lit(level, dtype=pl.Utf8).alias("period_level")
                    ),
                )
            )
    if not blocks:
        return pl.DataFrame(schema=HOTSPOT_SCHEMA)
    out = pl.concat([b for _, b in sorted(blocks, key=lambda kb: kb[0])])
    return out.select([pl.col(k).cast(v) for k, v in HOTSPOT_SCHEMA.items()])
