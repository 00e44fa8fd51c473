"""Alerts: what managers must look at now, each with a stable id, a severity, a French
explanation and the records behind it.

Kinds (`kind`):

* `depassement_prevision` — a cell (≥ 3 facts) or an arrondissement (≥ 5 facts) whose observed
  count in a recent shift exceeds the upper bound of the 95 % interval of its forecast
  (`models.forecast` when it covers the shift; otherwise the platform's reference: the mean of
  the same shift over the previous 8 weeks, with a Poisson 95 % interval);
* `nouveau_point_chaud` — a cell × category that is a significant hot spot in the latest
  complete week and was not one in any of the 4 weeks before;
* `collision_manifestation_evenement` — a demonstration (route or footprint) active on the
  perimeter of a public event (match, concert…) or an official visit at the same time;
* `chevauchement_evenements` — any other two planned events active on a shared cell at the
  same time.

Window: shifts observed in the `lookback_days` before the analysis instant (exceedances), the
latest complete week (hot spots), planned events active from `lookback_days` before to
`horizon_days` after it (collisions). `alert_id` is a hash of what identifies the situation
(kind, place, category, time, records), so a rerun gives the same ids and the sensor raises each
alert once.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import polars_h3 as plh3

from tranquillite.indicators.config import AlertParams
from tranquillite.indicators.emerging import EMERGING_CLASSES
from tranquillite.indicators.periods import Shifts
from tranquillite import sources as S
from tranquillite.indicators.planned import DEMONSTRATIONS, RECORD_NAMES

ALERT_KINDS = {
    "depassement_prevision": "Dépassement de la prévision",
    "nouveau_point_chaud": "Nouveau point chaud significatif",
    "collision_manifestation_evenement": "Manifestation sur le périmètre d'un événement",
    "chevauchement_evenements": "Événements prévus simultanés sur les mêmes cellules",
}
SEVERITY_RANK = {"elevee": 0, "moyenne": 1, "faible": 2}
GROUP_LABELS = {
    "all": "tous faits",
    **{code: S.labels()[code][:1].lower() + S.labels()[code][1:] for code in S.fact_sources()},
}
ALERT_SCHEMA = {
    "alert_id": pl.Utf8,
    "kind": pl.Utf8,
    "kind_label": pl.Utf8,
    "severity": pl.Utf8,
    "area_level": pl.Utf8,
    "area": pl.Utf8,
    "h3_cell": pl.Utf8,
    "arrondissement": pl.Utf8,
    "category": pl.Utf8,
    "starts_at": pl.Datetime("us"),
    "ends_at": pl.Datetime("us"),
    "reference": pl.Utf8,
    "value": pl.Float64,
    "threshold": pl.Float64,
    "explanation": pl.Utf8,
    "event_ids": pl.List(pl.Utf8),
    "n_records": pl.Int64,
    "conventions": pl.List(pl.Utf8),
    "as_of": pl.Datetime("us"),
}


def alert_id(*parts) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:16]


def _ids(df: pl.DataFrame, *cols: str) -> pl.Series:
    return pl.Series([alert_id(*r) for r in df.select(cols).iter_rows()], dtype=pl.Utf8)


def _finish(df: pl.DataFrame, as_of: datetime | None) -> pl.DataFrame:
    if df.height == 0:
        return pl.DataFrame(schema=ALERT_SCHEMA)
    df = df.with_columns(
        pl.col("kind").replace_strict(ALERT_KINDS).alias("kind_label"),
        pl.lit(as_of, dtype=pl.Datetime("us")).alias("as_of"),
    )
    for k, v in ALERT_SCHEMA.items():
        if k not in df.columns:
            df = df.with_columns(pl.lit(None, v).alias(k))
    return df.select([pl.col(k).cast(v) for k, v in ALERT_SCHEMA.items()])


def fmt_q(q: pl.Expr) -> pl.Expr:
    """'= 0.0123' or '< 0.0001' (for explanations)."""
    return pl.when(q < 1e-4).then(pl.lit("< 0.0001")).otherwise(pl.concat_str(pl.lit("= "), q.round(4).cast(pl.Utf8)))


def _fr_dt(expr: pl.Expr) -> pl.Expr:
    return expr.dt.strftime("%d/%m/%Y %Hh%M")


# --------------------------------------------------------------------------- new hot spots
def hotspot_rows_read(hot: pl.LazyFrame, params: AlertParams) -> pl.DataFrame:
    """The rows of `indicators.hotspots` that `new_hotspot_alerts` reads: the complete weekly maps of
    the latest week and of the `quiet_periods` weeks before (not every map of the history)."""
    weekly = hot.filter((pl.col("period_level") == "semaine") & pl.col("complete"))
    weeks = weekly.select(pl.col("period_start").unique()).collect().to_series().sort()
    return weekly.filter(pl.col("period_start").is_in(weeks.tail(params.quiet_periods + 1).implode())).collect()


def new_hotspot_alerts(
    hot: pl.DataFrame,
    emerging: pl.DataFrame | None,
    facts: pl.DataFrame,
    *,
    k: int,
    params: AlertParams,
    category_labels: dict[str, str],
    all_code: str,
    as_of: datetime | None = None,
) -> pl.DataFrame:
    """Cells × categories significantly hot in the latest complete week and in none of the
    `quiet_periods` complete weeks before. `facts`: event_id, h3_cell, category, start."""
    w = hot.filter((pl.col("period_level") == "semaine") & pl.col("complete"))
    weeks = w["period_start"].unique().sort()
    if weeks.len() == 0:
        return _finish(pl.DataFrame(), as_of)
    last = weeks[-1]
    before = weeks.filter(weeks < last).tail(params.quiet_periods)
    now = w.filter((pl.col("period_start") == last) & pl.col("significant") & (pl.col("z") > 0))
    if before.len():
        prior = (
            w.filter(pl.col("period_start").is_in(before.implode()) & pl.col("significant") & (pl.col("z") > 0))
            .select("h3_cell", "category")
            .unique()
        )
        now = now.join(prior, on=["h3_cell", "category"], how="anti")
    if now.height == 0:
        return _finish(pl.DataFrame(), as_of)
    if emerging is not None and emerging.height:
        em = emerging.filter(pl.col("period_level") == "semaine").select("h3_cell", "category", "class_code")
        now = now.join(em, on=["h3_cell", "category"], how="left")
    else:
        now = now.with_columns(pl.lit(None, pl.Utf8).alias("class_code"))
    # the facts behind: those of the category, that week, in the cell's neighbourhood
    end = now["period_start"][0] + timedelta(days=7)
    nb = now.select("h3_cell", "category", plh3.grid_disk("h3_cell", k).alias("nb")).explode("nb")
    f = facts.filter(pl.col("start").cast(pl.Date).is_between(last, end - timedelta(days=1)))
    f_cat = f.select("event_id", pl.col("h3_cell").alias("nb"), "category", "start")
    f_all = f.select("event_id", pl.col("h3_cell").alias("nb"), pl.lit(all_code).alias("category"), "start")
    behind = (
        nb.join(pl.concat([f_cat, f_all]), on=["nb", "category"], how="inner")
        .sort("start", "event_id")
        .group_by("h3_cell", "category")
        .agg(pl.col("event_id").head(params.max_records).alias("event_ids"), pl.len().alias("n_records"))
    )
    now = now.join(behind, on=["h3_cell", "category"], how="left")
    labels = {kk: v[0].lower() for kk, v in EMERGING_CLASSES.items()}
    strong = (pl.col("z") >= 3.29) | pl.col("class_code").is_in(
        ["point_chaud_nouveau", "point_chaud_consecutif", "point_chaud_intensification"]
    )
    out = now.with_columns(
        pl.lit("nouveau_point_chaud").alias("kind"),
        pl.when(strong).then(pl.lit("elevee")).otherwise(pl.lit("moyenne")).alias("severity"),
        pl.lit("cellule").alias("area_level"),
        pl.col("h3_cell").alias("area"),
        pl.col("period_start").cast(pl.Datetime("us")).alias("starts_at"),
        (pl.col("period_start").cast(pl.Datetime("us")) + pl.duration(days=7)).alias("ends_at"),
        pl.concat_str(pl.lit("Gi* semaine "), pl.col("period")).alias("reference"),
        pl.col("local_sum").alias("value"),
        pl.col("expected").alias("threshold"),
        (pl.col("conventions") if "conventions" in now.columns else pl.lit(["internal"])).alias("conventions"),
        pl.col("event_ids").fill_null([]),
        pl.col("n_records").fill_null(0),
    ).with_columns(
        pl.concat_str(
            pl.lit("Nouveau point chaud « "),
            pl.col("category").replace_strict(category_labels, default=pl.col("category")),
            pl.lit(" » en "),
            pl.col("period"),
            pl.lit(" : "),
            pl.col("local_sum").round(0).cast(pl.Int64).cast(pl.Utf8),
            pl.lit(f" faits dans le voisinage (k = {k}) pour "),
            pl.col("expected").round(1).cast(pl.Utf8),
            pl.lit(" attendus (z = "),
            pl.col("z").round(1).cast(pl.Utf8),
            pl.lit(", q "),
            fmt_q(pl.col("q")),
            pl.lit(f") ; aucun point chaud significatif les {before.len()} semaines précédentes"),
            pl.when(pl.col("class_code").is_not_null())
            .then(
                pl.concat_str(
                    pl.lit(" ; motif émergent : "),
                    pl.col("class_code").replace_strict(labels, default=pl.col("class_code")),
                )
            )
            .otherwise(pl.lit("")),
            pl.lit("."),
        ).alias("explanation")
    )
    out = out.with_columns(_ids(out, "kind", "category", "period", "h3_cell").alias("alert_id"))
    return _finish(out, as_of)


# --------------------------------------------------------------------------- exceedances
def _observed(facts: pl.DataFrame, shifts: Shifts, first_slot: int, last_slot: int, key: str) -> pl.DataFrame:
    f = facts.with_columns(shifts.slot_expr(pl.col("start")).alias("slot"))
    f = f.filter(pl.col("slot").is_between(first_slot, last_slot) & pl.col(key).is_not_null())
    if "convention" not in f.columns:  # facts without their convention: the City's sources
        f = f.with_columns(pl.lit("internal").alias("convention"))
    conv = pl.col("convention").drop_nulls().unique().sort().alias("_obs_conv")
    per = f.group_by(key, "source", "slot").agg(pl.len().alias("n"), pl.col("event_id").sort().alias("ids"), conv)
    tot = (
        f.group_by(key, "slot")
        .agg(pl.len().alias("n"), pl.col("event_id").sort().alias("ids"), conv)
        .with_columns(pl.lit("all").alias("source"))
    )
    return pl.concat([per, tot.select(per.columns)]).rename({"source": "group"})


def _baseline(facts: pl.DataFrame, cand: pl.DataFrame, shifts: Shifts, weeks: int, key: str) -> pl.DataFrame:
    """Mean count of the same shift over the `weeks` previous weeks, for each candidate row."""
    per_week = 7 * shifts.n
    lo = int(cand["slot"].min()) - weeks * per_week
    f = facts.with_columns(shifts.slot_expr(pl.col("start")).alias("slot")).filter(pl.col("slot") >= lo)
    counts = pl.concat(
        [
            f.group_by(key, "source", "slot").len().rename({"source": "group"}),
            f.group_by(key, "slot")
            .len()
            .with_columns(pl.lit("all").alias("group"))
            .select(key, "group", "slot", "len"),
        ]
    )
    lags = (
        cand.select(key, "group", "slot")
        .join(pl.DataFrame({"w": np.arange(1, weeks + 1)}), how="cross")
        .with_columns((pl.col("slot") - pl.col("w") * per_week).alias("ref"))
    )
    got = lags.join(counts.rename({"slot": "ref"}), on=[key, "group", "ref"], how="left")
    return got.group_by(key, "group", "slot").agg((pl.col("len").fill_null(0).sum() / weeks).alias("mu"))


def exceedance_alerts(
    facts: pl.DataFrame,
    shifts: Shifts,
    *,
    as_of: datetime,
    params: AlertParams,
    forecast: pl.DataFrame | None = None,
    cell_zone: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Observed counts above the 95 % upper bound, per cell and per arrondissement, for each
    fact source and all of them (`all`), over the shifts of the last `lookback_days`.

    `facts`: event_id, source, start, h3_cell, arrondissement. `forecast`: h3_cell, category,
    slot, expected, upper_95 (optional; with `conventions`, those of each forecast row).
    `cell_zone`: h3_cell → arrondissement for the forecast. An alert's conventions: those of the
    facts counted, plus those of the forecast rows it was compared with."""
    from scipy import stats

    last_slot = shifts.slot_of(as_of - timedelta(microseconds=1))
    if shifts.start(last_slot + 1) > as_of:  # the shift in progress is not over
        last_slot -= 1
    first_slot = shifts.next_start(as_of - timedelta(days=params.lookback_days))
    if forecast is not None and "conventions" not in forecast.columns:
        forecast = forecast.with_columns(pl.lit([], dtype=pl.List(pl.Utf8)).alias("conventions"))
    frames = []
    for level, key, minimum in (
        ("cellule", "h3_cell", params.min_count_cell),
        ("arrondissement", "arrondissement", params.min_count_area),
    ):
        obs = _observed(facts, shifts, first_slot, last_slot, key).filter(pl.col("n") >= minimum)
        if obs.height == 0:
            continue
        ref = None
        if forecast is not None and forecast.height:
            fc = forecast.rename({"category": "group"})
            if level == "arrondissement":
                fc = (
                    (fc.join(cell_zone, on="h3_cell", how="inner") if "arrondissement" not in fc.columns else fc)
                    .group_by("arrondissement", "group", "slot")
                    .agg(
                        pl.col("expected").sum(),
                        pl.col("conventions").list.explode(keep_nulls=False, empty_as_null=False).unique().sort(),
                    )
                )
                fc = fc.with_columns(
                    pl.col("expected")
                    .map_batches(lambda s: pl.Series(stats.poisson.ppf(0.975, s.to_numpy()), dtype=pl.Float64))
                    .alias("upper_95")
                )
            ref = obs.join(
                fc.select(
                    key,
                    "group",
                    "slot",
                    pl.col("expected").alias("mu"),
                    "upper_95",
                    pl.col("conventions").alias("_fc_conv"),
                ),
                on=[key, "group", "slot"],
                how="inner",
            ).with_columns(pl.lit("la prévision (models.forecast)").alias("reference"))
        rest = obs if ref is None else obs.join(ref.select(key, "group", "slot"), on=[key, "group", "slot"], how="anti")
        if rest.height:
            b = rest.join(
                _baseline(facts, rest, shifts, params.baseline_weeks, key), on=[key, "group", "slot"], how="left"
            ).with_columns(pl.col("mu").fill_null(0.0))
            b = b.with_columns(
                pl.Series("upper_95", stats.poisson.ppf(0.975, b["mu"].to_numpy()), dtype=pl.Float64),
                pl.lit([], dtype=pl.List(pl.Utf8)).alias("_fc_conv"),
                pl.lit(f"la référence (moyenne des {params.baseline_weeks} mêmes créneaux précédents)").alias(
                    "reference"
                ),
            )
            ref = b if ref is None else pl.concat([ref, b.select(ref.columns)])
        hit = ref.filter(pl.col("n") > pl.col("upper_95"))
        if hit.height == 0:
            continue
        where = (
            pl.concat_str(pl.lit("dans la cellule "), pl.col(key))
            if level == "cellule"
            else pl.concat_str(pl.lit("dans l'arrondissement "), pl.col(key))
        )
        hit = hit.with_columns(
            pl.lit("depassement_prevision").alias("kind"),
            pl.lit(level).alias("area_level"),
            pl.col(key).alias("area"),
            (pl.col(key) if level == "cellule" else pl.lit(None, pl.Utf8)).alias("h3_cell"),
            (pl.col(key) if level == "arrondissement" else pl.lit(None, pl.Utf8)).alias("arrondissement"),
            pl.col("group").alias("category"),
            shifts.start_expr(pl.col("slot")).alias("starts_at"),
            shifts.start_expr(pl.col("slot") + 1).alias("ends_at"),
            pl.col("n").cast(pl.Float64).alias("value"),
            pl.col("upper_95").alias("threshold"),
            pl.when(pl.col("n") >= 2 * pl.col("upper_95").clip(1.0, None))
            .then(pl.lit("elevee"))
            .otherwise(pl.lit("moyenne"))
            .alias("severity"),
            pl.col("ids").list.head(params.max_records).alias("event_ids"),
            pl.col("n").cast(pl.Int64).alias("n_records"),
            pl.concat_list(pl.col("_obs_conv"), pl.col("_fc_conv"))
            .list.drop_nulls()
            .list.unique()
            .list.sort()
            .alias("conventions"),
        ).with_columns(
            pl.concat_str(
                pl.col("n").cast(pl.Utf8),
                pl.lit(" faits ("),
                pl.col("group").replace_strict(GROUP_LABELS, default=pl.col("group")),
                pl.lit(") "),
                where,
                pl.lit(" entre le "),
                _fr_dt(pl.col("starts_at")),
                pl.lit(" et le "),
                _fr_dt(pl.col("ends_at")),
                pl.lit(" : au-dessus de la borne haute 95 % ("),
                pl.col("upper_95").round(0).cast(pl.Int64).cast(pl.Utf8),
                pl.lit(") de "),
                pl.col("reference"),
                pl.lit(", "),
                pl.col("mu").round(1).cast(pl.Utf8),
                pl.lit(" attendus."),
            ).alias("explanation")
        )
        hit = hit.with_columns(_ids(hit, "kind", "area_level", "area", "category", "slot").alias("alert_id"))
        frames.append(_finish(hit, as_of))
    return pl.concat(frames) if frames else _finish(pl.DataFrame(), as_of)


