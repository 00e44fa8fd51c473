"""Each feature family on hand-made data: lagged and rolling counts, per shift kind, yearly rate,
same week last year, neighbourhood, calendar, planned-event exposure."""

import json
from datetime import date, datetime, timedelta

import h3
import numpy as np
import polars as pl
import pytest
import scipy.sparse as sps

from tranquillite.forecasting.counts import COUNT_SCHEMA, dense, fact_counts
from tranquillite.forecasting.exposure import exposure_columns, exposure_features, exposure_table
from tranquillite.forecasting.features import FeatureStore, state_features
from tranquillite.forecasting.grid import build_grid
from tranquillite.forecasting.slots import SlotScheme
from tranquillite.forecasting.study_area import AreaSpec
from tranquillite import geo

SCH = SlotScheme((6, 14, 22))
S = SCH.first_slot(date(2025, 1, 6))  # data start (a Monday 06:00)
LINE = sps.csr_matrix(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=np.float32))  # cells 0-1-2


def counts(rows):
    return pl.DataFrame(rows, schema=["group", "cell_idx", "slot", "n"], orient="row").cast(
        {k: v for k, v in COUNT_SCHEMA.items() if k != "conventions"}
    )


def state(st, cell, slot, col):
    return st.filter((pl.col("cell_idx") == cell) & (pl.col("slot") == slot))[col].item()


def test_lagged_rolling_and_neighbour_counts():
    c = counts([("a", 0, S + 10, 1), ("a", 0, S + 12, 2), ("a", 1, S + 11, 1), ("b", 2, S + 12, 4)])
    st = state_features(c, 3, ["a", "b"], SCH, S, S + 120, S, LINE)
    assert st.height == 3 * 121
    assert state(st, 0, S + 13, "a_lag1") == 2
    assert state(st, 0, S + 12, "a_lag1") == 0  # the slot's own facts are never in its state
    assert state(st, 0, S + 13, "a_1d") == 3  # slots S+10..S+12
    assert state(st, 0, S + 14, "a_1d") == 2
    assert state(st, 0, S + 13, "a_7d") is None  # a week of history is not there yet: unknown
    assert state(st, 0, S + 21, "a_7d") == 3
    assert state(st, 0, S + 84, "a_28d") == 3 and state(st, 0, S + 83, "a_28d") is None
    assert state(st, 1, S + 13, "a_nb_1d") == 3  # neighbours 0 and 2 (group a)
    assert state(st, 1, S + 13, "b_nb_1d") == 4
    assert state(st, 0, S + 13, "a_nb_1d") == 1  # neighbour 1 only (cell 2 is not adjacent)
    assert state(st, 2, S + 13, "b_lag1") == 4 and state(st, 2, S + 13, "a_lag1") == 0


def test_per_kind_windows_and_yearly_rate():
    # S+10 is an afternoon (kind 1), S+12 a morning (kind 0)
    c = counts([("a", 0, S + 10, 1), ("a", 0, S + 12, 2)])
    st = state_features(c, 3, ["a"], SCH, S, S + 100, S, LINE)
    # morning shifts before S+13: S, S+3, S+6, S+9, S+12 → 2 facts / 5 shifts
    assert state(st, 0, S + 13, "a_rate_k0") == pytest.approx(2 / 5)
    assert state(st, 0, S + 13, "a_rate_k1") == pytest.approx(1 / 4)
    assert state(st, 0, S + 13, "a_rate_k2") == pytest.approx(0.0)
    assert state(st, 0, S + 84, "a_28d_k0") == 2 and state(st, 0, S + 84, "a_28d_k1") == 1
    assert state(st, 0, S + 84, "a_28d_k2") == 0


def test_same_week_last_year():
    start = S - 400 * 3
    t0 = start + 30
    c = counts([("a", 1, t0, 3)])
    first = t0 + 1071
    st = state_features(c, 3, ["a"], SCH, first, t0 + 1100, start, LINE)
    # the window of slot t is [t - 364 days, t - 357 days)
    assert state(st, 1, t0 + 1092, "a_ly") == 3
    assert state(st, 1, t0 + 1072, "a_ly") == 3
    assert state(st, 1, t0 + 1071, "a_ly") == 0
    assert state(st, 1, t0 + 1093, "a_ly") == 0


