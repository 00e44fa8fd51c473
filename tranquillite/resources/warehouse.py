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

import hashlib
import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
import polars as pl

from tranquillite import file_memo
from tranquillite.parquet_stream import ParquetStream

UNPARTITIONED = "data"
WRITER_THREADS = 2  # threads of `Warehouse.writer` (the City's servers and CI: 2 cores)
WRITER_PENDING = 32  # writes queued at most before the caller waits (bounds the frames held)


class PartitionWriter:
    """`Warehouse.writer`'s handle: `write` has the signature of `Warehouse.write` and returns at
    once (it waits only while `pending` writes are queued)."""

    def __init__(self, warehouse: "Warehouse", workers: int, pending: int):
        from concurrent.futures import ThreadPoolExecutor

        self._warehouse, self._pending = warehouse, max(1, pending)
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="warehouse-write")
        self._futures: list = []
        self.written = 0

    def write(
        self, layer: str, table: str, df: pl.DataFrame, partition: str | None = None, row_group_size: int | None = None
    ) -> None:
        from concurrent.futures import FIRST_COMPLETED, wait

        if len(self._futures) >= self._pending:
            done, rest = wait(self._futures, return_when=FIRST_COMPLETED)
            for f in done:
                f.result()  # a failed write stops the step here, not after the whole range
            self._futures = list(rest)
        self._futures.append(self._pool.submit(self._warehouse.write, layer, table, df, partition, row_group_size))
        self.written += 1

    def close(self, raise_errors: bool = True) -> None:
        self._pool.shutdown(wait=True)
        futures, self._futures = self._futures, []
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors and raise_errors:
            raise errors[0]


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

    def write(
        self, layer: str, table: str, df: pl.DataFrame, partition: str | None = None, row_group_size: int | None = None
    ) -> Path:
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

    @contextmanager
    def writer(self, workers: int = WRITER_THREADS, pending: int = WRITER_PENDING) -> Iterator["PartitionWriter"]:
        """Writes (`write`, each atomic) handed to `workers` threads while the caller goes on: Parquet
        encoding and the file system release the GIL, so a step that reads and checks one partition
        while the previous one is written uses the second core. Every write is done when the block
        exits, and the first that failed raises there (after the others finished, as in turn)."""
        w = PartitionWriter(self, workers, pending)
        try:
            yield w
        except BaseException:
            w.close(raise_errors=False)  # the step's own error is the one to tell
            raise
        w.close()

    def stream(self, layer: str, table: str, schema: dict, partition: str | None = None) -> ParquetStream:
        """A table written a chunk at a time (`ParquetStream`), replacing the partition (or the whole
        unpartitioned table) when closed: each chunk its own row groups, with their statistics."""
        return ParquetStream(self.file(layer, table, partition), schema=schema, statistics=True)

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
        return sorted((d.parent.name, d.name) for d in self.path.glob("*/*") if d.is_dir() and any(d.glob("*.parquet")))

    @contextmanager
    def connect(self, tables: Iterable[str] | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """An in-memory DuckDB session with one view per table (`layer.table`): no file lock.
        `tables`: only these views (DuckDB binds a view when it is created, reading the footer of every
        file of its table: a step that reads one table need not pay for the whole warehouse)."""
        with DuckDBResource(database=":memory:").get_connection() as con:
            _create_views(con, self, only=None if tables is None else set(tables))
            yield con

    @property
    def catalog_record_path(self) -> Path:
        """What the last publication built: `$TRANQUILLITE_HOME/cache/catalog/catalog.json` (safe to delete)."""
        return self.path.parent / "cache" / "catalog" / "catalog.json"

    def catalog_signatures(self) -> dict[str, str]:
        """Per view of the catalog (`schema.view`): a digest of its SQL, the schemas of the files its glob
        resolves to (DuckDB binds a view when it is created and keeps its columns, which
        `information_schema` shows) and those files' identities (relative path, size, mtime_ns). A view's
        glob is resolved when it is queried, so the untouched catalog would read a new partition too — but
        the catalog file is the app's version of the data (the app caches its reads per catalog mtime):
        any change to a view's files swaps a new catalog in (only the changed views rebuilt). The footers
        are memoised (`tranquillite.file_memo`): only new or changed files are opened."""
        specs = _view_specs(self, relative=True)
        files = {key: _resolve(self.path, glob) for key, (_, _, glob) in specs.items()}
        foot = file_memo.footers([f for fs in files.values() for f in fs], file_memo.footer_cache(self.path), self.path)
        schema_of = dict(zip(foot["file"].to_list(), foot["columns"].to_list()))
        out = {}
        for key, (schema, name, glob) in specs.items():
            # distinct schemas in the order the files give them: what a union by name binds
            schemas = list(dict.fromkeys(schema_of[f] for f in files[key]))
            out[key] = hashlib.sha256(
                json.dumps(
                    [CATALOG_FORMAT, _view_sql(schema, name, glob), schemas, _identities(files[key], self.path)]
                ).encode()
            ).hexdigest()
        return out

    def publish_catalog(self, force: bool = False) -> Path:
        """Publish `catalog.duckdb` (views only), swapped in atomically — only when its views changed.

        The views' signatures (`catalog_signatures`) are compared with those recorded by the last
        publication: all equal, and the catalog file the very one it swapped in (inode, size, mtime), the
        catalog is left untouched; otherwise a copy of it gets the changed views replaced and the
        vanished ones dropped, and is swapped in. A missing catalog, a missing or foreign record, or
        `force` (whatever deleted data: the destruction of a convention's data) rebuild it whole.
        The record is written only after a successful swap."""
        self.path.mkdir(parents=True, exist_ok=True)
        sigs = self.catalog_signatures()
        record = _read_record(self.catalog_record_path)
        base = None if force else record
        if base is not None and base.get("catalog") != _identity(self.catalog_path):
            base = None
        if base is not None and base["views"] == sigs:
            return self.catalog_path
        try:
            swapped = self._swap_catalog(sigs, base)
        except duckdb.Error:
            if base is None:
                raise
            swapped = self._swap_catalog(sigs, None)  # the current catalog cannot be updated: rebuilt whole
        _write_record(self.catalog_record_path, {"format": CATALOG_FORMAT, "views": sigs, "catalog": swapped})
        return self.catalog_path

    def _swap_catalog(self, sigs: dict[str, str], base: dict | None) -> list[int] | None:
        """Build the catalog in a temporary file — a copy of the current one with the views whose signature
        changed since `base` replaced, or (no `base`) from nothing — and rename it into place; its identity
        (taken before the rename, which keeps it: another writer's catalog is never recorded as ours)."""
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".catalog-", suffix=".duckdb")
        os.close(fd)
        os.unlink(tmp)  # DuckDB must create the file itself (or open a copy of the current catalog)
        try:
            if base is not None:
                shutil.copyfile(self.catalog_path, tmp)
                changed = {k for k, v in sigs.items() if base["views"].get(k) != v}
                dropped = set(base["views"]) - set(sigs)
            else:
                changed, dropped = set(sigs), set()
            with DuckDBResource(database=tmp).get_connection() as con:
                con.execute(f"SET file_search_path = '{_literal(self.path.resolve())}'")
                for key in sorted(dropped):
                    schema, name = key.split(".", 1)
                    con.execute(f'DROP VIEW IF EXISTS "{schema}"."{name}"')
                for schema in sorted({k.split(".", 1)[0] for k in dropped} - {k.split(".", 1)[0] for k in sigs}):
                    con.execute(f'DROP SCHEMA IF EXISTS "{schema}"')
                _create_views(con, self, relative=True, only=changed)
            swapped = _identity(Path(tmp))
            os.replace(tmp, self.catalog_path)
            return swapped
        finally:
            for p in (tmp, tmp + ".wal"):
                if os.path.exists(p):
                    os.unlink(p)


