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

from tranquillite.app_core import formats as F
from tranquillite.app_core import places, queries
from tranquillite.app_core.colours import ColourScale, swatch_html
from tranquillite.app_core.rights import Scope

TENSION, ALERTS, EMERGING = "indicators.tension", "indicators.alerts", "indicators.emerging_hotspots"
COMPONENTS = ("significativite", "tendance", "prevision", "evenements", "concurrence")
COMPONENT_LABELS = {
    "significativite": "Significativité",
    "tendance": "Tendance",
    "prevision": "Prévision",
    "evenements": "Événements prévus",
    "concurrence": "Concurrence",
}
LEVEL_LABELS = {"faible": "faible", "moderee": "modérée", "elevee": "élevée", "tres_elevee": "très élevée"}
SEVERITY_LABELS = {"elevee": "Élevée", "moyenne": "Moyenne", "faible": "Faible"}
SEVERITY_ORDER = "CASE severity WHEN 'elevee' THEN 0 WHEN 'moyenne' THEN 1 WHEN 'faible' THEN 2 ELSE 3 END"
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
HOTSPOTS = "indicators.hotspots"
# = tranquillite.indicators.hotspots.HOTSPOT_CLASSES (labels; not imported: that module pulls SciPy in)
GI_LABELS = {
    "point_chaud_99": "Point chaud (confiance 99 %)",
    "point_chaud_95": "Point chaud (confiance 95 %)",
    "point_chaud_90": "Point chaud (confiance 90 %)",
    "point_froid_90": "Point froid (confiance 90 %)",
    "point_froid_95": "Point froid (confiance 95 %)",
    "point_froid_99": "Point froid (confiance 99 %)",
}
# the usual hot-spot palette (red = hot, blue = cold; paler = less confident)
GI_COLOURS = {
    "point_chaud_99": [215, 48, 39, 210],
    "point_chaud_95": [244, 109, 67, 190],
    "point_chaud_90": [253, 174, 97, 180],
    "point_froid_90": [171, 217, 233, 180],
    "point_froid_95": [116, 173, 209, 190],
    "point_froid_99": [69, 117, 180, 210],
}
# emerging classes: hot families in reds/oranges/purples, cold ones in blues (aucun_motif: not drawn)
EMERGING_COLOURS = {
    "point_chaud_nouveau": [255, 196, 0, 200],
    "point_chaud_consecutif": [253, 141, 60, 200],
    "point_chaud_intensification": [165, 0, 38, 220],
    "point_chaud_persistant": [227, 26, 28, 210],
    "point_chaud_diminution": [252, 187, 161, 200],
    "point_chaud_sporadique": [231, 41, 138, 190],
    "point_chaud_oscillant": [152, 78, 163, 200],
    "point_chaud_historique": [140, 81, 10, 190],
    "point_froid_nouveau": [158, 202, 225, 200],
    "point_froid_consecutif": [107, 174, 214, 200],
    "point_froid_intensification": [8, 48, 107, 220],
    "point_froid_persistant": [33, 113, 181, 210],
    "point_froid_diminution": [198, 219, 239, 200],
    "point_froid_sporadique": [65, 182, 196, 190],
    "point_froid_oscillant": [128, 125, 186, 200],
    "point_froid_historique": [115, 115, 115, 190],
}
LAYERS = {
    "indice": "Indice de tension",
    "gi": "Points chauds observés (Gi*, dernière semaine)",
    "emergent": "Tendance: points chauds émergents (semaines)",
}
ALL_CATEGORY = "toutes"
TOP_N = 20
ALERTS_LIMIT = 500
DAY_ABBR = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")

SHIFTS_SELECT = (
    "slot, min(slot_start) AS slot_start, min(slot_end) AS slot_end, min(shift) AS shift, "
    'count(*) AS n_cells, count(*) FILTER (WHERE "index" > 0) AS n_tense, '
    'max("index") AS max_index, max(as_of) AS as_of'
)
CELL_COLUMNS = (
    'h3_cell, arrondissement, quartier, slot, slot_start, slot_end, "index", level, "rank", '
    + ", ".join(f"c_{c}" for c in COMPONENTS)
    + ", "
    + ", ".join(f"contribution_{c}" for c in COMPONENTS)
    + ", emerging_class, n_events, explanation"
)
CELL_ORDER = "rank, h3_cell"  # the pipeline breaks the ties of the index
ALERT_COLUMNS = (
    "alert_id, kind, kind_label, severity, area_level, area, h3_cell, arrondissement, category, "
    "starts_at, ends_at, explanation, n_records, as_of"
)
ALERT_ORDER = f"starts_at DESC, {SEVERITY_ORDER}, alert_id"
# colour of the index (ColorBrewer YlOrRd), fixed on 0–100 so that two shifts compare; its legend is the same object
INDEX_SCALE = ColourScale(
    name="Indice de tension",
    unit="de 0 à 100, échelle fixe d'un créneau à l'autre",
    top=100.0,
    alpha=(70, 230),
    note="Cellules à indice nul non dessinées.",
)