def test_incremental_day_equals_the_full_range():
    rng = np.random.default_rng(3)
    rows = [("a", int(rng.integers(0, 3)), int(S + s), int(rng.integers(1, 3))) for s in rng.choice(600, 150, False)]
    c = counts(rows)
    full = state_features(c, 3, ["a"], SCH, S, S + 599, S, LINE)
    day = state_features(c, 3, ["a"], SCH, S + 300, S + 302, S, LINE)
    assert (
        full.filter(pl.col("slot").is_between(S + 300, S + 302))
        .sort("cell_idx", "slot")
        .equals(day.sort("cell_idx", "slot"))
    )


def test_fact_counts_locate_and_drop_outside():
    grid = pl.DataFrame(
        {"h3_cell": [h3.latlng_to_cell(43.2965, 5.3698, 9)], "cell_idx": [0]},
        schema={"h3_cell": pl.Utf8, "cell_idx": pl.Int32},
    )
    ev = pl.DataFrame(
        {
            "source": ["a", "a", "a", "autre"],
            "start": [
                datetime(2025, 3, 8, 23, 0),
                datetime(2025, 3, 9, 1, 0),
                datetime(2025, 3, 9, 7, 0),
                datetime(2025, 3, 9, 7, 0),
            ],
            "lon": [5.3698, 5.3698, 5.50, 5.3698],
            "lat": [43.2965, 43.2965, 43.30, 43.2965],
        }
    )
    c, outside = fact_counts(ev, grid, ["a"], SCH, 9)
    assert outside == 1
    assert c.select("cell_idx", "slot", "n").rows() == [(0, SCH.slot_of(datetime(2025, 3, 8, 23)), 2)]
    Y = dense(c, ["a"], 1, c["slot"].item() - 1, 3)
    assert Y.tolist() == [[[0.0, 2.0, 0.0]]]


# --------------------------------------------------------------------------- planned events
@pytest.fixture(scope="module")
def marseille_grid():
    return build_grid(geo.marseille(), 9)


SPEC = AreaSpec()
ROUTE = {"type": "LineString", "coordinates": [[5.3740, 43.2955], [5.3800, 43.2968], [5.3860, 43.2985]]}
FOOTPRINT = {
    "type": "Polygon",
    "coordinates": [[[5.3799, 43.2900], [5.3806, 43.2900], [5.3806, 43.2905], [5.3799, 43.2905], [5.3799, 43.2900]]],
}


def planned():
    return pl.DataFrame(
        [
            {
                "event_id": "manifestation_deambulatoire:PP-1",
                "source": "manifestation_deambulatoire",
                "start": datetime(2025, 3, 8, 10, 30),
                "end": datetime(2025, 3, 8, 13, 0),
                "geometry": json.dumps(ROUTE),
                "geometry_type": "LineString",
                "lon": 5.38,
                "lat": 43.2968,
                "attendance": 3000,
                "entered_at": datetime(2025, 3, 1, 9, 30),
                "_partition": "2025-03-01",
            },
            {
                "event_id": "manifestation_statique:PP-2",
                "source": "manifestation_statique",
                "start": datetime(2025, 3, 8, 13, 30),
                "end": datetime(2025, 3, 8, 15, 0),
                "geometry": json.dumps(FOOTPRINT),
                "geometry_type": "Polygon",
                "lon": 5.38025,
                "lat": 43.29025,
                "attendance": None,
                "entered_at": datetime(2025, 3, 7, 16, 0),
                "_partition": "2025-03-07",
            },
            {
                "event_id": "evenements_publics:EVT-1",
                "source": "evenements_publics",
                "subcategory": "Match de football",
                "start": datetime(2025, 3, 8, 21, 0),
                "end": datetime(2025, 3, 8, 23, 0),
                "geometry": json.dumps({"type": "Point", "coordinates": [5.395049, 43.269554]}),
                "geometry_type": "Point",
                "lon": 5.395049,
                "lat": 43.269554,
                "attendance": 62000,
                "entered_at": None,
                "_partition": "2025-02-10",
            },
        ],
        schema={
            "event_id": pl.Utf8,
            "source": pl.Utf8,
            "subcategory": pl.Utf8,
            "start": pl.Datetime("us"),
            "end": pl.Datetime("us"),
            "geometry": pl.Utf8,
            "geometry_type": pl.Utf8,
            "lon": pl.Float64,
            "lat": pl.Float64,
            "attendance": pl.Int64,
            "entered_at": pl.Datetime("us"),
            "_partition": pl.Utf8,
        },
    )