# --------------------------------------------------------------------------- planned collisions
def collision_alerts(
    fp: pl.DataFrame, pairs: pl.DataFrame, zones: pl.DataFrame, *, as_of: datetime, params: AlertParams
) -> pl.DataFrame:
    """One alert per pair of planned records active at the same time on shared cells, from the
    analysis instant to `horizon_days` after it (collisions still to come or in progress)."""
    lo, hi = as_of, as_of + timedelta(days=params.horizon_days)
    p = pairs.filter((pl.col("overlap_to") > lo) & (pl.col("overlap_from") < hi))
    if p.height == 0:
        return _finish(pl.DataFrame(), as_of)
    p = p.join(zones.select("h3_cell", "arrondissement"), on="h3_cell", how="left")
    agg = p.group_by("pair_id", "event_a", "event_b", "source_a", "source_b").agg(
        pl.col("h3_cell").sort().alias("cells"),
        pl.col("arrondissement").drop_nulls().unique().sort().alias("arrs"),
        pl.col("overlap_from").min(),
        pl.col("overlap_to").max(),
    )
    rec = fp.unique("event_id").select(
        "event_id",
        "convention",
        "start",
        "end",
        pl.concat_str(
            pl.col("source").replace_strict(RECORD_NAMES, default=pl.col("source")),
            pl.when(pl.col("subcategory").is_not_null())
            .then(pl.concat_str(pl.lit(" « "), pl.col("subcategory"), pl.lit(" »")))
            .otherwise(pl.lit("")),
            pl.lit(" "),
            pl.col("event_id").str.split(":").list.last(),
            pl.when(pl.col("attendance") > 0)
            .then(pl.concat_str(pl.lit(", "), pl.col("attendance").cast(pl.Utf8), pl.lit(" pers.")))
            .otherwise(pl.lit("")),
            pl.lit(", "),
            pl.col("start").dt.strftime("%d/%m %Hh%M"),
            pl.lit("–"),
            pl.col("end").dt.strftime("%Hh%M"),
        ).alias("desc"),
        pl.col("attendance").fill_null(0).alias("att"),
    )
    for s in ("a", "b"):
        agg = agg.join(
            rec.rename({c: f"{c}_{s}" for c in rec.columns if c != "event_id"}).rename({"event_id": f"event_{s}"}),
            on=f"event_{s}",
            how="left",
        )
    demo_a = pl.col("source_a").is_in(DEMONSTRATIONS)
    demo_b = pl.col("source_b").is_in(DEMONSTRATIONS)
    target = ("evenements_publics", "visite_officielle")
    crossing = (demo_a & pl.col("source_b").is_in(target)) | (demo_b & pl.col("source_a").is_in(target))
    out = agg.with_columns(
        pl.when(crossing)
        .then(pl.lit("collision_manifestation_evenement"))
        .otherwise(pl.lit("chevauchement_evenements"))
        .alias("kind"),
        pl.when(crossing)
        .then(pl.lit("elevee"))
        .when(demo_a | demo_b)
        .then(pl.lit("moyenne"))
        .otherwise(pl.lit("faible"))
        .alias("severity"),
        pl.when(pl.col("arrs").list.len() == 1)
        .then(pl.lit("arrondissement"))
        .otherwise(pl.lit("ville"))
        .alias("area_level"),
        pl.when(pl.col("arrs").list.len() == 1)
        .then(pl.col("arrs").list.first())
        .otherwise(pl.lit("plusieurs"))
        .alias("area"),
        pl.col("cells").list.first().alias("h3_cell"),
        pl.col("arrs").list.first().alias("arrondissement"),
        pl.lit(None, pl.Utf8).alias("category"),
        pl.col("overlap_from").alias("starts_at"),
        pl.col("overlap_to").alias("ends_at"),
        pl.lit("emprises et horaires déclarés (marge comprise)").alias("reference"),
        pl.col("cells").list.len().cast(pl.Float64).alias("value"),
        pl.lit(None, pl.Float64).alias("threshold"),
        pl.concat_list("event_a", "event_b").alias("event_ids"),
        pl.lit(2, pl.Int64).alias("n_records"),
        pl.concat_list("convention_a", "convention_b").list.drop_nulls().list.unique().list.sort().alias("conventions"),
    ).with_columns(
        pl.concat_str(
            pl.when(pl.col("kind") == "collision_manifestation_evenement")
            .then(pl.lit("Manifestation sur le périmètre d'un événement : "))
            .otherwise(pl.lit("Événements simultanés : ")),
            pl.col("desc_a"),
            pl.lit(" et "),
            pl.col("desc_b"),
            pl.lit(" actifs en même temps sur "),
            pl.col("cells").list.len().cast(pl.Utf8),
            pl.lit(" cellule(s) commune(s) ("),
            pl.col("arrs").list.join(", "),
            pl.lit(") du "),
            _fr_dt(pl.col("starts_at")),
            pl.lit(" au "),
            _fr_dt(pl.col("ends_at")),
            pl.lit(" (marges d'une heure comprises)."),
        ).alias("explanation")
    )
    out = out.with_columns(_ids(out, "kind", "pair_id", "starts_at").alias("alert_id"))
    return _finish(out, as_of)