# union views over a whole layer: (schema, view, layer folder)
UNION_VIEWS = [("governance", "quarantine", "quarantine")]


class CatalogMoved(RuntimeError):
    """The catalog's views read the files of another folder (built before the home was moved)."""


def _literal(text) -> str:
    return str(text).replace("'", "''")


def _view_sql(schema: str, name: str, glob: str) -> str:
    # identifiers come from our own folder names; DuckDB cannot bind a view's file path as a
    # parameter, so the path literal is escaped
    return (
        f'CREATE OR REPLACE VIEW "{schema}"."{name}" AS '
        f"SELECT * FROM read_parquet('{_literal(glob)}', union_by_name = true)"
    )


def _view(con: duckdb.DuckDBPyConnection, schema: str, name: str, glob: str) -> None:
    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    con.execute(_view_sql(schema, name, glob))


def _view_specs(wh: Warehouse, relative: bool = False) -> dict[str, tuple[str, str, str]]:
    """The views a catalog of this warehouse has: `schema.view` → (schema, view, glob); `relative`: file
    paths relative to the warehouse folder (the catalog)."""

    def where(*parts: str) -> str:
        return "/".join(parts) if relative else str(wh.path.joinpath(*parts))

    out = {f"{layer}.{table}": (layer, table, where(layer, table, "*.parquet")) for layer, table in wh.tables()}
    for schema, name, layer in UNION_VIEWS:
        if any((wh.path / layer).glob("*/*.parquet")):
            out[f"{schema}.{name}"] = (schema, name, where(layer, "*", "*.parquet"))
    return out


