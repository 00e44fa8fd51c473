"""The public page's figures: `indicators.values_public`, as the pipeline published them.

The pipeline has already masked the small counts (primary suppression, « <11 ») and the values
from which a masked one could be derived (secondary suppression, « secret »), and computed the
rates; the page sums nothing itself. An arrondissement without a row for a month has no fact:
it is shown as 0 only where that zero discloses nothing — when the city's value of the same
indicator, category and month is itself published. Otherwise (the city's value masked, or no
value at all for the month) the cell says « secret » or « — ».
"""

from __future__ import annotations

from functools import lru_cache

import polars as pl
import yaml

from tranquillite.app_core import formats as F
from tranquillite.app_core.carte import arrondissement_names
from tranquillite.app_core.queries import Catalog, scoped_query
from tranquillite.app_core.rights import Scope
from tranquillite.settings import contracts_dir

PUBLIC = "indicators.values_public"
NO_DATA = "—"
SECRET = "secret"


@lru_cache(maxsize=1)
def category_labels() -> dict[str, str]:
    """The indicators' categories in words (`data_contracts/indicators.yaml`)."""
    doc = yaml.safe_load((contracts_dir() / "indicators.yaml").read_text(encoding="utf-8")) or {}
    out = {c["code"]: c["label"] for c in doc.get("categories") or [] if "code" in c and "label" in c}
    allc = doc.get("all_categories") or {}
    if "code" in allc:
        out[allc["code"]] = allc.get("label", allc["code"])
    return out


def values(cat: Catalog, scope: Scope) -> pl.DataFrame:
    """Every public value by month, for the city and its arrondissements."""
    return scoped_query(
        cat,
        scope,
        PUBLIC,
        level="aggregate",
        select="indicator_id, indicator_name, unit, area_level, area, period, dimension, value, "
        "value_display, suppressed",
        where="period_level = 'mois' AND area_level IN ('ville', 'arrondissement')",
        order_by="indicator_id, period, area_level, area, dimension",
    )


def display(value: float | None, shown: str | None) -> str:
    """A published value in French (« 12 », « 0,35 »), or its mask as published (« <11 », « secret »)."""
    if value is None:
        return shown or NO_DATA
    return F.compact(value, 2)


def arrondissement_table(df: pl.DataFrame, indicator: str, dimension: str) -> pl.DataFrame:
    """One row per arrondissement (all of them), one column per month: the published text, or 0 where the
    arrondissement has no row and the city's value of that month is published, else « secret » / « — »."""
    names = arrondissement_names()
    d = df.filter((pl.col("indicator_id") == indicator) & (pl.col("dimension") == dimension))
    months = sorted(d.get_column("period").unique().to_list())
    city = {r["period"]: r for r in d.filter(pl.col("area_level") == "ville").iter_rows(named=True)}
    cells = {
        (r["area"], r["period"]): display(r["value"], r["value_display"])
        for r in d.filter(pl.col("area_level") == "arrondissement").iter_rows(named=True)
    }
    rows = []
    for code, name in names.items():
        row = {"Arrondissement": name}
        for m in months:
            if (code, m) in cells:
                row[m] = cells[(code, m)]
            elif m in city and city[m]["value"] is not None:
                row[m] = "0"
            else:
                row[m] = SECRET if m in city else NO_DATA
        rows.append(row)
    c = {"Arrondissement": "Marseille (ville)"}
    for m in months:
        c[m] = display(city[m]["value"], city[m]["value_display"]) if m in city else NO_DATA
    rows.append(c)
    return pl.DataFrame(rows, schema={"Arrondissement": pl.Utf8, **{m: pl.Utf8 for m in months}})


def month_label(period: str) -> str:
    """« 2025-03 » → « mars 2025 »."""
    from tranquillite.app_core.explanations import MONTHS

    try:
        y, m = period.split("-")
        return f"{MONTHS[int(m) - 1]} {y}"
    except (ValueError, IndexError):
        return period
