"""Each emerging hot/cold spot class on a constructed series; Mann–Kendall against references."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from scipy import stats

from tranquillite.indicators.emerging import EMERGING_CLASSES, classify, emerging_table, mann_kendall

T = 20


def _hot_series(pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """(z, significant) of one cell over T periods, the last one being the most recent."""
    z = np.full(T, 0.5)
    sig = np.zeros(T, dtype=bool)
    if pattern == "nouveau":
        z[-1], sig[-1] = 3.0, True
    elif pattern == "consecutif":
        z[-3:], sig[-3:] = 3.0, True
    elif pattern == "intensification":
        z, sig = np.linspace(2.5, 9.0, T), np.ones(T, dtype=bool)
    elif pattern == "diminution":
        z, sig = np.linspace(9.0, 2.5, T), np.ones(T, dtype=bool)
    elif pattern == "persistant":
        z, sig = 3.0 + 0.2 * (np.arange(T) % 2), np.ones(T, dtype=bool)
    elif pattern == "sporadique":
        on = [2, 6, 11, T - 1]
        z[on], sig[on] = 3.0, True
    elif pattern == "oscillant":
        z[[4, T - 1]], sig[[4, T - 1]] = 3.0, True
        z[9], sig[9] = -3.0, True
    elif pattern == "historique":
        z[:-1], sig[:-1] = 3.0 + 0.2 * (np.arange(T - 1) % 2), True
        z[-1] = 1.0
    elif pattern == "aucun":
        z[5], sig[5] = 3.0, True  # hot once, long ago, not any more: no pattern
    return z, sig


PATTERNS = [
    "nouveau",
    "consecutif",
    "intensification",
    "persistant",
    "diminution",
    "sporadique",
    "oscillant",
    "historique",
]


@pytest.mark.parametrize("kind", ["chaud", "froid"])
@pytest.mark.parametrize("pattern", [*PATTERNS, "aucun"])
def test_each_class_on_a_constructed_series(kind, pattern):
    z, sig = _hot_series(pattern)
    if kind == "froid":
        z = -z
    mk = mann_kendall(z[None, :])
    code = classify(z[None, :], sig[None, :], mk.tau, mk.p)[0]
    expected = "aucun_motif" if pattern == "aucun" else f"point_{kind}_{pattern}"
    assert code == expected
    assert code in EMERGING_CLASSES


def test_all_classes_at_once_and_current_state_first():
    rows = [_hot_series(p) for p in PATTERNS]
    Z = np.array([r[0] for r in rows] + [-r[0] for r in rows])
    S = np.array([r[1] for r in rows] + [r[1] for r in rows])
    mk = mann_kendall(Z)
    codes = classify(Z, S, mk.tau, mk.p)
    assert list(codes) == [f"point_chaud_{p}" for p in PATTERNS] + [f"point_froid_{p}" for p in PATTERNS]
    # hot for 19 of 20 periods, then a significant cold spot: the current state (new cold spot) wins
    z, sig = _hot_series("historique")
    z[-1], sig[-1] = -3.0, True
    mk = mann_kendall(z[None, :])
    assert classify(z[None, :], sig[None, :], mk.tau, mk.p)[0] == "point_froid_nouveau"


def test_mann_kendall_matches_brute_force_and_scipy():
    rng = np.random.default_rng(0)
    Y = np.round(rng.normal(size=(50, 15)), 1)  # rounding makes ties
    Y[0] = np.arange(15)
    Y[1] = 1.0  # constant
    mk = mann_kendall(Y)
    n = Y.shape[1]
    for r in range(Y.shape[0]):
        y = Y[r]
        s = sum(np.sign(y[j] - y[i]) for i in range(n) for j in range(i + 1, n))
        _, counts = np.unique(y, return_counts=True)
        var = (n * (n - 1) * (2 * n + 5) - sum(t * (t - 1) * (2 * t + 5) for t in counts)) / 18
        assert mk.s[r] == s and mk.var[r] == pytest.approx(var)
        if var > 0:
            zz = (s - np.sign(s)) / np.sqrt(var)
            assert mk.p[r] == pytest.approx(2 * stats.norm.sf(abs(zz)))
            assert mk.tau[r] == pytest.approx(stats.kendalltau(np.arange(n), y).statistic)
        else:
            assert mk.p[r] == 1.0 and mk.tau[r] == 0.0
    assert mk.tau[0] == pytest.approx(1.0) and mk.p[0] < 1e-4


def test_emerging_table_from_a_hotspot_table():
    weeks = [date(2025, 1, 6) + timedelta(weeks=w) for w in range(12)]
    rows = []
    for cell, pattern in (("a", "intensification"), ("b", "nouveau"), ("c", "aucun")):
        z, sig = _hot_series(pattern)
        z, sig = z[-12:], sig[-12:]
        for t, ws in enumerate(weeks):
            rows.append(
                {
                    "h3_cell": cell,
                    "arrondissement": "13201",
                    "category": "vols",
                    "period_level": "semaine",
                    "period": ws.strftime("%G-W%V"),
                    "period_start": ws,
                    "complete": True,
                    "z": float(z[t]),
                    "significant": bool(sig[t]),
                }
            )
    rows.append(
        {
            **rows[-1],
            "period_start": weeks[-1] + timedelta(weeks=1),
            "period": "partielle",
            "complete": False,
            "z": -9.0,
            "significant": True,
        }
    )  # the partial week is ignored
    em = emerging_table(pl.DataFrame(rows), min_periods=10)
    got = dict(zip(em["h3_cell"], em["class_code"]))
    assert got == {"a": "point_chaud_intensification", "b": "point_chaud_nouveau", "c": "aucun_motif"}
    a = em.filter(pl.col("h3_cell") == "a").row(0, named=True)
    assert a["class_label"] == "Point chaud en intensification" and a["class_esri"] == "Intensifying Hot Spot"
    assert a["n_periods"] == 12 and a["n_hot"] == 12 and a["trend_tau"] == pytest.approx(1.0)
    assert a["last_period"] == weeks[-1].strftime("%G-W%V")
    assert emerging_table(pl.DataFrame(rows), min_periods=13).height == 0  # too few periods: no class


# --------------------------------------------------------------------------- the asset, one series at a time
def _published_hotspots(shift: float = 0.0) -> pl.DataFrame:
    """A dense `indicators.hotspots` of 2 categories × 14 complete weeks × 6 cells (+ an incomplete week)."""
    from tranquillite.indicators.hotspots import HOTSPOT_SCHEMA

    rng = np.random.default_rng(5)
    rows = []
    for cat in ("toutes", "vols"):
        for w in range(15):
            start = date(2025, 1, 6) + timedelta(weeks=w)
            for c in range(6):
                z = float(rng.normal(0.5 * c * w / 14, 1.0)) + (shift if cat == "vols" and w == 13 else 0.0)
                rows.append(
                    {
                        "h3_cell": f"89396{c:010d}",
                        "arrondissement": "13201",
                        "category": cat,
                        "period_level": "semaine",
                        "period": f"2025-S{w + 2:02d}",
                        "period_start": start,
                        "complete": w < 14,
                        "n": 1,
                        "local_sum": 1.0,
                        "expected": 1.0,
                        "z": z,
                        "p": 0.5,
                        "p_normale": 0.5,
                        "q": 0.5,
                        "significant": abs(z) > 1.96,
                        "class": "non_significatif",
                        "conventions": ["internal"],
                    }
                )
    df = pl.DataFrame(rows)
    return df.select([pl.col(k).cast(v) for k, v in {**HOTSPOT_SCHEMA, "conventions": pl.List(pl.Utf8)}.items()])


def test_the_asset_keeps_the_series_whose_complete_maps_did_not_change(tmp_path):
    """`emerging_hotspots` reads one series (level × category) at a time: a change of one category's
    complete maps recomputes that series only, and the table is the one of a whole computation."""
    import dagster as dg

    from tranquillite.assets.indicator_maps import emerging_hotspots
    from tranquillite.indicators.config import IndicatorSettings
    from tranquillite.resources import Warehouse

    wh = Warehouse(root=str(tmp_path / "warehouse"))
    settings = IndicatorSettings()
    hp = settings.hotspot_params()

    def run(hot: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
        wh.write("indicators", "hotspots", hot, partition="2025")
        res = dg.materialize(
            [emerging_hotspots],
            resources={"warehouse": wh, "indicators": settings},
            instance=dg.DagsterInstance.ephemeral(),
        )
        assert res.success
        mat = res.asset_materializations_for_node(res.all_node_events[0].node_name)[0]
        want = emerging_table(hot, trend_alpha=hp.trend_alpha, share=hp.share, min_periods=hp.min_periods)
        got = wh.read("indicators", "emerging_hotspots")
        assert got.height == 12 and got.drop("conventions").equals(want)
        return got, mat.metadata["calcul"].data

    _, first = run(_published_hotspots())
    assert first["mode"] == "complet"
    _, same = run(_published_hotspots())
    assert same == {"mode": "conservé", "motif": "cartes complètes inchangées"}
    _, one = run(_published_hotspots(shift=4.0))  # one complete map of « vols » changed
    assert one == {"mode": "incrémental", "series_recalculees": 1, "series": 2}
