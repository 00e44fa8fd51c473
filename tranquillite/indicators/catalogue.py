"""Generic materialisation of the indicator catalogue (T7): YAML in, one long table out.

The code knows a few **relations** (one row per fact, per planned event × cell × day, per
colliding pair × cell × day, per hot-spot cell × week, per ingestion partition, per backtest
score); every indicator is an aggregate SQL expression over one of them, grouped by area
(`ville`, `arrondissement`, `quartier`, `cellule`) × period (`jour`, `semaine`, `mois`) and an
optional breakdown. Adding an indicator is a YAML entry (`data_contracts/indicators.yaml`).

The SQL fragments of the catalogue are trusted, reviewed text (like the contracts); they run in
an in-memory DuckDB session that only holds the relations, with file access disabled and the
configuration locked. Everything else (indicator id, levels, city, coverage) is a bound
parameter.

Outputs:
* `indicators.values` — indicator_id, area_level, area, period_level, period, period_start,
  period_end, complete, dimension, value, n (count behind the value, for suppression),
  conventions, value_prev / evolution_prev_pct (previous period), value_ly /
  evolution_ly_pct (same period a year before), coverage_start / coverage_end;
* `indicators.values_public` — the indicators the `public` profile may see, at the public
  areas and periods, values with n < threshold (11) masked, plus secondary suppression so a
  masked value cannot be recomputed from a total;
* `indicators.catalogue` — the catalogue itself (definitions, formulas, owners, profiles).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb
import polars as pl

from tranquillite.indicators import incremental as inc
from tranquillite.indicators.config import Catalogue, Indicator
from tranquillite.indicators.lists import sorted_set
from tranquillite.indicators.periods import period_start

AREA_SQL = {"ville": "?", "arrondissement": "arrondissement", "quartier": "quartier", "cellule": "cellule"}
PERIOD_SQL = {  # start of the period, its length, its label
    "jour": ("CAST(t AS DATE)", "1 day", "%Y-%m-%d"),
    "semaine": ("CAST(date_trunc('week', t) AS DATE)", "7 days", "%G-W%V"),
    "mois": ("CAST(date_trunc('month', t) AS DATE)", "1 month", "%Y-%m"),
}
TOTAL = "toutes"


@dataclass(frozen=True)
class Relation:
    name: str
    areas: tuple[str, ...]
    description: str


_ALL = ("ville", "arrondissement", "quartier", "cellule")
RELATIONS: dict[str, Relation] = {
    r.name: r
    for r in (
        Relation("faits", _ALL, "un fait constaté (interventions, alertes CSU, signalements)"),
        Relation("evenements_prevus", _ALL, "un événement prévu × cellule touchée × jour d'activité"),
        Relation("concurrences", _ALL, "une paire d'événements simultanés × cellule partagée × jour"),
        Relation("points_chauds", _ALL, "une cellule × catégorie × semaine en point chaud significatif"),
        Relation("qualite", ("ville",), "une partition d'une source (journal d'ingestion)"),
        Relation("backtest", ("ville",), "un score du backtest des modèles (models.backtest)"),
    )
}

VALUES_SCHEMA = {
    "indicator_id": pl.Utf8,
    "area_level": pl.Utf8,
    "area": pl.Utf8,
    "period_level": pl.Utf8,
    "period": pl.Utf8,
    "period_start": pl.Date,
    "period_end": pl.Date,
    "complete": pl.Boolean,
    "dimension": pl.Utf8,
    "value": pl.Float64,
    "n": pl.Int64,
    "conventions": pl.List(pl.Utf8),
    "value_prev": pl.Float64,
    "n_prev": pl.Int64,
    "evolution_prev_pct": pl.Float64,
    "value_ly": pl.Float64,
    "n_ly": pl.Int64,
    "evolution_ly_pct": pl.Float64,
    "coverage_start": pl.Date,
    "coverage_end": pl.Date,
}
PUBLIC_SCHEMA = {
    "indicator_id": pl.Utf8,
    "indicator_name": pl.Utf8,
    "unit": pl.Utf8,
    "area_level": pl.Utf8,
    "area": pl.Utf8,
    "period_level": pl.Utf8,
    "period": pl.Utf8,
    "period_start": pl.Date,
    "complete": pl.Boolean,
    "dimension": pl.Utf8,
    "value": pl.Float64,
    "value_display": pl.Utf8,
    "suppressed": pl.Utf8,
    "value_prev": pl.Float64,
    "evolution_prev_pct": pl.Float64,
    "value_ly": pl.Float64,
    "evolution_ly_pct": pl.Float64,
    "conventions": pl.List(pl.Utf8),
}


# --------------------------------------------------------------------------- the SQL of one indicator
def indicator_sql(ind: Indicator, area: str, period: str, source: str | None = None) -> str:
    """The query of one indicator at one area and period level (over the view `source`, default its
    relation). Parameters, in order: the city (for `ville`), coverage start, coverage end (exclusive)."""
    start, step, label = PERIOD_SQL[period]
    dim = ind.breakdown or "NULL"
    keys = "_zone, _debut, _fin, _jours, _couverture_debut, _couverture_fin"
    if ind.breakdown and ind.total:
        group = f"GROUPING SETS (({keys}, _dim), ({keys}))"
        dimension = (
            f"CASE WHEN grouping(_dim) = 1 THEN '{TOTAL}' ELSE coalesce(CAST(_dim AS VARCHAR), 'non_renseigne') END"
        )
    elif ind.breakdown:
        group = f"{keys}, _dim"
        dimension = "coalesce(CAST(_dim AS VARCHAR), 'non_renseigne')"
    else:
        group = keys
        dimension = f"'{TOTAL}'"
    return f"""
        WITH b1 AS (
            SELECT *, CAST({AREA_SQL[area]} AS VARCHAR) AS _zone, {start} AS _debut
            FROM "{source or ind.relation}" WHERE ({ind.filter or "TRUE"})
        ), b2 AS (
            SELECT *, CAST(_debut + INTERVAL '{step}' AS DATE) AS _fin,
                   CAST(? AS DATE) AS _couverture_debut, CAST(? AS DATE) AS _couverture_fin
            FROM b1 WHERE _zone IS NOT NULL
        ), b3 AS (
            SELECT *, date_diff('day', greatest(_debut, _couverture_debut), least(_fin, _couverture_fin)) AS _jours,
                   {dim} AS _dim
            FROM b2
        )
        SELECT _zone AS area, _debut AS period_start, _fin AS period_end,
               strftime(_debut, '{label}') AS period, {dimension} AS dimension,
               CAST(({ind.value}) AS DOUBLE) AS value, CAST(({ind.count}) AS BIGINT) AS n,
               list_sort(list_distinct(flatten(list(b3.conventions)))) AS conventions
        FROM b3
        GROUP BY {group}
    """


def _coverage(df: pl.DataFrame) -> tuple[date, date] | None:
    """(first day, last day + 1) of a relation's `t`."""
    if df.height == 0:
        return None
    a, b = df.select(pl.col("t").min().alias("a"), pl.col("t").max().alias("b")).row(0)
    if a is None:
        return None
    day = lambda x: x.date() if isinstance(x, datetime) else x  # noqa: E731
    return day(a), day(b) + timedelta(days=1)


