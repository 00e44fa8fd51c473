"""Feedback-loop audit of the forecasts (issue 13): does the model predict policing rather than facts?

A model trained on police-initiated records sends patrols where the police already go, which then
produce more records (Lum & Isaac 2016, "To predict and serve?", Significance 13(5); Ensign et al.
2018, "Runaway feedback loops in predictive policing", FAT* / PMLR 81). This module audits it on
the City's own data, with a cheap honest forecaster — the trailing count (`baselines.trailing_count`):
cells ranked by their raw count over the last `window_weeks` weeks — trained on four streams:

* `signale`: the facts reported by others (citizens' reports, CSU alerts: `reported_sources`);
* `police`: the police-initiated records (the Police Municipale's main courante: `police_sources`);
* `police_initiative`: only their enforcement-driven categories (`enforcement_categories`);
* `police_sans_initiative`: the police's records without those categories (the mitigation).

For each weekly origin: the top `coverage` cells flagged by each stream, the overlap (Jaccard) of
the police-trained and report-trained flags, and how the flagged area is shared among the zones
(arrondissements) against their population and their share of reports: the ratio flagged share /
report share per zone, the dissimilarity index D = ½ Σ |flagged share − report share| (0: the
flagged area follows the reports; 1: it is wholly elsewhere), and the Gini of the flagged cells
per inhabitant across zones. The drift is the least-squares slope of D over the origins.

The settings (sources, categories, the switch of the mitigation, coverage, threshold) are in
`data_contracts/audit_boucle.yaml`, not in code. Pure code: no Dagster; inputs are rows shaped
like `clean.events` already located on the grid (`cell_idx`) and the grid's `cell_idx`, `zone`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import yaml

CONFIG_FILE = Path(__file__).resolve().parents[2] / "data_contracts" / "audit_boucle.yaml"
REPORTED, POLICE, ENFORCEMENT, POLICE_MITIGATED = "signale", "police", "police_initiative", "police_sans_initiative"
STREAMS = (REPORTED, POLICE, ENFORCEMENT, POLICE_MITIGATED)
STREAM_LABELS = {
    REPORTED: "faits signalés (signalements, alertes CSU)",
    POLICE: "interventions de la police (toutes)",
    ENFORCEMENT: "interventions d'initiative policière seules",
    POLICE_MITIGATED: "interventions sans les catégories d'initiative policière",
}


@dataclass(frozen=True)
class AuditConfig:
    reported_sources: tuple[str, ...] = ("signalements", "alertes_videoprotection")
    police_sources: tuple[str, ...] = ("interventions",)
    enforcement_categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exclude_enforcement: bool = True
    coverage: float = 0.05
    window_weeks: int = 52
    n_origins: int = 8
    drift_threshold: float = 0.01

    @classmethod
    def load(cls, path: Path | str | None = None) -> "AuditConfig":
        d = yaml.safe_load(Path(path or CONFIG_FILE).read_text(encoding="utf-8")) or {}
        return cls(
            reported_sources=tuple(d.get("reported_sources", cls.reported_sources)),
            police_sources=tuple(d.get("police_sources", cls.police_sources)),
            enforcement_categories={k: tuple(v) for k, v in (d.get("enforcement_categories") or {}).items()},
            exclude_enforcement=bool(d.get("exclude_enforcement", True)),
            coverage=float(d.get("coverage", 0.05)),
            window_weeks=int(d.get("window_weeks", 52)),
            n_origins=int(d.get("n_origins", 8)),
            drift_threshold=float(d.get("drift_threshold", 0.01)),
        )

    @property
    def sources(self) -> list[str]:
        return [*self.reported_sources, *self.police_sources]


def _enforcement_expr(cfg: AuditConfig) -> pl.Expr:
    e = pl.lit(False)
    for src, cats in cfg.enforcement_categories.items():
        e = e | ((pl.col("source") == src) & pl.col("subcategory").is_in(list(cats)))
    return e


def label_streams(events: pl.DataFrame, cfg: AuditConfig) -> pl.DataFrame:
    """One row per (fact, stream) it feeds: columns cell_idx, start, stream. A police record of an
    enforcement category feeds `police` and `police_initiative`, any other one `police` and
    `police_sans_initiative` (when the mitigation is switched off, `police_sans_initiative` is all
    the police records)."""
    ev = events.filter(
        pl.col("cell_idx").is_not_null() & pl.col("start").is_not_null() & pl.col("source").is_in(cfg.sources)
    )
    if "subcategory" not in ev.columns:
        ev = ev.with_columns(pl.lit(None, dtype=pl.Utf8).alias("subcategory"))
    ev = ev.select("cell_idx", "start", "source", "subcategory").with_columns(_enforcement_expr(cfg).alias("_enf"))
    rep = ev.filter(pl.col("source").is_in(list(cfg.reported_sources))).with_columns(pl.lit(REPORTED).alias("stream"))
    pol = ev.filter(pl.col("source").is_in(list(cfg.police_sources)))
    parts = [
        rep,
        pol.with_columns(pl.lit(POLICE).alias("stream")),
        pol.filter(pl.col("_enf")).with_columns(pl.lit(ENFORCEMENT).alias("stream")),
        (pol.filter(~pl.col("_enf")) if cfg.exclude_enforcement else pol).with_columns(
            pl.lit(POLICE_MITIGATED).alias("stream")
        ),
    ]
    return pl.concat(parts).select(pl.col("cell_idx").cast(pl.Int32), "start", "stream")


def top_cells(counts: np.ndarray, coverage: float) -> np.ndarray:
    """Boolean mask of the top `coverage` share of cells by count (at least one cell; ties broken
    by cell index, cells with no count never flagged)."""
    k = max(1, int(round(coverage * counts.size)))
    order = np.lexsort((np.arange(counts.size), -counts))[:k]
    mask = np.zeros(counts.size, dtype=bool)
    mask[order] = True
    return mask & (counts > 0)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    u = int((a | b).sum())
    return float((a & b).sum() / u) if u else float("nan")


def gini(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Weighted Gini of non-negative values (weights: e.g. the zones' populations)."""
    v = np.asarray(values, dtype=np.float64)
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=np.float64)
    if v.size == 0 or (v * w).sum() <= 0:
        return 0.0
    o = np.argsort(v)
    v, w = v[o], w[o]
    cw = np.cumsum(w) / w.sum()
    cv = np.cumsum(v * w) / (v * w).sum()
    # area under the Lorenz curve by trapezoids
    b = np.sum((cw - np.concatenate([[0.0], cw[:-1]])) * (cv + np.concatenate([[0.0], cv[:-1]])))
    return float(1.0 - b)


