"""The anticipatory tension index of each cell for each coming shift, with its reasons.

Five components, each in [0, 1], for cell c and shift s:

* `significativite` — the cell was a significant hot spot (q < α) in the latest complete week:
  min(z, z_cap) / z_cap, else 0 (Gi*, category `toutes` by default);
* `tendance` — the score of its emerging class (weekly): 1 for an intensifying hot spot, 0.9
  new or consecutive, 0.8 persistent, 0.5 sporadic or oscillating, 0.4 diminishing, 0.2
  historical, 0 otherwise (`IndicatorSettings.trend_scores`);
* `prevision` — the upper bound of the forecast's 95 % interval for (c, s) (`models.forecast`,
  category `all`), divided by its 99th percentile over the grid and the horizon, capped at 1;
* `evenements` — the planned events active on c during s: min(1, Σ source weight × attendance
  factor), the attendance factor being log(1 + n) / log(1 + 50,000) clipped to [0.2, 1] (0.5
  when unknown);
* `concurrence` — min(1, (number of distinct events − 1) / 2): two events 0.5, three or more 1.

index = 100 × Σ w_k × component_k / Σ w_k over the available components (without a published
forecast, `prevision` and its weight are left out). Components are capped at 1, so several cells
can share the top value: `rank` orders the cells of each shift without ties, by the index and then
the uncapped numbers behind it (z-score, forecast bound and expectation, planned events). Each row keeps the components, their
contributions (points of index), the underlying numbers (z, q, class, forecast, event ids) and a
French sentence saying why the cell is tense.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from tranquillite.forecasting.conventions import union_rows
from tranquillite.indicators.alerts import fmt_q
from tranquillite.indicators.config import TensionParams
from tranquillite.indicators.emerging import EMERGING_CLASSES
from tranquillite.indicators.periods import EPOCH, Shifts
from tranquillite.indicators.planned import RECORD_NAMES

COMPONENTS = ("significativite", "tendance", "prevision", "evenements", "concurrence")
LEVELS = ("faible", "moderee", "elevee", "tres_elevee")
TENSION_SCHEMA = {
    "h3_cell": pl.Utf8,
    "arrondissement": pl.Utf8,
    "quartier": pl.Utf8,
    "slot": pl.Int64,
    "slot_start": pl.Datetime("us"),
    "slot_end": pl.Datetime("us"),
    "day": pl.Date,
    "shift": pl.Utf8,
    "index": pl.Float64,
    "level": pl.Utf8,
    "rank": pl.Int32,
    **{f"c_{c}": pl.Float64 for c in COMPONENTS},
    **{f"contribution_{c}": pl.Float64 for c in COMPONENTS},
    "hotspot_period": pl.Utf8,
    "z": pl.Float64,
    "q": pl.Float64,
    "emerging_class": pl.Utf8,
    "forecast_expected": pl.Float64,
    "forecast_upper_95": pl.Float64,
    "n_events": pl.Int32,
    "event_ids": pl.List(pl.Utf8),
    "conventions": pl.List(pl.Utf8),
    "explanation": pl.Utf8,
    "as_of": pl.Datetime("us"),
}


def attendance_factor(att: pl.Expr, p: TensionParams) -> pl.Expr:
    f = ((att.cast(pl.Float64) + 1).log() / np.log1p(p.attendance_reference)).clip(p.attendance_floor, 1.0)
    return pl.when(att.is_null() | (att <= 0)).then(pl.lit(p.attendance_unknown)).otherwise(f)


def _fmt_int(expr: pl.Expr) -> pl.Expr:
    return expr.round(0).cast(pl.Int64).cast(pl.Utf8)


def tension_index(
    grid: pl.DataFrame,
    slots: list[int],
    shifts: Shifts,
    p: TensionParams,
    *,
    latest: pl.DataFrame | None,
    emerging: pl.DataFrame | None,
    forecast: pl.DataFrame | None,
    active: pl.DataFrame | None,
    as_of=None,
    observed_conventions: list[str] | None = None,
) -> pl.DataFrame:
    """Tension of every grid cell × slot.

    * `latest`: one row per cell of the latest complete period's Gi* (h3_cell, period, z, q,
      significant) for the tension category;
    * `emerging`: h3_cell, class_code (weekly, tension category);
    * `forecast`: h3_cell, slot, expected, upper_95 (already restricted to the category), or None;
    * `active`: planned footprints × slots (event_id, source, subcategory, attendance,
      convention, h3_cell, slot) from `planned.active_slots`;
    * `observed_conventions`: the conventions of the grid, hot spots and emerging classes (default
      the City's).

    Each row's `conventions`: the observed ones, those of its forecast rows (a `conventions` column
    of `forecast`) and those of the planned records active on it.
    """
    base = grid.select("h3_cell", "arrondissement", "quartier").join(
        pl.DataFrame({"slot": np.asarray(slots, dtype=np.int64)}), how="cross"
    )
    # observed significance (latest complete week)
    if latest is not None and latest.height:
        obs = latest.select(
            "h3_cell",
            pl.col("period").alias("hotspot_period"),
            "z",
            "q",
            pl.when(pl.col("significant") & (pl.col("z") > 0))
            .then((pl.col("z") / p.z_cap).clip(0.0, 1.0))
            .otherwise(0.0)
            .alias("c_significativite"),
        )
        base = base.join(obs, on="h3_cell", how="left")
    else:
        base = base.with_columns(
            pl.lit(None, pl.Utf8).alias("hotspot_period"),
            pl.lit(None, pl.Float64).alias("z"),
            pl.lit(None, pl.Float64).alias("q"),
            pl.lit(0.0).alias("c_significativite"),
        )
    # trend (emerging class)
    if emerging is not None and emerging.height:
        em = emerging.select("h3_cell", pl.col("class_code").alias("emerging_class"))
        base = base.join(em, on="h3_cell", how="left")
    else:
        base = base.with_columns(pl.lit(None, pl.Utf8).alias("emerging_class"))
    base = base.with_columns(
        pl.col("emerging_class")
        .replace_strict(p.trend_scores, default=0.0, return_dtype=pl.Float64)
        .alias("c_tendance")
    )
    # forecast
    has_forecast = forecast is not None and forecast.height > 0
    if has_forecast:
        fc_conv = (
            [
                pl.col("conventions")
                .list.explode(keep_nulls=False, empty_as_null=False)
                .unique()
                .sort()
                .alias("_fc_conv")
            ]
            if "conventions" in forecast.columns
            else []
        )
        f = forecast.group_by("h3_cell", "slot").agg(
            pl.col("expected").sum().alias("forecast_expected"),
            pl.col("upper_95").max().alias("forecast_upper_95"),
            *fc_conv,
        )
        cap = float(f["forecast_upper_95"].quantile(p.forecast_cap_quantile) or 0.0)
        cap = cap if cap > 0 else 1.0
        base = base.join(f, on=["h3_cell", "slot"], how="left").with_columns(
            (pl.col("forecast_upper_95").fill_null(0.0) / cap).clip(0.0, 1.0).alias("c_prevision")
        )
    else:
        base = base.with_columns(
            pl.lit(None, pl.Float64).alias("forecast_expected"),
            pl.lit(None, pl.Float64).alias("forecast_upper_95"),
            pl.lit(0.0).alias("c_prevision"),
        )
    # planned events
    if active is not None and active.height:
        ev = active.unique(["event_id", "h3_cell", "slot"]).with_columns(
            (
                pl.col("source").replace_strict(p.source_weights, default=0.5, return_dtype=pl.Float64)
                * attendance_factor(pl.col("attendance"), p)
            ).alias("_score"),
            pl.concat_str(
                pl.col("source").replace_strict(RECORD_NAMES, default=pl.col("source")),
                pl.when(pl.col("subcategory").is_not_null())
                .then(pl.concat_str(pl.lit(" « "), pl.col("subcategory"), pl.lit(" »")))
                .otherwise(pl.lit("")),
                pl.when(pl.col("attendance") > 0)
                .then(pl.concat_str(pl.lit(" ("), pl.col("attendance").cast(pl.Utf8), pl.lit(" pers.)")))
                .otherwise(pl.lit("")),
            ).alias("_label"),
        )
        agg = (
            ev.sort("event_id")
            .group_by("h3_cell", "slot")
            .agg(
                pl.col("_score").sum().clip(0.0, 1.0).alias("c_evenements"),
                pl.col("event_id").n_unique().cast(pl.Int32).alias("n_events"),
                pl.col("event_id").alias("event_ids"),
                pl.col("_label").alias("_labels"),
                pl.col("convention").drop_nulls().unique().sort().alias("_ev_conv"),
            )
        )
        base = base.join(agg, on=["h3_cell", "slot"], how="left")
    else:
        base = base.with_columns(
            pl.lit(None, pl.Float64).alias("c_evenements"),
            pl.lit(None, pl.Int32).alias("n_events"),
            pl.lit(None, pl.List(pl.Utf8)).alias("event_ids"),
            pl.lit(None, pl.List(pl.Utf8)).alias("_labels"),
            pl.lit(None, pl.List(pl.Utf8)).alias("_ev_conv"),
        )
    base = base.with_columns(
        pl.col("c_evenements").fill_null(0.0),
        pl.col("n_events").fill_null(0),
        pl.col("event_ids").fill_null([]),
        pl.col("_labels").fill_null([]),
        pl.col("_ev_conv").fill_null([]),
    )
    base = base.with_columns(((pl.col("n_events") - 1).clip(0, None) / 2.0).clip(0.0, 1.0).alias("c_concurrence"))
    base = base.with_columns(pl.col(f"c_{c}").fill_null(0.0) for c in COMPONENTS)
    # index
    weights = {c: float(p.weights.get(c, 0.0)) for c in COMPONENTS}
    if not has_forecast:
        weights["prevision"] = 0.0
    total = sum(weights.values()) or 1.0
    base = base.with_columns(
        (pl.col(f"c_{c}") * (100.0 * weights[c] / total)).alias(f"contribution_{c}") for c in COMPONENTS
    )
    base = base.with_columns(pl.sum_horizontal([f"contribution_{c}" for c in COMPONENTS]).alias("index"))
    t1, t2, t3 = (list(p.levels) + [20.0, 40.0, 60.0])[:3]
    base = base.with_columns(
        pl.when(pl.col("index") >= t3)
        .then(pl.lit(LEVELS[3]))
        .when(pl.col("index") >= t2)
        .then(pl.lit(LEVELS[2]))
        .when(pl.col("index") >= t1)
        .then(pl.lit(LEVELS[1]))
        .otherwise(pl.lit(LEVELS[0]))
        .alias("level"),
        shifts.start_expr(pl.col("slot")).alias("slot_start"),
        shifts.start_expr(pl.col("slot") + 1).alias("slot_end"),
        (pl.col("slot") // shifts.n).cast(pl.Int32).alias("_d"),
        shifts.label(pl.col("slot")).alias("shift"),
    ).with_columns((pl.lit(EPOCH) + pl.duration(days=pl.col("_d"))).cast(pl.Date).alias("day"))
    conv_obs = sorted(observed_conventions or ["internal"])
    base = base.with_columns(
        union_rows(base, [c for c in ("_fc_conv", "_ev_conv") if c in base.columns], conv_obs).alias("conventions")
    )
    base = base.with_columns(
        _explanation().alias("explanation"),
        pl.lit(as_of, dtype=pl.Datetime("us")).alias("as_of"),
    )
    return rank_within_slot(base).select([pl.col(k).cast(v) for k, v in TENSION_SCHEMA.items()]).sort("slot", "h3_cell")


# ties of the index (components capped at 1: several cells at the same value) are broken by the
# uncapped numbers behind the components, most telling first
TIE_BREAK = (
    ("index", True),
    ("z", True),
    ("forecast_upper_95", True),
    ("forecast_expected", True),
    ("n_events", True),
    ("h3_cell", False),
)


def rank_within_slot(df: pl.DataFrame) -> pl.DataFrame:
    """`rank`: 1 for the most tense cell of each shift, no two cells of a shift sharing a rank —
    by index, then the Gi* z-score, the forecast's upper bound, its expectation, the number of
    planned events (a missing number ranks last), the cell id last for a stable order."""
    cols = [c for c, _ in TIE_BREAK]
    ordered = df.sort(["slot", *cols], descending=[False, *[d for _, d in TIE_BREAK]], nulls_last=True)
    return ordered.with_columns(pl.int_range(1, pl.len() + 1).over("slot").cast(pl.Int32).alias("rank"))


def _explanation() -> pl.Expr:
    labels = {k: v[0] for k, v in EMERGING_CLASSES.items()}
    parts = [
        pl.when(pl.col("c_significativite") > 0).then(
            pl.concat_str(
                pl.lit("point chaud significatif en "),
                pl.col("hotspot_period"),
                pl.lit(" (z = "),
                pl.col("z").round(1).cast(pl.Utf8),
                pl.lit(", q "),
                fmt_q(pl.col("q")),
                pl.lit(")"),
            )
        ),
        pl.when(pl.col("c_tendance") > 0).then(
            pl.concat_str(
                pl.lit("tendance : "),
                pl.col("emerging_class").replace_strict(labels, default=pl.col("emerging_class")).str.to_lowercase(),
            )
        ),
        pl.when(pl.col("c_prevision") > 0).then(
            pl.concat_str(
                pl.lit("prévision : "),
                pl.col("forecast_expected").round(1).cast(pl.Utf8),
                pl.lit(" faits attendus, jusqu'à "),
                _fmt_int(pl.col("forecast_upper_95")),
                pl.lit(" (borne haute 95 %)"),
            )
        ),
        pl.when(pl.col("n_events") > 0).then(
            pl.concat_str(
                pl.col("n_events").cast(pl.Utf8), pl.lit(" événement(s) prévu(s) : "), pl.col("_labels").list.join(", ")
            )
        ),
        pl.when(pl.col("n_events") > 1).then(pl.lit("événements simultanés sur la cellule")),
    ]
    text = pl.concat_list(parts).list.drop_nulls().list.join(" ; ")
    return (
        pl.when(text == "")
        .then(pl.lit("aucun facteur de tension"))
        .otherwise(
            pl.concat_str(
                pl.lit("Indice "), pl.col("index").round(0).cast(pl.Int64).cast(pl.Utf8), pl.lit("/100 : "), text
            )
        )
    )
