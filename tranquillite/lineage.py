"""Where each convention's data went: sources, assets, tables and rows, models — from the data.

`convention_lineage(defs, warehouse_root)` is a pure function of the assembled code location
(its asset graph: which assets are tagged with which conventions, derived in
`tranquillite.assets.conventions`) and of the warehouse's files. For each convention it lists

* the source contracts under it (`data_contracts/*.yaml`) and their landing sources;
* every asset whose `convention/*` tags include it (the assets that *may* hold its data);
* per warehouse table (`warehouse/<layer>/<table>/`, whether or not an asset says it holds the
  convention), the rows that *do* hold it — their count, the files holding them (count, bytes),
  the first and last partition — read from each row's `conventions` list; tables without it are
  attributed by their `convention` code, their `source` (landing source or contract), or, for a
  table of a single-convention asset, whole (`attribution` says which);
* the models trained on its data (`models.model_registry`, or the registry given).

Used by the auditors' *Traçabilité* page and by the destruction of a convention's data: what
cannot be traced cannot be proven destroyed. A table found on disk that no asset declares is
reported with `asset` = None (`untracked_tables`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
from pathlib import Path
from typing import Iterable

import dagster as dg
import duckdb
import polars as pl

from tranquillite import file_memo
from tranquillite.contracts import contracts_for_source, load_contracts, load_conventions

UNPARTITIONED = "data"


@dataclass(frozen=True)
class TableRows:
    table: str  # layer.table
    asset: str | None  # its asset (None: a table no asset declares)
    tagged: bool  # the asset's convention tags include the convention
    rows: int  # rows holding the convention
    total_rows: int
    files: int  # files holding at least one of those rows
    bytes: int  # their size on disk
    first_partition: str | None  # partitioned tables: first and last partition holding rows
    last_partition: str | None
    attribution: str  # conventions | convention | source | table


@dataclass(frozen=True)
class ConventionLineage:
    convention: str
    title: str
    contracts: list[str]
    sources: list[str]
    assets: list[str]
    tables: list[TableRows] = field(default_factory=list)
    models: list[dict] = field(default_factory=list)

    @property
    def holding(self) -> list[TableRows]:
        """The tables with at least one row of the convention."""
        return [t for t in self.tables if t.rows]


def _table_of(key: dg.AssetKey, metadata) -> str:
    """The warehouse table an asset writes, as `layer/table`: its key, or the `table` its metadata
    names (several assets may write one table, e.g. `governance/landing_files/<source>`)."""
    table = (metadata or {}).get("table")
    table = getattr(table, "value", table)
    return str(table).replace(".", "/", 1) if table else key.to_user_string()


def _asset_conventions(defs: dg.Definitions) -> dict[str, set[str]]:
    """Per asset key AND per table written (`layer/table`): the conventions of its asset(s)."""
    from tranquillite.assets.conventions import conventions_of_tags

    graph = defs.resolve_asset_graph()
    out: dict[str, set[str]] = {}
    for k in graph.get_all_asset_keys():
        node = graph.get(k)
        convs = conventions_of_tags(node.tags)
        out.setdefault(k.to_user_string(), set()).update(convs)
        table = _table_of(k, node.metadata)
        if table != k.to_user_string():
            out.setdefault(table, set()).update(convs)
    return out


def warehouse_tables(root: Path) -> list[tuple[str, str]]:
    """Every `<layer>/<table>/` folder holding Parquet files."""
    if not root.exists():
        return []
    return sorted((d.parent.name, d.name) for d in root.glob("*/*") if d.is_dir() and any(d.glob("*.parquet")))


def source_conventions(value: str) -> set[str]:
    """The conventions of a contract's name or of a landing source's contracts."""
    contracts = load_contracts()
    if value in contracts:
        return {contracts[value].convention}
    return {c.convention for c in contracts_for_source(value)}


def cache_dir(warehouse_root: Path) -> Path:
    """Where the per-file counts are kept between runs: `$TRANQUILLITE_HOME/cache/lineage` (counts and
    file names only, never rows; safe to delete: everything is recomputed)."""
    return Path(warehouse_root).parent / "cache" / "lineage"


def per_file_memo(files: list[Path], compute, name: str, cache: Path | None, root: Path) -> pl.DataFrame:
    """`compute(files)` — a frame of per-file aggregates with a `file` column — for the files that are new
    or changed (size or mtime) since the last call of this `name`; the others' rows come from the cache
    (`tranquillite.file_memo`, one Parquet per name under `cache`, keyed by the path relative to `root`).
    A daily run then reads the day's files, not the whole history. Without `cache`, everything is computed."""
    return file_memo.memo(files, compute, None if cache is None else cache / f"{name}.parquet", root, tag=name)


