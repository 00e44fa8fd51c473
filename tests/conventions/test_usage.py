"""Use stops at the convention's end: ingestion reads nothing of its sources, the app's scope and the
forecasts' sources leave it out — and nothing changes while it is in force."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.factories import VALID, VALID_CORTEGE, landing_file, write_csv, write_json
from tranquillite.conventions import registry, usage

PREF = "prefecture_police_13"
DAY = "2025-03-08"


def _end(con) -> None:
    registry.give_notice(con, PREF, date.today() - timedelta(days=70), "partenaire", login="t", profile="console")


def test_sources_and_scope_in_force_then_after_the_end(home):
    from tranquillite.app_core import store
    from tranquillite.forecasting.study_area import StudyArea

    assert usage.ended_conventions() == set()  # no store yet: the YAML's dates
    assert "manifestation_statique" in StudyArea().spec().planned_sources
    store.init_store()
    with store.connect() as con:
        assert usage.scope_in_force(con, {"internal", PREF}, {"interventions", "cortege"}, "ville_dgsec") == (
            {"internal", PREF},
            {"interventions", "cortege"},
        )
        _end(con)
        assert usage.ended_conventions(con) == {PREF}
        assert usage.scope_in_force(con, {"internal", PREF}, {"interventions", "cortege"}, "ville_dgsec") == (
            {"internal"},
            {"interventions"},
        )
        assert usage.scope_in_force(con, {"internal", PREF}, {"interventions"}, PREF) == (set(), set())
    assert StudyArea().spec().planned_sources == ("evenements_publics",)
    assert usage.ingestion_refused("cortege") and not usage.ingestion_refused("interventions")


@pytest.mark.slow
def test_ingestion_of_an_ended_convention_reads_nothing_and_keeps_its_files(home, landing):
    from tranquillite import runner
    from tranquillite.app_core import store
    from tranquillite.definitions import build_defs
    from tranquillite.jobs import INGEST_JOB

    write_csv(landing_file(landing, "interventions", DAY), "interventions", [VALID["interventions"]])
    kept = write_json(landing_file(landing, "cortege", DAY), list(VALID_CORTEGE.values()))
    store.init_store()
    with store.connect() as con:
        _end(con)
    res = (
        build_defs()
        .resolve_job_def(INGEST_JOB)
        .execute_in_process(instance=runner.instance(), partition_key=DAY, raise_on_error=False)
    )
    assert res.success
    wh = home / "warehouse"
    assert (wh / "clean" / "interventions" / f"{DAY}.parquet").exists()
    assert not (wh / "raw" / "cortege").exists() and not (wh / "clean" / "manifestation_statique").exists()
    assert kept.exists()  # unread, kept until destroyed
    skipped = {e.step_key for e in res.all_events if e.event_type_value == "STEP_SKIPPED"}
    assert "clean_cortege" in skipped
