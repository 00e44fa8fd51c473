"""Small synthetic data for the forecasting tests (generated once per module that asks)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

EVENT_SCHEMA = {
    "event_id": pl.Utf8,
    "source": pl.Utf8,
    "start": pl.Datetime("us"),
    "end": pl.Datetime("us"),
    "geometry": pl.Utf8,
    "geometry_type": pl.Utf8,
    "lon": pl.Float64,
    "lat": pl.Float64,
    "h3_cell": pl.Utf8,
    "attendance": pl.Int64,
    "entered_at": pl.Datetime("us"),
    "_partition": pl.Utf8,
}


def facts_from_truth(home: Path) -> pl.DataFrame:
    """The generator's true facts, shaped like the fact rows of `clean.events`."""
    ev = pl.read_parquet(home / "synthetic_truth" / "events.parquet")
    ts = pl.col("timestamp").dt.convert_time_zone("Europe/Paris").dt.replace_time_zone(None).cast(pl.Datetime("us"))
    return ev.select(
        (pl.col("source") + ":" + pl.col("record_id")).alias("event_id"),
        "source",
        ts.alias("start"),
        ts.alias("end"),
        pl.lit(None, dtype=pl.Utf8).alias("geometry"),
        pl.lit("Point").alias("geometry_type"),
        "lon",
        "lat",
        "h3_cell",
        pl.lit(None, dtype=pl.Int64).alias("attendance"),
        pl.lit(None, dtype=pl.Datetime("us")).alias("entered_at"),
        ts.dt.date().cast(pl.Utf8).alias("_partition"),
    ).cast(EVENT_SCHEMA)


def planned_records(first: date, days: int) -> pl.DataFrame:
    """A few Préfecture records and public events, each entered some days before it happens."""
    rows = []
    route = {"type": "LineString", "coordinates": [[5.3740, 43.2955], [5.3800, 43.2968], [5.3860, 43.2985]]}
    for k in range(2, days, 3):
        d = first + timedelta(days=k)
        entered = datetime.combine(d - timedelta(days=4), datetime.min.time()) + timedelta(hours=10)
        rows.append(
            {
                "event_id": f"manifestation_deambulatoire:PP-{k}",
                "source": "manifestation_deambulatoire",
                "start": datetime.combine(d, datetime.min.time()) + timedelta(hours=14),
                "end": datetime.combine(d, datetime.min.time()) + timedelta(hours=17),
                "geometry": json.dumps(route),
                "geometry_type": "LineString",
                "lon": 5.38,
                "lat": 43.2968,
                "h3_cell": None,
                "attendance": 2000 + 100 * k,
                "entered_at": entered,
                "_partition": entered.date().isoformat(),
            }
        )
        rows.append(
            {
                "event_id": f"evenements_publics:EVT-{k}",
                "source": "evenements_publics",
                "start": datetime.combine(d, datetime.min.time()) + timedelta(hours=21),
                "end": datetime.combine(d, datetime.min.time()) + timedelta(hours=23),
                "geometry": json.dumps({"type": "Point", "coordinates": [5.395049, 43.269554]}),
                "geometry_type": "Point",
                "lon": 5.395049,
                "lat": 43.269554,
                "h3_cell": None,
                "attendance": 40000,
                "entered_at": None,
                "_partition": (d - timedelta(days=10)).isoformat(),
            }
        )
    return pl.DataFrame(rows, schema=EVENT_SCHEMA)
