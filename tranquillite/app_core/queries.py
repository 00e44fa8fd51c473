"""The ONE gateway for the app's data queries: published tables only, filtered by the profile's scope.

Every page reads the warehouse through `scoped_query`. It

1. refuses any table that is not published for the app (`raw.*`, `quarantine.*`, landing files
   are never reachable; `governance.landing_files` neither: it names files);
2. adds the principal's scope as a WHERE clause — `source` in the sources the profile (and the
   activity nature) may see, `convention` in its conventions — so a query can only return rows
   the profile may see, whatever the page asked;
3. refuses row-level reads to aggregate-only profiles (public, partenaire without own data) and
   masks small counts (< 11) in their aggregates; whatever the level, these profiles reach only
   the tables built for them (`AGGREGATE_ONLY_TABLES`: `clean.events`, counted and masked here,
   and `indicators.values_public`, masked and secondarily suppressed by the pipeline — never
   `indicators.values`, which holds non-public indicators, cells and Préfecture-derived rows).

How the convention is read, per table:

* a `convention` column (one code per row, `clean.events`): `convention ∈ profile conventions`;
* a `conventions` column (a LIST: the conventions a derived row comes from, `indicators.*`):
  the row is visible only if EVERY code of the list is visible — `list_has_all(?::VARCHAR[],
  conventions)` — so a row mixing the City's and the Préfecture's data reaches neither a
  Préfecture-only nor an internal-only profile. An empty list or a NULL element (unknown
  provenance) is never visible. These tables have no `source` column: a convention counts as
  visible only if the profile sees ALL its sources at the query's level (a CSU supervisor, who
  sees two of the City's sources, gets no row derived from the City's data as a whole);
* neither: `models.*` rows are derived from every convention their features used (the
  forecasts' explanations name `ev_manifestation_*`): until the pipeline names them per row, such
  a table is visible only to a profile that sees EVERY convention completely; any other table
  derives from the City's data (`TABLE_CONVENTION_DEFAULT`, 'internal').

A scope limited to the person's own entries (`Scope.own_entries`, the agents of Cortège) reads
only the rows whose `record_id` is one of them; a table without `record_id` gives it nothing.

SQL fragments (`select`, `where`, `group_by`, `order_by`) are constants of the calling modules,
and `sqlguard` still parses each one: columns of the table and allowed aggregates/functions only,
no subquery, no table function, no breaking out of the parentheses. Every value goes through
DuckDB parameters (lists are bound as `?::VARCHAR[]` and tested with `list_contains` /
`list_has_all`). Identifiers of tables come from a whitelist.

The DuckDB connection itself cannot reach anything else: once the catalog is open it may read
only the folders of the published tables' Parquet files, external access is off and the
configuration is locked (`harden`), so `read_csv('/etc/passwd')`, `ATTACH`, `COPY … TO` or a
view over `raw.*` fail even on a direct cursor.

Forecast sets (`models.forecast`, `models.forecast_history`: `variant`, `variant_conventions`):
a profile that sees every convention of an origin's `complete` set gets it, any other profile the
`internal` set (the City's data only) — never both, so no cell is shown twice (`variant_predicate`).

What was read (issue 11, T4): when a collector is open (`app_core.reads`: the app opens one per
page run, the CLI per command), each read records the table, the conventions of the rows it
returned (`returned_conventions`: one DISTINCT query on the same predicate) and the row count —
never the rows — for the access log.

Exports (`export_rows`) are the gateway's too: the `exporter` action, the conventions of the
rows (each must allow use outside the platform, `use_outside_platform` in `conventions.yaml`,
C5), formulas neutralised (OWASP CSV injection), one access-log line with the conventions and
the row count — or a refusal, logged, with its reason.
"""

from __future__ import annotations


import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Sequence

import duckdb
import polars as pl

from tranquillite.app_core import reads, sqlguard
from tranquillite.app_core.rights import Scope, all_conventions, sources_of_conventions
from tranquillite.contracts import load_contracts, load_conventions
from tranquillite.settings import paths

if TYPE_CHECKING:
    from tranquillite.app_core.rights import Principal

SMALL_COUNT_THRESHOLD = 11
MASK_LABEL = "<11"

