"""Zones de tension (C4): what the page reads and how it shows it, tested without Streamlit.

Reads, only through `queries.scoped_query`:

* `indicators.tension` — the anticipatory tension index (0–100) of each H3 cell for each of the
  coming shifts, with its five components, their contributions and a French explanation;
* `indicators.alerts` — the current alerts (kind, severity, area, time window, explanation);
* `indicators.emerging_hotspots` — the weekly emerging hot-spot class of the alerts' cells.

`indicators.tension` and `indicators.alerts` carry a `conventions` list: a row is visible only if
the profile sees every convention it comes from (see `queries`). A tension row always includes
the City's observed facts (`internal`), so a Préfecture-only scope gets no cell; only alerts made
purely of Préfecture records could reach it.

The page runs one query per widget change: the shifts, the alerts and their cells' classes are
read once per catalog version × scope; the cells of the chosen shift with `WHERE slot = ?`.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl

from tranquillite.app_core import queries
from tranquillite.app_core.colours import ColourScale
from tranquillite.app_core.rights import Scope

TENSION, ALERTS, EMERGING = "indicators.tension", "indicators.alerts", "indicators.emerging_hotspots"
COMPONENTS = ("significativite", "tendance", "prevision", "evenements", "concurrence")
COMPONENT_LABELS = {"significativite": "Significativité", "tendance": "Tendance", "prevision": "Prévision",
                    "evenements": "Événements prévus", "concurrence": "Concurrence"}
LEVEL_LABELS = {"faible": "faible", "moderee": "modérée", "elevee": "élevée", "tres_elevee": "très élevée"}
SEVERITY_LABELS = {"elevee": "Élevée", "moyenne": "Moyenne", "faible": "Faible"}
SEVERITY_ORDER = "CASE severity WHEN 'elevee' THEN 0 WHEN 'moyenne' THEN 1 WHEN 'faible' THEN 2 ELSE 3 END"
AREA_LABELS = {"cellule": "Cellule", "arrondissement": "Arrondissement", "ville": "Ville"}
# = tranquillite.indicators.emerging.EMERGING_CLASSES (labels; not imported: that module pulls SciPy in)
EMERGING_LABELS = {
    "point_chaud_nouveau": "Nouveau point chaud",
    "point_chaud_consecutif": "Point chaud consécutif",
    "point_chaud_intensification": "Point chaud en intensification",
    "point_chaud_persistant": "Point chaud persistant",
    "point_chaud_diminution": "Point chaud en diminution",
    "point_chaud_sporadique": "Point chaud sporadique",
    "point_chaud_oscillant": "Point chaud oscillant",
    "point_chaud_historique": "Point chaud historique",
    "point_froid_nouveau": "Nouveau point froid",
    "point_froid_consecutif": "Point froid consécutif",
    "point_froid_intensification": "Point froid en intensification",
    "point_froid_persistant": "Point froid persistant",
    "point_froid_diminution": "Point froid en diminution",
    "point_froid_sporadique": "Point froid sporadique",
    "point_froid_oscillant": "Point froid oscillant",
    "point_froid_historique": "Point froid historique",
    "aucun_motif": "Aucun motif détecté",
}
EMERGING_PERIOD = "semaine"  # the tension index's own trend level
ALL_CATEGORY = "toutes"
TOP_N = 20
ALERTS_LIMIT = 500
DAY_ABBR = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")

SHIFTS_SELECT = ("slot, min(slot_start) AS slot_start, min(slot_end) AS slot_end, min(shift) AS shift, "
                 "count(*) AS n_cells, count(*) FILTER (WHERE \"index\" > 0) AS n_tense, "
                 "max(\"index\") AS max_index, max(as_of) AS as_of")
CELL_COLUMNS = ("h3_cell, arrondissement, quartier, slot, slot_start, slot_end, \"index\", level, \"rank\", "
                + ", ".join(f"c_{c}" for c in COMPONENTS) + ", "
                + ", ".join(f"contribution_{c}" for c in COMPONENTS)
                + ", emerging_class, n_events, explanation")
CELL_ORDER = "rank, h3_cell"  # the pipeline breaks the ties of the index
ALERT_COLUMNS = ("alert_id, kind, kind_label, severity, area_level, area, h3_cell, arrondissement, category, "
                 "starts_at, ends_at, explanation, n_records, as_of")
ALERT_ORDER = f"starts_at DESC, {SEVERITY_ORDER}, alert_id"
# colour of the index (ColorBrewer YlOrRd), fixed on 0–100 so that two shifts compare; its legend is the same object
INDEX_SCALE = ColourScale(name="Indice de tension", unit="de 0 à 100, échelle fixe d'un créneau à l'autre",
                          top=100.0, alpha=(70, 230), note="Cellules à indice nul non dessinées.")


# --------------------------------------------------------------------------- queries (one table each)
def shifts(cat: queries.Catalog, scope: Scope) -> pl.DataFrame:
    """One row per coming shift: times, number of cells (tense ones: index > 0), highest index."""
    return queries.scoped_query(cat, scope, TENSION, select=SHIFTS_SELECT, group_by="slot", order_by="slot")


def cells(cat: queries.Catalog, scope: Scope, slot: int) -> pl.DataFrame:
    """Every visible cell of one shift, the most tense first (ties: by cell)."""
    return queries.scoped_query(cat, scope, TENSION, select=CELL_COLUMNS, where="slot = ?", params=[int(slot)],
                                order_by=CELL_ORDER)


def alerts(cat: queries.Catalog, scope: Scope, limit: int = ALERTS_LIMIT) -> pl.DataFrame:
    """The current alerts, most recent first, then the most severe."""
    return queries.scoped_query(cat, scope, ALERTS, select=ALERT_COLUMNS, order_by=ALERT_ORDER, limit=limit)


def emerging_classes(cat: queries.Catalog, scope: Scope, h3_cells: tuple[str, ...]) -> pl.DataFrame:
    """Weekly emerging hot-spot class of these cells, per category."""
    if not h3_cells:
        return pl.DataFrame(schema={"h3_cell": pl.Utf8, "category": pl.Utf8, "class_code": pl.Utf8})
    return queries.scoped_query(cat, scope, EMERGING, select="h3_cell, category, class_code",
                                where="period_level = ? AND list_contains(?::VARCHAR[], h3_cell)",
                                params=[EMERGING_PERIOD, sorted(h3_cells)])


# --------------------------------------------------------------------------- formatting
def slot_label(start: datetime, end: datetime) -> str:
    """« lun. 10/03 06h–14h » (as the Prévisions page)."""
    return f"{DAY_ABBR[start.weekday()]} {start:%d/%m} {start:%H}h–{end:%H}h"


def fr(x: float | None, digits: int = 0) -> str:
    return "" if x is None else f"{x:.{digits}f}".replace(".", ",")


def emerging_label(code: str | None) -> str:
    return "" if code is None else EMERGING_LABELS.get(code, code)


def index_colours(index: np.ndarray) -> np.ndarray:
    """RGBA per index (0–100): `INDEX_SCALE`, the colours its legend shows."""
    return INDEX_SCALE.rgba(index)


def components_text() -> pl.Expr:
    """« Significativité 80 % → 24 pts · Tendance … »: each component (share of its maximum) and the
    points of index it contributes."""
    def one(c: str) -> pl.Expr:
        pts = pl.col(f"contribution_{c}").fill_null(0.0).round(0).cast(pl.Int64)
        return pl.format(f"{COMPONENT_LABELS[c]} {{}}\u202f% → {{}} {{}}",
                         (pl.col(f"c_{c}").fill_null(0.0) * 100).round(0).cast(pl.Int64), pts,
                         pl.when(pts.abs() > 1).then(pl.lit("pts")).otherwise(pl.lit("pt")))
    return pl.concat_str([one(c) for c in COMPONENTS], separator=" · ")


def prepare_cells(df: pl.DataFrame, names: dict[str, str]) -> pl.DataFrame:
    """Display columns of one shift's cells (vectorised)."""
    return df.with_columns(
        pl.col("arrondissement").replace_strict(names, default=pl.col("arrondissement"), return_dtype=pl.Utf8)
        .fill_null("").alias("arrondissement_nom"),
        pl.col("quartier").fill_null(""),
        pl.col("level").replace_strict(LEVEL_LABELS, default=pl.col("level"), return_dtype=pl.Utf8)
        .fill_null("").alias("niveau"),
        pl.col("emerging_class").replace_strict(EMERGING_LABELS, default=pl.col("emerging_class"),
                                                return_dtype=pl.Utf8).fill_null("").alias("tendance"),
        components_text().alias("composantes"),
        pl.col("explanation").fill_null(""),
    )