def materialise(
    cat: Catalogue, relations: dict[str, pl.DataFrame | None], only: list[str] | None = None
) -> tuple[pl.DataFrame, dict[str, str]]:
    """Every indicator of the catalogue (or `only` these ids) at every granularity it declares.

    Returns the long table (with trends) and, for indicators not computed, the reason."""
    base, skipped, _ = base_values(cat, relations, only)
    return finish(base, cat), skipped


BASE_CASTS = {
    "period_start": pl.Date,
    "period_end": pl.Date,
    "value": pl.Float64,
    "n": pl.Int64,
    "coverage_start": pl.Date,
    "coverage_end": pl.Date,
}
# the values before trends (what the state keeps between runs): the table's columns but the trends
BASE_SCHEMA = {
    k: VALUES_SCHEMA[k]
    for k in (
        "area",
        "period_start",
        "period_end",
        "period",
        "dimension",
        "value",
        "n",
        "conventions",
        "indicator_id",
        "area_level",
        "period_level",
        "coverage_start",
        "coverage_end",
    )
}
Chunk = tuple[str, str, str]  # (indicator_id, area_level, period_level): its rows' trends need no other


class BaseSession:
    """The catalogue's SQL session over the relations: the values before trends of one (indicator,
    area level, period level) at a time, on demand — over eight years, the whole table before
    trends is millions of rows.

    `touched` ({relation: `incremental.Touched`}): only the periods it names are computed for the
    relations it holds (from their rows in those periods: a period's value depends on its rows and
    the relation's coverage alone); an empty `Touched` computes nothing for its relation.
    `skipped` (the indicators not computed, with the reason) and `covers` (each relation's first
    day, last day + 1) are known before any query."""

    def __init__(
        self,
        cat: Catalogue,
        relations: dict[str, pl.DataFrame | None],
        only: list[str] | None = None,
        touched: dict | None = None,
    ):
        self.cat, self.skipped, self.covers = cat, {}, {}
        self._views: dict[tuple[str, str], str | None] = {}
        self.con = duckdb.connect(":memory:")
        try:
            self._register(relations, touched or {})
        except BaseException:
            self.con.close()
            raise
        self.indicators = {}
        for ind in cat.indicators:
            if only is not None and ind.id not in only:
                continue
            if self.covers.get(ind.relation) is None:
                self.skipped[ind.id] = (
                    f"relation « {ind.relation} » absente ou vide"
                    if relations.get(ind.relation) is None
                    else f"relation « {ind.relation} » vide"
                )
                continue
            self.indicators[ind.id] = ind

    def _register(self, relations: dict[str, pl.DataFrame | None], touched: dict) -> None:
        for name, df in relations.items():
            if df is None:
                continue
            if "conventions" not in df.columns:  # a relation with one convention code per row
                df = df.with_columns(pl.concat_list("convention").list.drop_nulls().alias("conventions"))
            self.covers[name] = _coverage(df)
            t = touched.get(name)
            if t is None:
                self.con.register(name, df.to_arrow())
                continue
            # a touched relation: one view per period level, of the rows of its touched periods
            for level in PERIOD_SQL:
                if t.empty:
                    self._views[(name, level)] = None
                    continue
                view = f"{name}__{level}"
                self.con.register(view, df.filter(t.expr(period_start(pl.col("t"), level), level)).to_arrow())
                self._views[(name, level)] = view
        self.con.execute("SET enable_external_access = false")
        self.con.execute("SET lock_configuration = true")

    def chunks(self, ordered: bool = True) -> list[Chunk]:
        """Every (indicator, area, period) computed: in the table's order (`ordered`) or the catalogue's."""
        out = [(i, a, p) for i, ind in self.indicators.items() for a in ind.areas for p in ind.periods]
        return sorted(out) if ordered else out

    def relation(self, indicator_id: str) -> str:
        return self.indicators[indicator_id].relation

    def frame(self, chunk: Chunk) -> pl.DataFrame | None:
        """The values before trends of `chunk` (None: none of its periods is touched)."""
        ind, area, period = self.indicators[chunk[0]], chunk[1], chunk[2]
        source = ind.relation
        if (ind.relation, period) in self._views:
            source = self._views[(ind.relation, period)]
            if source is None:
                return None
        cov = self.covers[ind.relation]
        params = ([self.cat.city] if area == "ville" else []) + [cov[0], cov[1]]
        try:
            df = pl.from_arrow(self.con.sql(indicator_sql(ind, area, period, source), params=params).to_arrow_table())
        except duckdb.Error as exc:
            raise ValueError(f"indicateur {ind.id} ({area} × {period}): {exc}") from exc
        return df.with_columns(
            pl.lit(ind.id).alias("indicator_id"),
            pl.lit(area).alias("area_level"),
            pl.lit(period).alias("period_level"),
            pl.lit(cov[0]).alias("coverage_start"),
            pl.lit(cov[1]).alias("coverage_end"),
        ).cast(BASE_CASTS)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "BaseSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def base_values(
    cat: Catalogue,
    relations: dict[str, pl.DataFrame | None],
    only: list[str] | None = None,
    touched: dict | None = None,
) -> tuple[pl.DataFrame | None, dict[str, str], dict]:
    """The values of every indicator before trends (None when nothing is computed), the reasons of
    the indicators not computed, and each relation's coverage (first day, last day + 1); `touched`:
    as `BaseSession`."""
    with BaseSession(cat, relations, only, touched) as s:
        frames = [f for f in (s.frame(c) for c in s.chunks(ordered=False)) if f is not None]
    if not frames:
        return None, s.skipped, s.covers
    return pl.concat(frames, how="diagonal_relaxed"), s.skipped, s.covers