def sort_alerts(alerts: pl.DataFrame) -> pl.DataFrame:
    return (
        alerts.with_columns(pl.col("severity").replace_strict(SEVERITY_RANK, default=9).alias("_r"))
        .sort("_r", "starts_at", "alert_id")
        .drop("_r")
    )


# --------------------------------------------------------------------------- the sensor's logic
def new_alerts(alerts: pl.DataFrame | None, cursor: str | None, max_per_tick: int) -> tuple[pl.DataFrame, str]:
    """Alerts not raised yet (most severe first, at most `max_per_tick`) and the next cursor.

    The cursor holds the ids already raised that are still in the table (the table only keeps
    current alerts, so it stays small); when the table cannot be read nothing is forgotten."""
    raised = set(json.loads(cursor).get("raised", [])) if cursor else set()
    if alerts is None or alerts.height == 0:
        keep = raised if alerts is None else set()
        return pl.DataFrame(schema=ALERT_SCHEMA), json.dumps({"raised": sorted(keep)})
    fresh = sort_alerts(alerts.filter(~pl.col("alert_id").is_in(list(raised)))).head(max_per_tick)
    current = set(alerts["alert_id"].to_list())
    keep = (raised & current) | set(fresh["alert_id"].to_list())
    return fresh, json.dumps({"raised": sorted(keep)})