# published tables, by schema; None = every table of the schema (indicators.* appear over time)
PUBLISHED: dict[str, set[str] | None] = {
    "clean": {"events"},
    # convention_alerts: #12; convention_lineage: per convention, the tables, partitions and models holding
    # its data (the auditors' Traçabilité page, issue 11)
    "governance": {"data_quality", "quarantine_reasons", "convention_alerts", "convention_lineage"},
    "models": {"forecast", "backtest", "backtest_scores", "backtest_public", "audit_boucle", "audit_boucle_zones"},
    "indicators": None,
}
# tables without a `convention` (or `conventions`) column: the convention their rows derive from
TABLE_CONVENTION_DEFAULT = "internal"
# schemas whose tables, without a `conventions` column, derive from EVERY convention (the models
# use the planned-events features, i.e. the Préfecture's data too)
DERIVED_FROM_EVERY_CONVENTION = frozenset({"models"})
# the only tables aggregate-only profiles (public, partenaire) may query, at any level
# (models.audit_boucle*: aggregates per origin and arrondissement; models.backtest_public: per predictor ×
# horizon, mean over the origins — the City's conventions only, proved by their assets — issue 13)
AGGREGATE_ONLY_TABLES = frozenset(
    {
        "clean.events",
        "indicators.values_public",
        "models.audit_boucle",
        "models.audit_boucle_zones",
        "models.backtest_public",
    }
)
# a row of a table with a `conventions` list is visible iff the list is non-empty, has no NULL and
# every element is in the bound list (DuckDB's list_has_all ignores NULLs and is TRUE on [])
CONVENTIONS_LIST_PREDICATE = (
    "(len(conventions) > 0 AND list_count(conventions) = len(conventions) AND list_has_all(?::VARCHAR[], conventions))"
)
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
# forecast sets (`models.forecast`, `models.forecast_history`): a `variant` and the conventions of the
# whole set (`variant_conventions`). The rule (issue 11): a profile that sees every convention of the
# `complete` set of an origin gets that set, any other the `internal` one (the City's data only) —
# never both, so no cell is shown twice. The names are the pipeline's (models.forecast's description).
VARIANT_COMPLETE, VARIANT_INTERNAL = "complete", "internal"


class Forbidden(PermissionError):
    """The principal may not run this query (table not published, or row-level data refused)."""


class NotAvailable(LookupError):
    """The table is published but does not exist (yet) in the catalog."""


def catalog_path() -> Path:
    return paths().warehouse / "catalog.duckdb"


@dataclass
class Catalog:
    """A read-only DuckDB catalog (views over Parquet). `version` changes when it is republished."""

    path: Path
    con: duckdb.DuckDBPyConnection | None
    version: int
    _tables: set[str] | None = field(default=None, repr=False)
    _columns: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _variants: dict[str, list[tuple]] = field(default_factory=dict, repr=False)
    _spans: dict[tuple, int] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, path: Path | None = None) -> "Catalog":
        path = Path(path) if path else catalog_path()
        if not path.exists():
            return cls(path, None, 0)
        return cls(path, open_hardened(path), path.stat().st_mtime_ns)

    @property
    def available(self) -> bool:
        return self.con is not None

    def cursor(self) -> duckdb.DuckDBPyConnection:
        if self.con is None:
            raise NotAvailable("catalogue non publié: aucune donnée matérialisée")
        cur = self.con.cursor()  # one cursor per query: safe across Streamlit threads
        cur.execute(f"USE {ATTACHED}")
        return cur

    def tables(self) -> set[str]:
        if self.con is None:
            return set()
        if self._tables is None:  # the catalog is immutable once opened (republished = new file)
            rows = (
                self.cursor()
                .execute(
                    "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_catalog = ?",
                    [ATTACHED],
                )
                .fetchall()
            )
            self._tables = {r[0] for r in rows}
        return self._tables

    def has(self, table: str) -> bool:
        return table in self.tables()

    def columns(self, table: str) -> list[str]:
        if table not in self._columns:
            schema, name = table.split(".", 1)
            rows = (
                self.cursor()
                .execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_catalog = ? AND table_schema = ? "
                    "AND table_name = ? ORDER BY ordinal_position",
                    [ATTACHED, schema, name],
                )
                .fetchall()
            )
            self._columns[table] = [r[0] for r in rows]
        return self._columns[table]

    def variant_sets(self, table: str) -> list[tuple]:
        """(origin or None, variant, variant_conventions) of every forecast set of the table (a few rows)."""
        if table not in self._variants:
            schema, name = table.split(".", 1)
            origin = "origin" if "origin" in self.columns(table) else "NULL"
            self._variants[table] = [
                tuple(r)
                for r in self.cursor()
                .execute(f'SELECT DISTINCT {origin}, variant, variant_conventions FROM "{schema}"."{name}"')
                .fetchall()
            ]
        return self._variants[table]

    def longest_span_us(self, table: str, sources: Sequence[str]) -> int:
        """The longest `coalesce(end, start) - start` (microseconds, 0 if none) of the rows of these sources.

        A pruning bound only, never shown: a row ending at or after t0 starts at or after t0 minus it, so an
        overlap filter can add `start >= t0 - span` and DuckDB skips the row groups before (the table is
        sorted by `start`; issue 14). The same for every scope, as the result of the filter does not change;
        computed once, the catalog being immutable once opened (republished = new file)."""
        key = (table, tuple(sorted(sources)))
        if not is_published(table):
            raise Forbidden(f"table non publiée pour l'application: {table}")
        if key not in self._spans:
            schema, name = table.split(".", 1)
            rows = (
                self.cursor()
                .execute(
                    f'SELECT max(epoch_us(coalesce("end", start)) - epoch_us(start)) FROM "{schema}"."{name}" '
                    "WHERE list_contains(?::VARCHAR[], source)",
                    [list(key[1])],
                )
                .fetchall()
            )
            self._spans[key] = max(int(rows[0][0] or 0), 0)
        return self._spans[key]

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None