def finish(base: pl.DataFrame | None, cat: Catalogue, only: pl.Expr | None = None) -> pl.DataFrame:
    """The values table from the values before trends: `complete` and the trends (of the rows
    `only` selects, their references read from the whole `base`)."""
    if base is None or base.height == 0:
        return pl.DataFrame(schema=VALUES_SCHEMA)
    rows = base if only is None else base.filter(only)
    rows = rows.with_columns(
        ((pl.col("period_start") >= pl.col("coverage_start")) & (pl.col("period_end") <= pl.col("coverage_end"))).alias(
            "complete"
        )
    )
    return add_trends(base, cat, rows, few=only is not None)


_PERIOD_KEYS = ["indicator_id", "period_level", "period_start"]


def _redo(t: inc.Touched | None, level: str) -> pl.Expr:
    """Rows (of one chunk: one indicator, one period level, its relation's changes `t`) whose value
    or trends a change touches: those of a touched period, and those whose previous period or
    same period a year before is touched."""
    if t is None or t.empty:
        return pl.lit(False)
    # a constant offset per level (a per-row offset string is parsed row by row: seconds)
    starts = [
        pl.col("period_start"),
        pl.col("period_start").dt.offset_by(_BACK["precedente"][level]),
        pl.col("period_start").dt.offset_by(_BACK["annee_precedente"][level]),
    ]
    return pl.any_horizontal([t.expr(s, level) for s in starts])


def _of_chunk(chunk: Chunk) -> pl.Expr:
    return (
        (pl.col("indicator_id") == chunk[0]) & (pl.col("area_level") == chunk[1]) & (pl.col("period_level") == chunk[2])
    )


def _lazy(frame: pl.DataFrame | pl.LazyFrame | None) -> pl.LazyFrame | None:
    return frame.lazy() if isinstance(frame, pl.DataFrame) else frame


