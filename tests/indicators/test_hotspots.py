"""Gi* against esda and known values; a planted hot spot is found; a uniform field is not
flagged beyond the nominal FDR; BH against statsmodels; the hot-spot table is dense."""

from __future__ import annotations

import warnings
from datetime import date, datetime, timedelta

import h3
import numpy as np
import polars as pl
import pytest
import scipy.sparse as sps

from tranquillite.indicators.grid import build_grid, disk_weights
from tranquillite.indicators.hotspots import bh_qvalues, classify, gi_star, hotspot_table

CENTRE = "893968152a7ffff"  # Vieux-Port, H3 res 9


def _grid(radius: int) -> list[str]:
    return sorted(h3.grid_disk(CENTRE, radius))


def _gi_loop(x: np.ndarray, W: sps.csr_matrix) -> np.ndarray:
    """Ord & Getis (1995) Gi*, written literally, one cell at a time."""
    n = len(x)
    xbar, s = x.mean(), np.sqrt((x**2).mean() - x.mean() ** 2)
    Wd = W.toarray()
    out = np.empty(n)
    for i in range(n):
        w = Wd[i]
        num = (w * x).sum() - xbar * w.sum()
        den = s * np.sqrt((n * (w**2).sum() - w.sum() ** 2) / (n - 1))
        out[i] = num / den
    return out


def test_disk_weights_are_binary_with_the_cell_itself():
    cells = _grid(4)
    W = disk_weights(cells, 2)
    assert W.shape == (len(cells), len(cells)) and set(np.unique(W.data)) == {1.0}
    assert (W.diagonal() == 1).all()
    i = cells.index(CENTRE)
    assert W[i].nnz == 19 and set(np.array(cells)[W[i].indices]) == set(h3.grid_disk(CENTRE, 2))
    assert (W != W.T).nnz == 0
    corner = min(range(len(cells)), key=lambda j: W[j].nnz)
    assert W[corner].nnz < 19  # edge cells only see the grid


def test_gi_star_matches_the_formula_on_a_tiny_case():
    # five cells on a line, neighbours = itself and the adjacent cells
    W = sps.csr_matrix(
        np.array([[1, 1, 0, 0, 0], [1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 0, 1, 1]], dtype=float)
    )
    x = np.array([0.0, 1.0, 6.0, 2.0, 1.0])
    g = gi_star(x, W)
    # cell 2: L = 9, x̄ = 2, S = √(42/5 − 4) = √4.4, Σw = 3: z = (9 − 6) / (√4.4 · √((15 − 9)/4))
    assert g.z[2, 0] == pytest.approx(3 / (np.sqrt(4.4) * np.sqrt(1.5)))
    assert g.local[2, 0] == 9 and g.expected[2, 0] == pytest.approx(6)
    np.testing.assert_allclose(g.z[:, 0], _gi_loop(x, W), rtol=1e-12)