_PARQUET_PATH = re.compile(r"read_parquet\(\s*'((?:[^']|'')*)'")


def published_directories(con: duckdb.DuckDBPyConnection, catalog: Path) -> list[str]:
    """The folders holding the Parquet files of the published tables' views (and nothing else)."""
    out: set[str] = set()
    rows = con.execute(
        "SELECT schema_name, view_name, sql FROM duckdb_views() WHERE NOT internal AND database_name = ?", [ATTACHED]
    ).fetchall()
    for schema, name, sql in rows:
        # the published tables, the quarantine that only `quarantine_query` (DPO page) may read and the
        # ledger and landing files whose day aggregates only the data sheets read (`ledger_by_day`, `arrivals_by_day`)
        if not (is_published(f"{schema}.{name}") or f"{schema}.{name}" in QUARANTINE_TABLES | SHEET_TABLES):
            continue
        for raw in _PARQUET_PATH.findall(sql or ""):
            glob = raw.replace("''", "'")
            head = re.split(r"[*?\[{]", glob, maxsplit=1)[0]
            folder = Path(head if head.endswith("/") else os.path.dirname(head))
            if not folder.is_absolute():
                folder = catalog.parent / folder
            for f in {folder, folder.resolve()}:
                out.add(str(f).rstrip("/") + "/")
    return sorted(out)


ATTACHED = "tq_catalog"


def open_hardened(path: Path) -> duckdb.DuckDBPyConnection:
    """The app's connection: its own in-memory DuckDB (its settings are not shared with any other
    connection of the process) holding the catalog's views, then `harden`ed.

    The published catalog names its files relative to its own folder (the home can move); the
    views are re-created here with the absolute paths of the folder the catalog is in now, so that
    `allowed_directories` (which only understands absolute folders) can be the published tables'
    folders and nothing else."""
    path = Path(path).resolve()
    src = duckdb.connect(str(path), read_only=True)  # views only: never blocked by a materialisation
    try:
        views = src.execute(
            "SELECT schema_name, view_name, sql FROM duckdb_views() WHERE NOT internal "
            "AND database_name = current_database()"
        ).fetchall()
    finally:
        src.close()
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH ':memory:' AS {ATTACHED}")
        con.execute(f"USE {ATTACHED}")
        for schema, _name, sql in views:
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')  # our own folder names
            con.execute(_absolute_paths(sql, path.parent))
        harden(con, path)
    except BaseException:
        con.close()
        raise
    return con


def _absolute_paths(view_sql: str, root: Path) -> str:
    """The view's statement with each relative `read_parquet` path made absolute under `root`."""

    def absolute(m: re.Match) -> str:
        glob = m.group(1).replace("''", "'")
        if Path(glob).is_absolute() and not Path(glob).is_relative_to(root):
            # a catalog of an earlier version, built for another folder: never read that folder
            raise NotAvailable(
                f"le catalogue {root / 'catalog.duckdb'} a été construit pour un autre dossier: "
                "relancer la publication (`tranquillite materialize`) pour le reconstruire ici"
            )
        full = glob if Path(glob).is_absolute() else str(root / glob)
        return "read_parquet('" + full.replace("'", "''") + "'"

    return _PARQUET_PATH.sub(absolute, view_sql)