def table_footers(files: list[Path], cache: Path | None, root: Path) -> dict[str, tuple[int, set[str], str]]:
    """Per file (`str` of its path): its row count, column names and schema (JSON `[[name, type], …]`),
    from its footer (memoised, unless `cache` is None, in the warehouse's single footers memo, which
    the catalog's signature reads too)."""
    foot = file_memo.footers(files, None if cache is None else file_memo.footer_cache(root), root)
    names = {cols: {c for c, _ in json.loads(cols)} for cols in foot["columns"].unique().to_list()}
    return {f: (n, names[cols], cols) for f, n, cols in foot.select("file", "num_rows", "columns").iter_rows()}


def read_parquet_sql(uniform: bool) -> str:
    """DuckDB's read of a list of files (`?`) with each row's file name: by name across different
    schemas; files of a single schema (as their footers say) are bound from the first file alone —
    a union by name opens every footer to bind (8 years of a warehouse: 85,000 files)."""
    return f"read_parquet(?, union_by_name = {'false' if uniform else 'true'}, filename = true)"


def attribution_of(cols: set[str]) -> str:
    """How a table's rows are attributed to conventions, from its columns."""
    return (
        "conventions"
        if "conventions" in cols
        else "convention"
        if "convention" in cols
        else "source"
        if "source" in cols
        else "table"
    )


# the first of these columns a table has dates its rows (unpartitioned tables; partitioned ones: the day)
DATE_COLUMNS = ("start", "slot_start", "origin", "starts_at", "day", "period_start", "first_seen", "trained_at")
COUNTS = {"file": pl.Utf8, "convention": pl.Utf8, "n": pl.Int64, "a": pl.Utf8, "b": pl.Utf8}


@dataclass(frozen=True)
class TableCounts:
    """One table's per-file counts: (file, convention, n, a, b) — rows per file and convention, and the
    first and last value of its date column (`DATE_COLUMNS`; None without one) — how its rows were
    attributed, its total rows (footers) and its asset."""

    counts: pl.DataFrame
    how: str
    total: int
    asset: str | None
    uniform: bool = False  # every file of the table has the same schema (footers)


def _per_file(
    con: duckdb.DuckDBPyConnection,
    files: list[Path],
    asset_conv: set[str],
    cols: set[str],
    cache: Path | None,
    name: str,
    root: Path,
    schema_of: dict[str, str] | None = None,
) -> tuple[pl.DataFrame, str]:
    """(file, convention, n, a, b) of one table's files, and how the rows were attributed (the counts of
    unchanged files from `cache`: `per_file_memo`). One pass serves the report (rows per convention)
    and the published lineage (rows and dates per partition). `schema_of`: each file's schema (its
    footer), when known: files of one schema are read without a union by name."""
    how = attribution_of(cols)
    dc = next((c for c in DATE_COLUMNS if c in cols), None)

    def uniform(fs: list[Path]) -> bool:
        return schema_of is not None and len({schema_of.get(str(f)) for f in fs}) == 1 and str(fs[0]) in schema_of

    df = per_file_memo(
        files,
        lambda fs: _counts(con, fs, how, asset_conv, dc, bool(fs) and uniform(fs)),
        memo_name(f"{name}.{dc}", how, asset_conv),
        cache,
        root,
    )
    return df, how