def test_exposure_cells_slots_and_knowledge_time(marseille_grid):
    g = marseille_grid
    ex = exposure_table(planned(), g, SPEC, SCH, geo.marseille().outline)
    idx = dict(zip(g["h3_cell"].to_list(), g["cell_idx"].to_list()))
    march = ex.filter(pl.col("event_id").str.ends_with("PP-1"))
    day = SCH.first_slot(date(2025, 3, 8))
    assert set(march["slot"].unique().to_list()) == {day}  # 09:30 → 14:00: morning shift
    r0 = set(march.filter(pl.col("ring") == 0)["cell_idx"].to_list())
    on_route = {idx[h3.latlng_to_cell(lat, lon, 9)] for lon, lat in ROUTE["coordinates"]}
    assert on_route <= r0 and 3 <= len(r0) <= 30
    # a point 60 m north of the route is within the 100 m buffer
    assert idx[h3.latlng_to_cell(43.2968 + 60 / 111_000, 5.3800, 9)] in r0
    assert march["known_slot"].unique().to_list() == [SCH.slot_of(datetime(2025, 3, 1, 14))]  # entered 09:30
    assert march["weight"].max() == pytest.approx(np.log1p(3000))
    assert march["share"].unique().to_list() == pytest.approx([4.5 / 8])  # on 09:30 → 14:00 of 06–14
    r1 = set(march.filter(pl.col("ring") == 1)["cell_idx"].to_list())
    assert r1 and not (r1 & r0)
    static = ex.filter(pl.col("event_id").str.ends_with("PP-2"))
    assert set(static["slot"].unique().to_list()) == {day, day + 1}  # 12:30 → 16:00
    assert idx[h3.latlng_to_cell(43.29025, 5.38025, 9)] in static.filter(pl.col("ring") == 0)["cell_idx"].to_list()
    assert static["weight"].max() == 1.0  # no attendance: a count
    shares = dict(static.group_by("slot").agg(pl.col("share").first()).iter_rows())
    assert shares == pytest.approx({day: 1.5 / 8, day + 1: 2.0 / 8})  # on 12:30 → 16:00
    match = ex.filter(pl.col("source") == "evenements_publics")
    assert match["kind"].unique().to_list() == ["evenements_publics_match_de_football"]
    assert march["kind"].unique().to_list() == ["manifestation_deambulatoire"]  # one kind per source
    assert set(match.filter(pl.col("ring") == 0)["cell_idx"].to_list()) == {
        idx[h3.latlng_to_cell(43.269554, 5.395049, 9)]
    }
    assert match.filter(pl.col("ring") == 1).height == 6 * 2  # 6 neighbours × 2 slots
    assert match.filter(pl.col("ring") == 4)["cell_idx"].n_unique() == 61 - 7
    assert match["known_slot"].unique().to_list() == [SCH.first_slot(date(2025, 2, 11))]  # published 10 Feb