def harden(con: duckdb.DuckDBPyConnection, catalog: Path) -> None:
    """Once the catalog is open: only the published tables' folders, no external access, locked."""
    dirs = published_directories(con, catalog)
    literal = "[" + ", ".join("'" + d.replace("'", "''") + "'" for d in dirs) + "]"
    con.execute(f"SET allowed_directories = {literal}")  # our own folder names, quoted
    for sql in (
        "SET autoinstall_known_extensions = false",
        "SET autoload_known_extensions = false",
        "SET allow_community_extensions = false",
        "SET enable_external_access = false",
        "SET lock_configuration = true",
    ):
        con.execute(sql)


def is_published(table: str) -> bool:
    if table.count(".") != 1:
        return False
    schema, name = table.split(".")
    if not (_IDENT.match(schema) and _IDENT.match(name)) or schema not in PUBLISHED:
        return False
    allowed = PUBLISHED[schema]
    return allowed is None or name in allowed


def landing_sources(event_sources: Sequence[str]) -> list[str]:
    """Landing sources (folders: `cortege`, `interventions`…) of event sources (contract names)."""
    contracts = load_contracts()
    return sorted({contracts[s].source for s in event_sources if s in contracts})


def complete_conventions(conventions: Sequence[str], sources: Sequence[str]) -> list[str]:
    """The conventions whose every source (contract) is among `sources`."""
    seen = set(sources)
    return sorted(c for c in conventions if set(sources_of_conventions((c,))) <= seen)


def _sees_all(conventions, visible: Sequence[str]) -> bool:
    """The list is known (non-empty, no NULL) and every element is visible (= CONVENTIONS_LIST_PREDICATE)."""
    return bool(conventions) and all(c is not None and c in visible for c in conventions)


def complete_set_origins(sets: Sequence[tuple], visible: Sequence[str]) -> list:
    """The origins whose `complete` forecast set the profile sees in full (it gets that set there)."""
    return sorted(
        {o for o, v, vc in sets if v == VARIANT_COMPLETE and _sees_all(vc, visible)}, key=lambda o: (o is None, o)
    )


def served_variant(sets: Sequence[tuple], visible: Sequence[str], origin=None) -> str:
    """The forecast set a profile seeing `visible` gets for one origin: `complete` if it sees every
    convention of that set, else `internal` (which the conventions predicate may still refuse)."""
    full = complete_set_origins([s for s in sets if s[0] == origin], visible)
    return VARIANT_COMPLETE if full else VARIANT_INTERNAL


def variant_predicate(sets: Sequence[tuple], visible: Sequence[str], has_origin: bool) -> tuple[str, list]:
    """WHERE fragment of the variant rule: the complete rows of the sets the profile sees in full, the
    internal rows of the other origins; nothing of an unknown variant."""
    full = complete_set_origins(sets, visible)
    complete = (
        f"(variant = '{VARIANT_COMPLETE}' AND len(variant_conventions) > 0 "
        "AND list_count(variant_conventions) = len(variant_conventions) "
        "AND list_has_all(?::VARCHAR[], variant_conventions))"
    )
    if has_origin:
        internal = f"(variant = '{VARIANT_INTERNAL}' AND NOT list_contains(?::TIMESTAMP[], origin))"
        return f"({complete} OR {internal})", [list(visible), [o for o in full if o is not None]]
    internal = f"(variant = '{VARIANT_INTERNAL}' AND ?)"
    return f"({complete} OR {internal})", [list(visible), not full]


def visible_conventions(scope: Scope, columns: Sequence[str], level: Literal["rows", "aggregate"]) -> list[str]:
    """The conventions whose rows of a derived table (`conventions` list) the scope may see."""
    sources = list(scope.row_sources if level == "rows" else scope.aggregate_sources)
    return list(scope.conventions) if "source" in columns else complete_conventions(scope.conventions, sources)


