"""The planned records' footprints kept between runs (`planned.FootprintMemo`): a daily run computes
the new or changed records only, and the table is the one a full computation gives."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tranquillite.indicators.config import Footprints
from tranquillite.indicators.planned import MEMO_SCHEMA, FootprintMemo, footprints

SOURCES = ("manifestation_deambulatoire", "manifestation_statique", "operation_programmee", "evenements_publics")


def _records(n: int, seed: int, first_id: int = 0) -> pl.DataFrame:
    """`n` planned records around Marseille: routes, static footprints, address points, venues."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        lon, lat = 5.37 + rng.uniform(-0.03, 0.03), 43.29 + rng.uniform(-0.03, 0.03)
        src = SOURCES[i % len(SOURCES)]
        if src == "manifestation_deambulatoire":
            geom = {"type": "LineString", "coordinates": [[lon, lat], [lon + 0.004, lat + 0.002], [lon + 0.008, lat]]}
        elif src == "manifestation_statique":
            d = 0.0015
            geom = {"type": "Polygon", "coordinates": [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat]]]}
        elif src == "operation_programmee":
            geom = {"type": "MultiPoint", "coordinates": [[lon, lat], [lon + 0.01, lat - 0.005]]}
        else:
            geom = {"type": "Point", "coordinates": [lon, lat]}
        start = datetime(2025, 3, 1, 8) + timedelta(hours=int(rng.integers(0, 24 * 30)))
        conv = "internal" if src == "evenements_publics" else "prefecture_police_13"
        rows.append(
            (
                f"{src}:R-{first_id + i}",
                src,
                None,
                start,
                start + timedelta(hours=3),
                json.dumps(geom),
                lon,
                lat,
                int(rng.integers(100, 40000)) if src == "evenements_publics" else None,
                conv,
                None if conv == "internal" else start - timedelta(days=2),
            )
        )
    cols = {
        "event_id": pl.Utf8,
        "source": pl.Utf8,
        "subcategory": pl.Utf8,
        "start": pl.Datetime("us"),
        "end": pl.Datetime("us"),
        "geometry": pl.Utf8,
        "lon": pl.Float64,
        "lat": pl.Float64,
        "attendance": pl.Int64,
        "convention": pl.Utf8,
        "entered_at": pl.Datetime("us"),
    }
    return pl.DataFrame(rows, schema=cols, orient="row")


@pytest.fixture
def memo_dir(tmp_path):
    return tmp_path / "cache" / "indicators"


def test_a_new_day_computes_only_its_records_and_gives_the_full_table(memo_dir):
    fp = Footprints()
    day1 = _records(80, seed=1)
    memo = FootprintMemo(memo_dir)
    assert_frame_equal(footprints(day1, fp, memo=memo), footprints(day1, fp))
    assert memo.info["emprises_calculees"] == 80
    day2 = pl.concat([day1, _records(5, seed=2, first_id=1000)])
    memo = FootprintMemo(memo_dir)
    got = footprints(day2, fp, memo=memo)
    assert memo.info == {"enregistrements": 85, "emprises_calculees": 5}
    assert_frame_equal(got, footprints(day2, fp))
    assert got["event_id"].n_unique() == 85
    # a run with nothing new leaves the memo untouched (no rewrite of the same rows)
    stamp = (memo_dir / "emprises.parquet").stat().st_mtime_ns
    memo = FootprintMemo(memo_dir)
    assert_frame_equal(footprints(day2, fp, memo=memo), got)
    assert memo.info == {"enregistrements": 85, "emprises_calculees": 0}
    assert (memo_dir / "emprises.parquet").stat().st_mtime_ns == stamp


