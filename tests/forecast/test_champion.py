"""The honest champion rule (issue #13): the best predictor of the backtest, baselines included,
by a paired comparison over the origins; a learned model is champion only if the paired test
says its gain over the best baseline is not noise."""

import re
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from tranquillite.forecasting import champion as CH
from tranquillite.forecasting.backtest import (
    BACKTEST_SCHEMA,
    SCORES_SCHEMA,
    BacktestConfig,
    champions,
    choose_champion,
    mark_champions,
)

ORIGINS = [datetime(2025, 1, 6) + timedelta(weeks=i) for i in range(12)]


def backtest(rates: dict[str, np.ndarray], horizon: str = "jour_suivant", category: str = "all") -> pl.DataFrame:
    """Rows shaped like `models.backtest`: per model × origin, hit rate at 5 % (hits of 1,000 facts)."""
    rows = []
    for m, hr in rates.items():
        for o, h in zip(ORIGINS, hr):
            rows.append(
                {
                    "model": m,
                    "category": category,
                    "horizon": horizon,
                    "origin": o,
                    "coverage": 0.05,
                    "hit_rate": float(h),
                    "pai": float(h) / 0.05,
                    "pei": float(h) / 0.6,
                    "n_events": 1000,
                    "hits": float(h) * 1000,
                    "max_hits": 600.0,
                    "oracle_hit_rate": None,
                    "hit_rate_vs_oracle": None,
                    "conventions": ["internal"],
                    "champion": False,
                    "champion_pourquoi": None,
                }
            )
    return pl.DataFrame(rows, schema=BACKTEST_SCHEMA)


SCORES = pl.DataFrame(schema=SCORES_SCHEMA)
RNG = np.random.default_rng(13)
BASE = 0.30 + RNG.normal(0, 0.02, len(ORIGINS))  # the week-to-week swings every predictor shares


def test_a_better_baseline_wins():
    bt = backtest(
        {"compte_52_semaines": BASE, "hotspot_retrospectif": BASE - 0.03, "lgbm_sans_evenements": BASE - 0.01}
    )
    assert choose_champion(bt, SCORES, BacktestConfig()) == "compte_52_semaines"
    row = CH.decide(
        bt, "jour_suivant", "all", 0.05, ["compte_52_semaines", "hotspot_retrospectif"], ["lgbm_sans_evenements"]
    )
    assert row["predictor_kind"] == "reference" and row["ratio_vs_reference"] == 1.0
    assert "au moins aussi bien" in row["pourquoi"]


def test_a_learned_model_only_slightly_better_within_noise_is_not_champion():
    # +0.3 point on average, but ± 2 points from one origin to the next: noise
    noise = RNG.normal(0, 0.02, len(ORIGINS))
    learned = BASE + 0.003 + noise - noise.mean()
    bt = backtest({"compte_52_semaines": BASE, "hotspot_retrospectif": BASE - 0.02, "lgbm_sans_evenements": learned})
    pooled = bt.group_by("model").agg(pl.col("hits").sum())
    assert pooled.sort("hits")["model"][-1] == "lgbm_sans_evenements"  # the old rule (best pooled) would pick it
    assert choose_champion(bt, SCORES, BacktestConfig()) == "compte_52_semaines"
    row = CH.decide(
        bt, "jour_suivant", "all", 0.05, ["compte_52_semaines", "hotspot_retrospectif"], ["lgbm_sans_evenements"]
    )
    assert row["p_value"] >= 0.05 and row["gain_vs_baseline"] > 0
    assert "ne distingue pas ce gain du bruit" in row["pourquoi"]


def test_a_learned_model_that_beats_the_best_baseline_beyond_noise_is_champion():
    learned = BASE + 0.02 + RNG.normal(0, 0.004, len(ORIGINS))
    bt = backtest({"compte_52_semaines": BASE, "compte_historique": BASE - 0.01, "lgbm_sans_evenements": learned})
    assert choose_champion(bt, SCORES, BacktestConfig()) == "lgbm_sans_evenements"
    row = CH.decide(
        bt, "jour_suivant", "all", 0.05, ["compte_52_semaines", "compte_historique"], ["lgbm_sans_evenements"]
    )
    assert row["p_value"] < 0.01 and row["ratio_vs_reference"] > 1.05
    assert "juge réel" in row["pourquoi"]


