"""The tension index's components on a hand-made case; planned-event footprints, shifts and
collisions."""

from __future__ import annotations

import json
import math
from datetime import datetime

import h3
import numpy as np
import polars as pl
import pytest

from tranquillite.indicators.config import Footprints, TensionParams
from tranquillite.indicators.periods import Shifts
from tranquillite.indicators.planned import active_slots, collisions, footprints, known_at
from tranquillite.indicators.tension import COMPONENTS, tension_index

A, B, C = "893968152a7ffff", "89396815237ffff", "8939681523bffff"
SHIFTS = Shifts((6, 14, 22))
SLOT = SHIFTS.slot_of(datetime(2025, 3, 8, 15, 0))  # 8 March, 14h–22h


def _grid() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "h3_cell": [A, B, C],
            "arrondissement": ["13201", "13201", "13202"],
            "quartier": ["1320101", "1320101", "1320201"],
        }
    )


def _inputs():
    latest = pl.DataFrame(
        {
            "h3_cell": [A, B, C],
            "period": ["2025-W09"] * 3,
            "z": [3.0, 5.0, -1.0],
            "q": [0.01, 0.20, 0.9],
            "significant": [True, False, False],
        }
    )
    emerging = pl.DataFrame({"h3_cell": [A, B], "class_code": ["point_chaud_persistant", "point_froid_persistant"]})
    forecast = pl.DataFrame(
        {"h3_cell": [A, B, C], "slot": [SLOT] * 3, "expected": [0.4, 2.0, 0.0], "upper_95": [1.0, 4.0, 0.0]}
    )
    active = pl.DataFrame(
        {
            "event_id": ["manifestation_deambulatoire:PP-1", "evenements_publics:EVT-9"],
            "source": ["manifestation_deambulatoire", "evenements_publics"],
            "subcategory": [None, "Concert"],
            "attendance": [1000, None],
            "convention": ["prefecture_police_13", "internal"],
            "h3_cell": [C, C],
            "slot": [SLOT, SLOT],
        }
    )
    return latest, emerging, forecast, active


def test_components_and_index_on_a_hand_made_case():
    latest, emerging, forecast, active = _inputs()
    p = TensionParams(forecast_cap_quantile=1.0)  # the cap is the largest upper bound: 4
    t = tension_index(
        _grid(),
        [SLOT],
        SHIFTS,
        p,
        latest=latest,
        emerging=emerging,
        forecast=forecast,
        active=active,
        as_of=datetime(2025, 3, 8, 6),
    )
    r = {row["h3_cell"]: row for row in t.iter_rows(named=True)}
    # A: significant (z = 3 → 3/4), persistent hot spot (0.8), forecast 1/4
    assert r[A]["c_significativite"] == pytest.approx(0.75) and r[A]["c_tendance"] == pytest.approx(0.8)
    assert r[A]["c_prevision"] == pytest.approx(0.25) and r[A]["c_evenements"] == 0
    assert r[A]["index"] == pytest.approx(100 * (0.30 * 0.75 + 0.15 * 0.8 + 0.25 * 0.25))
    assert r[A]["level"] == "elevee"
    # B: z = 5 but not significant → 0; a cold-spot class scores 0; the highest forecast → 1
    assert r[B]["c_significativite"] == 0 and r[B]["c_tendance"] == 0 and r[B]["c_prevision"] == 1
    assert r[B]["index"] == pytest.approx(25.0) and r[B]["level"] == "moderee"
    # C: two events: 1.0 × log(1001)/log(50001) + 0.7 × 0.5 (attendance unknown); concurrence (2 − 1)/2
    planned = math.log(1001) / math.log(50001) + 0.35
    assert r[C]["c_evenements"] == pytest.approx(planned) and r[C]["c_concurrence"] == pytest.approx(0.5)
    assert r[C]["n_events"] == 2 and sorted(r[C]["event_ids"]) == sorted(active["event_id"].to_list())
    assert r[C]["index"] == pytest.approx(100 * (0.20 * planned + 0.10 * 0.5))
    assert r[C]["conventions"] == ["internal", "prefecture_police_13"]
    for row in r.values():
        assert row["index"] == pytest.approx(sum(row[f"contribution_{c}"] for c in COMPONENTS))
    assert "point chaud significatif en 2025-W09 (z = 3.0, q = 0.01)" in r[A]["explanation"]
    assert "point chaud persistant" in r[A]["explanation"] and "jusqu'à 1 (borne haute 95 %)" in r[A]["explanation"]
    assert "Manifestation déambulatoire (1000 pers.)" in r[C]["explanation"]
    assert "Événement public « Concert »" in r[C]["explanation"]
    assert r[A]["slot_start"] == datetime(2025, 3, 8, 14) and r[A]["shift"] == "14h-22h"
    assert r[A]["slot_end"] == datetime(2025, 3, 8, 22)