class IncrementalRun:
    """`materialise`, recomputing only the periods whose rows changed since the last run, one
    (indicator, area level, period level) at a time: iterating yields each chunk's values (in the
    table's order) and values before trends (for the next run's state), so neither table is ever
    whole in memory (eight years: 7 M rows; the whole tables held 6 GB).

    `load_previous()`: that run's state `(document, values before trends)`, or None (everything is
    computed); `load_old_values()`: the values table it published — with it, only the trends of the
    rows whose period or reference periods changed are computed again, the others kept (unless a
    relation's first day moved: every trend); it is trusted only with the row count and the
    schema the state recorded. Either may be a DataFrame or a LazyFrame (the files, each chunk read
    alone). After the iteration, `doc` is the state document for the next run and `done` says what
    was recomputed; `skipped` (the indicators not computed, with the reason) is known at once."""

    def __init__(
        self,
        cat: Catalogue,
        relations: dict[str, pl.DataFrame | None],
        load_previous: Callable[[], tuple[dict, pl.DataFrame | pl.LazyFrame] | None],
        load_old_values: Callable[[], pl.DataFrame | pl.LazyFrame | None] = lambda: None,
    ):
        self.cat, self.relations = cat, relations
        self.digests = {
            name: inc.day_digests(df, pl.col("t")) for name, df in relations.items() if df is not None and df.height
        }
        self.touched, why, self.state, self.old = None, None, {}, None
        previous = load_previous()
        if previous is None:
            why = "premier calcul"
        else:
            self.state, self.old = previous[0], _lazy(previous[1])
            why = self._find_touched()
        self.session = BaseSession(cat, relations, touched=self.touched)
        if self.touched is not None and self.session.skipped != self.state.get("skipped"):
            self.session.close()
            self.session = BaseSession(cat, relations)
            self.touched, why = None, "indicateurs calculés différents"
        self.skipped, self.covers = self.session.skipped, self.session.covers
        self.done: dict = {"mode": "complet", "motif": why}
        self.old_values = None
        if self.touched is not None:
            self.done = {
                "mode": "incrémental",
                "lignes_recalculees": 0,
                "jours_modifies": {n: len(t.days) for n, t in self.touched.items() if t.days},
            }
            self.old_values = self._trusted_old_values(load_old_values)
            if self.old_values is not None:
                self.done["tendances_recalculees"] = 0
        self.doc: dict | None = None

    def _find_touched(self) -> str | None:
        """The touched periods of every relation (`self.touched`), or the reason to compute all."""
        if set(self.state.get("digests", {})) != set(self.digests):
            return "relations différentes"
        touched = {}
        for name, d in self.digests.items():
            t = inc.touched(
                self.state["digests"][name],
                d,
                inc.cover_of(self.state["covers"].get(name)),
                _coverage(self.relations[name]),
            )
            if any(x is None for x in t.days) or "None" in d or "None" in self.state["digests"][name]:
                return "dates manquantes"
            touched[name] = t
        self.touched = touched
        return None

    def _trusted_old_values(self, load_old_values) -> pl.LazyFrame | None:
        covers, before = self.covers, self.state.get("covers", {})
        if any(
            inc.cover_of(before.get(n)) is not None
            and covers.get(n) is not None
            and inc.cover_of(before.get(n))[0] != covers[n][0]
            for n in self.touched
        ):
            return None  # a relation's first day moved: every trend
        old_values = _lazy(load_old_values())
        if old_values is None or list(old_values.collect_schema().items()) != list(VALUES_SCHEMA.items()):
            return None
        if old_values.select(pl.len()).collect().item() != self.state.get("values_rows"):
            return None  # rows changed behind the state (a destruction purges rows)
        return old_values

    def __iter__(self) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
        rows = 0
        try:
            for chunk in self.session.chunks():
                values, base = self._chunk(chunk)
                rows += values.height
                if values.height or base.height:
                    yield values, base
        finally:
            self.session.close()
        self.doc = {
            "digests": self.digests,
            "covers": {n: inc.iso_cover(c) for n, c in self.covers.items()},
            "skipped": self.skipped,
            "values_rows": rows,
        }

    def _chunk(self, chunk: Chunk) -> tuple[pl.DataFrame, pl.DataFrame]:
        new = self.session.frame(chunk)
        if self.touched is None:
            base = _base(new)
            return finish(base, self.cat), base
        # the last run's rows of the chunk but its touched periods, with the relation's coverage now
        relation = self.session.relation(chunk[0])
        t, level = self.touched.get(relation), chunk[2]
        cover = self.covers[relation]
        # (a relation without digests is computed whole: none of its old rows is kept)
        fresh_periods = (
            pl.lit(True) if t is None else pl.lit(False) if t.empty else t.expr(pl.col("period_start"), level)
        )
        old = self.old.filter(_of_chunk(chunk)).collect()
        kept = old.filter(~fresh_periods).with_columns(
            pl.lit(cover[0]).alias("coverage_start"), pl.lit(cover[1]).alias("coverage_end")
        )
        self.done["lignes_recalculees"] += old.height - kept.height
        del old
        base = _base(pl.concat([kept, *([new] if new is not None else [])], how="diagonal_relaxed"))
        if self.old_values is None:
            return finish(base, self.cat), base
        old_values = self.old_values.filter(_of_chunk(chunk)).collect()
        # the rule is applied to the chunk's distinct periods only, then matched row by row
        keys = pl.concat([f.select(_PERIOD_KEYS).unique() for f in (base, old_values)]).unique()
        hit = keys.filter(_redo(t, level)).select(pl.struct(_PERIOD_KEYS)).to_series()
        redo = pl.struct(_PERIOD_KEYS).is_in(hit.implode())
        fresh = finish(base, self.cat, only=redo)
        self.done["tendances_recalculees"] += fresh.height
        kept_values = old_values.filter(~redo).with_columns(
            pl.lit(cover[0]).alias("coverage_start"), pl.lit(cover[1]).alias("coverage_end")
        )
        # both parts are in the table's order and a period is in one part only: a stable sort on
        # the period start gives the full sort's order
        values = pl.concat([kept_values.select(list(VALUES_SCHEMA)), fresh]).sort("period_start", maintain_order=True)
        return values, base