def test_ties_go_to_the_simplest_baseline_and_one_origin_proves_nothing():
    bt = backtest({"hotspot_prospectif": BASE, "compte_52_semaines": BASE, "lgbm_sans_evenements": BASE + 0.05})
    assert choose_champion(bt, SCORES, BacktestConfig()) == "lgbm_sans_evenements"
    one = bt.filter(pl.col("origin") == ORIGINS[0])
    assert choose_champion(one, SCORES, BacktestConfig()) == "compte_52_semaines"  # no paired test on 1 origin
    assert np.isnan(CH.paired_p(np.array([0.4]), np.array([0.3])))


def test_a_champion_per_horizon_and_the_published_columns():
    day = backtest({"compte_52_semaines": BASE, "lgbm_sans_evenements": BASE + 0.03}, "jour_suivant")
    week = backtest({"compte_52_semaines": BASE + 0.05, "lgbm_sans_evenements": BASE}, "semaine_suivante")
    bt = pl.concat([day, week])
    table = champions(bt, BacktestConfig(), ["all"])
    assert dict(zip(table["horizon"], table["predictor"])) == {
        "jour_suivant": "lgbm_sans_evenements",
        "semaine_suivante": "compte_52_semaines",
    }
    marked = mark_champions(bt, table)
    assert dict(marked.schema) == BACKTEST_SCHEMA
    champ = marked.filter(pl.col("champion")).select("model", "horizon").unique().sort("horizon")
    assert champ.rows() == [("lgbm_sans_evenements", "jour_suivant"), ("compte_52_semaines", "semaine_suivante")]
    assert (
        marked.filter(~pl.col("champion"))["champion_pourquoi"].null_count()
        == marked.filter(~pl.col("champion")).height
    )


def test_beats_references_fails_for_a_predictor_that_loses():
    bt = backtest({"compte_52_semaines": BASE, "derniere_periode": BASE - 0.1, "hotspot_retrospectif": BASE - 0.01})
    ok, detail = CH.beats_references(
        bt, "derniere_periode", "jour_suivant", "all", 0.05, ["compte_52_semaines", "hotspot_retrospectif"]
    )
    assert not ok and detail["compte_52_semaines"]["p_reference_meilleure"] < 0.05
    ok, _ = CH.beats_references(
        bt,
        "compte_52_semaines",
        "jour_suivant",
        "all",
        0.05,
        ["compte_52_semaines", "hotspot_retrospectif", "derniere_periode"],
    )
    assert ok
    imposed = CH.decide(
        bt, "jour_suivant", "all", 0.05, ["compte_52_semaines", "derniere_periode"], [], imposed="derniere_periode"
    )
    assert imposed["predictor"] == "derniere_periode" and imposed["imposed"] and "imposé" in imposed["pourquoi"]


def test_the_published_reason_names_predictors_in_french_with_a_decimal_comma():
    """The champion's reason is shown to managers on Prévisions and the Fiche du modèle: words, not codes."""
    noise = RNG.normal(0, 0.02, len(ORIGINS))
    bt = backtest(
        {
            "compte_52_semaines": BASE,
            "hotspot_retrospectif": BASE - 0.02,
            "lgbm_sans_evenements": BASE + 0.003 + noise - noise.mean(),
        }
    )
    why = champions(bt, BacktestConfig(), ["all"])["pourquoi"].to_list()
    assert why and all("Compte des 52 dernières semaines" in w for w in why)
    assert not any(code in w for w in why for code in ("compte_52_semaines", "lgbm_sans_evenements"))
    assert all(re.search(r"\d,\d %", w) and not re.search(r"\d\.\d %", w) for w in why)
