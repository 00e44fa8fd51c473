"""The warehouse: Parquet files written atomically, and a read-only DuckDB catalog over them.

Storage is designed for one writer and many readers. Every table is Parquet under
`warehouse/<layer>/<table>/` — one file per daily partition (`<AAAA-MM-JJ>.parquet`) or a
single `data.parquet` — each written to a temporary file then renamed, so a reader never sees
a half-written file and a rerun replaces a partition instead of duplicating it. The DuckDB
file `catalog.duckdb` only holds views over those files; it is rebuilt in a temporary file and
renamed into place, so the Streamlit app (which opens it read-only) never meets a writer's lock.

The home is relocatable: the catalog's views name their files relative to the catalog's folder
(DuckDB resolves relative paths against the working directory, or `file_search_path`), and
`open_catalog` points `file_search_path` at the folder the catalog is in — a copied or moved home
reads its own files, never the original's. A catalog built by an earlier version (absolute
paths) for another folder is refused (`CatalogMoved`) until the next publication rebuilds it.
"""

from __future__ import annotations

import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
import polars as pl

UNPARTITIONED = "data"


class Warehouse(dg.ConfigurableResource):
    """Parquet tables + DuckDB catalog under `root` (default `$TRANQUILLITE_HOME/warehouse`)."""

    root: str

    @property
    def path(self) -> Path:
        return Path(self.root)

    @property
    def catalog_path(self) -> Path:
        return self.path / "catalog.duckdb"

    def table_dir(self, layer: str, table: str) -> Path:
        return self.path / layer / table

    def file(self, layer: str, table: str, partition: str | None = None) -> Path:
        return self.table_dir(layer, table) / f"{partition or UNPARTITIONED}.parquet"

    def write(self, layer: str, table: str, df: pl.DataFrame, partition: str | None = None,
              row_group_size: int | None = None) -> Path:
        """Atomically replace one partition (or the whole unpartitioned table).

        A table sorted on its usual filter column and written in small row groups lets DuckDB
        skip row groups by their min/max statistics (e.g. `clean.events` by `start`).
        """
        target = self.file(layer, table, partition)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".parquet.part")
        os.close(fd)
        try:
            df.write_parquet(tmp, compression="zstd", statistics=True, row_group_size=row_group_size)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return target

    def drop_partition(self, layer: str, table: str, partition: str) -> bool:
        """Remove one partition (a day that no longer has data); True if there was one."""
        target = self.file(layer, table, partition)
        if target.exists():
            target.unlink()
            return True
        return False

    def partitions(self, layer: str, table: str) -> list[str]:
        d = self.table_dir(layer, table)
        return sorted(p.stem for p in d.glob("*.parquet")) if d.exists() else []

    def exists(self, layer: str, table: str) -> bool:
        return bool(self.partitions(layer, table))

    def glob(self, layer: str, table: str) -> str:
        return str(self.table_dir(layer, table) / "*.parquet")

    def scan(self, layer: str, table: str, partitions: list[str] | None = None) -> pl.LazyFrame:
        if partitions is None:
            files = [str(p) for p in sorted(self.table_dir(layer, table).glob("*.parquet"))]
        else:
            files = [str(self.file(layer, table, k)) for k in partitions if self.file(layer, table, k).exists()]
        if not files:
            raise FileNotFoundError(f"{layer}.{table}: aucune donnée matérialisée")
        return pl.scan_parquet(files, missing_columns="insert", extra_columns="ignore")

    def read(self, layer: str, table: str, partitions: list[str] | None = None) -> pl.DataFrame:
        return self.scan(layer, table, partitions).collect()

    def tables(self) -> list[tuple[str, str]]:
        if not self.path.exists():
            return []
        return sorted((d.parent.name, d.name) for d in self.path.glob("*/*") if d.is_dir()
                      and any(d.glob("*.parquet")))

    @contextmanager
    def connect(self, tables: Iterable[str] | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """An in-memory DuckDB session with one view per table (`layer.table`): no file lock.
        `tables`: only these views (DuckDB binds a view when it is created, reading the footer of every
        file of its table: a step that reads one table need not pay for the whole warehouse)."""
        with DuckDBResource(database=":memory:").get_connection() as con:
            _create_views(con, self, only=None if tables is None else set(tables))
            yield con

    def publish_catalog(self) -> Path:
        """Rebuild `catalog.duckdb` (views only) and swap it in atomically."""
        self.path.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".catalog-", suffix=".duckdb")
        os.close(fd)
        os.unlink(tmp)  # DuckDB must create the file itself
        try:
            with DuckDBResource(database=tmp).get_connection() as con:
                con.execute(f"SET file_search_path = '{_literal(self.path.resolve())}'")
                _create_views(con, self, relative=True)
            os.replace(tmp, self.catalog_path)
        finally:
            for p in (tmp, tmp + ".wal"):
                if os.path.exists(p):
                    os.unlink(p)
        return self.catalog_path