def dissimilarity(flag_share: np.ndarray, ref_share: np.ndarray) -> float:
    return float(0.5 * np.abs(np.asarray(flag_share) - np.asarray(ref_share)).sum())


def slope(y: list[float] | np.ndarray) -> float:
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(y)
    if ok.sum() < 2:
        return 0.0
    x = np.arange(y.size, dtype=np.float64)[ok]
    return float(np.polyfit(x, y[ok], 1)[0])


def zone_shares(mask: np.ndarray, zone_idx: np.ndarray, n_zones: int) -> np.ndarray:
    n = np.bincount(zone_idx[mask], minlength=n_zones).astype(np.float64)
    return n / n.sum() if n.sum() else n


PER_ORIGIN_SCHEMA = {
    "origin": pl.Datetime("us"),
    "stream": pl.Utf8,
    "flagged_cells": pl.Int64,
    "jaccard_vs_signale": pl.Float64,
    "jaccard_vs_police": pl.Float64,
    "dissimilarity_vs_reports": pl.Float64,
    "dissimilarity_vs_population": pl.Float64,
    "gini_per_inhabitant": pl.Float64,
}
PER_ZONE_SCHEMA = {
    "origin": pl.Datetime("us"),
    "stream": pl.Utf8,
    "zone": pl.Utf8,
    "flagged_share": pl.Float64,
    "report_share": pl.Float64,
    "population_share": pl.Float64,
    "ratio_flagged_vs_reports": pl.Float64,
}


def empty_tables() -> tuple[pl.DataFrame, pl.DataFrame]:
    """The audit's two tables with no row (no fact of the audit's sources), with their `conventions`."""
    conv = {"conventions": pl.List(pl.Utf8)}
    return pl.DataFrame(schema={**PER_ORIGIN_SCHEMA, **conv}), pl.DataFrame(schema={**PER_ZONE_SCHEMA, **conv})