# --------------------------------------------------------------------------- queries (one table each)
def shifts(cat: queries.Catalog, scope: Scope) -> pl.DataFrame:
    """One row per coming shift: times, number of cells (tense ones: index > 0), highest index."""
    return queries.scoped_query(cat, scope, TENSION, select=SHIFTS_SELECT, group_by="slot", order_by="slot")


def cells(cat: queries.Catalog, scope: Scope, slot: int) -> pl.DataFrame:
    """Every visible cell of one shift, the most tense first (ties: by cell)."""
    return queries.scoped_query(
        cat, scope, TENSION, select=CELL_COLUMNS, where="slot = ?", params=[int(slot)], order_by=CELL_ORDER
    )


def alerts(cat: queries.Catalog, scope: Scope, limit: int = ALERTS_LIMIT) -> pl.DataFrame:
    """The current alerts, most recent first, then the most severe."""
    return queries.scoped_query(cat, scope, ALERTS, select=ALERT_COLUMNS, order_by=ALERT_ORDER, limit=limit)


def emerging_classes(cat: queries.Catalog, scope: Scope, h3_cells: tuple[str, ...]) -> pl.DataFrame:
    """Weekly emerging hot-spot class of these cells, per category."""
    if not h3_cells:
        return pl.DataFrame(schema={"h3_cell": pl.Utf8, "category": pl.Utf8, "class_code": pl.Utf8})
    return queries.scoped_query(
        cat,
        scope,
        EMERGING,
        select="h3_cell, category, class_code",
        where="period_level = ? AND list_contains(?::VARCHAR[], h3_cell)",
        params=[EMERGING_PERIOD, sorted(h3_cells)],
    )


def hotspot_classes(cat: queries.Catalog, scope: Scope, category: str = ALL_CATEGORY) -> pl.DataFrame:
    """The significant cells (Gi*, weekly, all facts) of the latest week published, with their class."""
    df = queries.scoped_query(
        cat,
        scope,
        HOTSPOTS,
        select="h3_cell, arrondissement, period, class, z, n",
        where="period_level = ? AND category = ? AND class <> 'non_significatif'",
        params=[EMERGING_PERIOD, category],
    )
    if df.height == 0:
        return df
    return df.filter(pl.col("period") == df.get_column("period").max())


def emerging_layer(cat: queries.Catalog, scope: Scope, category: str = ALL_CATEGORY) -> pl.DataFrame:
    """Every cell with an emerging hot- or cold-spot pattern (weekly, all facts)."""
    return queries.scoped_query(
        cat,
        scope,
        EMERGING,
        select="h3_cell, arrondissement, class_code, n_periods",
        where="period_level = ? AND category = ? AND class_code <> 'aucun_motif'",
        params=[EMERGING_PERIOD, category],
    )


# --------------------------------------------------------------------------- formatting
def slot_label(start: datetime, end: datetime) -> str:
    """« lun. 10/03 06h–14h » (as the Prévisions page)."""
    return f"{DAY_ABBR[start.weekday()]} {start:%d/%m} {start:%H}h–{end:%H}h"


def fr(x: float | None, digits: int = 0) -> str:
    return F.number(x, digits)


def index_colours(index: np.ndarray) -> np.ndarray:
    """RGBA per index (0–100): `INDEX_SCALE`, the colours its legend shows."""
    return INDEX_SCALE.rgba(index)


def components_text() -> pl.Expr:
    """« Significativité 80 % → 24 pts · Tendance … »: each component (share of its maximum) and the
    points of index it contributes."""

    def one(c: str) -> pl.Expr:
        pts = pl.col(f"contribution_{c}").fill_null(0.0).round(0).cast(pl.Int64)
        return pl.format(
            f"{COMPONENT_LABELS[c]} {{}}\u202f% → {{}} {{}}",
            (pl.col(f"c_{c}").fill_null(0.0) * 100).round(0).cast(pl.Int64),
            pts,
            pl.when(pts.abs() > 1).then(pl.lit("pts")).otherwise(pl.lit("pt")),
        )

    return pl.concat_str([one(c) for c in COMPONENTS], separator=" · ")