def test_a_changed_record_is_computed_again(memo_dir):
    fp = Footprints()
    day1 = _records(40, seed=3)
    footprints(day1, fp, memo=FootprintMemo(memo_dir))
    # the Préfecture moves one route (west of the city) and a venue's attendance changes
    moved = day1.with_columns(
        pl.when(pl.col("event_id") == "manifestation_deambulatoire:R-0")
        .then(pl.col("geometry").str.replace_all(r"\[5\.", "[5.01"))
        .otherwise(pl.col("geometry"))
        .alias("geometry"),
        pl.when(pl.col("event_id") == "evenements_publics:R-3")
        .then(60000)
        .otherwise(pl.col("attendance"))
        .alias("attendance"),
    )
    memo = FootprintMemo(memo_dir)
    got = footprints(moved, fp, memo=memo)
    assert memo.info["emprises_calculees"] == 2
    assert_frame_equal(got, footprints(moved, fp))
    before = footprints(day1, fp).filter(pl.col("event_id") == "manifestation_deambulatoire:R-0")["h3_cell"]
    after = got.filter(pl.col("event_id") == "manifestation_deambulatoire:R-0")["h3_cell"]
    assert set(before.to_list()).isdisjoint(after.to_list())


def test_other_parameters_a_damaged_memo_or_a_full_run_compute_everything(memo_dir):
    day1 = _records(30, seed=4)
    footprints(day1, Footprints(), memo=FootprintMemo(memo_dir))
    wider = Footprints(route_buffer_m=300.0)
    memo = FootprintMemo(memo_dir)
    assert_frame_equal(footprints(day1, wider, memo=memo), footprints(day1, wider))
    assert memo.info["emprises_calculees"] == 30 and "motif" in memo.info
    # a destruction purges the memo's rows of its convention: the memo no longer matches its record
    frame = memo_dir / "emprises.parquet"
    kept = pl.read_parquet(frame)
    assert kept.schema == pl.Schema(MEMO_SCHEMA) and "prefecture_police_13" in kept["convention"].to_list()
    kept.filter(pl.col("convention") != "prefecture_police_13").write_parquet(frame)
    memo = FootprintMemo(memo_dir)
    assert_frame_equal(footprints(day1, wider, memo=memo), footprints(day1, wider))
    assert memo.info["emprises_calculees"] == 30
    memo = FootprintMemo(memo_dir, reuse=False)
    footprints(day1, wider, memo=memo)
    assert memo.info["emprises_calculees"] == 30 and memo.info["motif"] == "recalcul complet demandé"


def test_the_memo_keeps_no_identifier_nor_text_and_only_the_latest_records(memo_dir):
    day1 = _records(20, seed=5)
    footprints(day1, Footprints(), memo=FootprintMemo(memo_dir))
    footprints(day1.head(12), Footprints(), memo=FootprintMemo(memo_dir))
    kept = pl.read_parquet(memo_dir / "emprises.parquet")
    assert list(kept.columns) == list(MEMO_SCHEMA) and kept.height == 12
    assert not any(c in kept.columns for c in ("event_id", "geometry", "subcategory", "lon", "lat"))


def test_records_of_the_same_inputs_are_computed_once_and_get_the_same_cells(memo_dir):
    # a route walked again next week, an event at the same venue with the same attendance
    fp = Footprints()
    base = _records(12, seed=5)
    again = base.with_columns(
        pl.col("event_id") + "-bis",
        pl.col("start") + timedelta(days=7),
        pl.col("end") + timedelta(days=7),
        pl.col("entered_at") + timedelta(days=7),
    )
    memo = FootprintMemo(memo_dir)
    got = footprints(pl.concat([base, again]), fp, memo=memo)
    assert memo.info["emprises_calculees"] == 12 and memo.info["enregistrements"] == 24

    def cells(frame, suffix=""):
        return {
            e.removesuffix(suffix): sorted(c)
            for e, c in frame.group_by("event_id").agg("h3_cell").iter_rows()
            if e.endswith(suffix)
        }

    alone = cells(footprints(base, fp))
    assert cells(got.filter(~pl.col("event_id").str.ends_with("-bis"))) == alone
    assert cells(got.filter(pl.col("event_id").str.ends_with("-bis")), "-bis") == alone
