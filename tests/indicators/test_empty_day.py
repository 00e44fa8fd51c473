"""A range whose every record is quarantined leaves `clean.events` empty: publication and the
indicators still run (empty tables, no crash) — the grid's neighbour join used to fail on a null
key (a limit noted when the ingestion issue was closed)."""

from __future__ import annotations

from datetime import date

from tests.factories import VALID, landing_file, write_csv
from tranquillite import runner
from tranquillite.definitions import build_defs

DAY = "2025-03-08"


def test_the_indicators_run_when_no_event_is_clean(home, landing):
    bad = dict(VALID["interventions"], **{"Début": "31/02/2025 23:10"})  # no such day: quarantined
    write_csv(landing_file(landing, "interventions", DAY), "interventions", [bad])
    day = date.fromisoformat(DAY)
    outcomes = runner.materialize(build_defs(), day, day, forecast=False)
    failed = [(o.job, o.reason, o.failed_checks) for o in outcomes if not o.success]
    assert [o.job for o in outcomes] and not failed, failed
    from tranquillite.resources import Warehouse
    from tranquillite.settings import paths

    wh = Warehouse(root=str(paths().warehouse))
    assert wh.read("clean", "events").height == 0
    assert wh.read("indicators", "tension").height == 0 and wh.read("indicators", "alerts").height == 0
    assert wh.catalog_path.exists()  # the catalog was republished
