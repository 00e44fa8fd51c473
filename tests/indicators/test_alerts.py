"""Each alert kind on hand-made data, stable ids, and the sensor raising each alert once."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import dagster as dg
import polars as pl
import pytest

from tranquillite.assets.indicators import ALERTS_KEY
from tranquillite.sensors.alerts import alerts_sensor
from tranquillite.indicators import alerts as A
from tranquillite.indicators.config import AlertParams, Footprints, IndicatorSettings
from tranquillite.indicators.periods import Shifts
from tranquillite.indicators.planned import collisions, footprints
from tranquillite.resources import Warehouse

SHIFTS = Shifts((6, 14, 22))
AS_OF = datetime(2025, 3, 10, 6)  # a Monday morning
X, Y, Z = "893968152a7ffff", "89396815237ffff", "8939681523bffff"
FAR = "89396802c73ffff"
LABELS = {"vols": "Vols et atteintes aux biens", "toutes": "Toutes catégories"}


# --------------------------------------------------------------------------- new hot spots
def _hot() -> pl.DataFrame:
    weeks = [date(2025, 1, 27) + timedelta(weeks=w) for w in range(6)]  # … 2025-W10 (3 March), all complete
    hot_at = {X: {5}, Y: {2, 5}, Z: {0, 5}}
    rows = []
    for cell, on in hot_at.items():
        for t, ws in enumerate(weeks):
            sig = t in on
            rows.append(
                {
                    "h3_cell": cell,
                    "arrondissement": "13201",
                    "category": "vols",
                    "period_level": "semaine",
                    "period": ws.strftime("%G-W%V"),
                    "period_start": ws,
                    "complete": True,
                    "local_sum": 12.0 if sig else 2.0,
                    "expected": 2.5,
                    "z": 4.0 if sig else 0.2,
                    "q": 0.001 if sig else 0.9,
                    "significant": sig,
                }
            )
    return pl.DataFrame(rows)


def _facts() -> pl.DataFrame:
    rows = [
        ("interventions:I-1", "interventions", "vols", datetime(2025, 3, 4, 10), X, "13201"),
        ("alertes_videoprotection:A-1", "alertes_videoprotection", "vols", datetime(2025, 3, 5, 23), X, "13201"),
        ("interventions:I-2", "interventions", "violences", datetime(2025, 3, 5, 11), X, "13201"),
        ("interventions:I-3", "interventions", "vols", datetime(2025, 2, 20, 10), X, "13201"),
    ]
    # a burst in cell FAR on Saturday 8 March, 14h–22h
    rows += [
        (f"interventions:B-{k}", "interventions", "vols", datetime(2025, 3, 8, 15 + k % 6, k), FAR, "13208")
        for k in range(5)
    ]
    rows += [
        (f"signalements:S-{k}", "signalements", "vols", datetime(2025, 3, 8, 16, k), FAR, "13208") for k in range(2)
    ]
    return pl.DataFrame(
        rows, schema=["event_id", "source", "category", "start", "h3_cell", "arrondissement"], orient="row"
    )


def test_new_hot_spot_after_quiet_weeks_only():
    out = A.new_hotspot_alerts(
        _hot(),
        None,
        _facts(),
        k=2,
        params=AlertParams(quiet_periods=4),
        category_labels=LABELS,
        all_code="toutes",
        as_of=AS_OF,
    )
    # X: first time; Y: hot 3 weeks before; Z: hot 5 weeks before, outside the 4 quiet weeks
    assert sorted(out["h3_cell"]) == sorted([X, Z])
    x = out.filter(pl.col("h3_cell") == X).row(0, named=True)
    assert x["kind"] == "nouveau_point_chaud" and x["severity"] == "elevee" and x["category"] == "vols"
    assert sorted(x["event_ids"]) == ["alertes_videoprotection:A-1", "interventions:I-1"]  # that week, that category
    assert x["starts_at"] == datetime(2025, 3, 3) and x["ends_at"] == datetime(2025, 3, 10)
    assert "Nouveau point chaud « Vols et atteintes aux biens » en 2025-W10" in x["explanation"]
    assert "aucun point chaud significatif les 4 semaines précédentes" in x["explanation"]
    again = A.new_hotspot_alerts(
        _hot(),
        None,
        _facts(),
        k=2,
        params=AlertParams(quiet_periods=4),
        category_labels=LABELS,
        all_code="toutes",
        as_of=AS_OF,
    )
    assert again["alert_id"].to_list() == out["alert_id"].to_list()


# --------------------------------------------------------------------------- exceedances
def test_exceedance_against_the_reference_then_the_forecast():
    params = AlertParams(lookback_days=7, min_count_cell=3, min_count_area=5)
    out = A.exceedance_alerts(_facts(), SHIFTS, as_of=AS_OF, params=params)
    slot = SHIFTS.slot_of(datetime(2025, 3, 8, 15))
    cell = out.filter((pl.col("area_level") == "cellule") & (pl.col("category") == "all")).row(0, named=True)
    assert cell["area"] == FAR and cell["value"] == 7 and cell["threshold"] == 0  # nothing the 8 weeks before
    assert cell["starts_at"] == datetime(2025, 3, 8, 14) and len(cell["event_ids"]) == 7
    assert "moyenne des 8 mêmes créneaux précédents" in cell["explanation"]
    assert set(out.filter(pl.col("area_level") == "cellule")["category"]) == {"all", "interventions"}  # S: only 2
    area = out.filter(pl.col("area_level") == "arrondissement")
    assert set(area["area"]) == {"13208"} and set(area["category"]) == {"all", "interventions"}
    # with a forecast covering the shift: its upper bound decides
    fc = pl.DataFrame(
        {
            "h3_cell": [FAR, FAR],
            "category": ["all", "interventions"],
            "slot": [slot, slot],
            "expected": [4.0, 3.0],
            "upper_95": [9.0, 4.0],
        }
    )
    zones = pl.DataFrame({"h3_cell": [FAR], "arrondissement": ["13208"]})
    out2 = A.exceedance_alerts(_facts(), SHIFTS, as_of=AS_OF, params=params, forecast=fc, cell_zone=zones)
    cells = out2.filter(pl.col("area_level") == "cellule")
    assert cells["category"].to_list() == ["interventions"]  # 5 > 4, but 7 ≤ 9 for all facts
    assert "la prévision (models.forecast)" in cells["explanation"][0]
    # the shift in progress is not judged yet
    late = A.exceedance_alerts(_facts(), SHIFTS, as_of=datetime(2025, 3, 8, 20), params=params)
    assert late.height == 0


# --------------------------------------------------------------------------- planned collisions
ROUTE = {"type": "LineString", "coordinates": [[5.3745, 43.2950], [5.3790, 43.2975], [5.3840, 43.2990]]}


def _planned() -> pl.DataFrame:
    g = json.dumps
    rows = [
        (
            "manifestation_deambulatoire:PP-1",
            "manifestation_deambulatoire",
            None,
            datetime(2025, 3, 11, 14),
            datetime(2025, 3, 11, 16),
            g(ROUTE),
            5.379,
            43.2975,
            3000,
            "prefecture_police_13",
        ),
        (
            "evenements_publics:EVT-1",
            "evenements_publics",
            "Concert",
            datetime(2025, 3, 11, 16, 30),
            datetime(2025, 3, 11, 19),
            g({"type": "Point", "coordinates": [5.3840, 43.2990]}),
            5.384,
            43.299,
            8000,
            "internal",
        ),
        (
            "operation_programmee:PP-2",
            "operation_programmee",
            "PSQ QRR",
            datetime(2025, 3, 12, 9),
            datetime(2025, 3, 12, 12),
            g({"type": "MultiPoint", "coordinates": [[5.4000, 43.3100]]}),
            5.4,
            43.31,
            None,
            "prefecture_police_13",
        ),
        (
            "visite_officielle:PP-3",
            "visite_officielle",
            None,
            datetime(2025, 3, 12, 11),
            datetime(2025, 3, 12, 13),
            g({"type": "MultiPoint", "coordinates": [[5.4001, 43.3101]]}),
            5.4,
            43.31,
            None,
            "prefecture_police_13",
        ),
        (
            "operation_programmee:PP-4",
            "operation_programmee",
            "CODAF",
            datetime(2025, 3, 1, 9),
            datetime(2025, 3, 1, 12),
            g({"type": "MultiPoint", "coordinates": [[5.4000, 43.3100]]}),
            5.4,
            43.31,
            None,
            "prefecture_police_13",
        ),
        (
            "operation_programmee:PP-5",
            "operation_programmee",
            "CODAF",
            datetime(2025, 3, 1, 10),
            datetime(2025, 3, 1, 11),
            g({"type": "MultiPoint", "coordinates": [[5.4000, 43.3100]]}),
            5.4,
            43.31,
            None,
            "prefecture_police_13",
        ),
    ]
    cols = ["event_id", "source", "subcategory", "start", "end", "geometry", "lon", "lat", "attendance", "convention"]
    return pl.DataFrame(rows, schema=cols, orient="row")


def _zones(fp: pl.DataFrame) -> pl.DataFrame:
    return fp.select("h3_cell").unique().with_columns(pl.lit("13201").alias("arrondissement"))


def test_collisions_coming_up_are_alerts():
    fp = footprints(_planned(), Footprints())
    out = A.collision_alerts(fp, collisions(fp), _zones(fp), as_of=AS_OF, params=AlertParams(horizon_days=7))
    kinds = dict(zip(out["kind"], out["event_ids"].to_list()))
    assert kinds["collision_manifestation_evenement"] == [
        "evenements_publics:EVT-1",
        "manifestation_deambulatoire:PP-1",
    ]
    assert kinds["chevauchement_evenements"] == ["operation_programmee:PP-2", "visite_officielle:PP-3"]
    assert out.height == 2  # the pair of 1 March is in the past
    demo = out.filter(pl.col("kind") == "collision_manifestation_evenement").row(0, named=True)
    assert demo["severity"] == "elevee" and demo["conventions"] == ["internal", "prefecture_police_13"]
    assert demo["starts_at"] == datetime(2025, 3, 11, 15, 30) and demo["ends_at"] == datetime(2025, 3, 11, 17)
    assert "Manifestation déambulatoire PP-1, 3000 pers." in demo["explanation"]
    assert "Événement public « Concert » EVT-1, 8000 pers." in demo["explanation"]
    other = out.filter(pl.col("kind") == "chevauchement_evenements").row(0, named=True)
    assert other["severity"] == "faible"


# --------------------------------------------------------------------------- the sensor
def _all_kinds() -> pl.DataFrame:
    fp = footprints(_planned(), Footprints())
    parts = [
        A.new_hotspot_alerts(
            _hot(), None, _facts(), k=2, params=AlertParams(), category_labels=LABELS, all_code="toutes", as_of=AS_OF
        ).head(1),
        A.exceedance_alerts(_facts(), SHIFTS, as_of=AS_OF, params=AlertParams()).head(1),
        A.collision_alerts(fp, collisions(fp), _zones(fp), as_of=AS_OF, params=AlertParams()),
    ]
    return A.sort_alerts(pl.concat(parts))


def _tick(root, cursor=None):
    ctx = dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(),
        cursor=cursor,
        resources={"warehouse": Warehouse(root=str(root)), "indicators": IndicatorSettings()},
    )
    res = alerts_sensor(ctx)
    return res.asset_events, res.cursor


def test_the_sensor_raises_each_alert_once(tmp_path):
    wh = Warehouse(root=str(tmp_path))
    table = _all_kinds()
    assert set(table["kind"]) == set(A.ALERT_KINDS)
    wh.write("indicators", "alerts", table)
    events, cursor = _tick(tmp_path)
    assert len(events) == 4 and all(isinstance(e, dg.AssetObservation) and e.asset_key == ALERTS_KEY for e in events)
    assert sorted(e.metadata["type"].value for e in events) == sorted(A.ALERT_KINDS)
    first = events[0]
    assert first.metadata["gravite"].value == "elevee" and first.description
    assert json.loads(cursor)["raised"] == sorted(table["alert_id"])
    # next tick: nothing new
    events, cursor2 = _tick(tmp_path, cursor)
    assert events == [] and cursor2 == cursor
    # a rerun of the asset rewrites the same ids: still nothing; a new alert: raised alone
    extra = A.exceedance_alerts(_facts(), SHIFTS, as_of=AS_OF, params=AlertParams()).tail(1)
    wh.write("indicators", "alerts", pl.concat([table, extra]))
    events, cursor3 = _tick(tmp_path, cursor2)
    assert [e.metadata["alert_id"].value for e in events] == extra["alert_id"].to_list()
    # the table is gone for a moment: nothing raised, nothing forgotten
    (tmp_path / "indicators" / "alerts" / "data.parquet").unlink()
    events, cursor4 = _tick(tmp_path, cursor3)
    assert events == [] and cursor4 == cursor3


def test_the_sensor_caps_each_tick_most_severe_first(tmp_path):
    wh = Warehouse(root=str(tmp_path))
    wh.write("indicators", "alerts", _all_kinds())
    ctx = dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(),
        resources={"warehouse": Warehouse(root=str(tmp_path)), "indicators": IndicatorSettings(sensor_max_per_tick=2)},
    )
    res = alerts_sensor(ctx)
    assert [e.metadata["gravite"].value for e in res.asset_events] == ["elevee", "elevee"]
    res2 = alerts_sensor(
        dg.build_sensor_context(
            instance=dg.DagsterInstance.ephemeral(),
            cursor=res.cursor,
            resources={
                "warehouse": Warehouse(root=str(tmp_path)),
                "indicators": IndicatorSettings(sensor_max_per_tick=2),
            },
        )
    )
    assert len(res2.asset_events) == 2 and not {e.metadata["alert_id"].value for e in res2.asset_events} & set(
        json.loads(res.cursor)["raised"]
    )


@pytest.mark.parametrize("kind", sorted(A.ALERT_KINDS))
def test_every_kind_has_a_french_label_and_explanation(kind):
    row = _all_kinds().filter(pl.col("kind") == kind).row(0, named=True)
    assert row["kind_label"] == A.ALERT_KINDS[kind] and len(row["explanation"]) > 40
    assert row["event_ids"] and row["alert_id"] and len(row["alert_id"]) == 16


def test_the_sensor_keeps_partner_data_out_of_dagsters_event_log(tmp_path):
    """An alert drawn from the Préfecture's records is raised without its explanation or records
    (Dagster's storage is readable by whoever runs the UI); the City's alerts keep them."""
    wh = Warehouse(root=str(tmp_path))
    table = _all_kinds()
    partner = table.filter(pl.col("conventions").list.contains("prefecture_police_13"))
    assert partner.height >= 1
    wh.write("indicators", "alerts", table)
    events, _ = _tick(tmp_path)
    by_id = {e.metadata["alert_id"].value: e for e in events}
    for r in table.iter_rows(named=True):
        e = by_id[r["alert_id"]]
        assert e.metadata["conventions"].value == r["conventions"]
        if "prefecture_police_13" in r["conventions"]:
            assert "explication" not in e.metadata and "enregistrements" not in e.metadata
            assert r["explanation"] not in e.description
            assert not any(i in repr(e) for i in r["event_ids"])
        else:
            assert e.metadata["explication"].value == r["explanation"]