def _create_views(
    con: duckdb.DuckDBPyConnection, wh: Warehouse, relative: bool = False, only: set[str] | None = None
) -> None:
    """One view per table (or per table of `only`, `layer.table`); `relative`: file paths relative to
    the warehouse folder (the catalog)."""
    for key, (schema, name, glob) in _view_specs(wh, relative).items():
        if only is None or key in only:
            _view(con, schema, name, glob)


# bump when the way the catalog's views are built changes: every catalog is then rebuilt whole
CATALOG_FORMAT = "1"


def _resolve(root: Path, glob: str) -> list[str]:
    """The files (sorted paths) a view's relative glob `<a>/<b>/*.parquet` resolves to, `*` in `<a>` or `<b>`
    too (listed without pathlib: the catalog's signature lists every file of the warehouse at each call)."""
    dirs = [str(root)]
    for part in glob.split("/")[:-1]:
        if part == "*":
            dirs = [e.path for d in dirs for e in os.scandir(d) if e.is_dir()]
        else:
            dirs = [os.path.join(d, part) for d in dirs if os.path.isdir(os.path.join(d, part))]
    return sorted(e.path for d in dirs for e in os.scandir(d) if e.name.endswith(".parquet") and e.is_file())


def _identities(files: list[str], root: Path) -> list[list]:
    """(path relative to `root`, size, mtime_ns) of each file: files are written by renaming a complete
    temporary file into place, so a rewrite changes the mtime even when the size stays."""
    out = []
    for f, rel in zip(files, file_memo.relative(files, root)):
        st = os.stat(f)
        out.append([rel, st.st_size, st.st_mtime_ns])
    return out


def _identity(path: Path) -> list[int] | None:
    """The catalog file as swapped in: (inode, size, mtime_ns); None when there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def _read_record(path: Path) -> dict | None:
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(rec, dict) or rec.get("format") != CATALOG_FORMAT or not isinstance(rec.get("views"), dict):
        return None
    return rec


def _write_record(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(record, f)
    os.replace(tmp, path)


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
        raise CatalogMoved(
            f"le catalogue {path} a été construit pour un autre dossier ({foreign[0]}…): "
            "relancer la publication (`tranquillite materialize`) pour le reconstruire ici"
        )
    return con