def audit(
    events: pl.DataFrame, grid: pl.DataFrame, population: dict[str, float], origins: list[datetime], cfg: AuditConfig
) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """The audit at each origin. `events`: rows with cell_idx, start, source, subcategory;
    `grid`: cell_idx, zone; `population`: inhabitants per zone. Returns (per origin × stream:
    flagged cells, Jaccard with the reported stream, D vs reports, D vs population, Gini per
    inhabitant), (per origin × stream × zone: flagged share, report share, population share,
    ratio), and the summary (means, drift)."""
    grid = grid.sort("cell_idx")
    zones = sorted({z for z in grid["zone"].to_list() if z is not None})
    zi = {z: i for i, z in enumerate(zones)}
    n_cells, n_z = grid.height, len(zones)
    cell_zone = np.array([zi.get(z, -1) for z in grid["zone"].to_list()])
    in_zone = cell_zone >= 0
    pop = np.array([float(population.get(z, 0.0)) for z in zones])
    pop_share = pop / pop.sum() if pop.sum() else np.full(n_z, 1.0 / max(n_z, 1))
    st = label_streams(events, cfg)
    window = timedelta(weeks=cfg.window_weeks)
    rows, zrows = [], []
    for o in origins:
        w = st.filter((pl.col("start") >= o - window) & (pl.col("start") < o))
        agg = w.group_by("stream", "cell_idx").agg(pl.len().alias("n"))
        counts = {s: np.zeros(n_cells) for s in STREAMS}
        for s in STREAMS:
            a = agg.filter(pl.col("stream") == s)
            np.add.at(counts[s], a["cell_idx"].to_numpy(), a["n"].to_numpy())
        rep_z = np.bincount(cell_zone[in_zone], weights=counts[REPORTED][in_zone], minlength=n_z)
        rep_share = rep_z / rep_z.sum() if rep_z.sum() else pop_share
        masks = {s: top_cells(counts[s], cfg.coverage) & in_zone for s in STREAMS}
        for s in STREAMS:
            fs = zone_shares(masks[s], np.where(in_zone, cell_zone, 0), n_z)
            per_cap = np.bincount(cell_zone[masks[s]], minlength=n_z) / np.where(pop > 0, pop, 1.0)
            rows.append(
                {
                    "origin": o,
                    "stream": s,
                    "flagged_cells": int(masks[s].sum()),
                    "jaccard_vs_signale": jaccard(masks[s], masks[REPORTED]),
                    "jaccard_vs_police": jaccard(masks[s], masks[POLICE]),
                    "dissimilarity_vs_reports": dissimilarity(fs, rep_share),
                    "dissimilarity_vs_population": dissimilarity(fs, pop_share),
                    "gini_per_inhabitant": gini(per_cap, pop),
                }
            )
            zrows.append(
                pl.DataFrame(
                    {
                        "origin": [o] * n_z,
                        "stream": [s] * n_z,
                        "zone": zones,
                        "flagged_share": fs,
                        "report_share": rep_share,
                        "population_share": pop_share,
                        "ratio_flagged_vs_reports": np.where(
                            rep_share > 0, fs / np.where(rep_share > 0, rep_share, 1.0), np.nan
                        ),
                    }
                )
            )
    per_origin = pl.DataFrame(rows, schema=PER_ORIGIN_SCHEMA).sort("origin", "stream")
    per_zone = (
        pl.concat(zrows).with_columns(pl.col("origin").cast(pl.Datetime("us")))
        if zrows
        else pl.DataFrame(schema=PER_ZONE_SCHEMA)
    )
    return per_origin, per_zone, summarise(per_origin, cfg)


def summarise(per_origin: pl.DataFrame, cfg: AuditConfig) -> dict:
    out: dict = {"origines": per_origin["origin"].n_unique() if per_origin.height else 0}
    for s in STREAMS:
        r = per_origin.filter(pl.col("stream") == s).sort("origin")
        d = r["dissimilarity_vs_reports"].to_list()
        out[s] = {
            "jaccard_moyen_vs_signale": _r(np.nanmean(r["jaccard_vs_signale"].to_numpy()) if r.height else None),
            "dissimilarite_moyenne": _r(np.mean(d) if d else None),
            "dissimilarite_derniere": _r(d[-1] if d else None),
            "gini_par_habitant_moyen": _r(r["gini_per_inhabitant"].mean()),
            "derive_par_origine": _r(slope(d)),
        }
    out["derive_police"] = out[POLICE]["derive_par_origine"]
    out["seuil_de_derive"] = cfg.drift_threshold
    out["derive_excessive"] = bool((out["derive_police"] or 0.0) > cfg.drift_threshold)
    return out


def _r(x, nd: int = 4):
    if x is None:
        return None
    x = float(x)
    return None if not np.isfinite(x) else round(x, nd)


def weekly_origins(last_fact: datetime, n: int) -> list[datetime]:
    """`n` weekly origins (Mondays 00:00) ending at the week of the latest fact."""
    monday = datetime(last_fact.year, last_fact.month, last_fact.day) - timedelta(days=last_fact.weekday())
    return [monday - timedelta(weeks=k) for k in range(n - 1, -1, -1)]