def memo_name(table: str, how: str, whole) -> str:
    """A cache name that changes when what the counts depend on changes: the attribution, the conventions
    a whole table goes to, and the contracts' source → convention map."""
    import hashlib
    import json as _json

    contracts = sorted((c.name, c.source, c.convention) for c in load_contracts().values())
    digest = hashlib.sha256(_json.dumps([how, sorted(whole), contracts]).encode()).hexdigest()[:12]
    return f"{table}.{how}.{digest}"


def _counts(
    con: duckdb.DuckDBPyConnection,
    files: list[Path],
    how: str,
    asset_conv: set[str],
    dc: str | None,
    uniform: bool = False,
) -> pl.DataFrame:
    if not files:
        return pl.DataFrame(schema=COUNTS)
    paths = [str(f) for f in files]
    d = f'CAST(min("{dc}") AS VARCHAR) AS a, CAST(max("{dc}") AS VARCHAR) AS b' if dc else "NULL AS a, NULL AS b"
    src = read_parquet_sql(uniform)
    if how == "conventions":
        q = (
            f"SELECT filename, c AS convention, count(*) AS n, {d} "
            f"FROM (SELECT *, unnest(conventions) AS c FROM {src}) GROUP BY ALL"
        )
    elif how == "convention":
        q = f"SELECT filename, convention, count(*) AS n, {d} FROM {src} GROUP BY ALL"
    elif how == "source":
        q = f"SELECT filename, source, count(*) AS n, {d} FROM {src} GROUP BY ALL"
    else:
        q = f"SELECT filename, count(*) AS n, {d} FROM {src} GROUP BY ALL"
    df = pl.from_arrow(con.sql(q, params=[paths]).to_arrow_table())
    if how == "source":
        mapping = {s: sorted(source_conventions(s)) for s in df["source"].drop_nulls().unique().to_list()}
        df = (
            df.with_columns(
                pl.col("source")
                .replace_strict(mapping, default=None, return_dtype=pl.List(pl.Utf8))
                .alias("convention")
            )
            .explode("convention")
            .drop("source")
        )
    elif how == "table":  # a table without row-level lineage: whole, under each convention of its asset
        df = df.join(pl.DataFrame({"convention": sorted(asset_conv)}, schema={"convention": pl.Utf8}), how="cross")
    return df.select(
        pl.col("filename").alias("file"),
        pl.col("convention").cast(pl.Utf8),
        pl.col("n").cast(pl.Int64),
        pl.col("a").cast(pl.Utf8),
        pl.col("b").cast(pl.Utf8),
    )


def table_counts(defs: dg.Definitions, warehouse_root: Path | str, cache: Path | None = None) -> dict[str, TableCounts]:
    """Per warehouse table (`layer.table`): its per-file counts (`TableCounts`), the files unchanged since
    the last call read from `cache` (`cache_dir`)."""
    root = Path(warehouse_root)
    by_asset = _asset_conventions(defs)
    listed = {
        (layer, table): sorted((root / layer / table).glob("*.parquet")) for layer, table in warehouse_tables(root)
    }
    footer = table_footers([f for fs in listed.values() for f in fs], cache, root)
    out: dict[str, TableCounts] = {}
    con = duckdb.connect(":memory:")
    try:
        for (layer, table), files in listed.items():
            asset = f"{layer}/{table}" if f"{layer}/{table}" in by_asset else None
            cols = set().union(*(footer[str(f)][1] for f in files))
            df, how = _per_file(
                con,
                files,
                by_asset.get(asset or "", set()),
                cols,
                cache,
                f"{layer}.{table}",
                root,
                {str(f): footer[str(f)][2] for f in files},
            )
            out[f"{layer}.{table}"] = TableCounts(
                df, how, sum(footer[str(f)][0] for f in files), asset, len({footer[str(f)][2] for f in files}) == 1
            )
    finally:
        con.close()
    return out


def _registry(root: Path, registry: pl.DataFrame | None) -> pl.DataFrame | None:
    if registry is not None:
        return registry
    d = root / "models" / "model_registry"
    files = sorted(d.glob("*.parquet")) if d.exists() else []
    return pl.read_parquet(files) if files else None


