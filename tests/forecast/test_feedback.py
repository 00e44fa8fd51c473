"""The feedback-loop audit (issue 13): its figures on hand-computed cases, on events where the
police's own records concentrate where reports do not, and the simulated runaway loop with and
without each mitigation (Ensign et al. 2018)."""

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from tranquillite.forecasting import feedback as F
from tranquillite.forecasting.feedback_sim import World, compare, simulate


def test_figures_by_hand():
    assert F.gini(np.array([1.0, 1.0, 1.0])) == pytest.approx(0.0)
    # two equal groups, one holds everything: Gini 0.5 with the trapezoid Lorenz curve
    assert F.gini(np.array([0.0, 1.0])) == pytest.approx(0.5)
    assert F.dissimilarity(np.array([1.0, 0.0]), np.array([0.5, 0.5])) == pytest.approx(0.5)
    assert F.jaccard(np.array([1, 1, 0], bool), np.array([0, 1, 1], bool)) == pytest.approx(1 / 3)
    assert F.top_cells(np.array([0.0, 5.0, 3.0, 0.0]), 0.5).tolist() == [False, True, True, False]
    assert F.slope([0.1, 0.2, 0.3]) == pytest.approx(0.1)


def test_config_from_file(tmp_path):
    cfg = F.AuditConfig.load()
    assert "Vente à la sauvette" in cfg.enforcement_categories["interventions"]
    assert cfg.reported_sources == ("signalements", "alertes_videoprotection")
    p = tmp_path / "a.yaml"
    p.write_text("exclude_enforcement: false\ncoverage: 0.2\n", encoding="utf-8")
    off = F.AuditConfig.load(p)
    assert not off.exclude_enforcement and off.coverage == 0.2


def _world_events(seed=0):
    """20 cells in 2 zones; reports spread evenly, enforcement-driven interventions only in zone A
    (where patrols are), other interventions follow the reports."""
    rng = np.random.default_rng(seed)
    t0 = datetime(2026, 1, 5)
    rows = []
    for week in range(12):
        for c in range(20):
            when = t0 + timedelta(weeks=week, hours=int(rng.integers(0, 160)))
            rows += [(c, when, "signalements", "Incivilités")] * int(rng.poisson(3))
            rows += [(c, when, "interventions", "Rixe / violences")] * int(rng.poisson(3))
            if c < 10:
                rows += [(c, when, "interventions", "Vente à la sauvette")] * int(rng.poisson(8))
    ev = pl.DataFrame(
        rows,
        schema={"cell_idx": pl.Int32, "start": pl.Datetime("us"), "source": pl.Utf8, "subcategory": pl.Utf8},
        orient="row",
    )
    grid = pl.DataFrame({"cell_idx": np.arange(20, dtype=np.int32), "zone": ["A"] * 10 + ["B"] * 10})
    return ev, grid, [t0 + timedelta(weeks=w) for w in (6, 8, 10, 12)]


def test_police_flags_concentrate_where_reports_do_not():
    ev, grid, origins = _world_events()
    cfg = F.AuditConfig(enforcement_categories={"interventions": ("Vente à la sauvette",)}, coverage=0.5)
    per_origin, per_zone, summ = F.audit(ev, grid, {"A": 1000, "B": 1000}, origins, cfg)
    assert per_origin.height == len(origins) * len(F.STREAMS)
    pol = per_origin.filter(pl.col("stream") == F.POLICE)
    rep = per_origin.filter(pl.col("stream") == F.REPORTED)
    # police-trained flags: all in zone A; reports are even: D = 0.5 - a small noise
    assert pol["dissimilarity_vs_reports"].min() > 0.4
    assert rep["dissimilarity_vs_reports"].max() < pol["dissimilarity_vs_reports"].min()
    assert pol["jaccard_vs_signale"].max() < 1.0
    mitigated = per_origin.filter(pl.col("stream") == F.POLICE_MITIGATED)["dissimilarity_vs_reports"].mean()
    assert mitigated < pol["dissimilarity_vs_reports"].mean()
    ratio = per_zone.filter((pl.col("stream") == F.POLICE) & (pl.col("zone") == "A"))["ratio_flagged_vs_reports"]
    assert ratio.min() > 1.5
    assert summ["origines"] == len(origins)
    assert summ[F.POLICE]["gini_par_habitant_moyen"] > summ[F.REPORTED]["gini_par_habitant_moyen"]
    # the mitigation switched off: the "without enforcement" stream is all the police's records
    off = F.audit(
        ev,
        grid,
        {"A": 1000, "B": 1000},
        origins,
        F.AuditConfig(enforcement_categories=cfg.enforcement_categories, coverage=0.5, exclude_enforcement=False),
    )[0]
    a = off.filter(pl.col("stream") == F.POLICE_MITIGATED)["dissimilarity_vs_reports"].to_list()
    assert a == pol["dissimilarity_vs_reports"].to_list()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_simulated_loop_runs_away_and_mitigations_hold_it(seed):
    r = compare(World(seed=seed))
    assert r["boucle"]["runaway"]
    assert not r["signale"]["runaway"] and not r["sans_initiative"]["runaway"]
    for m in ("signale", "sans_initiative"):
        # the flagged area follows the facts more closely, and finds more of the truly riskiest cells
        assert r["boucle"]["final_dissimilarity"] > r[m]["final_dissimilarity"] + 0.05
        assert r[m]["final_precision"] > r["boucle"]["final_precision"]


def test_no_loop_without_patrol_effect():
    """Discovery independent of patrols: training on everything does not run away."""
    assert not simulate(World(seed=0, patrol_boost=0.0, base_presence=1.0), "boucle")["runaway"]
