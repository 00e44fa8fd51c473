"""The *Indicateurs* page's reads (T7): the catalogue of `data_contracts/indicators.yaml` as
published (`indicators.catalogue`), and each indicator's values by arrondissement with CompStat
trends — the last 28 days and the year to date against the same days a year before (364 days
earlier: same weekdays) — and the weekly briefing as a PDF (fpdf2, as the destruction attestations).

Every read goes through the gateway: the scope's conventions, and the indicator's own profiles
(`Scope.indicators`), apply; the briefing is an export (the `exporter` right, the conventions'
`use_outside_platform`, one line of the access log). Small counts are said, not turned into a
percentage: under `SMALL_COUNT` events in either period, the evolution is not given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl

from tranquillite.app_core import formats
from tranquillite.app_core.queries import Catalog, export_rows, scoped_query
from tranquillite.app_core.rights import Principal, Scope
from tranquillite.pdfdoc import TextPdf

CATALOGUE, VALUES = "indicators.catalogue", "indicators.values"
SMALL_COUNT = 10
YEAR = timedelta(days=364)
CUMUL, MONTH = "cumul", "dernier_mois"


def catalogue(cat: Catalog, scope: Scope) -> pl.DataFrame:
    """Every indicator of the catalogue: definitions are not data, each profile sees them all (and
    which profiles may see each indicator's values)."""
    return scoped_query(
        cat,
        scope,
        CATALOGUE,
        select="indicator_id, name, definition, formula, unit, sources, "
        "conventions, profiles, owner, areas, periods, status",
        order_by="indicator_id",
    )


def additive(unit: str) -> bool:
    """Counts add up over days (faits, événements…); shares, rates and durations do not."""
    u = (unit or "").lower()
    return "%" not in u and "par jour" not in u and u != "jours"


@dataclass(frozen=True)
class Trends:
    indicator: str
    kind: str  # CUMUL (28 days, year to date) or MONTH (last complete month)
    as_of: date | None  # CUMUL: the day after the last day of data; MONTH: the month's first day
    table: pl.DataFrame  # one row per area ('ville' first)


def _evolution(cur: str, ly: str, n_cur: str, n_ly: str) -> pl.Expr:
    small = (pl.col(n_cur).fill_null(0) < SMALL_COUNT) | (pl.col(n_ly).fill_null(0) < SMALL_COUNT)
    return (
        pl.when(small | pl.col(ly).is_null() | (pl.col(ly) == 0))
        .then(None)
        .otherwise((pl.col(cur).fill_null(0) / pl.col(ly) - 1.0) * 100.0)
    )


def cumulative(indicator: str, rows: pl.DataFrame) -> Trends:
    """From daily rows (area_level, area, period_start, value, n): the last 28 days and the year to date
    against the same days a year before; a window before the data began is unknown, not zero."""
    if rows.height == 0:
        return Trends(indicator, CUMUL, None, pl.DataFrame())
    as_of = rows.get_column("period_start").max() + timedelta(days=1)
    jan1 = date((as_of - timedelta(days=1)).year, 1, 1)
    first = rows.get_column("period_start").min()
    windows = {
        "28j": (as_of - timedelta(days=28), as_of),
        "28j_an": (as_of - timedelta(days=28) - YEAR, as_of - YEAR),
        "ytd": (jan1, as_of),
        "ytd_an": (jan1 - YEAR, as_of - YEAR),
    }
    d = pl.col("period_start")
    aggs = []
    for name, (a, b) in windows.items():
        inside = (d >= a) & (d < b)
        known = first <= a
        aggs += [
            pl.col("value").filter(inside).sum().alias(name) if known else pl.lit(None, pl.Float64).alias(name),
            pl.col("n").filter(inside).sum().alias(f"n_{name}") if known else pl.lit(None, pl.Int64).alias(f"n_{name}"),
        ]
    t = (
        rows.group_by("area_level", "area")
        .agg(aggs)
        .with_columns(
            _evolution("28j", "28j_an", "n_28j", "n_28j_an").alias("evolution_28j"),
            _evolution("ytd", "ytd_an", "n_ytd", "n_ytd_an").alias("evolution_ytd"),
        )
    )
    return Trends(indicator, CUMUL, as_of, t.sort(pl.col("area_level") != "ville", "area"))


def monthly(indicator: str, rows: pl.DataFrame) -> Trends:
    """From complete monthly rows: the last month against the same month a year before."""
    if rows.height == 0:
        return Trends(indicator, MONTH, None, pl.DataFrame())
    last = rows.get_column("period_start").max()
    small = (pl.col("n").fill_null(0) < SMALL_COUNT) | (pl.col("n_ly").fill_null(0) < SMALL_COUNT)
    t = rows.filter(pl.col("period_start") == last).with_columns(
        pl.when(small).then(None).otherwise(pl.col("evolution_ly_pct")).alias("evolution_ly_pct")
    )
    return Trends(indicator, MONTH, last, t.sort(pl.col("area_level") != "ville", "area"))


def _dimension(cat: Catalog, scope: Scope, indicator: str) -> tuple[str, list, set]:
    levels = scoped_query(
        cat,
        scope,
        VALUES,
        select="DISTINCT area_level, period_level, dimension",
        where="indicator_id = ?",
        params=[indicator],
        level="aggregate",
    )
    dims = [d for d in levels.get_column("dimension").unique().to_list() if d is not None] if levels.height else []
    have = (
        set(zip(levels.get_column("area_level").to_list(), levels.get_column("period_level").to_list()))
        if levels.height
        else set()
    )
    if not dims:
        return "dimension IS NULL", [], have
    return "dimension = ?", ["toutes" if "toutes" in dims else sorted(dims)[0]], have


def _read(indicator: str, unit: str, dim_where: str, dim_params: list, have: set) -> tuple[str, dict[str, Any]]:
    """The kind of comparison and the scoped read (keyword arguments of `scoped_query`) it needs."""
    if additive(unit) and ("arrondissement", "jour") in have:
        return CUMUL, dict(
            table=VALUES,
            select="indicator_id, area_level, area, period_start, value, n",
            where=f"indicator_id = ? AND period_level = 'jour' AND {dim_where} "
            "AND area_level IN ('arrondissement', 'ville')",
            params=[indicator, *dim_params],
        )
    level = "arrondissement" if ("arrondissement", "mois") in have else "ville"
    return MONTH, dict(
        table=VALUES,
        select="indicator_id, area_level, area, period, period_start, value, n, value_ly, n_ly, evolution_ly_pct",
        where=f"indicator_id = ? AND period_level = 'mois' AND complete AND {dim_where} AND area_level IN ('ville', ?)",
        params=[indicator, *dim_params, level],
    )


def trends(cat: Catalog, scope: Scope, indicator: str, unit: str) -> Trends:
    """The indicator by arrondissement and for the whole city: counts over the last 28 days and the year
    to date; other indicators (shares, rates), their last complete month — each against a year before."""
    kind, read = _read(indicator, unit, *_dimension(cat, scope, indicator))
    table = read.pop("table")
    rows = scoped_query(cat, scope, table, level="aggregate", **read)
    return cumulative(indicator, rows) if kind == CUMUL else monthly(indicator, rows)


# --------------------------------------------------------------------------- the weekly briefing
def fr_evolution(pct: float | None) -> str:
    """An evolution in % (« +12,3 % »), or why there is none."""
    if pct is None:
        return "non interprétable (effectifs faibles ou inconnus)"
    return formats.signed_percent(pct / 100.0, 1)


def briefing_pdf(cat: Catalog, principal: Principal, indicators: list[dict], names: dict[str, str]) -> bytes:
    """The weekly briefing for the managers' meeting: for each indicator the profile may read, the city
    and its arrondissements over the last 28 days and the year to date (or the last month) against a
    year before. An export: checked and logged once by the gateway (`export_rows`)."""
    plans = []
    for ind in indicators:
        kind, read = _read(ind["indicator_id"], ind["unit"], *_dimension(cat, principal.scope, ind["indicator_id"]))
        plans.append((ind, kind, read))
    rows = export_rows(
        cat,
        principal,
        [read for _, _, read in plans],
        page="indicateurs",
        filters={"briefing": [i["indicator_id"] for i in indicators]},
        action="export_pdf",
    )
    doc = TextPdf("Note hebdomadaire des indicateurs")
    line = doc.line
    line("Ville de Marseille - Plateforme Big Data de la Tranquillité Publique", 9)
    line("Note hebdomadaire des indicateurs", 16, "B", 9)
    line(f"Établie le {date.today():%d/%m/%Y} pour {principal.display_name} ({principal.profile_label}).", 9)
    for ind, kind, _ in plans:
        doc.title(ind["name"])
        line(ind["definition"], 9)
        mine = rows.filter(pl.col("indicator_id") == ind["indicator_id"]) if rows.height else rows
        t = (cumulative if kind == CUMUL else monthly)(ind["indicator_id"], mine)
        if t.as_of is None:
            line("Pas encore de valeurs.", 9)
            continue
        for r in t.table.iter_rows(named=True):
            where = "Ville" if r["area_level"] == "ville" else names.get(r["area"], r["area"])
            if kind == CUMUL:
                line(
                    f"{where}: 28 derniers jours {formats.integer(r['28j'], '—')} ({fr_evolution(r['evolution_28j'])} sur un an); "
                    f"depuis le 1er janvier {formats.integer(r['ytd'], '—')} ({fr_evolution(r['evolution_ytd'])}).",
                    9,
                )
            else:
                line(
                    f"{where}: {r['period']} {formats.number(r['value'], 1, '—')} {ind['unit']} "
                    f"({fr_evolution(r['evolution_ly_pct'])} sur un an).",
                    9,
                )
    return doc.output()