def _base(frame: pl.DataFrame | None) -> pl.DataFrame:
    if frame is None:
        return pl.DataFrame(schema=BASE_SCHEMA)
    return frame.select([pl.col(k).cast(v) for k, v in BASE_SCHEMA.items()])


def materialise_incremental(
    cat: Catalogue,
    relations: dict[str, pl.DataFrame | None],
    load_previous: Callable[[], tuple[dict, pl.DataFrame | pl.LazyFrame] | None],
    load_old_values: Callable[[], pl.DataFrame | pl.LazyFrame | None] = lambda: None,
):
    """`IncrementalRun` gathered in memory: (values, skipped, state document, values before
    trends to keep, what was recomputed)."""
    run = IncrementalRun(cat, relations, load_previous, load_old_values)
    parts = list(run)
    values = pl.concat([v for v, _ in parts]) if parts else pl.DataFrame(schema=VALUES_SCHEMA)
    keep = pl.concat([b for _, b in parts]) if parts else pl.DataFrame(schema=BASE_SCHEMA)
    return values, run.skipped, run.doc, keep, run.done


_BACK = {
    "precedente": {"jour": "-1d", "semaine": "-1w", "mois": "-1mo"},
    "annee_precedente": {"jour": "-364d", "semaine": "-52w", "mois": "-12mo"},
}
_KEYS = ["indicator_id", "area_level", "area", "period_level", "dimension"]


_ORDER = ("indicator_id", "area_level", "period_level", "period_start", "area", "dimension")


_CHUNK = list(_ORDER[:3])


def add_trends(
    values: pl.DataFrame, cat: Catalogue, rows: pl.DataFrame | None = None, few: bool = False
) -> pl.DataFrame:
    """value_prev / value_ly (+ their n and relative evolution in %) for indicators with `trends`
    (of `rows` of `values`, default all of them; `few`: a few of them), sorted in the table's order.

    One (indicator, area level, period level) at a time: a row's reference rows are in its own
    chunk (same indicator, area and level), and the chunks in key order, each sorted, give the
    whole sort's order — the joins of the whole table held several copies of it (eight years:
    7 M rows, 1.1 GB each)."""
    out = values if rows is None else rows
    ref = values.select(*_KEYS, "period_start", "value", "n", "conventions")
    if out.height == 0:
        return _trends(out, ref, cat, few)
    # each chunk's row numbers, kept as Series (not Python lists of millions of ints)
    of_ref = ref.select(_CHUNK).with_row_index("_i").group_by(_CHUNK).agg("_i")
    ref_rows = {k: of_ref["_i"][j] for j, k in enumerate(of_ref.select(_CHUNK).rows())}
    chunks = out.select(_CHUNK).with_row_index("_i").group_by(_CHUNK).agg("_i").sort(_CHUNK)
    parts = []
    for j, key in enumerate(chunks.select(_CHUNK).rows()):
        # a chunk that is the whole frame (the values asset computes one at a time) is not copied
        idx, rows = ref_rows.get(key), chunks["_i"][j]
        r = ref.clear() if idx is None else ref if len(idx) == ref.height else ref.select(pl.all().gather(idx))
        o = out if len(rows) == out.height else out.select(pl.all().gather(rows))
        parts += _trends_by_period(o, r, cat, few, key[2])
    return pl.concat(parts)


SLICE_ROWS = 400_000  # rows of a chunk joined at once to their reference rows (eight years of cells × days: 2.6 M)


