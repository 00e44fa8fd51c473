"""The map page (C4): filters (mirrored in the URL), and its data, computed in DuckDB.

Everything is filtered and aggregated in SQL with parameters, through `queries.scoped_query`:
facts (interventions, alerts, reports, incidents) come back as points when few, as H3 counts
when many (or when asked); planned events (demonstrations, operations, visits, public events)
come back with their geometry — routes, footprints, markers.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time as dtime, timedelta
from functools import lru_cache

import h3
import polars as pl

from tranquillite import geo
from tranquillite.app_core import formats as F
from tranquillite.app_core.colours import ColourScale
from tranquillite.app_core.queries import (
    Catalog,
    NotAvailable,
    export_forbidden_conventions,
    export_refusal_reason,
    export_rows,
    scoped_query,
)
from tranquillite.app_core.rights import Principal, Scope
from tranquillite import sources as S
from tranquillite.contracts import load_contracts
from tranquillite.settings import settings

EVENTS = "clean.events"

# what each source is comes from its data contract (`tranquillite.sources`): nothing to edit here
FACT_SOURCES = S.fact_sources()
PLANNED_SOURCES = S.planned_sources()
SOURCE_LABELS = S.labels()
SOURCE_COLORS = S.colours()  # RGBA, colour-blind friendly (Okabe-Ito) for the shipped sources
DETAIL_MODES = {"auto": "Automatique (selon le volume)", "points": "Points", "hexagones": "Hexagones H3"}
H3_RESOLUTIONS = {9: "fine (~0,1 km²)", 8: "moyenne (~0,7 km²)", 7: "large (~5 km²)"}


def point_limit() -> int:
    """Above this many facts, 'auto' shows H3 hexagons instead of points."""
    return settings().carte_max_points


# --------------------------------------------------------------------------- filters
@dataclass(frozen=True)
class MapFilters:
    start: date
    end: date
    hours: tuple[int, int] = (0, 23)
    sources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()  # "source|sous-catégorie"
    arrondissements: tuple[str, ...] = ()
    detail: str = "auto"
    resolution: int = 9

    def to_query_params(self) -> dict[str, str | list[str]]:
        """Compact form with codes (access log). The page's URL is kept by the widgets themselves
        (`bind="query-params"`), which write the displayed labels."""
        qp: dict[str, str | list[str]] = {"du": self.start.isoformat(), "au": self.end.isoformat()}
        if self.hours != (0, 23):
            qp["heures"] = f"{self.hours[0]}-{self.hours[1]}"
        if self.sources:
            qp["sources"] = list(self.sources)
        if self.categories:
            qp["cat"] = list(self.categories)
        if self.arrondissements:
            qp["arr"] = list(self.arrondissements)
        if self.detail != "auto":
            qp["vue"] = self.detail
        if self.resolution != 9:
            qp["h3"] = str(self.resolution)
        return qp

    def as_log(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.to_query_params().items()}


@lru_cache(maxsize=1)
def arrondissement_names() -> dict[str, str]:
    df = geo.arrondissements().sort("arr_num")
    return {
        r["insee_arm"]: f"{r['arr_num']}{'er' if r['arr_num'] == 1 else 'e'} arrondissement"
        for r in df.iter_rows(named=True)
    }


def _common_where(f: MapFilters, sources: tuple[str, ...]) -> tuple[str, list]:
    """Source, category and arrondissement filters (dates and hours differ for facts / planned)."""
    selected = list(f.sources) if f.sources else list(sources)
    cat_sources = sorted({c.split("|", 1)[0] for c in f.categories})
    where = (
        "list_contains(?::VARCHAR[], source)"
        " AND (NOT list_contains(?::VARCHAR[], source)"
        "      OR list_contains(?::VARCHAR[], source || '|' || coalesce(subcategory, '')))"
        " AND (len(?::VARCHAR[]) = 0 OR list_contains(?::VARCHAR[], arrondissement))"
    )
    arr = list(f.arrondissements)
    return where, [[s for s in selected if s in sources], cat_sources, list(f.categories), arr, arr]


def _in_arc(x: str | int, s: str | int, e: str | int) -> tuple[str, list]:
    """SQL: hour `x` lies on the circular hour range s..e (e < s: the range crosses midnight).

    Each argument is a SQL expression (str) or an hour (int), bound as a parameter.
    """
    sql, params = [], []
    for piece in (
        "(CASE WHEN ",
        s,
        " <= ",
        e,
        " THEN ",
        x,
        " BETWEEN ",
        s,
        " AND ",
        e,
        " ELSE (",
        x,
        " >= ",
        s,
        " OR ",
        x,
        " <= ",
        e,
        ") END)",
    ):
        if isinstance(piece, int):
            sql.append("?::INTEGER")
            params.append(piece)
        else:
            sql.append(piece)
    return "".join(sql), params


def _facts_where(f: MapFilters) -> tuple[str, list]:
    where, params = _common_where(f, FACT_SOURCES)
    t0 = datetime.combine(f.start, dtime(0))
    t1 = datetime.combine(f.end + timedelta(days=1), dtime(0))
    arc, arc_params = _in_arc("hour(start)", *f.hours)
    return where + " AND start >= ? AND start < ? AND " + arc, params + [t0, t1] + arc_params


def planned_hours_sql(a: int, b: int) -> tuple[str, list]:
    """Planned events whose hours overlap the window a..b: two circular hour ranges meet iff one
    contains the other's first hour; an event of 24 hours or more meets every window. Scalar
    arithmetic only, cheap on a year of events."""
    hs, he = "hour(start)", 'hour(coalesce("end", start))'
    one, p1 = _in_arc(a, hs, he)
    two, p2 = _in_arc(hs, a, b)
    return f"""(date_diff('hour', start, coalesce("end", start)) >= 24 OR {one} OR {two})""", p1 + p2


def _planned_where(f: MapFilters, longest_us: int | None = None) -> tuple[str, list]:
    """Planned events overlapping the dates, and whose hours overlap the time-of-day window.

    `longest_us`: the longest duration of a planned event of the catalog (`Catalog.longest_span_us`):
    the events ending on or after the first day then start on or after it minus that, a redundant
    bound that lets DuckDB skip the row groups of the earlier months (same rows)."""
    where, params = _common_where(f, PLANNED_SOURCES)
    t0 = datetime.combine(f.start, dtime(0))
    t1 = datetime.combine(f.end + timedelta(days=1), dtime(0))
    hours, hour_params = planned_hours_sql(*f.hours)
    where += ' AND start < ? AND coalesce("end", start) >= ? AND ' + hours
    params = params + [t1, t0] + hour_params
    if longest_us is not None:
        where += " AND start >= ?"
        params.append(t0 - timedelta(microseconds=longest_us))
    return where, params


# --------------------------------------------------------------------------- data
@dataclass
class MapData:
    facts_mode: str  # "points" | "hexagones"
    n_facts: int
    points: list[dict] = field(default_factory=list)
    hexagons: list[dict] = field(default_factory=list)
    routes: list[dict] = field(default_factory=list)
    footprints: list[dict] = field(default_factory=list)
    markers: list[dict] = field(default_factory=list)
    per_source: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    hex_scale: ColourScale | None = None  # the hexagons' colours and their legend


def hexagon_scale(top: int) -> ColourScale:
    """Facts per hexagon, log scale from 1 to the densest hexagon of the view: the city centre does
    not wash out every other district."""
    return ColourScale(
        name="Faits par hexagone H3",
        unit="nombre de faits, échelle logarithmique",
        top=float(max(top, 1)),
        bottom=1.0,
        transform="log",
        alpha=(70, 220),
    )


def _fmt(ts: datetime | None) -> str:
    return ts.strftime("%d/%m/%Y %H:%M") if ts else ""


def date_bounds(cat: Catalog, scope: Scope) -> tuple[date, date] | None:
    """First and last day of the facts the scope may see (of the planned events if no facts)."""
    df = scoped_query(
        cat,
        scope,
        EVENTS,
        select="source, min(start) AS a, max(start) AS b",
        where="start IS NOT NULL",
        group_by="source",
        level="rows",
    )
    if df.height == 0:
        return None
    facts = df.filter(pl.col("source").is_in(list(FACT_SOURCES)))
    use = facts if facts.height else df
    return use.get_column("a").min().date(), use.get_column("b").max().date()


def default_period(bounds: tuple[date, date] | None, days: int = 30) -> tuple[date, date]:
    if bounds is None:
        today = date.today()
        return today - timedelta(days=days - 1), today
    end = bounds[1]
    return max(bounds[0], end - timedelta(days=days - 1)), end


def category_options(cat: Catalog, scope: Scope) -> dict[str, list[str]]:
    """Sub-categories present, per source the scope may see (for the filter)."""
    df = scoped_query(
        cat,
        scope,
        EVENTS,
        select="source, subcategory, count(*) AS n",
        where="subcategory IS NOT NULL",
        group_by="source, subcategory",
        order_by="source, n DESC",
    )
    out: dict[str, list[str]] = {}
    for s, sub, _ in df.iter_rows():
        out.setdefault(s, []).append(sub)
    return out


GREY = [90, 90, 90, 200]
# the facts counted per source, H3 cell, sub-category and arrondissement in ONE read (issue 14): the
# counts per source, the cells and their main category and arrondissement all follow, in Polars
FACTS_GROUPS = "source, h3_cell, subcategory, arrondissement"


def _label(col: str = "source") -> pl.Expr:
    return pl.col(col).replace(SOURCE_LABELS)


def _colour(col: str = "source") -> pl.Expr:
    return pl.col(col).replace_strict(SOURCE_COLORS, default=GREY, return_dtype=pl.List(pl.Int64))


def _place(names: dict[str, str], col: str = "arrondissement") -> pl.Expr:
    return pl.col(col).replace_strict(names, default="", return_dtype=pl.Utf8)


def _blank(col: str) -> pl.Expr:
    return pl.col(col).is_null() | (pl.col(col).cast(pl.Utf8) == "")


def _period_expr(start: str = "start", end: str = "end") -> pl.Expr:
    """When an event happens, in words: « 02/12/2025 14:00 », « …–16:30 » ending the same day,
    « … → 03/12/2025 09:00 » a later day (Polars, no loop over the rows)."""
    s, e = pl.col(start), pl.col(end)
    first = s.dt.strftime("%d/%m/%Y %H:%M")
    return (
        pl.when(s.is_null())
        .then(pl.lit(""))
        .when(e.is_null() | (e == s))
        .then(first)
        .when(e.dt.date() == s.dt.date())
        .then(first + pl.lit("–") + e.dt.strftime("%H:%M"))
        .otherwise(first + pl.lit(" → ") + e.dt.strftime("%d/%m/%Y %H:%M"))
    )


def _most_counted(groups: pl.DataFrame, col: str) -> pl.DataFrame:
    """Per cell, the value of `col` counting the most facts (NULLs aside, as SQL's `mode`; a tie goes to
    the first value in alphabetical order)."""
    return (
        groups.filter(pl.col(col).is_not_null())
        .group_by("h3_cell", col)
        .agg(pl.col("n").sum().alias("k"))
        .sort(["h3_cell", "k", col], descending=[False, True, False])
        .unique("h3_cell", keep="first", maintain_order=True)
        .select("h3_cell", col)
    )


def _cells(groups: pl.DataFrame) -> pl.DataFrame:
    """h3_cell, n, principale, arrondissement of the cells, from the grouped facts."""
    g = groups.filter(pl.col("h3_cell").is_not_null())
    return (
        g.group_by("h3_cell")
        .agg(pl.col("n").sum())
        .join(_most_counted(g, "subcategory").rename({"subcategory": "principale"}), on="h3_cell", how="left")
        .join(_most_counted(g, "arrondissement"), on="h3_cell", how="left")
        .select("h3_cell", "n", "principale", "arrondissement")
    )


def _point_rows(df: pl.DataFrame, names: dict[str, str]) -> list[dict]:
    """The facts as points, labels joined in Polars (no loop over the rows)."""
    return df.select(
        "event_id",
        "source",
        "lon",
        "lat",
        _colour().alias("couleur"),
        pl.when(_blank("subcategory")).then(_label()).otherwise(pl.col("subcategory")).alias("titre"),
        _period_expr().alias("quand"),
        _place(names).alias("lieu"),
        _label().alias("info"),
    ).to_dicts()


def _hexagon_rows(df: pl.DataFrame, f: MapFilters, scale: ColourScale, names: dict[str, str]) -> list[dict]:
    """The H3 cells (h3_cell, n, principale, arrondissement), labels joined in Polars; « 3 faits » is
    formatted once per distinct count (`formats.plural`, the one French form)."""
    counts = df.get_column("n").cast(pl.Int64)
    titles = {int(n): F.plural(int(n), "fait") for n in counts.unique().to_list()}
    colours = pl.Series("couleur", scale.rgba(counts.to_numpy()).astype("int64")).cast(pl.List(pl.Int64))
    return df.select(
        pl.col("h3_cell").alias("h3"),
        counts.alias("n"),
        colours,
        counts.replace_strict(titles, return_dtype=pl.Utf8).alias("titre"),
        pl.lit(f"{f.start:%d/%m/%Y} → {f.end:%d/%m/%Y}").alias("quand"),
        _place(names).alias("lieu"),
        (
            pl.lit("Catégorie principale: ")
            + pl.when(_blank("principale")).then(pl.lit("n.c.")).otherwise(pl.col("principale"))
        ).alias("info"),
    ).to_dicts()


def _planned_rows(df: pl.DataFrame, names: dict[str, str]) -> list[dict]:
    """The planned events with their labels (Polars) and their geometry (parsed per event)."""
    return df.select(
        "event_id",
        "source",
        _colour().alias("couleur"),
        (
            _label() + pl.when(_blank("subcategory")).then(pl.lit("")).otherwise(pl.lit(" — ") + pl.col("subcategory"))
        ).alias("titre"),
        _period_expr().alias("quand"),
        _place(names).alias("lieu"),
        pl.when(pl.col("attendance").is_null() | (pl.col("attendance") == 0))
        .then(pl.lit(""))
        .otherwise(pl.col("attendance").cast(pl.Utf8) + pl.lit(" personnes attendues"))
        .alias("info"),
        "geometry",
        "lon",
        "lat",
    ).to_dicts()


def map_data(cat: Catalog, scope: Scope, f: MapFilters) -> MapData:
    """All the data of the map page for these filters: 2–3 SQL queries, all scoped — the facts counted
    per source, cell, sub-category and arrondissement in one read (the counts per source and the cells
    follow in Polars), their rows when shown as points, the planned events (with a bound on `start`
    that skips the earlier row groups)."""
    t0 = time.perf_counter()
    where, params = _facts_where(f)
    groups = scoped_query(
        cat,
        scope,
        EVENTS,
        select=FACTS_GROUPS + ", count(*) AS n",
        where=where,
        params=params,
        group_by=FACTS_GROUPS,
        level="rows",
    )
    counts = groups.group_by("source", maintain_order=True).agg(pl.col("n").sum()).sort("source")
    per_source = {s: int(n) for s, n in counts.iter_rows()}
    n_facts = sum(per_source.values())
    mode = f.detail if f.detail != "auto" else ("points" if n_facts <= point_limit() else "hexagones")
    data = MapData(facts_mode=mode, n_facts=n_facts, per_source=per_source)
    names = arrondissement_names()
    if n_facts and mode == "points":
        df = scoped_query(
            cat,
            scope,
            EVENTS,
            select='event_id, source, subcategory, start, "end", lon, lat, arrondissement',
            where=where,
            params=params,
            order_by="start",
            limit=max(point_limit(), 20000),
        )
        data.points = _point_rows(df, names)
    elif n_facts:
        df = _cells(groups)
        if f.resolution < 9:
            parents = {c: h3.cell_to_parent(c, f.resolution) for c in df.get_column("h3_cell").to_list()}
            df = (
                df.with_columns(pl.col("h3_cell").replace_strict(parents, return_dtype=pl.Utf8))
                .group_by("h3_cell")
                .agg(pl.col("n").sum(), pl.col("principale").mode().first(), pl.col("arrondissement").mode().first())
            )
        data.hex_scale = hexagon_scale(int(df.get_column("n").max() or 1))
        data.hexagons = _hexagon_rows(df, f, data.hex_scale, names)
    pwhere, pparams = _planned_where(f, cat.longest_span_us(EVENTS, PLANNED_SOURCES))
    planned = scoped_query(
        cat,
        scope,
        EVENTS,
        select='event_id, source, subcategory, start, "end", geometry, lon, lat, arrondissement, attendance',
        where=pwhere,
        params=pparams,
        order_by="start",
        limit=5000,
    )
    for r in _planned_rows(planned, names):
        geometry, lon, lat = r.pop("geometry"), r.pop("lon"), r.pop("lat")
        data.per_source[r["source"]] = data.per_source.get(r["source"], 0) + 1
        try:
            g = json.loads(geometry) if geometry else None
        except json.JSONDecodeError:
            g = None
        gtype = (g or {}).get("type")
        if gtype == "LineString":
            data.routes.append({**r, "chemin": g["coordinates"]})
        elif gtype == "Polygon":
            data.footprints.append({**r, "contour": g["coordinates"][0]})
        elif gtype == "MultiPolygon":
            for poly in g["coordinates"]:
                data.footprints.append({**r, "contour": poly[0]})
        elif gtype == "MultiPoint":
            for lon_, lat_, *_ in g["coordinates"]:
                data.markers.append({**r, "lon": lon_, "lat": lat_})
        elif lon is not None and lat is not None:
            data.markers.append({**r, "lon": lon, "lat": lat})
    data.seconds = time.perf_counter() - t0
    return data


# --------------------------------------------------------------------------- when: by day, weekday × hour
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
COMPARISON_MIN = 10  # below this many facts in either period, no percentage: the counts are shown as they are
COMPARISON_ALPHA = 0.05


@dataclass
class WhenData:
    """When the facts of the view happened, aggregated in SQL through the gateway (the map's filters and scope)."""

    by_day: pl.DataFrame  # jour (date), source, n — every day of the period, 0 included
    by_hour: pl.DataFrame  # jour_semaine (1 = lundi … 7), heure (0–23), n — every cell of the week
    current: int
    previous: int
    previous_period: tuple[date, date]


def previous_period(f: MapFilters) -> tuple[date, date]:
    """The period of the same length just before the filters' one."""
    days = (f.end - f.start).days + 1
    return f.start - timedelta(days=days), f.start - timedelta(days=1)


def when_data(cat: Catalog, scope: Scope, f: MapFilters) -> WhenData:
    """Facts of the view by day and source, by weekday × hour, and their count over the previous period of
    the same length (same hours, sources, categories, arrondissements): three aggregate queries, all scoped."""
    where, params = _facts_where(f)
    day = scoped_query(
        cat,
        scope,
        EVENTS,
        select="CAST(start AS DATE) AS jour, source, count(*) AS n",
        where=where,
        params=params,
        group_by="jour, source",
        level="rows",
    )
    hour = scoped_query(
        cat,
        scope,
        EVENTS,
        select="isodow(start) AS jour_semaine, hour(start) AS heure, count(*) AS n",
        where=where,
        params=params,
        group_by="jour_semaine, heure",
        level="rows",
    )
    p0, p1 = previous_period(f)
    pwhere, pparams = _facts_where(replace(f, start=p0, end=p1))
    prev = scoped_query(cat, scope, EVENTS, select="count(*) AS n", where=pwhere, params=pparams, level="rows")
    sources = sorted(set(day.get_column("source").to_list())) if day.height else []
    days = pl.DataFrame({"jour": pl.date_range(f.start, f.end, "1d", eager=True)})
    by_day = (
        days.join(pl.DataFrame({"source": sources}, schema={"source": pl.Utf8}), how="cross")
        .join(
            day.with_columns(pl.col("jour").cast(pl.Date), pl.col("n").cast(pl.Int64)),
            on=["jour", "source"],
            how="left",
        )
        .with_columns(pl.col("n").fill_null(0))
    )
    grid = pl.DataFrame({"jour_semaine": list(range(1, 8))}, schema={"jour_semaine": pl.Int64}).join(
        pl.DataFrame({"heure": list(range(24))}, schema={"heure": pl.Int64}), how="cross"
    )
    by_hour = grid.join(
        hour.with_columns(
            pl.col("jour_semaine").cast(pl.Int64), pl.col("heure").cast(pl.Int64), pl.col("n").cast(pl.Int64)
        ),
        on=["jour_semaine", "heure"],
        how="left",
    ).with_columns(pl.col("n").fill_null(0))
    current = int(day.get_column("n").sum()) if day.height else 0
    return WhenData(
        by_day=by_day,
        by_hour=by_hour,
        current=current,
        previous=int(prev.item() or 0) if prev.height else 0,
        previous_period=(p0, p1),
    )


def comparison_text(current: int, previous: int, previous_period: tuple[date, date]) -> str:
    """This period against the previous one of the same length, in words: a percentage only when both counts
    reach COMPARISON_MIN, and said to be within chance when an exact test cannot tell them apart (under equal
    rates, the current count given the total is binomial(total, ½))."""
    from scipy.stats import binomtest

    since = f"du {previous_period[0]:%d/%m/%Y} au {previous_period[1]:%d/%m/%Y}"
    counts = f"{F.plural(current, 'fait')} contre {F.integer(previous)} {since}"
    if current < COMPARISON_MIN or previous < COMPARISON_MIN:
        return (
            f"{counts}: trop peu de faits pour parler d'évolution en pourcentage "
            f"(moins de {COMPARISON_MIN} sur l'une des deux périodes)."
        )
    change = current / previous - 1
    p = binomtest(current, current + previous, 0.5).pvalue
    verdict = (
        "écart compatible avec le hasard (test exact, p = " + F.number(p, 2) + ")"
        if p >= COMPARISON_ALPHA
        else "écart au-delà du hasard (test exact, p " + ("< 0,001" if p < 0.001 else "= " + F.number(p, 3)) + ")"
    )
    return f"**{F.signed_percent(change)}** par rapport à la période précédente de même durée ({counts}); {verdict}."


DETAIL_FIELDS = {
    "event_id": "Identifiant",
    "source": "Source",
    "category": "Catégorie",
    "subcategory": "Sous-catégorie",
    "start": "Début",
    "end": "Fin",
    "arrondissement": "Arrondissement",
    "attendance": "Personnes attendues",
    "version": "Version",
    "entered_at": "Saisi le",
    "convention": "Convention",
    "h3_cell": "Cellule H3",
    "lon": "Longitude",
    "lat": "Latitude",
}


def event_detail(cat: Catalog, scope: Scope, event_id: str) -> dict[str, str] | None:
    """The details panel of one event, if the scope may see it (else None)."""
    df = scoped_query(
        cat,
        scope,
        EVENTS,
        select=", ".join(f'"{c}"' for c in DETAIL_FIELDS),
        where="event_id = ?",
        params=[event_id],
        limit=1,
    )
    if df.height == 0:
        return None
    row = df.row(0, named=True)
    names = arrondissement_names()
    out: dict[str, str] = {}
    for k, label in DETAIL_FIELDS.items():
        v = row.get(k)
        if v is None or v == "":
            continue
        if k == "source":
            v = SOURCE_LABELS.get(v, v)
        elif k == "arrondissement":
            v = names.get(v, v)
        elif isinstance(v, datetime):
            v = _fmt(v)
        elif isinstance(v, float):
            v = F.number(v, 5)
        out[label] = str(v)
    return out


EXPORT_COLUMNS = 'event_id, source, category, subcategory, start, "end", lon, lat, h3_cell, arrondissement, convention'


def _export_parts(f: MapFilters, limit: int) -> list[dict]:
    where, params = _facts_where(f)
    pwhere, pparams = _planned_where(f)
    return [
        dict(table=EVENTS, select=EXPORT_COLUMNS, where=w, params=p, order_by="start", limit=limit)
        for w, p in ((where, params), (pwhere, pparams))
    ]


def export_refusal(per_source: dict[str, int]) -> str | None:
    """Why the current view cannot be exported (a convention forbids use outside the platform), or None.

    `per_source`: the view's rows per source (the map's counts), so the page says it before the click."""
    contracts = load_contracts()
    convs = {contracts[s].convention for s, n in per_source.items() if n and s in contracts}
    forbidden = export_forbidden_conventions(sorted(convs))
    return export_refusal_reason(forbidden) if forbidden else None


def export_csv(cat: Catalog, principal: Principal, f: MapFilters, limit: int = 200_000) -> bytes:
    """The CSV export of the current view: the gateway checks the right and the conventions, neutralises
    formulas and logs it (export=1, with its conventions and row count)."""
    df = export_rows(cat, principal, _export_parts(f, limit), page="carte", filters=f.as_log())
    return df.write_csv(separator=";").encode("utf-8-sig")


# --------------------------------------------------------------------------- public indicators
def public_indicators(cat: Catalog, scope: Scope, months: int = 12) -> pl.DataFrame:
    """Facts per arrondissement × month × source over the last months, small counts ALWAYS masked."""
    facts = [list(FACT_SOURCES)]
    last = scoped_query(
        cat,
        scope,
        EVENTS,
        select="max(start) AS b",
        where="list_contains(?::VARCHAR[], source)",
        params=facts,
        level="aggregate",
    )
    b = last.item() if last.height else None
    if b is None:
        return pl.DataFrame(
            schema={"arrondissement": pl.Utf8, "mois": pl.Utf8, "source": pl.Utf8, "n": pl.Int64, "n_affiche": pl.Utf8}
        )
    m = b.year * 12 + b.month - 1 - (months - 1)
    since = datetime(m // 12, m % 12 + 1, 1)
    return scoped_query(
        cat,
        scope,
        EVENTS,
        select="arrondissement, strftime(date_trunc('month', start), '%Y-%m') AS mois, source, count(*) AS n",
        where="list_contains(?::VARCHAR[], source) AND arrondissement IS NOT NULL AND start >= ?",
        params=facts + [since],
        group_by="arrondissement, mois, source",
        order_by="mois, arrondissement, source",
        level="aggregate",
        mask=True,
    )


def with_filters(f: MapFilters, **changes) -> MapFilters:
    return replace(f, **changes)


__all__ = [
    "MapFilters",
    "MapData",
    "map_data",
    "WhenData",
    "when_data",
    "comparison_text",
    "previous_period",
    "event_detail",
    "date_bounds",
    "default_period",
    "category_options",
    "export_csv",
    "export_refusal",
    "public_indicators",
    "NotAvailable",
    "FACT_SOURCES",
    "PLANNED_SOURCES",
    "SOURCE_LABELS",
    "SOURCE_COLORS",
    "arrondissement_names",
]
