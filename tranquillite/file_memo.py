"""Per-file facts memoised between runs: read only the files that are new or changed.

A daily run adds or rewrites a few Parquet files among thousands (one per table and day); what the
lineage and the catalog need of each file (its rows per convention, its footer: row count and
schema) depends on that file alone. `memo(files, compute, cache, root)` calls `compute` on the files
whose (path, size, mtime_ns) is not in the cache and takes the others' rows from it:

* the cache is one Parquet file (`$TRANQUILLITE_HOME/cache/...`), keyed by the file's path relative
  to `root` (a moved or copied home keeps its cache), with the version of this format and the
  caller's `tag` (what the facts depend on besides the file) in its key-value metadata;
* a file removed since is dropped, a file changed is read again;
* a missing, unreadable or foreign (other version, other tag, other columns) cache is ignored: every
  file is read, and the cache written anew. It is safe to delete at any time;
* the cache is replaced atomically (temporary file, rename) and only when something changed.

Files are written by renaming a complete temporary file into place (`Warehouse.write`), so a rewrite
changes the mtime (nanoseconds) even when the size stays.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Callable, Sequence

import polars as pl

VERSION = "1"
META_KEY = "tranquillite.file_memo"
_KEY = ("_file", "_size", "_mtime_ns")


def relative(names: list[str], root: Path) -> list[str]:
    """The paths `names` relative to `root`."""
    prefix = os.path.join(os.path.abspath(root), "")
    return [n[len(prefix) :] if n.startswith(prefix) else os.path.relpath(n, root) for n in names]


def _keys(names: list[str], root: Path) -> pl.DataFrame:
    sizes, mtimes = [], []
    for n in names:
        st = os.stat(n)
        sizes.append(st.st_size)
        mtimes.append(st.st_mtime_ns)
    return pl.DataFrame(
        {"_file": relative(names, root), "_size": sizes, "_mtime_ns": mtimes},
        schema={"_file": pl.Utf8, "_size": pl.Int64, "_mtime_ns": pl.Int64},
    )


def _load(path: Path, stamp: str) -> pl.DataFrame | None:
    """The cached rows, or None when the cache is missing, damaged or of another version/tag."""
    if not path.exists():
        return None
    try:
        if pl.read_parquet_metadata(path).get(META_KEY) != stamp:
            return None
        old = pl.read_parquet(path)
    except Exception:  # noqa: BLE001 - a damaged cache is never trusted: everything is read again
        return None
    if not set(_KEY + ("_empty",)) <= set(old.columns):
        return None
    return old


def _save(path: Path, df: pl.DataFrame, stamp: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".parquet")
    os.close(fd)
    try:
        df.write_parquet(tmp, metadata={META_KEY: stamp})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def memo(
    files: Sequence[Path], compute: Callable[[list[Path]], pl.DataFrame], cache: Path | None, root: Path, tag: str = ""
) -> pl.DataFrame:
    """`compute(files)` — a frame with a `file` column (`str` of the path given) and any number of rows
    per file — for the new or changed files, the cached rows for the others; rows in `file` order of
    neither. `cache`: the memo's Parquet file (None: compute everything, remember nothing)."""
    if cache is None or not files:
        return compute([f if isinstance(f, Path) else Path(f) for f in files])
    root = Path(root)
    stamp = json.dumps({"version": VERSION, "tag": tag})
    names = [str(f) for f in files]
    keys = _keys(names, root)
    relnames = keys["_file"].to_list()
    both = pl.DataFrame({"file": names, "_file": relnames}, schema={"file": pl.Utf8, "_file": pl.Utf8})
    old = _load(Path(cache), stamp)
    kept = old.join(keys, on=list(_KEY), how="semi") if old is not None else None
    done = set(kept["_file"].to_list()) if kept is not None else set()
    todo_rel = [k for k in relnames if k not in done]
    todo = [Path(n) for n, k in zip(names, relnames) if k not in done]
    fresh = compute(todo)
    if kept is not None and set(fresh.columns) - {"file"} != set(kept.columns) - set(_KEY) - {"_empty"}:
        # the cached payload is not what compute gives now (foreign): read everything
        kept, todo, todo_rel = None, [Path(n) for n in names], relnames
        fresh = compute(todo)
    fresh = fresh.join(both, on="file", how="left").drop("file").with_columns(pl.lit(False).alias("_empty"))
    # a file that gave no row (an empty partition) is remembered too, by a marker row
    empty = sorted(set(todo_rel) - set(fresh["_file"].to_list()))
    fresh = pl.concat(
        [
            fresh,
            pl.DataFrame(
                {"_file": empty, "_empty": [True] * len(empty)}, schema={"_file": pl.Utf8, "_empty": pl.Boolean}
            ),
        ],
        how="diagonal_relaxed",
    )
    fresh = fresh.join(keys, on="_file", how="left")
    parts = [f for f in (kept, fresh) if f is not None]
    out = pl.concat(parts, how="diagonal_relaxed") if len(parts) > 1 else parts[0]
    if todo or old is None or kept is None or kept.height != old.height:
        _save(Path(cache), out.select(sorted(out.columns)), stamp)
    return out.filter(~pl.col("_empty")).join(both, on="_file", how="inner").drop(*_KEY, "_empty")


def _footer_facts(files: list[Path]) -> pl.DataFrame:
    import duckdb

    schema = {"file": pl.Utf8, "num_rows": pl.Int64, "columns": pl.Utf8}
    if not files:
        return pl.DataFrame(schema=schema)
    paths = [str(f) for f in files]
    con = duckdb.connect(":memory:")
    try:
        counts = dict(
            con.execute(
                "SELECT file_name, sum(num_rows) FROM parquet_file_metadata(?) GROUP BY ALL", [paths]
            ).fetchall()
        )
    finally:
        con.close()
    rows = [
        (p, int(counts.get(p) or 0), json.dumps([[n, str(t)] for n, t in pl.read_parquet_schema(p).items()]))
        for p in paths
    ]
    return pl.DataFrame(rows, schema=schema, orient="row")


def footers(files: Sequence[Path], cache: Path | None, root: Path) -> pl.DataFrame:
    """Per Parquet file: `file`, `num_rows` and `columns` (JSON `[[name, type], …]` in the file's order),
    from the footers, memoised (`cache`)."""
    return memo(files, _footer_facts, cache, root, tag="footers")


def column_names(footer: pl.DataFrame) -> set[str]:
    """The column names of the union (by name) of these files."""
    return {name for cols in footer["columns"].unique().to_list() for name, _ in json.loads(cols)}


def footer_cache(warehouse_root: Path) -> Path:
    """The footers' memo of a warehouse: `$TRANQUILLITE_HOME/cache/footers/warehouse.parquet`."""
    return Path(warehouse_root).parent / "cache" / "footers" / "warehouse.parquet"