def convention_lineage(
    defs: dg.Definitions,
    warehouse_root: Path | str,
    conventions: Iterable[str] | None = None,
    registry: pl.DataFrame | None = None,
    cache: Path | None = None,
    counts: dict[str, TableCounts] | None = None,
) -> dict[str, ConventionLineage]:
    """Per convention (all of `conventions.yaml` by default): contracts, assets, table rows, models.
    `cache`: a folder keeping the per-file counts between calls (`cache_dir`), so that unchanged files
    are not read again; `counts`: the per-file counts already taken (`table_counts`)."""
    root = Path(warehouse_root)
    titles = load_conventions()
    wanted = sorted(conventions) if conventions is not None else sorted(titles)
    by_asset = _asset_conventions(defs)
    per_table = counts if counts is not None else table_counts(defs, root, cache)
    reg = _registry(root, registry)
    out: dict[str, ConventionLineage] = {}
    for c in wanted:
        contracts = sorted(n for n, k in load_contracts().items() if k.convention == c)
        sources = sorted({load_contracts()[n].source for n in contracts})
        tables = []
        for name, tc in per_table.items():
            df, how, total, asset = tc.counts, tc.how, tc.total, tc.asset
            mine = df.filter(pl.col("convention") == c)
            files = [Path(f) for f in mine.filter(pl.col("n") > 0)["file"].unique().sort().to_list()]
            parts = sorted(f.stem for f in files if f.stem != UNPARTITIONED)
            tables.append(
                TableRows(
                    table=name,
                    asset=asset,
                    tagged=c in by_asset.get(asset or "", set()),
                    rows=int(mine["n"].sum() or 0),
                    total_rows=total,
                    files=len(files),
                    bytes=sum(f.stat().st_size for f in files if f.exists()),
                    first_partition=parts[0] if parts else None,
                    last_partition=parts[-1] if parts else None,
                    attribution=how,
                )
            )
        models = []
        if reg is not None and reg.height and "conventions" in reg.columns:
            keep = [
                k
                for k in (
                    "model",
                    "group",
                    "version",
                    "usage",
                    "variant",
                    "trained_at",
                    "train_start",
                    "train_end",
                    "path",
                )
                if k in reg.columns
            ]
            models = reg.filter(pl.col("conventions").list.contains(c)).select(keep).to_dicts()
        out[c] = ConventionLineage(
            convention=c,
            title=titles.get(c, {}).get("title", c),
            contracts=contracts,
            sources=sources,
            assets=sorted(a for a, cs in by_asset.items() if c in cs),
            tables=tables,
            models=models,
        )
    return out


def untracked_tables(defs: dg.Definitions, warehouse_root: Path | str) -> list[str]:
    """Warehouse tables that no asset of the code location declares (should be none)."""
    keys = set(_asset_conventions(defs))
    return [
        f"{layer}.{table}" for layer, table in warehouse_tables(Path(warehouse_root)) if f"{layer}/{table}" not in keys
    ]


def lineage_table(report: dict[str, ConventionLineage]) -> pl.DataFrame:
    """The report flat: one row per convention × table (for a CSV, the closing note, the page)."""
    rows = [
        {
            "convention": c.convention,
            "table": t.table,
            "asset": t.asset,
            "tagged": t.tagged,
            "rows": t.rows,
            "total_rows": t.total_rows,
            "files": t.files,
            "bytes": t.bytes,
            "first_partition": t.first_partition,
            "last_partition": t.last_partition,
            "attribution": t.attribution,
        }
        for c in report.values()
        for t in c.tables
    ]
    return pl.DataFrame(
        rows,
        schema={
            "convention": pl.Utf8,
            "table": pl.Utf8,
            "asset": pl.Utf8,
            "tagged": pl.Boolean,
            "rows": pl.Int64,
            "total_rows": pl.Int64,
            "files": pl.Int64,
            "bytes": pl.Int64,
            "first_partition": pl.Utf8,
            "last_partition": pl.Utf8,
            "attribution": pl.Utf8,
        },
    )
