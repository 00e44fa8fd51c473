"""The backtest the public may read (issue 13): the model card's figures, from the City's data only.

`models.backtest` holds one row per predictor × category × horizon × origin × coverage, and each
row the conventions of the data that entered it (the predictor's training rows and the planned
records its forecasts read: `forecasting.conventions`). The Préfecture's records reach the
predictors that read planned events, so the table mixes conventions and stays closed to the
public. Its public aggregate keeps:

* only the predictors whose EVERY backtest row comes from the kept conventions (the City's): a
  predictor with one row drawn from another convention — or a row with no or an unknown
  convention — is left out whole, never averaged over its "clean" origins only;
* all facts (`category` = all), one row per predictor × horizon: the mean hit rate over the origins
  at 1, 5, 10 and 20 % of the area (NaN origins — no fact in the period — left out), the number of
  origins and their span; no cell, no origin, no category;
* the champion by the honest rule (`forecasting.champion`) among these predictors only, with its
  reason in French words (`labels.MODEL_LABELS`) — the rule that chooses the predictor the City's
  own forecast uses (`backtest.choose_champion(within=…)`), applied at every champion horizon.
"""

from __future__ import annotations

from typing import Iterable

import polars as pl

from tranquillite.forecasting import champion as CH
from tranquillite.forecasting.backtest import BASELINES, CHAMPION_HORIZONS, HORIZONS, LEARNED, ORACLE
from tranquillite.forecasting.labels import MODEL_LABELS
from tranquillite.forecasting.metrics import COVERAGES
from tranquillite.forecasting.study_area import ALL

CHAMPION_COVERAGE = 0.05
KIND_REFERENCE, KIND_LEARNED, KIND_ORACLE = "reference", "appris", "oracle"


def hit_column(coverage: float) -> str:
    return f"hit_rate_{int(round(coverage * 100))}"


SCHEMA = {
    "model": pl.Utf8,
    "predictor_kind": pl.Utf8,
    "horizon": pl.Utf8,
    **{hit_column(c): pl.Float64 for c in COVERAGES},
    "n_origins": pl.Int64,
    "first_origin": pl.Datetime("us"),
    "last_origin": pl.Datetime("us"),
    "champion": pl.Boolean,
    "champion_pourquoi": pl.Utf8,
    "conventions": pl.List(pl.Utf8),
}


def only_within(kept: Iterable[str]) -> pl.Expr:
    """A row whose conventions are all kept (a non-empty list, no NULL element)."""
    k = sorted(kept)
    c = pl.col("conventions")
    return ((c.list.len() > 0) & c.list.eval(pl.element().is_not_null() & pl.element().is_in(k)).list.all()).fill_null(
        False
    )


def eligible_models(backtest: pl.DataFrame, kept: Iterable[str]) -> list[str]:
    """The predictors every row of which comes from the kept conventions (sorted)."""
    if backtest.height == 0:
        return []
    ok = backtest.group_by("model").agg(only_within(kept).all().alias("ok")).filter(pl.col("ok"))
    return sorted(ok["model"].to_list())


def _kind(model: str) -> str:
    return KIND_REFERENCE if model in BASELINES else KIND_ORACLE if model == ORACLE else KIND_LEARNED


def public_backtest(
    backtest: pl.DataFrame, kept: Iterable[str], alpha: float = CH.ALPHA, labels: dict[str, str] | None = None
) -> pl.DataFrame:
    """The public aggregate of the backtest (see the module docstring)."""
    kept = sorted(set(kept))
    models = eligible_models(backtest, kept)
    b = backtest.filter(pl.col("model").is_in(models) & (pl.col("category") == ALL) & pl.col("hit_rate").is_not_nan())
    if b.height == 0:
        return pl.DataFrame(schema=SCHEMA)
    cov = [
        pl.col("hit_rate").filter((pl.col("coverage") - c).abs() < 1e-9).mean().alias(hit_column(c)) for c in COVERAGES
    ]
    at5 = (pl.col("coverage") - CHAMPION_COVERAGE).abs() < 1e-9
    out = b.group_by("model", "horizon").agg(
        *cov,
        pl.col("origin").filter(at5).n_unique().cast(pl.Int64).alias("n_origins"),
        pl.col("origin").min().alias("first_origin"),
        pl.col("origin").max().alias("last_origin"),
        pl.col("conventions").explode().drop_nulls().unique().sort().alias("conventions"),
    )
    present = set(b["horizon"].unique().to_list())
    horizons = [h for h in CHAMPION_HORIZONS if h in present]
    table = (
        CH.champion_table(
            b,
            horizons,
            [ALL],
            CHAMPION_COVERAGE,
            [m for m in BASELINES if m in models],
            [m for m in LEARNED if m in models],
            alpha,
            labels=labels or MODEL_LABELS,
        )
        if horizons
        else pl.DataFrame(schema=CH.CHAMPION_SCHEMA)
    )
    champ = table.filter(pl.col("predictor").is_not_null()).select(
        pl.col("predictor").alias("model"),
        "horizon",
        pl.lit(True).alias("champion"),
        pl.col("pourquoi").alias("champion_pourquoi"),
    )
    order = {h: i for i, h in enumerate(HORIZONS)}
    return (
        out.join(champ, on=["model", "horizon"], how="left")
        .with_columns(
            pl.col("champion").fill_null(False),
            pl.col("model").replace_strict({m: _kind(m) for m in models}, return_dtype=pl.Utf8).alias("predictor_kind"),
            pl.col("horizon").replace_strict(order, default=len(order), return_dtype=pl.Int64).alias("_h"),
        )
        .sort(["_h", hit_column(CHAMPION_COVERAGE), "model"], descending=[False, True, False])
        .select(list(SCHEMA))
        .cast(SCHEMA)
    )
