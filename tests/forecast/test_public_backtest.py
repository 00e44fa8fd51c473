"""The public aggregate of the backtest (issue 13, `forecasting.public_backtest`): which predictors it
keeps, by each row's lineage, and the means it publishes. The whole chain on a real materialisation:
tests/forecast/test_materialize.py."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from tranquillite.forecasting import public_backtest as PB

T0 = datetime(2025, 1, 6)


def _rows(
    model: str,
    rates: list[float],
    conventions: list[list[str] | None],
    horizon: str = "jour_suivant",
    category: str = "all",
) -> list[dict]:
    return [
        {
            "model": model,
            "category": category,
            "horizon": horizon,
            "origin": T0 + timedelta(weeks=k),
            "coverage": c,
            "hit_rate": r * (1 + c),
            "conventions": conv,
        }
        for k, (r, conv) in enumerate(zip(rates, conventions))
        for c in (0.01, 0.05, 0.10, 0.20)
    ]


def _frame(*parts: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(
        [r for p in parts for r in p],
        schema={
            "model": pl.Utf8,
            "category": pl.Utf8,
            "horizon": pl.Utf8,
            "origin": pl.Datetime("us"),
            "coverage": pl.Float64,
            "hit_rate": pl.Float64,
            "conventions": pl.List(pl.Utf8),
        },
    )


CITY = [["internal"]] * 4


def test_a_predictor_with_one_row_of_another_convention_is_left_out_whole():
    bt = _frame(
        _rows("compte_52_semaines", [0.30, 0.32, 0.31, 0.33], CITY),
        # one origin read a Préfecture record: its three City-only origins are not kept either
        _rows(
            "lgbm_avec_evenements",
            [0.40, 0.41, 0.42, 0.43],
            [["internal"], ["internal", "prefecture_police_13"], ["internal"], ["internal"]],
        ),
        _rows("glm_poisson", [0.20, 0.21, 0.22, 0.23], [["internal"], [], ["internal"], ["internal"]]),
        _rows("sepp", [0.29, 0.30, 0.30, 0.31], [["internal"], ["internal", None], ["internal"], ["internal"]]),
        _rows("hotspot_retrospectif", [0.25] * 4, CITY),
    )
    out = PB.public_backtest(bt, ["internal"])
    assert sorted(out["model"]) == ["compte_52_semaines", "hotspot_retrospectif"]  # no, empty or unknown lineage
    assert set(out["conventions"].explode()) == {"internal"}


def test_the_means_over_the_origins_leave_out_the_origins_with_no_fact_and_the_categories():
    bt = _frame(
        _rows("compte_52_semaines", [0.30, float("nan"), 0.34, 0.32], CITY),
        _rows("compte_52_semaines", [0.9] * 4, CITY, category="signalements"),
        _rows("hotspot_retrospectif", [0.20, 0.22, 0.21, 0.23], CITY),
        _rows("glm_poisson", [0.25, 0.27, 0.26, 0.28], CITY),
    )
    out = PB.public_backtest(bt, ["internal"])
    row = out.filter(pl.col("model") == "compte_52_semaines").row(0, named=True)
    assert row["hit_rate_5"] == pytest.approx((0.30 + 0.34 + 0.32) / 3 * 1.05)
    assert row["hit_rate_20"] == pytest.approx((0.30 + 0.34 + 0.32) / 3 * 1.20)
    assert row["n_origins"] == 3 and row["first_origin"] == T0 and row["last_origin"] == T0 + timedelta(weeks=3)
    # the champion by the honest rule among these predictors, its reason in words
    assert out.filter(pl.col("champion"))["model"].to_list() == ["compte_52_semaines"]
    assert row["predictor_kind"] == "reference" and "Compte des 52 dernières semaines" in row["champion_pourquoi"]
    assert out.filter(pl.col("model") == "glm_poisson")["predictor_kind"].to_list() == ["appris"]
    assert out.select("model", "horizon").is_unique().all() and "origin" not in out.columns


def test_an_empty_backtest_gives_an_empty_table_with_its_columns():
    out = PB.public_backtest(_frame(), ["internal"])
    assert out.height == 0 and list(out.schema) == list(PB.SCHEMA)