def map_rows(df: pl.DataFrame, when: str) -> list[dict]:
    """The tense cells (index > 0) of a prepared shift: colour by index, tooltip fields."""
    d = df.filter(pl.col("index") > 0)
    if d.height == 0:
        return []
    colours = index_colours(d.get_column("index").to_numpy())
    d = d.select(
        pl.col("h3_cell").alias("h3"),
        pl.Series("couleur", colours.tolist(), dtype=pl.List(pl.Int64)),
        pl.format("Indice {}/100 · tension {}", pl.col("index").round(0).cast(pl.Int64), pl.col("niveau"))
        .alias("titre"),
        pl.lit(when).alias("quand"),
        pl.concat_list(pl.col("arrondissement_nom"), pl.col("quartier"), pl.col("h3_cell"))
        .list.eval(pl.element().filter(pl.element() != "")).list.join(" · ").alias("lieu"),
        "composantes",
        pl.when(pl.col("tendance") != "").then(pl.format("Tendance (point chaud émergent) : {}", pl.col("tendance")))
        .otherwise(pl.lit("")).alias("tendance"),
        pl.col("explanation").alias("info"),
    )
    return d.to_dicts()


def top_cells(df: pl.DataFrame, n: int = TOP_N) -> pl.DataFrame:
    """The n most tense cells (index > 0) of a prepared shift, as shown."""
    top = df.filter(pl.col("index") > 0).head(n)
    return top.select(
        pl.int_range(1, top.height + 1, dtype=pl.Int64).alias("Rang"),
        pl.col("index").alias("Indice"),
        pl.col("niveau").alias("Niveau"),
        pl.col("arrondissement_nom").alias("Arrondissement"),
        pl.col("quartier").alias("Quartier"),
        pl.col("h3_cell").alias("Cellule H3"),
        *[pl.col(f"contribution_{c}").alias(f"{COMPONENT_LABELS[c]} (pts)") for c in COMPONENTS],
        pl.col("tendance").alias("Tendance (point chaud émergent)"),
        pl.col("n_events").alias("Nombre d'événements prévus"),
        pl.col("explanation").alias("Explication"),
    )