def scope_predicate(
    scope: Scope,
    columns: Sequence[str],
    table: str,
    level: Literal["rows", "aggregate"],
    variant_sets: Sequence[tuple] | None = None,
) -> tuple[str, list]:
    """The WHERE fragment (and its parameters) restricting a table to what the scope may see.

    `variant_sets`: for a forecast table (`variant`, `variant_conventions`), its sets
    (`Catalog.variant_sets`): the variant rule is added (one set per origin and profile)."""
    sources = list(scope.row_sources if level == "rows" else scope.aggregate_sources)
    parts: list[str] = []
    params: list = []
    if "variant" in columns and "variant_conventions" in columns:
        frag, frag_params = variant_predicate(
            variant_sets or [], visible_conventions(scope, columns, level), "origin" in columns
        )
        parts.append(frag)
        params += frag_params
    if scope.own_entries is not None:  # the person's own entries only (Cortège agents)
        if "record_id" in columns:
            parts.append("list_contains(?::VARCHAR[], record_id)")
            params.append(list(scope.own_entries))
        else:
            parts.append("FALSE")
    if scope.indicators is not None and "indicator_id" in columns and "value" in columns:
        # an indicator's values reach only the profiles its catalogue entry names (T7)
        parts.append("list_contains(?::VARCHAR[], indicator_id)")
        params.append(list(scope.indicators))
    if "conventions" in columns:  # derived rows: every convention they come from must be visible
        convs = list(scope.conventions) if "source" in columns else complete_conventions(scope.conventions, sources)
        parts.append(CONVENTIONS_LIST_PREDICATE)
        params.append(convs)
    if "convention" in columns:
        parts.append("list_contains(?::VARCHAR[], convention)")
        params.append(list(scope.conventions))
    elif "conventions" not in columns:
        if table.split(".", 1)[0] in DERIVED_FROM_EVERY_CONVENTION:
            if set(all_conventions()) - set(scope.conventions):
                parts.append("FALSE")
        elif TABLE_CONVENTION_DEFAULT not in scope.conventions:
            parts.append("FALSE")
    if "source" in columns:
        if table.startswith("governance."):  # governance tables name the landing source (e.g. cortege)
            sources = landing_sources(sources)
        parts.append("list_contains(?::VARCHAR[], source)")
        params.append(sources)
    elif not sources:
        parts.append("FALSE")
    return " AND ".join(parts) or "TRUE", params


def _guarded(
    cat: Catalog,
    scope: Scope,
    table: str,
    *,
    select: str,
    where: str | None,
    params: Sequence,
    group_by: str | None,
    order_by: str | None,
    limit: int | None,
    level: Literal["rows", "aggregate"],
) -> pl.DataFrame:
    """Parse the fragments (sqlguard), add the scope predicate, run with parameters only."""
    cols = cat.columns(table)
    try:
        sqlguard.check_fragments(cols, select, where, group_by, order_by)
    except sqlguard.FragmentError as exc:
        raise Forbidden(f"requête refusée par la passerelle — {exc}") from None
    sets = cat.variant_sets(table) if "variant" in cols and "variant_conventions" in cols else None
    pred, pred_params = scope_predicate(scope, cols, table, level, sets)
    folded = _folded_conventions(cols, select, group_by, limit) if reads.active() else None
    sql, all_params = _scoped_select(
        select + (f", {folded[1]} AS {FOLDED}" if folded else ""), table, pred, pred_params, where, params
    )
    if group_by:
        sql += f" GROUP BY {group_by}"
    if order_by:
        sql += f" ORDER BY {order_by}"
    if limit is not None:
        sql += " LIMIT ?"
        all_params.append(int(limit))
    df = pl.from_arrow(cat.cursor().sql(sql, params=all_params).to_arrow_table())
    df = df.to_frame() if isinstance(df, pl.Series) else df
    if folded:  # the conventions came with the rows: one scan instead of two (issue 14)
        values = df.get_column(FOLDED)
        df = df.drop(FOLDED)
        if folded[2]:
            values = values.explode()
        scalar = "source" if folded[0] == "source" else "convention"  # lists exploded: one name a value
        convs = (
            sorted(
                _fold_conventions(
                    [(v,) for v in values.unique().to_list()],
                    scalar,
                    _source_conventions(table) if scalar == "source" else None,
                )
            )
            if df.height
            else []
        )
        reads.record(table, convs, df.height)
    elif reads.active():  # what was read: the table, its rows' conventions, how many rows (never the rows)
        reads.record(
            table,
            returned_conventions(
                cat, table, cols, pred, pred_params, where, params, group_by, order_by, limit, df.height
            ),
            df.height,
        )
    return df


FOLDED = "__conventions_lues"  # the gateway's own column, dropped before the page sees the rows


def _folded_conventions(
    cols: Sequence[str], select: str, group_by: str | None, limit: int | None
) -> tuple[str, str, bool] | None:
    """How a read returns its rows' conventions in the same query, for the access log: (the column
    they come from, the SQL added to the select list, whether it yields lists); None when a second
    DISTINCT query is needed (`returned_conventions`: SELECT DISTINCT, a limited grouped read, or a
    table whose rows do not name their conventions)."""
    expr = next((c for c in ("convention", "conventions", "source") if c in cols), None)
    if expr is None:
        return None
    shape = sqlguard.select_shape(select)
    if shape == "distinct" or (group_by and limit is not None):
        return None
    column = f'"{expr}"'
    if shape == "aggregate" or group_by:
        agg = f"flatten(list(DISTINCT {column}))" if expr == "conventions" else f"list(DISTINCT {column})"
        return expr, agg, True
    return expr, column, expr == "conventions"