# union views over a whole layer: (schema, view, layer folder)
UNION_VIEWS = [("governance", "quarantine", "quarantine")]


class CatalogMoved(RuntimeError):
    """The catalog's views read the files of another folder (built before the home was moved)."""


def _literal(text) -> str:
    return str(text).replace("'", "''")


def _view(con: duckdb.DuckDBPyConnection, schema: str, name: str, glob: str) -> None:
    # identifiers come from our own folder names; DuckDB cannot bind a view's file path as a
    # parameter, so the path literal is escaped
    path = _literal(glob)
    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    con.execute(f'CREATE OR REPLACE VIEW "{schema}"."{name}" AS '
                f"SELECT * FROM read_parquet('{path}', union_by_name = true)")


def _create_views(con: duckdb.DuckDBPyConnection, wh: Warehouse, relative: bool = False,
                  only: set[str] | None = None) -> None:
    """One view per table (or per table of `only`, `layer.table`); `relative`: file paths relative to
    the warehouse folder (the catalog)."""
    def where(*parts: str) -> str:
        return "/".join(parts) if relative else str(wh.path.joinpath(*parts))
    for layer, table in wh.tables():
        if only is None or f"{layer}.{table}" in only:
            _view(con, layer, table, where(layer, table, "*.parquet"))
    for schema, name, layer in UNION_VIEWS:
        if (only is None or f"{schema}.{name}" in only) and any((wh.path / layer).glob("*/*.parquet")):
            _view(con, schema, name, where(layer, "*", "*.parquet"))


_VIEW_FILE = re.compile(r"read_parquet\('((?:[^']|'')*)'")


def _foreign_files(con: duckdb.DuckDBPyConnection, root: Path) -> list[str]:
    """Absolute file paths of the views that are outside `root` (a catalog of another folder)."""
    rows = con.execute("SELECT sql FROM duckdb_views() WHERE NOT internal").fetchall()
    out = []
    for (sql,) in rows:
        for m in _VIEW_FILE.finditer(sql or ""):
            p = m.group(1).replace("''", "'")
            if os.path.isabs(p) and not Path(p).resolve().is_relative_to(root):
                out.append(p)
    return out


def open_catalog(path: Path) -> duckdb.DuckDBPyConnection:
    """Readers (app, CLI status) open the catalog read-only: never blocked by a materialisation.
    Its relative file paths are resolved against the catalog's folder, for this connection and
    its cursors, whatever the working directory."""
    path = Path(path).resolve()
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute(f"SET GLOBAL file_search_path = '{_literal(path.parent)}'")
        foreign = _foreign_files(con, path.parent)
    except Exception:
        con.close()
        raise
    if foreign:
        con.close()
        raise CatalogMoved(f"le catalogue {path} a été construit pour un autre dossier ({foreign[0]}…): "
                           "relancer la publication (`tranquillite materialize`) pour le reconstruire ici")
    return con