def test_without_a_forecast_its_weight_is_dropped():
    latest, emerging, _, active = _inputs()
    t = tension_index(
        _grid(), [SLOT], SHIFTS, TensionParams(), latest=latest, emerging=emerging, forecast=None, active=active
    )
    a = t.filter(pl.col("h3_cell") == A).row(0, named=True)
    assert a["c_prevision"] == 0 and a["forecast_upper_95"] is None
    assert a["index"] == pytest.approx(100 * (0.30 * 0.75 + 0.15 * 0.8) / 0.75)
    empty = tension_index(
        _grid(), [SLOT, SLOT + 1], SHIFTS, TensionParams(), latest=None, emerging=None, forecast=None, active=None
    )
    assert empty.height == 6 and (empty["index"] == 0).all()
    assert (empty["explanation"] == "aucun facteur de tension").all()


# --------------------------------------------------------------------------- planned events
ROUTE = {"type": "LineString", "coordinates": [[5.3745, 43.2950], [5.3790, 43.2975], [5.3840, 43.2990]]}
VELODROME = (5.395049, 43.269554)


def _planned() -> pl.DataFrame:
    rows = [
        (
            "manifestation_deambulatoire:PP-1",
            "manifestation_deambulatoire",
            None,
            "2025-03-08 14:00",
            "2025-03-08 16:45",
            json.dumps(ROUTE),
            5.379,
            43.2975,
            3000,
            "prefecture_police_13",
            "2025-03-01 09:00",
        ),
        (
            "evenements_publics:EVT-1",
            "evenements_publics",
            "Match de football",
            "2025-03-08 17:00",
            "2025-03-08 19:00",
            json.dumps({"type": "Point", "coordinates": list(VELODROME)}),
            *VELODROME,
            62000,
            "internal",
            None,
        ),
        (
            "operation_programmee:PP-2",
            "operation_programmee",
            "CODAF",
            "2025-03-08 09:00",
            "2025-03-08 12:00",
            json.dumps({"type": "MultiPoint", "coordinates": [[5.3800, 43.2980], [5.3900, 43.2700]]}),
            5.38,
            43.298,
            None,
            "prefecture_police_13",
            "2025-03-10 09:00",
        ),
    ]
    cols = [
        "event_id",
        "source",
        "subcategory",
        "start",
        "end",
        "geometry",
        "lon",
        "lat",
        "attendance",
        "convention",
        "entered_at",
    ]
    df = pl.DataFrame(rows, schema=cols, orient="row")
    return df.with_columns(pl.col("start", "end", "entered_at").str.to_datetime("%Y-%m-%d %H:%M"))


def test_footprints_buffer_routes_and_scale_perimeters_with_attendance():
    fp = footprints(_planned(), Footprints())
    per = fp.group_by("event_id").agg(pl.col("h3_cell"), pl.col("shape").first(), pl.col("radius_m").first())
    r = {row["event_id"]: row for row in per.iter_rows(named=True)}
    route = r["manifestation_deambulatoire:PP-1"]
    assert route["shape"] == "parcours" and route["radius_m"] == 100
    on_route = {h3.latlng_to_cell(lat, lon, 9) for lon, lat in ROUTE["coordinates"]}
    assert on_route <= set(route["h3_cell"]) and len(route["h3_cell"]) >= 6
    match = r["evenements_publics:EVT-1"]
    assert match["shape"] == "perimetre" and match["radius_m"] == pytest.approx(150 + 2 * math.sqrt(62000))
    # a ~650 m perimeter covers cells ~4 rings away from the venue, not 8
    venue = h3.latlng_to_cell(VELODROME[1], VELODROME[0], 9)
    dist = [h3.grid_distance(venue, c) for c in match["h3_cell"]]
    assert max(dist) in (3, 4, 5) and venue in match["h3_cell"]
    assert r["operation_programmee:PP-2"]["shape"] == "points"
    assert fp.filter(pl.col("event_id") == "manifestation_deambulatoire:PP-1")["active_from"][0] == datetime(
        2025, 3, 8, 13
    )
    # a record entered after the analysis instant is not known yet
    assert "operation_programmee:PP-2" not in known_at(fp, datetime(2025, 3, 8, 6))["event_id"].to_list()