def _scoped_select(
    select: str, table: str, pred: str, pred_params: Sequence, where: str | None, params: Sequence
) -> tuple[str, list]:
    """`SELECT … FROM table WHERE (scope predicate) [AND (where)]` and its parameters, in order."""
    schema, name = table.split(".")
    sql = f'SELECT {select} FROM "{schema}"."{name}" WHERE ({pred})'
    all_params = list(pred_params)
    if where:
        sql += f" AND ({where})"
        all_params += list(params)
    return sql, all_params


def _fold_conventions(values: Sequence[tuple], expr: str, by_source: dict[str, set[str]] | None) -> set[str]:
    """The conventions named by DISTINCT values of a `conventions` list, a `convention`, or a source
    column (through `by_source`)."""
    out: set[str] = set()
    for (v,) in values:
        if v is None:
            continue
        if expr == "conventions":
            out.update(c for c in v if c is not None)
        elif by_source is not None:
            out.update(by_source.get(v, ()))
        else:
            out.add(v)
    return out


def _source_conventions(table: str) -> dict[str, set[str]]:
    """Value of a `source` column → its conventions (governance tables name the landing source)."""
    contracts = load_contracts()
    if table.startswith("governance."):
        out: dict[str, set[str]] = {}
        for c in contracts.values():
            out.setdefault(c.source, set()).add(c.convention)
        return out
    return {c.name: {c.convention} for c in contracts.values()}


def default_conventions(table: str) -> tuple[str, ...]:
    """The conventions of a table whose rows do not name theirs (see the module docstring)."""
    if table.split(".", 1)[0] in DERIVED_FROM_EVERY_CONVENTION:
        return all_conventions()
    return (TABLE_CONVENTION_DEFAULT,)


def table_reads(con: duckdb.DuckDBPyConnection) -> list[reads.Read]:
    """Per table of a catalog connection (the CLI's `summary`, which counts every table): its row count
    and the conventions of its rows — as the gateway attributes them (raw and quarantine tables by
    the landing source or contract of their records)."""
    out = []
    tables = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN "
        "('information_schema', 'main', 'pg_catalog') ORDER BY 1, 2"
    ).fetchall()
    by_name = {**_source_conventions("governance.x"), **_source_conventions("clean.x")}
    for schema, name in tables:
        if not (_IDENT.match(schema) and _IDENT.match(name)):
            continue
        table = f"{schema}.{name}"
        cols = [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
                [schema, name],
            ).fetchall()
        ]
        n = con.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchall()[0][0]
        expr = next((c for c in ("convention", "conventions", "source", "_source") if c in cols), None)
        convs: set[str] = set()
        if n and expr is None:
            convs = set(default_conventions(table))
        elif n:
            values = con.execute(f'SELECT DISTINCT "{expr}" FROM "{schema}"."{name}"').fetchall()
            convs = _fold_conventions(values, expr, by_name if expr in ("source", "_source") else None)
        out.append(reads.Read(table, tuple(sorted(convs)), int(n)))
    return out


def returned_conventions(
    cat: Catalog,
    table: str,
    cols: Sequence[str],
    pred: str,
    pred_params: Sequence,
    where: str | None,
    params: Sequence,
    group_by: str | None,
    order_by: str | None,
    limit: int | None,
    n_returned: int,
) -> list[str]:
    """The union of the conventions of the rows a read returned (or aggregated): one DISTINCT query on
    the same predicate, with the same LIMIT when the read was a limited row read."""
    if n_returned == 0:
        return []
    if "convention" in cols:
        expr = "convention"
    elif "conventions" in cols:
        expr = "conventions"
    elif "source" in cols:
        expr = "source"
    else:
        return sorted(default_conventions(table))
    inner, all_params = _scoped_select(f"{expr} AS c", table, pred, pred_params, where, params)
    tail, tail_params = "", []
    if limit is not None and not group_by:
        tail, tail_params = (f" ORDER BY {order_by}" if order_by else "") + " LIMIT ?", [int(limit)]
    try:
        values = cat.cursor().execute(f"SELECT DISTINCT c FROM ({inner}{tail})", all_params + tail_params).fetchall()
    except duckdb.Error:  # an ORDER BY naming an alias of the read's own select: every matching row
        values = cat.cursor().execute(f"SELECT DISTINCT c FROM ({inner})", all_params).fetchall()
    return sorted(_fold_conventions(values, expr, _source_conventions(table) if expr == "source" else None))