def test_gi_star_matches_esda_on_an_h3_grid():
    import esda
    from libpysal.weights import W as PysalW

    cells = _grid(8)
    W = disk_weights(cells, 2)
    rng = np.random.default_rng(7)
    X = rng.poisson(1.5, (len(cells), 3)).astype(float)
    X[cells.index(CENTRE), 1] += 25
    g = gi_star(X, W)
    w = PysalW({i: list(W[i].indices) for i in range(len(cells))}, silence_warnings=True)
    for t in range(X.shape[1]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = esda.getisord.G_Local(X[:, t], w, transform="B", star=True, permutations=0)
        np.testing.assert_allclose(g.z[:, t], ref.Zs, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(g.p_normal[:, t], 2 * ref.p_norm, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(g.z[:, t], _gi_loop(X[:, t], W), rtol=1e-10)


def test_randomisation_p_values_match_a_permutation_test():
    """The exact randomisation p-values equal a Monte Carlo permutation test of the same null
    (values shuffled over the cells), and rank hot cells like esda's conditional permutations."""
    cells = _grid(8)
    W = disk_weights(cells, 2)
    rng = np.random.default_rng(3)
    lam = np.full(len(cells), 0.3)
    lam[[cells.index(c) for c in h3.grid_disk(CENTRE, 1)]] = 2.0
    x = rng.poisson(lam).astype(float)
    g = gi_star(x, W)
    L = W @ x
    perms = 20000
    sims = np.empty((perms, len(cells)))
    for b in range(perms):
        sims[b] = W @ rng.permutation(x)
    upper = ((sims >= L).sum(axis=0) + 1) / (perms + 1)
    lower = ((sims <= L).sum(axis=0) + 1) / (perms + 1)
    mc = np.minimum(1, 2 * np.minimum(upper, lower))
    sel = mc > 0.002  # where Monte Carlo error is small
    ratio = np.log10(g.p[sel, 0] / mc[sel])
    assert sel.sum() > 100 and np.median(np.abs(ratio)) < 0.05
    # draws with replacement (vs without, n = 217 here): slightly conservative in the far tail only
    assert ratio.max() < 0.35 and ratio.min() > -0.15
    import esda
    from libpysal.weights import W as PysalW
    from scipy.stats import spearmanr

    w = PysalW({i: list(W[i].indices) for i in range(len(cells))}, silence_warnings=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.getisord.G_Local(x, w, transform="B", star=True, permutations=9999, seed=11)
    hot = g.z[:, 0] > 1
    assert spearmanr(g.p[hot, 0], ref.p_sim[hot]).statistic > 0.9


def _disk_field(rng, cells, lam, T):
    return rng.poisson(lam, (len(cells), T)).astype(float)


@pytest.mark.parametrize("lam", [0.05, 0.3, 3.0])
def test_uniform_field_is_not_flagged_beyond_the_nominal_fdr(lam):
    cells = _grid(12)
    W = disk_weights(cells, 2)
    rng = np.random.default_rng(int(lam * 100))
    X = _disk_field(rng, cells, lam, 300)
    g = gi_star(X, W)
    q = bh_qvalues(g.p)
    # under the global null every rejection is false: FDR = P(any rejection in a map) ≤ α
    any_rejection = (q < 0.05).any(axis=0).mean()
    assert any_rejection <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 300)
    if lam == 0.05:  # the normal approximation of sparse counts would not keep the FDR
        assert (bh_qvalues(g.p_normal) < 0.05).any(axis=0).mean() > 0.3


def test_a_planted_hot_spot_is_found_and_only_there():
    cells = _grid(12)
    W = disk_weights(cells, 2)
    rng = np.random.default_rng(5)
    lam = np.full(len(cells), 0.3)
    planted_centre = h3.grid_disk(CENTRE, 5)
    target = next(c for c in planted_centre if h3.grid_distance(CENTRE, c) == 5)
    cluster = [cells.index(c) for c in h3.grid_disk(target, 1)]
    lam[cluster] = 5.0
    X = _disk_field(rng, cells, lam[:, None], 20)
    g = gi_star(X, W)
    q = bh_qvalues(g.p)
    hot = (q < 0.05) & (g.z > 0)
    assert hot[cells.index(target)].all()  # found in every period
    near = np.array([h3.grid_distance(target, c) <= 3 for c in cells])
    assert not hot[~near].any()  # nothing far away
    assert (classify(g.z, q)[cells.index(target)] == "point_chaud_99").all()


def test_bh_qvalues_match_statsmodels():
    import statsmodels.stats.multitest as stm

    rng = np.random.default_rng(1)
    P = np.concatenate([rng.uniform(size=(500, 3)), rng.uniform(0, 1e-4, size=(20, 3))])
    Q = bh_qvalues(P)
    for t in range(3):
        np.testing.assert_allclose(Q[:, t], stm.multipletests(P[:, t], method="fdr_bh")[1], rtol=1e-12)


def test_hotspot_table_is_dense_per_map_and_labels_periods():
    cells = _grid(6)
    grid = build_grid(cells, k=0)
    assert grid.height == len(cells) and grid["arrondissement"].null_count() == 0
    W = disk_weights(grid["h3_cell"], 2)
    rng = np.random.default_rng(2)
    rows = []
    start = datetime(2025, 1, 6)  # a Monday: ISO week 2025-W02
    cluster = sorted(h3.grid_disk(CENTRE, 1))
    for d in range(28):
        for _ in range(40):
            c = cells[rng.integers(len(cells))] if rng.random() < 0.5 else cluster[rng.integers(7)]
            rows.append(
                {
                    "h3_cell": c,
                    "category": "vols" if rng.random() < 0.5 else "violences",
                    "start": start + timedelta(days=d, hours=int(rng.integers(24))),
                }
            )
    facts = pl.DataFrame(rows).join(grid.select("h3_cell", "cell_idx"), on="h3_cell")
    hot = hotspot_table(
        facts,
        grid,
        W,
        categories=["vols", "violences"],
        all_code="toutes",
        first_day=date(2025, 1, 6),
        last_day=date(2025, 2, 2),
    )
    maps = hot.group_by("period_level", "category", "period").len()
    assert (maps["len"] == grid.height).all()
    assert set(hot.filter(pl.col("period_level") == "semaine")["period"]) == {
        "2025-W02",
        "2025-W03",
        "2025-W04",
        "2025-W05",
    }
    assert hot.filter(pl.col("period_level") == "semaine")["complete"].all()
    assert not hot.filter(pl.col("period") == "2025-02")["complete"].any()  # one day of February only
    centre = hot.filter(
        (pl.col("h3_cell") == CENTRE) & (pl.col("category") == "toutes") & (pl.col("period_level") == "semaine")
    )
    assert centre["significant"].all() and (centre["class"] == "point_chaud_99").all()
    assert (
        hot.filter(pl.col("category") == "toutes")["n"].sum() == hot.filter(pl.col("category") != "toutes")["n"].sum()
    )
    # rows in the table's order (map, then cell string), whatever the grid's indexing of its cells
    assert hot.equals(hot.sort("period_level", "category", "period_start", "h3_cell"))
    n = grid.height
    grid2 = grid.with_columns((n - 1 - pl.col("cell_idx")).alias("cell_idx")).sort("cell_idx")
    facts2 = facts.drop("cell_idx").join(grid2.select("h3_cell", "cell_idx"), on="h3_cell")
    hot2 = hotspot_table(
        facts2,
        grid2,
        disk_weights(grid2["h3_cell"], 2),
        categories=["vols", "violences"],
        all_code="toutes",
        first_day=date(2025, 1, 6),
        last_day=date(2025, 2, 2),
    )
    assert hot2.equals(hot)
    counts = facts.filter(pl.col("category") == "vols").with_columns(pl.col("start").dt.truncate("1w").alias("w"))
    week3 = counts.filter(pl.col("w") == datetime(2025, 1, 13)).group_by("h3_cell").len()
    got = hot.filter((pl.col("period") == "2025-W03") & (pl.col("category") == "vols") & (pl.col("n") > 0))
    assert sorted(got.select("h3_cell", pl.col("n").cast(pl.UInt32)).rows()) == sorted(week3.rows())
    # the maps of some periods alone: the full table's rows of those periods
    only = hotspot_table(
        facts,
        grid,
        W,
        categories=["vols", "violences"],
        all_code="toutes",
        first_day=date(2025, 1, 6),
        last_day=date(2025, 2, 2),
        only={"semaine": {date(2025, 1, 13), date(2025, 1, 27)}},
    )
    assert only.equals(
        hot.filter((pl.col("period_level") == "semaine") & pl.col("period").is_in(["2025-W03", "2025-W05"]))
    )