def prepare_cells(df: pl.DataFrame, names: dict[str, str]) -> pl.DataFrame:
    """Display columns of one shift's cells (vectorised)."""
    return df.with_columns(
        pl.col("arrondissement")
        .replace_strict(names, default=pl.col("arrondissement"), return_dtype=pl.Utf8)
        .fill_null("")
        .alias("arrondissement_nom"),
        pl.col("quartier")
        .replace_strict(places.quartier_names(), default=pl.col("quartier"), return_dtype=pl.Utf8)
        .fill_null("")
        .alias("quartier_nom"),
        pl.struct("quartier", "arrondissement")
        .map_elements(lambda r: places.place(r["quartier"], r["arrondissement"]), return_dtype=pl.Utf8)
        .fill_null("")
        .alias("zone"),
        pl.col("level")
        .replace_strict(LEVEL_LABELS, default=pl.col("level"), return_dtype=pl.Utf8)
        .fill_null("")
        .alias("niveau"),
        pl.col("emerging_class")
        .replace_strict(EMERGING_LABELS, default=pl.col("emerging_class"), return_dtype=pl.Utf8)
        .fill_null("")
        .alias("tendance"),
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
        pl.format("Indice {}/100 · tension {}", pl.col("index").round(0).cast(pl.Int64), pl.col("niveau")).alias(
            "titre"
        ),
        pl.lit(when).alias("quand"),
        pl.concat_list(pl.col("zone"), pl.format("cellule {}", pl.col("h3_cell")))
        .list.eval(pl.element().filter(pl.element() != ""))
        .list.join(" · ")
        .alias("lieu"),
        "composantes",
        pl.when(pl.col("tendance") != "")
        .then(pl.format("Tendance (point chaud émergent) : {}", pl.col("tendance")))
        .otherwise(pl.lit(""))
        .alias("tendance"),
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
        pl.col("quartier_nom").alias("Quartier"),
        pl.col("arrondissement_nom").alias("Arrondissement"),
        pl.col("h3_cell").alias("Cellule H3"),
        *[
            pl.col(f"contribution_{c}")
            .map_elements(lambda x: F.number(x, 1), return_dtype=pl.Utf8)
            .fill_null("")
            .alias(f"{COMPONENT_LABELS[c]} (pts)")
            for c in COMPONENTS
        ],
        pl.col("tendance").alias("Tendance (point chaud émergent)"),
        pl.col("n_events").alias("Nombre d'événements prévus"),
        pl.col("explanation").alias("Explication"),
    )


COMPONENT_RECIPES = {
    "significativite": "la significativité du point chaud observé la dernière semaine complète (statistique Gi*, "
    "toutes catégories de faits)",
    "tendance": "sa tendance sur les semaines (classe de point chaud émergent: en intensification, nouveau, "
    "persistant…)",
    "prevision": "la prévision du créneau (borne haute à 95 % du nombre de faits attendus, rapportée aux plus "
    "fortes de la ville)",
    "evenements": "les événements prévus sur la cellule pendant le créneau (selon leur source et leur fréquentation)",
    "concurrence": "la concurrence de plusieurs événements prévus au même moment",
}


def component_points(df: pl.DataFrame) -> dict[str, float | None]:
    """The points of index each component brings at its maximum (= 100 × its weight / Σ weights), measured
    on the published rows (contribution ÷ component where the component is not 0); None when no cell of
    the shift has that component."""
    out: dict[str, float | None] = {}
    for c in COMPONENTS:
        ratio = (
            df.filter(pl.col(f"c_{c}") > 1e-9).select((pl.col(f"contribution_{c}") / pl.col(f"c_{c}")).median()).item()
            if df.height
            else None
        )
        out[c] = None if ratio is None else float(ratio)
    return out


def index_recipe(df: pl.DataFrame) -> str:
    """How the index is built, with the weights this shift's rows were computed with."""
    pts = component_points(df)
    parts = []
    for c in COMPONENTS:
        weight = f"jusqu'à {fr(pts[c])} points" if pts[c] is not None else "aucune cellule concernée sur ce créneau"
        parts.append(f"- **{COMPONENT_LABELS[c]}** ({weight}): {COMPONENT_RECIPES[c]};")
    parts[-1] = parts[-1].rstrip(";") + "."
    return (
        "L'indice de tension (0 à 100) additionne cinq composantes, chacune notée de 0 à 1 puis pondérée:\n"
        + "\n".join(parts)
        + "\n\nIl ne retient rien de postérieur à l'instant d'analyse. Deux cellules au même indice sont "
        "départagées par le z de Gi* non plafonné, puis la prévision, puis les événements prévus "
        "(colonne « Rang »)."
    )