def scoped_query(
    cat: Catalog,
    scope: Scope,
    table: str,
    *,
    select: str,
    where: str | None = None,
    params: Sequence = (),
    group_by: str | None = None,
    order_by: str | None = None,
    limit: int | None = None,
    level: Literal["rows", "aggregate"] = "rows",
    count_columns: Sequence[str] = ("n",),
    mask: bool = False,
) -> pl.DataFrame:
    """Run a query on a published table, restricted to the scope. See the module docstring."""
    if not is_published(table):
        raise Forbidden(f"table non publiée pour l'application: {table}")
    if level == "rows" and scope.aggregated_only and not scope.row_sources:
        raise Forbidden("profil limité aux données agrégées: lecture ligne à ligne refusée")
    if scope.aggregated_only and table not in AGGREGATE_ONLY_TABLES:
        raise Forbidden(f"profil limité aux données agrégées: {table} ne lui est pas ouverte")
    if not cat.has(table):
        raise NotAvailable(f"{table}: pas encore disponible")
    df = _guarded(
        cat,
        scope,
        table,
        select=select,
        where=where,
        params=params,
        group_by=group_by,
        order_by=order_by,
        limit=limit,
        level=level,
    )
    if level == "aggregate" and (mask or scope.aggregated_only):
        df = mask_small_counts(df, count_columns)
    return df


def mask_small_counts(
    df: pl.DataFrame, count_columns: Sequence[str] = ("n",), threshold: int = SMALL_COUNT_THRESHOLD
) -> pl.DataFrame:
    """Counts under the threshold become null, with a text column `<col>_affiche` ('<11' or the count)."""
    out = df
    for c in count_columns:
        if c not in out.columns:
            continue
        small = pl.col(c) < threshold
        out = out.with_columns(
            pl.when(small).then(pl.lit(MASK_LABEL)).otherwise(pl.col(c).cast(pl.Utf8)).alias(f"{c}_affiche"),
            pl.when(small).then(None).otherwise(pl.col(c)).alias(c),
        )
    return out


# =========================================================================== quarantine (issue #9, C2)
# The DPO's quarantine viewer reads the rejected records and the purge log. These tables are NOT
# published (`PUBLISHED`): `scoped_query` keeps refusing them to every profile. They are readable
# only here, by a principal granted the page `quarantaine`, with the same scope predicate (sources
# and conventions of the profile). The page masks the personal data it shows.
QUARANTINE_PAGE = "quarantaine"
QUARANTINE_TABLES = frozenset({"governance.quarantine", "governance.quarantine_purges"})


def quarantine_query(
    cat: Catalog,
    principal,
    table: str,
    *,
    select: str,
    where: str | None = None,
    params: Sequence = (),
    group_by: str | None = None,
    order_by: str | None = None,
    limit: int | None = None,
) -> pl.DataFrame:
    """A read of the quarantine or of the purge log, for principals granted the quarantine page only
    (same fragment guard and scope predicate as `scoped_query`)."""
    if not principal.may_open(QUARANTINE_PAGE):
        raise Forbidden("la quarantaine n'est ouverte qu'aux profils habilités à la page Quarantaine")
    if table not in QUARANTINE_TABLES:
        raise Forbidden(f"table non ouverte à la page Quarantaine: {table}")
    if not cat.has(table):
        raise NotAvailable(f"{table}: pas encore disponible")
    return _guarded(
        cat,
        principal.scope,
        table,
        select=select,
        where=where,
        params=params,
        group_by=group_by,
        order_by=order_by,
        limit=limit,
        level="rows",
    )