def alert_cells(al: pl.DataFrame) -> tuple[str, ...]:
    return tuple(sorted(set(al.get_column("h3_cell").drop_nulls().to_list()))) if al.height else ()


def alerts_table(al: pl.DataFrame, em: pl.DataFrame | None, names: dict[str, str]) -> pl.DataFrame:
    """The alerts as shown, with the emerging class of their cell: same category, else all facts."""
    a = al.with_columns(pl.int_range(0, al.height).alias("_i"))
    if em is not None and em.height:
        same = em.select("h3_cell", "category", pl.col("class_code").alias("_same"))
        allc = em.filter(pl.col("category") == ALL_CATEGORY).select("h3_cell", pl.col("class_code").alias("_all"))
        a = a.join(same, on=["h3_cell", "category"], how="left").join(allc, on="h3_cell", how="left")
        a = a.with_columns(pl.coalesce("_same", "_all").alias("_class"))
    else:
        a = a.with_columns(pl.lit(None, pl.Utf8).alias("_class"))
    a = a.sort("_i")
    arr = pl.col("arrondissement").replace_strict(names, default=pl.col("arrondissement"), return_dtype=pl.Utf8)
    level = pl.col("area_level").replace_strict(AREA_LABELS, default=pl.col("area_level"), return_dtype=pl.Utf8)
    zone = (pl.when(pl.col("area_level") == "arrondissement")
            .then(pl.col("area").replace_strict(names, default=pl.col("area"), return_dtype=pl.Utf8))
            .when(pl.col("area_level") == "cellule")
            .then(pl.concat_str([pl.lit("Cellule "), pl.col("h3_cell").fill_null(pl.col("area")),
                                 pl.when(arr.is_not_null()).then(pl.format(" ({})", arr)).otherwise(pl.lit(""))]))
            .otherwise(pl.concat_str([level.fill_null(""), pl.col("area").fill_null("")], separator=" "))
            .str.strip_chars())
    return a.select(
        pl.col("starts_at").alias("Début"),
        pl.col("ends_at").alias("Fin"),
        pl.col("severity").replace_strict(SEVERITY_LABELS, default=pl.col("severity"), return_dtype=pl.Utf8)
        .alias("Gravité"),
        pl.col("kind_label").alias("Type"),
        zone.fill_null("").alias("Zone"),
        pl.col("_class").replace_strict(EMERGING_LABELS, default=pl.col("_class"), return_dtype=pl.Utf8)
        .fill_null("").alias("Tendance de la cellule"),
        pl.col("explanation").alias("Explication"),
        pl.col("alert_id").alias("Identifiant"),
    )


__all__ = ["shifts", "cells", "alerts", "emerging_classes", "slot_label", "prepare_cells", "map_rows",
           "top_cells", "alerts_table", "alert_cells", "COMPONENTS", "EMERGING_LABELS", "TOP_N"]