def class_rows(df: pl.DataFrame, layer: str, when: str) -> list[dict]:
    """The cells of the Gi* (`gi`: column `class`) or emerging (`emergent`: `class_code`) layer, coloured by class."""
    col, colours, labels = (
        ("class", GI_COLOURS, GI_LABELS) if layer == "gi" else ("class_code", EMERGING_COLOURS, EMERGING_LABELS)
    )
    d = df.filter(pl.col(col).is_in(list(colours)))
    if d.height == 0:
        return []
    quartiers = places.cell_quartiers(d.get_column("h3_cell").to_list())
    detail = (
        pl.format("z = {} · {} fait(s) la semaine {}", pl.col("z").round(1), pl.col("n"), pl.col("period"))
        if layer == "gi"
        else pl.format("sur {} semaines", pl.col("n_periods"))
    )
    return d.select(
        pl.col("h3_cell").alias("h3"),
        pl.col(col).replace_strict(colours, return_dtype=pl.List(pl.Int64)).alias("couleur"),
        pl.col(col).replace_strict(labels, default=pl.col(col), return_dtype=pl.Utf8).alias("titre"),
        pl.lit(when).alias("quand"),
        pl.struct("h3_cell", "arrondissement")
        .map_elements(
            lambda r: " · ".join(
                x
                for x in (places.place(quartiers.get(r["h3_cell"]), r["arrondissement"]), f"cellule {r['h3_cell']}")
                if x
            ),
            return_dtype=pl.Utf8,
        )
        .alias("lieu"),
        pl.lit("").alias("composantes"),
        pl.lit("").alias("tendance"),
        detail.alias("info"),
    ).to_dicts()


def class_legend(layer: str, rows: list[dict]) -> str:
    """The legend of a class layer: one swatch per class drawn, in its drawn colour, with its count of cells."""
    colours, labels = (GI_COLOURS, GI_LABELS) if layer == "gi" else (EMERGING_COLOURS, EMERGING_LABELS)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["titre"]] = counts.get(r["titre"], 0) + 1
    items = [swatch_html(labels[k], colours[k], counts[labels[k]]) for k in colours if labels[k] in counts]
    return (
        f"<div class='tq-legende'><b>{LAYERS[layer]}</b> (nombre de cellules): "
        + ("".join(items) if items else "aucune cellule")
        + "</div>"
    )


def alert_cells(al: pl.DataFrame) -> tuple[str, ...]:
    return tuple(sorted(set(al.get_column("h3_cell").drop_nulls().to_list()))) if al.height else ()


def _zone_name(r: dict) -> str:
    """An alert's zone in words: its cell's quartier, its arrondissement, or the arrondissements it spans."""
    level, area = r["area_level"], r["area"]
    if level == "cellule":
        return places.place(r["_q"], r["arrondissement"]) or "Cellule hors des quartiers connus"
    if level == "arrondissement":
        return places.arrondissement_name(area)
    if level == "quartier":
        return places.place(area)
    if area == "plusieurs":
        where = places.place(r["_q"], r["arrondissement"])
        return "Plusieurs arrondissements" + (f", dont {where}" if where else "")
    return "Toute la ville"


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
    quartiers = places.cell_quartiers(alert_cells(al))
    a = a.with_columns(pl.col("h3_cell").replace_strict(quartiers, default=None, return_dtype=pl.Utf8).alias("_q"))
    zone = pl.struct("area_level", "area", "arrondissement", "_q").map_elements(_zone_name, return_dtype=pl.Utf8)
    return a.select(
        pl.col("starts_at").alias("Début"),
        pl.col("ends_at").alias("Fin"),
        pl.col("severity")
        .replace_strict(SEVERITY_LABELS, default=pl.col("severity"), return_dtype=pl.Utf8)
        .alias("Gravité"),
        pl.col("kind_label").alias("Type"),
        zone.fill_null("").alias("Zone"),
        pl.col("h3_cell").fill_null("").alias("Cellule H3"),
        pl.col("_class")
        .replace_strict(EMERGING_LABELS, default=pl.col("_class"), return_dtype=pl.Utf8)
        .fill_null("")
        .alias("Tendance de la cellule"),
        pl.col("explanation").alias("Explication"),
        pl.col("alert_id").alias("Identifiant"),
    )


__all__ = [
    "shifts",
    "cells",
    "alerts",
    "emerging_classes",
    "slot_label",
    "prepare_cells",
    "map_rows",
    "top_cells",
    "alerts_table",
    "alert_cells",
    "COMPONENTS",
    "EMERGING_LABELS",
    "TOP_N",
]