# --------------------------------------------------------------------------- exports (C5)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(df: pl.DataFrame) -> pl.DataFrame:
    """Text cells starting like a spreadsheet formula get a leading apostrophe (OWASP CSV injection)."""
    text = [c for c, t in df.schema.items() if t == pl.Utf8]
    pattern = "^[" + re.escape("".join(FORMULA_PREFIXES)) + "]"
    return df.with_columns(
        [
            pl.when(pl.col(c).str.contains(pattern)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
            for c in text
        ]
    )


def export_forbidden_conventions(conventions: Sequence[str]) -> list[str]:
    """The conventions among these whose rows may not leave the platform (`use_outside_platform`)."""
    registry = load_conventions()
    return sorted(c for c in set(conventions) if not (registry.get(c) or {}).get("use_outside_platform", False))


def export_refusal_reason(forbidden: Sequence[str]) -> str:
    registry = load_conventions()
    names = "; ".join(f"{registry.get(c, {}).get('title', c)} ({c})" for c in forbidden)
    return (
        "Export refusé: la vue contient des lignes de données dont la convention n'autorise pas "
        f"l'usage hors de la plateforme — {names}. Retirez ces sources du filtre pour exporter "
        "les autres (données de la Préfecture: consultation dans la plateforme seulement, C5)."
    )


def _row_conventions(cat: Catalog, table: str, df: pl.DataFrame) -> dict[str, int]:
    if "convention" in df.columns:
        counts = df.group_by("convention").len()
        return {str(k): int(n) for k, n in counts.iter_rows()}
    if "conventions" in df.columns:
        counts = df.select(pl.col("conventions").explode()).group_by("conventions").len()
        return {str(k): int(n) for k, n in counts.iter_rows()}
    schema = table.split(".", 1)[0]
    every = all_conventions() if schema in DERIVED_FROM_EVERY_CONVENTION else (TABLE_CONVENTION_DEFAULT,)
    return {c: df.height for c in every} if df.height else {}


def export_rows(
    cat: Catalog,
    principal: "Principal",
    parts: Sequence[dict[str, Any]],
    *,
    page: str,
    filters: dict | None = None,
    action: str = "export_csv",
) -> pl.DataFrame:
    """The rows of an export (one or more scoped reads, concatenated), checked and logged once.

    `parts`: keyword arguments of `scoped_query` (table, select, where, params, order_by, limit).
    Refused without `exporter`, or when a row's convention forbids use outside the platform.
    """
    from tranquillite.app_core import store

    if not principal.can("exporter"):
        raise Forbidden("export non autorisé pour ce profil")
    frames, conventions = [], {}
    with reads.collecting() as got:  # the export's reads go on its own line, not on the page's
        for part in parts:
            kw = dict(part)
            table = kw.pop("table")
            df = scoped_query(cat, principal.scope, table, level="rows", **kw)
            for c, n in _row_conventions(cat, table, df).items():
                conventions[c] = conventions.get(c, 0) + n
            frames.append(df)
    read_json = reads.to_json(got.reads)
    df = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
    forbidden = export_forbidden_conventions(list(conventions))
    with store.connect() as con:
        if forbidden:
            store.log_access(
                con,
                login=principal.login,
                profile=principal.profile,
                page=page,
                action="export_refuse",
                filters=filters,
                detail=json.dumps(
                    {"conventions": conventions, "refusees": forbidden}, ensure_ascii=False, sort_keys=True
                ),
                reads=read_json,
            )
            raise Forbidden(export_refusal_reason(forbidden))
        store.log_access(
            con,
            login=principal.login,
            profile=principal.profile,
            page=page,
            action=action,
            filters=filters,
            export=True,
            detail=json.dumps({"lignes": df.height, "conventions": conventions}, ensure_ascii=False, sort_keys=True),
            reads=read_json,
        )
    return neutralise_formulas(df)


# =========================================================================== data sheets (T8, issue 15)
# The per-source data sheet measures the ledger and the arrival of the files, which are NOT published
# (`PUBLISHED`: the file names and paths stay out of the application). These two reads return day
# aggregates only — no file name, no path, no record — with the same fragment guard and scope predicate
# as `scoped_query` (the scope's landing sources and conventions), and are logged as reads like any other.
SHEET_TABLES = frozenset({"governance.ingestion_ledger", "governance.landing_files"})


def ledger_by_day(cat: Catalog, scope: Scope) -> pl.DataFrame:
    """Per landing source × export day: records counted, clean, quarantined, exact duplicates, balanced."""
    table = "governance.ingestion_ledger"
    if not cat.has(table):
        raise NotAvailable(f"{table}: pas encore disponible")
    return _guarded(
        cat,
        scope,
        table,
        select="source, partition, read, clean, quarantined, duplicates, balanced",
        where=None,
        params=(),
        group_by=None,
        order_by="source, partition",
        limit=None,
        level="rows",
    )


def arrivals_by_day(cat: Catalog, scope: Scope) -> pl.DataFrame:
    """Per landing source × export day: when its current files first arrived (UTC) and how many there are."""
    table = "governance.landing_files"
    if not cat.has(table):
        raise NotAvailable(f"{table}: pas encore disponible")
    return _guarded(
        cat,
        scope,
        table,
        select="source, partition, min(first_seen) AS arrivee, count(*) AS fichiers",
        where="current AND partition IS NOT NULL",
        params=(),
        group_by="source, partition",
        order_by="source, partition",
        limit=None,
        level="rows",
    )