def test_records_sharing_a_geometry_touch_the_cells_each_touches_alone(marseille_grid):
    # the cells are computed once per distinct (geometry, lon, lat): a recurring route, the same
    # venue, a record without geometry (its point) or without either (nothing) stay what they are alone
    g, base = marseille_grid, planned()
    again = base.with_columns(
        pl.col("event_id") + "-bis", pl.col("start") + timedelta(days=7), pl.col("end") + timedelta(days=7)
    )
    no_geometry = base.slice(2, 1).with_columns(
        pl.lit("evenements_publics:EVT-2").alias("event_id"), pl.lit(None, dtype=pl.Utf8).alias("geometry")
    )
    nowhere = no_geometry.with_columns(
        pl.lit("evenements_publics:EVT-3").alias("event_id"), pl.lit(None, dtype=pl.Float64).alias("lon")
    )
    both = pl.concat([base, again, no_geometry, nowhere])
    ex = exposure_table(both, g, SPEC, SCH, geo.marseille().outline)

    def cells(frame, event_id):
        return sorted(frame.filter(pl.col("event_id") == event_id).select("cell_idx", "ring").unique().rows())

    for event_id in base["event_id"]:
        alone = exposure_table(base.filter(pl.col("event_id") == event_id), g, SPEC, SCH, geo.marseille().outline)
        assert cells(ex, event_id) == cells(alone, event_id) == cells(ex, event_id + "-bis")
        assert cells(ex, event_id)  # each touches some cells
    # the venue's point alone gives the venue's cells; a record with neither touches nothing
    assert cells(ex, "evenements_publics:EVT-2") == cells(ex, "evenements_publics:EVT-1")
    assert ex.filter(pl.col("event_id") == "evenements_publics:EVT-3").height == 0


def test_exposure_features_only_count_what_is_known(marseille_grid):
    g = marseille_grid
    ex = exposure_table(planned(), g, SPEC, SCH, geo.marseille().outline)
    day = SCH.first_slot(date(2025, 3, 8))
    stadium = g.filter(pl.col("h3_cell") == h3.latlng_to_cell(43.269554, 5.395049, 9))["cell_idx"].item()
    entered = SCH.slot_of(datetime(2025, 3, 1, 14))
    march_cell = ex.filter(pl.col("event_id").str.ends_with("PP-1") & (pl.col("ring") == 0))["cell_idx"][0]
    rows = pl.DataFrame(
        {
            "cell_idx": [stadium, stadium, march_cell, march_cell],
            "target": [day + 2, day + 2, day, day],
            "origin": [day - 30, day, entered - 1, entered],
        }
    )
    f = exposure_features(rows, ex, SPEC)
    assert f.columns == exposure_columns(SPEC)
    # a public event counts under its type (a match and a market of the same size do not weigh alike)
    # weight × share of the shift it is on: the match 21:00–23:00 (20:00–24:00 with its margins) is on
    # 2 of the 8 hours of the 22–06 shift (the rows' target), as of the 14–22 one
    assert f["ev_evenements_publics_match_de_football_r0"].to_list() == pytest.approx(
        [np.log1p(62000) * 2 / 8] * 2 + [0, 0]
    )
    assert f["ev_evenements_publics_marche_r0"].sum() == 0 and f["ev_evenements_publics_autre_r0"].sum() == 0
    assert f["ev_manifestation_deambulatoire_r0"].to_list() == pytest.approx([0, 0, 0, np.log1p(3000) * 4.5 / 8])
    assert f["ev_n_r0"].to_list() == [1, 1, 0, 1]
    # published 10 February: unknown at an origin before 11 February 06:00
    early = exposure_features(
        pl.DataFrame({"cell_idx": [stadium], "target": [day + 2], "origin": [SCH.first_slot(date(2025, 2, 10))]}),
        ex,
        SPEC,
    )
    assert early.sum_horizontal().item() == 0


def test_model_rows_take_the_origin_state_and_the_target_calendar():
    c = counts([("a", 0, S + 10, 1), ("a", 0, S + 12, 2)])
    st = state_features(c, 3, ["a"], SCH, S, S + 200, S, LINE)
    spec = AreaSpec(sources=("a",), planned_sources=())
    fs = FeatureStore(st, 3, spec, SCH, pl.DataFrame())
    rows = fs.rows(np.array([0, 0]), np.array([S + 101, S + 105]), np.array([S + 100, S + 100]), with_events=True)
    assert rows["lead"].to_list() == [1, 5]
    assert rows["a_lag1"].to_list() == [state(st, 0, S + 100, "a_lag1")] * 2
    assert rows["kind"].to_list() == [(S + 101) % 3, (S + 105) % 3]
    assert rows["a_28d_same"].to_list() == [
        state(st, 0, S + 100, f"a_28d_k{(S + 101) % 3}"),
        state(st, 0, S + 100, f"a_28d_k{(S + 105) % 3}"),
    ]
    with pytest.raises(ValueError):
        fs.rows(np.array([0]), np.array([S + 50]), np.array([S + 60]), with_events=False)
