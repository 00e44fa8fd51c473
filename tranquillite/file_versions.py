"""Versions of the landing files: every fingerprint kept, every change after ingestion counted.

`governance.landing_files` holds one row per version of a landing file of a source and day: its
sha256, size, when it was first seen, its records (counted by the independent counter,
`tranquillite.record_count`) and what the parser made of them, its issues. A file whose content
changed after it was ingested gets a new version, and the records it adds, removes or modifies
against the previous version are counted — by record id (and version for the Cortège entries),
else by content — from the previous `raw` partition. A file that disappeared gets a last row
`supprimee`. Files that cannot be given a partition are listed with their reason
(`non_assignee`). Counts only: no record content is copied here.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

from tranquillite.landing import Assignment, FileRead

FILES_TABLE = "landing_files"
UNASSIGNED_PART = "non_assignes"
CURRENT, REPLACED, DELETED, UNASSIGNED = "courante", "remplacee", "supprimee", "non_assignee"

FILES_SCHEMA = {
    "source": pl.Utf8,
    "partition": pl.Utf8,
    "file": pl.Utf8,
    "path": pl.Utf8,
    "version": pl.Int64,
    "sha256": pl.Utf8,
    "bytes": pl.Int64,
    "records": pl.Int64,
    "records_parsed": pl.Int64,
    "first_seen": pl.Datetime("us", "UTC"),
    "current": pl.Boolean,
    "status": pl.Utf8,
    "added": pl.Int64,
    "removed": pl.Int64,
    "modified": pl.Int64,
    "issues": pl.List(pl.Utf8),
    "unassigned_reason": pl.Utf8,
}


def normalise(history: pl.DataFrame | None) -> pl.DataFrame:
    """A history as written by any version of the platform, in today's schema (older rows had no
    versions: each was the current and first version)."""
    if history is None or history.height == 0:
        return pl.DataFrame(schema=FILES_SCHEMA)
    defaults = {
        "version": pl.lit(1),
        "records_parsed": pl.col("records"),
        "current": pl.lit(True),
        "status": pl.lit(CURRENT),
        "first_seen": pl.lit(None),
        "added": pl.lit(None),
        "removed": pl.lit(None),
        "modified": pl.lit(None),
        "unassigned_reason": pl.lit(None),
    }
    missing = [expr.alias(k) for k, expr in defaults.items() if k not in history.columns]
    return history.with_columns(missing).select([pl.col(k).cast(t) for k, t in FILES_SCHEMA.items()])


def _keyed(df: pl.DataFrame, id_cols: list[str]) -> pl.DataFrame:
    """(record key, content digest) of raw records: the id (and version) when present."""
    if df.height == 0:
        return pl.DataFrame(schema={"key": pl.Utf8, "digest": pl.Utf8})
    digest = (
        pl.coalesce("_digest", pl.col("_raw").hash().cast(pl.Utf8))
        if "_digest" in df.columns
        else pl.col("_raw").hash().cast(pl.Utf8)
    )
    cols = [c for c in id_cols if c in df.columns]
    key = pl.concat_str([pl.col(c) for c in cols], separator="\x1f") if cols else pl.lit(None, dtype=pl.Utf8)
    return df.select(key.alias("key"), digest.alias("digest"))


def diff(old: pl.DataFrame, new: pl.DataFrame, id_cols: list[str]) -> tuple[int, int, int]:
    """(added, removed, modified) records of `new` against `old` (raw records of one file).

    A record whose content changed but kept its id is modified, not removed and added."""
    o, n = _keyed(old, id_cols), _keyed(new, id_cols)
    gone = o.join(n, on="digest", how="anti")
    came = n.join(o, on="digest", how="anti")
    both = set(gone.get_column("key").drop_nulls()) & set(came.get_column("key").drop_nulls())
    modified = len(both)
    added = came.filter(~pl.col("key").is_in(list(both)) | pl.col("key").is_null()).height
    removed = gone.filter(~pl.col("key").is_in(list(both)) | pl.col("key").is_null()).height
    return added, removed, modified


def _row(source: str, r: FileRead, version: int, now: datetime, **kw) -> dict:
    return {
        "source": source,
        "partition": r.partition,
        "file": r.label,
        "path": str(r.path),
        "version": version,
        "sha256": r.sha256,
        "bytes": r.bytes,
        "records": r.counted,
        "records_parsed": r.records.height,
        "first_seen": now,
        "current": True,
        "status": CURRENT,
        "added": None,
        "removed": None,
        "modified": None,
        "issues": [f"{i.kind}: {i.message}" for i in r.issues],
        "unassigned_reason": None,
    } | kw


def merge(
    source: str,
    partition: str,
    history: pl.DataFrame | None,
    reads: list[FileRead],
    old_raw: pl.DataFrame | None,
    id_cols: list[str],
    now: datetime,
) -> pl.DataFrame:
    """The history of one source and day after reading its files again (`reads`)."""
    past = normalise(history).to_dicts()
    old_raw = old_raw if old_raw is not None else pl.DataFrame(schema={"_file": pl.Utf8, "_raw": pl.Utf8})
    latest = {r["file"]: r for r in past if r["current"]}
    top = {}
    for r in past:
        top[r["file"]] = max(top.get(r["file"], 0), r["version"])
    rows = list(past)
    for r in reads:
        known = latest.get(r.label)
        if known is not None and known["sha256"] == r.sha256:  # same bytes: refresh the figures only
            known.update(
                records=r.counted,
                records_parsed=r.records.height,
                path=str(r.path),
                issues=[f"{i.kind}: {i.message}" for i in r.issues],
            )
            continue
        change = {}
        if known is not None:  # changed after ingestion: a new version, compared to the previous one
            known.update(current=False, status=REPLACED)
            added, removed, modified = diff(old_raw.filter(pl.col("_file") == r.label), r.records, id_cols)
            change = dict(added=added, removed=removed, modified=modified)
        rows.append(_row(source, r, top.get(r.label, 0) + 1, now, **change))
    present = {r.label for r in reads}
    for label, known in latest.items():
        if label not in present:  # the file was removed from the landing zone
            known.update(current=False, status=REPLACED)
            gone = old_raw.filter(pl.col("_file") == label).height
            rows.append(
                {
                    **known,
                    "version": top[label] + 1,
                    "sha256": None,
                    "bytes": None,
                    "records": 0,
                    "records_parsed": 0,
                    "first_seen": now,
                    "current": False,
                    "status": DELETED,
                    "added": 0,
                    "removed": gone,
                    "modified": 0,
                    "issues": [],
                }
            )
    out = pl.DataFrame(rows, schema=FILES_SCHEMA) if rows else pl.DataFrame(schema=FILES_SCHEMA)
    return out.sort("file", "version")


def unassigned(
    source: str,
    files: list[tuple[Path, Assignment, str, int, int]],
    previous: pl.DataFrame | None,
    landing: Path,
    now: datetime,
) -> pl.DataFrame:
    """Files of a source without a partition: (path, assignment, sha256, bytes, records counted)."""
    seen = {(r["file"], r["sha256"]): r["first_seen"] for r in normalise(previous).to_dicts()}
    rows = []
    for path, a, sha, size, counted in files:
        label = path.relative_to(landing).as_posix()
        rows.append(
            {
                "source": source,
                "partition": None,
                "file": label,
                "path": str(path),
                "version": 1,
                "sha256": sha,
                "bytes": size,
                "records": counted,
                "records_parsed": None,
                "first_seen": seen.get((label, sha), now),
                "current": True,
                "status": UNASSIGNED,
                "added": None,
                "removed": None,
                "modified": None,
                "issues": [],
                "unassigned_reason": a.reason,
            }
        )
    return pl.DataFrame(rows, schema=FILES_SCHEMA) if rows else pl.DataFrame(schema=FILES_SCHEMA)


def changes(history: pl.DataFrame) -> dict[str, int]:
    """Counts for the data team: files, versions after ingestion, records added/removed/modified."""
    h = normalise(history)
    later = h.filter(pl.col("version") > 1)
    assigned = h.filter(pl.col("partition").is_not_null())
    return {
        "files": assigned.filter(pl.col("current")).height,
        "changed_files": later.select(pl.struct("partition", "file").n_unique()).item() if later.height else 0,
        "new_versions": later.height,
        "rows_added": int(later.get_column("added").fill_null(0).sum()),
        "rows_removed": int(later.get_column("removed").fill_null(0).sum()),
        "rows_modified": int(later.get_column("modified").fill_null(0).sum()),
        "unassigned_files": h.filter(pl.col("status") == UNASSIGNED).height,
    }
