"""Records of a source the generator has no model of (issue 16): a contract with an `event:` block
and a `volume: {per_year: N}` (N > 0) that no hand-made simulation owns gets plausible landing
files from its declaration alone — so that `tranquillite generate` shows a new source on the map,
in the indicators and in the forecasts as soon as its contract exists.

What the contract says is all that is used: the count per year (× `scale`), the kind (a fact is
placed on Marseille's population-weighted address points at any hour; a planned event is exported
two weeks ahead and lasts hours to days), each field's type, enumeration, bounds and `after:` order.
Free texts get a neutral label, never a name. Vectorised: one draw per field."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from tranquillite.contracts import Contract
from tranquillite.synthetic.space import Space
from tranquillite.synthetic.timeprofile import TimeGrid
from tranquillite.synthetic.writers import OWNED_SOURCES
from tranquillite.timezones import PARIS_NAME

FMT = "%d/%m/%Y %H:%M"
PLANNED_LEAD_DAYS = 14


def per_year(c: Contract) -> float:
    v = c.meta.get("volume") or {}
    return float(v.get("per_year") or 0) if isinstance(v, dict) else 0.0


def unmodelled(contracts: dict[str, Contract]) -> list[Contract]:
    """The CSV contracts of event sources that no simulation owns and that declare a volume."""
    return sorted(
        (
            c
            for c in contracts.values()
            if c.event and c.format == "csv" and c.source not in OWNED_SOURCES and per_year(c) > 0
        ),
        key=lambda c: c.name,
    )


def records(c: Contract, grid: TimeGrid, sp: Space, scale: float, rng: np.random.Generator) -> pl.DataFrame:
    """The contract's records over the grid, with the writers' `_day`, `_t`, `_row`, `_dup` columns."""
    n = int(rng.poisson(per_year(c) * grid.days / 365.0 * scale))
    planned = c.event.get("kind") == "prevu"
    point = rng.choice(sp.n, size=n, p=sp.base)
    minutes = np.sort(rng.integers(0, grid.span_minutes, size=n))
    start = pl.Series("start", minutes, dtype=pl.Int64)
    t0 = pl.lit(grid.t0).cast(pl.Datetime("us", "UTC"))
    length_h = rng.integers(2, 72, size=n) if planned else rng.integers(0, 3, size=n)
    frame = pl.DataFrame(
        {"_m": start, "_len": pl.Series(length_h * 60 + rng.integers(0, 60, size=n), dtype=pl.Int64), "_p": point}
    )
    begin = t0 + pl.duration(minutes=pl.col("_m"))
    local = lambda e: e.dt.convert_time_zone(PARIS_NAME)  # noqa: E731 — the landing files' wall-clock time
    export = (local(begin).dt.date() - pl.duration(days=PLANNED_LEAD_DAYS if planned else 0)).clip(
        grid.start, grid.start + timedelta(days=grid.days - 1)
    )
    frame = frame.with_columns(
        local(begin).alias("_begin"),
        local(begin + pl.duration(minutes=pl.col("_len"))).alias("_end"),
        export.cast(pl.Utf8).alias("_day"),
    )
    start_field = c.event.get("start")
    cols: dict[str, pl.Expr | pl.Series] = {}
    for f in c.fields:
        if f.type == "id":
            cols[f.name] = pl.concat_str(
                pl.lit(c.source.upper()[:3] + "-"),
                pl.col("_day").str.replace_all("-", ""),
                pl.lit("-"),
                pl.int_range(pl.len()).cast(pl.Utf8).str.zfill(6),
            )
        elif f.type == "enum" and f.values:
            cols[f.name] = pl.Series(
                f.name, np.asarray(f.values)[rng.integers(0, len(f.values), size=n)], dtype=pl.Utf8
            )
        elif f.type == "datetime":
            ends = f.name != start_field and (f.after is not None or f.name == c.event.get("end"))
            cols[f.name] = pl.col("_end" if ends else "_begin").dt.strftime(FMT)
        elif f.type in ("longitude", "latitude"):
            cols[f.name] = pl.Series(f.name, (sp.lon if f.type == "longitude" else sp.lat)[point], dtype=pl.Float64)
        elif f.type == "integer":
            lo, hi = int(f.min if f.min is not None else 0), int(f.max if f.max is not None else 500)
            cols[f.name] = pl.Series(f.name, rng.integers(lo, max(hi, lo + 1), size=n), dtype=pl.Int64)
        elif f.type == "address":
            cols[f.name] = pl.Series(f.name, sp.address[point].astype(str), dtype=pl.Utf8)
        elif f.required:
            cols[f.name] = pl.lit(f"{c.event.get('item', c.title)} (donnée de démonstration)")
        else:
            cols[f.name] = pl.lit(None, pl.Utf8)
    return frame.with_columns(**cols).with_columns(
        pl.col("_m").alias("_t"), pl.int_range(pl.len()).alias("_row"), pl.lit(0).alias("_dup")
    )