def _trends_by_period(
    out: pl.DataFrame, ref: pl.DataFrame, cat: Catalogue, few: bool, level: str
) -> list[pl.DataFrame]:
    """`_trends` of one chunk (`level`: its period level), in the table's order: a large chunk a slice of
    consecutive periods at a time. A row's reference rows — its previous period and the same period a
    year before — all start within a year before its own period, so a slice joins its rows to the
    reference rows of [its first period − a year, its last period]: the joins hold a slice and a year,
    not the whole history (eight years: the cells × days chunk alone raised the step's peak by 1.7 GB).
    The slices, each sorted, follow each other in period order: together, the chunk's sort."""
    if (
        out.height <= SLICE_ROWS
        or out.get_column("period_start").null_count()
        or level not in _BACK["annee_precedente"]
    ):
        return [_trends(out, ref, cat, few).sort(*_ORDER[3:])]
    per = out.group_by("period_start").len().sort("period_start")
    bounds = (
        per.with_columns(((pl.col("len").cum_sum() - 1) // SLICE_ROWS).alias("_slice"))
        .group_by("_slice", maintain_order=True)
        .agg(pl.col("period_start").min().alias("lo"), pl.col("period_start").max().alias("hi"))
        .with_columns(pl.col("lo").dt.offset_by(_BACK["annee_precedente"][level]).alias("back"))
    )
    parts = []
    for lo, hi, back in bounds.select("lo", "hi", "back").iter_rows():
        rows = out.filter(pl.col("period_start").is_between(lo, hi))
        refs = ref.filter(pl.col("period_start").is_between(back, hi))
        parts.append(_trends(rows, refs, cat, few).sort(*_ORDER[3:]))
    return parts


def _trends(out: pl.DataFrame, ref: pl.DataFrame, cat: Catalogue, few: bool) -> pl.DataFrame:
    """`add_trends` of rows `out` whose reference rows are in `ref` (`few`: `out` is a few rows of
    `ref`'s table: `ref` is first cut to the periods they refer to)."""
    with_trend = [i.id for i in cat.indicators if i.trends]
    zero = [i.id for i in cat.indicators if i.zero_if_absent]
    if few:
        periods = ["indicator_id", "period_level", "period_start"]
        wanted = pl.concat(
            [
                out.select(
                    "indicator_id",
                    "period_level",
                    pl.col("period_start").dt.offset_by(
                        pl.col("period_level").replace_strict(_BACK[what], return_dtype=pl.Utf8)
                    ),
                ).unique()
                for what in _BACK
            ]
        ).unique()
        ref = ref.join(wanted, on=periods, how="semi")
    for what, suffix in (("precedente", "prev"), ("annee_precedente", "ly")):
        by = pl.col("period_level").replace_strict(_BACK[what], return_dtype=pl.Utf8)
        out = out.with_columns(pl.col("period_start").dt.offset_by(by).alias("_ref"))
        out = out.join(
            ref.rename(
                {"period_start": "_ref", "value": f"value_{suffix}", "n": f"n_{suffix}", "conventions": "_ref_conv"}
            ),
            on=[*_KEYS, "_ref"],
            how="left",
        )
        observed = pl.col("_ref") >= pl.col("coverage_start")  # the reference period was covered by the data
        fill = pl.col("indicator_id").is_in(zero) & observed
        out = out.with_columns(
            pl.when(pl.col(f"value_{suffix}").is_null() & fill)
            .then(0.0)
            .otherwise(pl.col(f"value_{suffix}"))
            .alias(f"value_{suffix}"),
            pl.when(pl.col(f"n_{suffix}").is_null() & fill)
            .then(0)
            .otherwise(pl.col(f"n_{suffix}"))
            .alias(f"n_{suffix}"),
        )
        on = pl.col("indicator_id").is_in(with_trend)
        out = (
            out.with_columns(
                pl.when(on).then(pl.col(f"value_{suffix}")).alias(f"value_{suffix}"),
                pl.when(on).then(pl.col(f"n_{suffix}")).alias(f"n_{suffix}"),
            )
            .with_columns(
                pl.when(on & (pl.col(f"value_{suffix}") != 0))
                .then(100.0 * (pl.col("value") - pl.col(f"value_{suffix}")) / pl.col(f"value_{suffix}").abs())
                .alias(f"evolution_{suffix}_pct"),
                # a value shown with its trend is computed from the reference period's rows too
                pl.when(on & pl.col("_ref_conv").is_not_null())
                .then(sorted_set(pl.concat_list("conventions", "_ref_conv")))
                .otherwise(pl.col("conventions"))
                .alias("conventions"),
            )
            .drop("_ref", "_ref_conv")
        )
    return out.select([pl.col(k).cast(v) for k, v in VALUES_SCHEMA.items()])


# --------------------------------------------------------------------------- public release
def _secondary(df: pl.DataFrame, group: list[str], eligible: pl.Expr) -> pl.DataFrame:
    """Within each group of eligible rows holding exactly one suppressed value, suppress the
    smallest other one too (so the masked value cannot be derived from the total)."""
    g = df.with_columns(
        eligible.alias("_el"),
        (pl.col("suppressed").is_not_null() & eligible).sum().over(group).alias("_ns"),
        (eligible.sum().over(group)).alias("_ne"),
    )
    cand = g.filter(pl.col("_el") & pl.col("suppressed").is_null() & (pl.col("_ns") == 1) & (pl.col("_ne") >= 2))
    if cand.height == 0:
        return df
    keys = list(dict.fromkeys([*group, "area", "dimension"]))
    pick = (
        cand.sort("n", "area", "dimension")
        .group_by(group, maintain_order=True)
        .first()
        .select(*keys, pl.lit(True).alias("_pick"))
    )
    out = df.join(pick, on=keys, how="left")
    return out.with_columns(
        pl.when(pl.col("_pick").fill_null(False))
        .then(pl.lit("secondaire"))
        .otherwise(pl.col("suppressed"))
        .alias("suppressed")
    ).drop("_pick")


def public_rows(cat: Catalogue) -> pl.Expr:
    """The rows of the values table `public_values` may publish (public indicators, areas and
    periods): a filter to read them alone (not the cells' and days' millions of rows)."""
    pr = cat.public_release
    pairs = [(i.id, a) for i in cat.indicators if pr.profile in i.profiles for a in i.areas if a in pr.areas]
    area = (
        pl.any_horizontal([(pl.col("indicator_id") == i) & (pl.col("area_level") == a) for i, a in pairs])
        if pairs
        else pl.lit(False)
    )
    return area & pl.col("period_level").is_in(list(pr.periods))


def public_values(values: pl.DataFrame, cat: Catalogue, conventions: set[str] | None = None) -> pl.DataFrame:
    """The public restitution: public indicators, public areas and periods, small counts masked;
    with `conventions`, only the values computed from those conventions' data alone."""
    pr = cat.public_release
    inds = {i.id: i for i in cat.indicators if pr.profile in i.profiles}
    if not inds or values.height == 0:
        return pl.DataFrame(schema=PUBLIC_SCHEMA)
    thr = {i: (ind.public_threshold or pr.threshold) for i, ind in inds.items()}
    if conventions is not None:
        values = values.filter(
            (pl.col("conventions").list.len() > 0)
            & pl.col("conventions").list.eval(pl.element().is_in(sorted(conventions))).list.all()
        )
    v = values.filter(public_rows(cat))
    t = pl.col("indicator_id").replace_strict(thr, return_dtype=pl.Int64)
    v = v.with_columns(pl.when(pl.col("n") < t).then(pl.lit("primaire")).otherwise(None).alias("suppressed"))
    if pr.secondary_suppression and v.height:
        # across areas (an arrondissement vs the others and the city), then across categories
        v = _secondary(
            v, ["indicator_id", "area_level", "period_level", "period", "dimension"], pl.col("area_level") != "ville"
        )
        v = _secondary(
            v, ["indicator_id", "area_level", "area", "period_level", "period"], pl.col("dimension") != TOTAL
        )
    hidden = pl.col("suppressed").is_not_null()
    prev_hidden = pl.col("n_prev").is_null() | (pl.col("n_prev") < t)
    ly_hidden = pl.col("n_ly").is_null() | (pl.col("n_ly") < t)
    labels = {i: ind.name for i, ind in inds.items()}
    units = {i: ind.unit for i, ind in inds.items()}
    out = v.with_columns(
        pl.col("indicator_id").replace_strict(labels, return_dtype=pl.Utf8).alias("indicator_name"),
        pl.col("indicator_id").replace_strict(units, return_dtype=pl.Utf8).alias("unit"),
        pl.when(hidden).then(None).otherwise(pl.col("value")).alias("value"),
        pl.when(pl.col("suppressed") == "primaire")
        .then(pl.concat_str(pl.lit("<"), t.cast(pl.Utf8)))
        .when(hidden)
        .then(pl.lit("secret"))
        .otherwise(pl.col("value").round(2).cast(pl.Utf8))
        .alias("value_display"),
        pl.when(hidden | prev_hidden).then(None).otherwise(pl.col("value_prev")).alias("value_prev"),
        pl.when(hidden | prev_hidden).then(None).otherwise(pl.col("evolution_prev_pct")).alias("evolution_prev_pct"),
        pl.when(hidden | ly_hidden).then(None).otherwise(pl.col("value_ly")).alias("value_ly"),
        pl.when(hidden | ly_hidden).then(None).otherwise(pl.col("evolution_ly_pct")).alias("evolution_ly_pct"),
    )
    return out.select([pl.col(k).cast(v) for k, v in PUBLIC_SCHEMA.items()]).sort(
        "indicator_id", "area_level", "period_start", "area", "dimension"
    )


def catalogue_table(cat: Catalogue, skipped: dict[str, str] | None = None) -> pl.DataFrame:
    """The catalogue as a table (the app shows definitions and filters by profile)."""
    skipped = skipped or {}
    rows = [
        {
            "indicator_id": i.id,
            "name": i.name,
            "definition": i.definition,
            "formula": i.formula,
            "unit": i.unit,
            "sources": list(i.sources),
            "relation": i.relation,
            "value_sql": i.value,
            "filter_sql": i.filter,
            "breakdown_sql": i.breakdown,
            "areas": list(i.areas),
            "periods": list(i.periods),
            "trends": i.trends,
            "owner": i.owner,
            "profiles": list(i.profiles),
            "public": i.public,
            "public_threshold": (i.public_threshold or cat.public_release.threshold) if i.public else None,
            "status": f"non calculé: {skipped[i.id]}" if i.id in skipped else "calculé",
        }
        for i in cat.indicators
    ]
    return pl.DataFrame(
        rows,
        schema={
            "indicator_id": pl.Utf8,
            "name": pl.Utf8,
            "definition": pl.Utf8,
            "formula": pl.Utf8,
            "unit": pl.Utf8,
            "sources": pl.List(pl.Utf8),
            "relation": pl.Utf8,
            "value_sql": pl.Utf8,
            "filter_sql": pl.Utf8,
            "breakdown_sql": pl.Utf8,
            "areas": pl.List(pl.Utf8),
            "periods": pl.List(pl.Utf8),
            "trends": pl.Boolean,
            "owner": pl.Utf8,
            "profiles": pl.List(pl.Utf8),
            "public": pl.Boolean,
            "public_threshold": pl.Int64,
            "status": pl.Utf8,
        },
    )


# --------------------------------------------------------------------------- relations
def facts_relation(facts: pl.DataFrame, hot_weekly: pl.DataFrame | None = None) -> pl.DataFrame:
    """`faits`: facts with event_id, source, category (thematic code), subcategory, start,
    arrondissement, quartier, h3_cell, convention; `hot_weekly` (h3_cell, period_start) marks the
    cell-weeks that were significant hot spots (all categories)."""
    f = facts.select(
        "event_id",
        "source",
        pl.col("category").alias("categorie"),
        pl.col("subcategory").alias("sous_categorie"),
        pl.col("start").alias("t"),
        pl.col("start").dt.hour().alias("heure"),
        "arrondissement",
        "quartier",
        pl.col("h3_cell").alias("cellule"),
        "convention",
        pl.concat_list("convention").alias("conventions"),
        pl.col("start").cast(pl.Date).dt.truncate("1w").alias("_w"),
    )
    if hot_weekly is not None and hot_weekly.height:
        hw = hot_weekly.select(
            pl.col("h3_cell").alias("cellule"),
            pl.col("period_start").alias("_w"),
            pl.lit(True).alias("en_zone_tension"),
        ).unique()
        f = f.join(hw, on=["cellule", "_w"], how="left")
        if "conventions" in hot_weekly.columns:  # `en_zone_tension` is read from the hot spots
            hot = sorted(set(hot_weekly["conventions"].explode().drop_nulls()))
            f = f.with_columns(
                sorted_set(pl.concat_list("conventions", pl.lit(hot, dtype=pl.List(pl.Utf8)))).alias("conventions")
            )
    else:
        f = f.with_columns(pl.lit(None, pl.Boolean).alias("en_zone_tension"))
    return f.with_columns(pl.col("en_zone_tension").fill_null(False)).drop("_w")


def planned_relation(fp: pl.DataFrame, zones: pl.DataFrame) -> pl.DataFrame:
    """`evenements_prevus`: footprint × day of activity (t), with the cell's zones."""
    from tranquillite.indicators.planned import active_days

    d = active_days(fp)
    return d.join(zones, on="h3_cell", how="left").select(
        "event_id",
        "source",
        pl.col("subcategory").alias("sous_categorie"),
        pl.col("day").cast(pl.Datetime("us")).alias("t"),
        pl.col("attendance").alias("frequentation"),
        (1.0 / pl.col("n_cells")).alias("part_cellule"),
        "arrondissement",
        "quartier",
        pl.col("h3_cell").alias("cellule"),
        "convention",
        pl.concat_list("convention").alias("conventions"),
    )


def pairs_relation(pairs: pl.DataFrame, fp: pl.DataFrame, zones: pl.DataFrame) -> pl.DataFrame:
    """`concurrences`: colliding pair × shared cell × day of overlap."""
    conv = fp.select("event_id", "convention").unique("event_id")
    d = pairs.with_columns(
        pl.date_ranges(pl.col("overlap_from").cast(pl.Date), pl.col("overlap_to").cast(pl.Date)).alias("day")
    ).explode("day")
    d = d.join(conv.rename({"event_id": "event_a", "convention": "conv_a"}), on="event_a", how="left").join(
        conv.rename({"event_id": "event_b", "convention": "conv_b"}), on="event_b", how="left"
    )
    # a pair is as restricted as its most restricted record
    return d.join(zones, on="h3_cell", how="left").select(
        pl.col("pair_id").alias("paire_id"),
        "event_a",
        "event_b",
        "source_a",
        "source_b",
        pl.col("day").cast(pl.Datetime("us")).alias("t"),
        "arrondissement",
        "quartier",
        pl.col("h3_cell").alias("cellule"),
        pl.when(pl.col("conv_a") == "internal").then(pl.col("conv_b")).otherwise(pl.col("conv_a")).alias("convention"),
        sorted_set(pl.concat_list("conv_a", "conv_b").list.drop_nulls()).alias("conventions"),
    )


def hotspots_relation(hot: pl.DataFrame, zones: pl.DataFrame) -> pl.DataFrame:
    """`points_chauds`: significant hot spots (weekly maps)."""
    h = hot.filter((pl.col("period_level") == "semaine") & pl.col("significant") & (pl.col("z") > 0))
    return (
        h.drop("arrondissement")
        .join(zones, on="h3_cell", how="left")
        .select(
            pl.col("category").alias("categorie"),
            "z",
            "q",
            pl.col("period_start").cast(pl.Datetime("us")).alias("t"),
            "arrondissement",
            "quartier",
            pl.col("h3_cell").alias("cellule"),
            pl.lit("internal").alias("convention"),
            (pl.col("conventions") if "conventions" in h.columns else pl.lit(["internal"])).alias("conventions"),
        )
    )


def quality_relation(ledger: pl.DataFrame, source_conventions: dict[str, str]) -> pl.DataFrame:
    """`qualite`: the ingestion ledger (source = landing source, one row per partition)."""
    return ledger.select(
        "source",
        pl.col("partition").str.to_date().cast(pl.Datetime("us")).alias("t"),
        pl.col("read").alias("lus"),
        pl.col("clean").alias("propres"),
        pl.col("quarantined").alias("quarantaine"),
        pl.col("duplicates").alias("doublons"),
        pl.col("balanced").alias("equilibre"),
        pl.col("source")
        .replace_strict(source_conventions, default="internal", return_dtype=pl.Utf8)
        .alias("convention"),
    ).with_columns(pl.concat_list("convention").alias("conventions"))


def backtest_relation(backtest: pl.DataFrame) -> pl.DataFrame:
    cols = [
        c
        for c in ("model", "category", "horizon", "coverage", "hit_rate", "pai", "pei", "n_events")
        if c in backtest.columns
    ]
    conv = pl.col("conventions") if "conventions" in backtest.columns else pl.lit(["internal"])
    return backtest.select(
        *cols,
        pl.col("origin").cast(pl.Datetime("us")).alias("t"),
        pl.lit("internal").alias("convention"),
        conv.alias("conventions"),
    )
