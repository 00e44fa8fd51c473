"""Incremental recomputation of the indicator tables: which periods a new day touches.

The daily cycle brings one day of data (sometimes a late file for an older day); recomputing
every indicator over the whole history each day costs as much as a year. The tables are grouped
by period (day, week, month), and the value of a period depends only on the rows of its period
(and, for a few indicators, on the coverage of its relation): so the periods whose input rows did
not change keep their value, exactly.

What changed is found from the inputs themselves, not from the run's partitions (the indicators
run after any publication, a sensor or a destruction): each input relation is summarised by one
**digest per day** (row count and two sums of 32-bit halves of Polars' row hash — independent of
row order, and of how the rows got there). The digests, the coverage and a key of everything
else the result depends on (catalogue, parameters, this module's version, Polars' version: its
row hash is stable within one version only) are kept between runs under
`$TRANQUILLITE_HOME/cache/indicators/` with the frame the next run merges into. A missing,
damaged or foreign state, a changed key, or a forced full run (a convention's end: `FULL_TAG`)
recomputes everything, which is also what a first run does.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from tranquillite.indicators.periods import period_end, period_start
from tranquillite.parquet_stream import ParquetStream

VERSION = 1
# a run tagged with it recomputes every indicator table whole (the recompute after a convention's end)
FULL_TAG = "tranquillite/indicateurs_complets"
LEVELS = ("jour", "semaine", "mois")


def cache_dir(warehouse_root: Path) -> Path:
    """`$TRANQUILLITE_HOME/cache/indicators` (derived tables of the last run: safe to delete)."""
    return Path(warehouse_root).parent / "cache" / "indicators"


def config_key(*parts) -> str:
    """A key of everything a result depends on besides its input rows."""
    text = json.dumps([VERSION, pl.__version__, *[repr(p) for p in parts]], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def grouped_digests(keys: pl.DataFrame, rows: pl.DataFrame, seed: int = 7) -> pl.DataFrame:
    """Per value of `keys`' columns: the count and the sums of the high and low 32-bit halves of
    `rows`' 64-bit row hashes (`n`, `hi`, `lo`): order-free, and the sums cannot overflow."""
    h = pl.col("_h")
    return (
        keys.with_columns(rows.hash_rows(seed=seed).alias("_h"))
        .group_by(keys.columns)
        .agg(
            pl.len().alias("n"),
            (h // 4294967296).cast(pl.Int64).sum().alias("hi"),
            (h % 4294967296).cast(pl.Int64).sum().alias("lo"),
        )
    )


def day_digests(df: pl.DataFrame, day: pl.Expr) -> dict[str, list[int]]:
    """{day (ISO): [rows, Σ high halves, Σ low halves]} of the rows' hashes, per `day`."""
    if df.height == 0:
        return {}
    agg = grouped_digests(df.select(day.cast(pl.Date).alias("_d")), df)
    return {str(d): [int(n), int(hi), int(lo)] for d, n, hi, lo in agg.select("_d", "n", "hi", "lo").iter_rows()}


def frame_digest(df: pl.DataFrame) -> list[int]:
    """[rows, Σ high halves, Σ low halves] of a frame's row hashes (order-independent)."""
    if df.height == 0:
        return [0, 0, 0]
    agg = grouped_digests(pl.DataFrame({"_all": [0] * df.height}), df)
    return [int(x) for x in agg.select("n", "hi", "lo").row(0)]


def changed_days(old: dict[str, list[int]], new: dict[str, list[int]]) -> set[date]:
    """Days whose rows differ (added, removed or changed)."""
    return {date.fromisoformat(d) for d in set(old) | set(new) if old.get(d) != new.get(d)}


@dataclass
class Touched:
    """Periods to recompute, per level: those holding a changed day, and every period reaching past
    `edge_end` (or starting before `edge_start`): a moved coverage changes their value."""

    days: set[date] = field(default_factory=set)
    edge_start: date | None = None
    edge_end: date | None = None
    _starts: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def starts(self, level: str) -> list[date]:
        """The starts of the periods of `level` holding a changed day (computed once per level:
        every chunk of the run asks)."""
        if not self.days:
            return []
        if level not in self._starts:
            s = pl.select(period_start(pl.Series("d", sorted(self.days), dtype=pl.Date), level).unique().sort())
            self._starts[level] = s.to_series().to_list()
        return self._starts[level]

    def expr(self, start: pl.Expr, level: str) -> pl.Expr:
        """True for a period (by its start date) to recompute."""
        out = start.is_in(pl.Series(self.starts(level), dtype=pl.Date).implode())
        if self.edge_end is not None:
            out = out | (period_end(start, level) > pl.lit(self.edge_end))
        if self.edge_start is not None:
            out = out | (start < pl.lit(self.edge_start))
        return out

    @property
    def empty(self) -> bool:
        return not self.days and self.edge_start is None and self.edge_end is None


def touched(
    old_days: dict, new_days: dict, old_cover: tuple[date, date] | None, new_cover: tuple[date, date] | None
) -> Touched:
    """The periods a change of one relation touches (coverage: (first day, last day + 1))."""
    t = Touched(days=changed_days(old_days, new_days))
    if old_cover != new_cover and old_cover is not None and new_cover is not None:
        if old_cover[0] != new_cover[0]:
            t.edge_start = max(old_cover[0], new_cover[0])
        if old_cover[1] != new_cover[1]:
            t.edge_end = min(old_cover[1], new_cover[1])
    return t


class State:
    """The state kept between runs of one table: a JSON document and one Parquet frame."""

    def __init__(self, root: Path, name: str):
        self.json = Path(root) / f"{name}.json"
        self.frame = Path(root) / f"{name}.parquet"

    def load(self, key: str) -> tuple[dict, pl.DataFrame] | None:
        """(document, frame) of the last run if it was made with `key` and is intact, else None."""
        kept = self.scan(key)
        if kept is None:
            return None
        try:
            return kept[0], kept[1].collect()
        except Exception:  # noqa: BLE001 - a damaged state is recomputed, never trusted
            return None

    def scan(self, key: str) -> tuple[dict, pl.LazyFrame] | None:
        """`load`, the frame left on disk (read a chunk at a time by its user)."""
        doc = self.load_doc(key)
        if doc is None:
            return None
        try:
            frame = pl.scan_parquet(self.frame)
            rows = frame.select(pl.len()).collect().item()
        except Exception:  # noqa: BLE001 - a missing or damaged state is recomputed, never trusted
            return None
        if rows != doc.get("rows"):
            return None  # the frame was changed behind our back (a destruction purges rows)
        return doc, frame

    def stream(self, schema: dict | None = None) -> ParquetStream:
        """The next frame, written a chunk at a time; `commit` puts it in place with its document."""
        return ParquetStream(self.frame, schema=schema, statistics=True)

    def commit(self, key: str, doc: dict, frame: ParquetStream) -> None:
        """The streamed frame renamed into place, then its document (none until the frame is whole)."""
        self.json.unlink(missing_ok=True)
        frame.close()
        self.json.write_text(json.dumps({**doc, "key": key, "rows": frame.rows}, default=str), encoding="utf-8")

    def load_doc(self, key: str) -> dict | None:
        """The document alone (a state whose frame is the published table itself)."""
        try:
            doc = json.loads(self.json.read_text(encoding="utf-8"))
        except Exception:  # noqa: BLE001 - a missing or damaged state is recomputed, never trusted
            return None
        return doc if doc.get("key") == key else None

    def save_doc(self, key: str, doc: dict) -> None:
        self.json.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.json.with_suffix(".json.part")
        tmp.write_text(json.dumps({**doc, "key": key}, default=str), encoding="utf-8")
        tmp.replace(self.json)

    def save(self, key: str, doc: dict, frame: pl.DataFrame) -> None:
        out = self.stream()
        try:
            out.write(frame)
        except BaseException:
            out.abort()
            raise
        self.commit(key, doc, out)

    def clear(self) -> None:
        for p in (self.json, self.frame):
            p.unlink(missing_ok=True)


def cover_of(doc_value) -> tuple[date, date] | None:
    if not doc_value:
        return None
    return date.fromisoformat(doc_value[0]), date.fromisoformat(doc_value[1])


def iso_cover(cover: tuple[date, date] | None) -> list[str] | None:
    return None if cover is None else [cover[0].isoformat(), cover[1].isoformat()]
