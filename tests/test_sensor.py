"""The landing sensor requests one run per new or changed file, never twice for the same content."""

from __future__ import annotations

import json
import os

import dagster as dg

from tests.factories import VALID, VALID_CORTEGE, landing_file, write_csv, write_json
from tranquillite.assets import constants as K
from tranquillite.resources import LandingZone
from tranquillite.sensors.landing import landing_sensor


def _tick(landing, cursor=None):
    ctx = dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(), cursor=cursor, resources={"landing": LandingZone(root=str(landing))}
    )
    result = landing_sensor(ctx)
    return result.run_requests, result.cursor


def test_new_file_requests_one_partition_run(landing):
    write_json(landing_file(landing, "cortege", "2025-03-08"), [VALID_CORTEGE["visite_officielle"]])
    requests, cursor = _tick(landing)
    (req,) = requests
    assert req.partition_key == "2025-03-08"
    assert set(req.asset_selection) == {
        K.raw_key("cortege"),
        K.quarantine_key("cortege"),
        K.landing_files_key("cortege"),
        K.ledger_key("cortege"),
        *[
            K.clean_key(c)
            for c in (
                "manifestation_deambulatoire",
                "manifestation_statique",
                "operation_programmee",
                "visite_officielle",
            )
        ],
    }
    assert req.run_key.startswith("cortege:2025-03-08:")
    assert "cortege/prefecture_2025-03-08.json" in json.loads(cursor)["files"]


def test_same_file_is_not_requested_twice(landing):
    path = write_csv(landing_file(landing, "interventions", "2025-03-08"), "interventions", [VALID["interventions"]])
    _, cursor = _tick(landing)
    requests, cursor2 = _tick(landing, cursor)
    assert requests == []
    os.utime(path, ns=(1, 1))  # touched, same content
    requests, _ = _tick(landing, cursor2)
    assert requests == []


def test_changed_file_gets_a_new_run_key(landing):
    path = write_csv(landing_file(landing, "interventions", "2025-03-08"), "interventions", [VALID["interventions"]])
    (first,), cursor = _tick(landing)
    write_csv(path, "interventions", [VALID["interventions"], {**VALID["interventions"], "N° intervention": "INT-2"}])
    (second,), _ = _tick(landing, cursor)
    assert second.partition_key == first.partition_key and second.run_key != first.run_key


def test_cortege_app_files_for_two_days_give_two_runs(landing):
    for day, entry in (("2025-03-08", "PP-1"), ("2025-03-09", "PP-2")):
        p = landing / "cortege" / day / f"{entry}_v1.json"
        p.parent.mkdir(parents=True)
        p.write_text(json.dumps({**VALID_CORTEGE["visite_officielle"], "id": entry}), encoding="utf-8")
    requests, _ = _tick(landing)
    assert sorted(r.partition_key for r in requests) == ["2025-03-08", "2025-03-09"]


def test_undated_file_is_skipped_with_a_reason(landing):
    p = landing / "interventions" / "export_final.csv"
    p.parent.mkdir(parents=True)
    p.write_text("x", encoding="utf-8")
    requests, cursor = _tick(landing)
    assert requests == [] and "interventions/export_final.csv" in json.loads(cursor)["files"]


def _evaluate(landing, cursor=None):
    """A real evaluation, as the daemon does it: run requests are resolved against the job's
    partitions (an unknown partition key used to fail the whole evaluation)."""
    from tranquillite.definitions import build_defs

    ctx = dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(),
        cursor=cursor,
        definitions=build_defs(),
        resources={"landing": LandingZone(root=str(landing))},
    )
    return landing_sensor.evaluate_tick(ctx)


BAD_NAMES = [
    "interventions/interventions_2026-02-31.csv",
    "cortege/prefecture_2099-01-01.json",
    "signalements/signalements_2024-12-31.csv",
    "interventions/export_sans_date.csv",
]


def test_unassignable_files_are_reported_and_the_others_requested(landing, capfd):
    for rel in BAD_NAMES:
        (landing / rel).parent.mkdir(parents=True, exist_ok=True)
        (landing / rel).write_text("x", encoding="utf-8")
    write_csv(landing_file(landing, "interventions", "2025-03-08"), "interventions", [VALID["interventions"]])
    write_json(landing_file(landing, "cortege", "2025-03-09"), [VALID_CORTEGE["visite_officielle"]])
    data = _evaluate(landing)
    assert sorted((r.partition_key, r.tags["tranquillite/source"]) for r in data.run_requests) == [
        ("2025-03-08", "interventions"),
        ("2025-03-09", "cortege"),
    ]
    log = capfd.readouterr().err
    assert "interventions/interventions_2026-02-31.csv: non ingéré — date impossible" in log
    assert "cortege/prefecture_2099-01-01.json: non ingéré — date 2099-01-01 après la dernière partition" in log
    assert "signalements/signalements_2024-12-31.csv: non ingéré — date 2024-12-31 avant la première partition" in log
    assert "interventions/export_sans_date.csv: non ingéré — aucune date" in log
    # reported once per content, not at every evaluation
    again = _evaluate(landing, data.cursor)
    assert again.run_requests == [] and "non ingéré" not in capfd.readouterr().err


def test_file_dated_after_today_is_requested_when_its_day_comes(landing):
    from tranquillite.sensors.landing import scan

    zone = LandingZone(root=str(landing))
    write_csv(landing_file(landing, "interventions", "2025-03-09"), "interventions", [VALID["interventions"]])
    requests, cursor, skipped, reported = scan(zone, {}, {}, bounds=("2025-01-01", "2025-03-08"))
    assert requests == [] and len(skipped) == 1 and "après la dernière partition" in skipped[0]
    requests, cursor, skipped, reported = scan(zone, cursor, reported, bounds=("2025-01-01", "2025-03-08"))
    assert requests == [] and skipped == []  # still waiting, not reported twice
    (req,), _, skipped, _ = scan(zone, cursor, reported, bounds=("2025-01-01", "2025-03-09"))
    assert req.partition_key == "2025-03-09" and skipped == []


def test_cursor_of_an_older_version_is_understood(landing):
    path = write_csv(landing_file(landing, "interventions", "2025-03-08"), "interventions", [VALID["interventions"]])
    _, cursor = _tick(landing)
    old_style = json.dumps(json.loads(cursor)["files"])  # the flat map of earlier versions
    requests, _ = _tick(landing, old_style)
    assert requests == [] and path.exists()


def test_file_dated_before_the_data_waits_when_the_partitions_start_with_the_data(landing):
    """Partitions following the data (issue 15): an older export is requested once the definitions
    reload with its day, not remembered as never assignable."""
    from tranquillite.sensors.landing import scan

    zone = LandingZone(root=str(landing))
    write_csv(landing_file(landing, "interventions", "2025-03-01"), "interventions", [VALID["interventions"]])
    requests, cursor, skipped, reported = scan(
        zone, {}, {}, bounds=("2025-03-05", "2025-03-08"), start_follows_data=True
    )
    assert requests == [] and len(skipped) == 1 and "avant la première partition" in skipped[0]
    (req,), _, skipped, _ = scan(zone, cursor, reported, bounds=("2025-03-01", "2025-03-08"), start_follows_data=True)
    assert req.partition_key == "2025-03-01" and skipped == []
    # with TRANQUILLITE_PARTITIONS_START set, such a file is never ingested (reported once)
    requests, cursor, _, _ = scan(zone, {}, {}, bounds=("2025-03-05", "2025-03-08"), start_follows_data=False)
    assert requests == [] and "interventions/interventions_2025-03-01.csv" in cursor