def test_active_slots_include_the_margin():
    fp = footprints(_planned(), Footprints())
    s0 = SHIFTS.slot_of(datetime(2025, 3, 8, 6))
    act = active_slots(fp, SHIFTS, s0 - 3, s0 + 5)
    slots = act.group_by("event_id").agg(pl.col("slot").unique().sort())
    got = {e: [s - s0 for s in v] for e, v in slots.iter_rows()}
    assert got["manifestation_deambulatoire:PP-1"] == [0, 1]  # 13h (margin) falls in the 06h–14h shift
    assert got["evenements_publics:EVT-1"] == [1]
    assert got["operation_programmee:PP-2"] == [0]


def test_collisions_need_shared_cells_and_overlapping_hours():
    planned = _planned()
    # put the match where the route goes, overlapping it with the margins (16:45 + 1 h > 17:00 − 1 h)
    moved = planned.with_columns(
        pl.when(pl.col("source") == "evenements_publics")
        .then(pl.lit(json.dumps({"type": "Point", "coordinates": [5.3840, 43.2990]})))
        .otherwise(pl.col("geometry"))
        .alias("geometry")
    )
    pairs = collisions(footprints(moved, Footprints()))
    got = set(pairs["pair_id"])
    assert "evenements_publics:EVT-1|manifestation_deambulatoire:PP-1" in got
    p = pairs.filter(pl.col("pair_id") == "evenements_publics:EVT-1|manifestation_deambulatoire:PP-1")
    assert p["overlap_from"].min() == datetime(2025, 3, 8, 16) and p["overlap_to"].max() == datetime(2025, 3, 8, 17, 45)
    # the operation shares cells with the route but ends (12h + 1 h) before it starts (14h − 1 h)
    assert not any("operation_programmee" in x for x in got)
    assert collisions(footprints(planned, Footprints())).height == 0  # the Vélodrome is far from the route


def test_shifts_number_slots_like_the_forecasts():
    assert SHIFTS.slot_of(datetime(1970, 1, 1, 6)) == 0
    assert SHIFTS.slot_of(datetime(1970, 1, 2, 3)) == 2  # the night shift belongs to the day it starts
    s = SHIFTS.slot_of(datetime(2025, 3, 8, 23, 30))
    assert SHIFTS.start(s) == datetime(2025, 3, 8, 22) and SHIFTS.next_start(datetime(2025, 3, 8, 22)) == s
    df = pl.DataFrame({"t": [datetime(2025, 3, 8, 23, 30), datetime(2025, 3, 9, 5, 59)]})
    assert df.select(SHIFTS.slot_expr(pl.col("t"))).to_series().to_list() == [s, s]
    assert pl.select(SHIFTS.start_expr(pl.lit(s, dtype=pl.Int64))).item() == datetime(2025, 3, 8, 22)
    assert np.all(np.diff([SHIFTS.slot_of(datetime(2025, 3, 8, h)) for h in (6, 14, 22)]) == 1)


def test_cells_tied_at_the_cap_are_ranked_by_the_numbers_behind_their_components():
    """Two cells both capped at 1 on significance and forecast share their index; the one with the
    larger z-score and forecast bound ranks first, and every cell of a shift has its own rank."""
    grid = _grid()
    latest = pl.DataFrame(
        {
            "h3_cell": [A, B, C],
            "period": ["2025-W09"] * 3,
            "z": [9.0, 12.0, 1.0],
            "q": [0.001, 0.001, 0.5],
            "significant": [True, True, False],
        }
    )
    forecast = pl.DataFrame(
        {
            "h3_cell": [A, B, C] * 2,
            "slot": [SLOT] * 3 + [SLOT + 1] * 3,
            "expected": [5.0, 6.0, 0.0, 6.0, 5.0, 0.0],
            "upper_95": [9.0, 11.0, 0.0, 11.0, 9.0, 0.0],
        }
    )
    p = TensionParams(forecast_cap_quantile=0.0, z_cap=4.0)  # caps reached by A and B alike
    t = tension_index(
        grid,
        [SLOT, SLOT + 1],
        SHIFTS,
        p,
        latest=latest,
        emerging=None,
        forecast=forecast,
        active=None,
        as_of=datetime(2025, 3, 8, 6),
    )
    r = {(row["h3_cell"], row["slot"]): row for row in t.iter_rows(named=True)}
    assert r[(A, SLOT)]["index"] == pytest.approx(r[(B, SLOT)]["index"])  # a tie of the index…
    assert r[(B, SLOT)]["rank"] == 1 and r[(A, SLOT)]["rank"] == 2  # …broken by z (12 > 9)
    assert r[(C, SLOT)]["rank"] == 3
    for slot in (SLOT, SLOT + 1):
        assert sorted(t.filter(pl.col("slot") == slot)["rank"].to_list()) == [1, 2, 3]
