"""The run's log reports each kind of file issue once, with the number of files, not once per file:
a City's 8-year export is 2,922 daily files, and a warning repeated 2,922 times (an optional column
absent from every export) buried the warnings that matter. Every file's issues stay recorded in
`governance.landing_files`."""

from __future__ import annotations

import csv
from datetime import date

import polars as pl
import pytest

from tests.factories import VALID, landing_file
from tranquillite.contracts import load_contracts

DAYS = ["2025-03-08", "2025-03-09", "2025-03-10"]
pytestmark = pytest.mark.slow


def _without_observations(path, day: str) -> None:
    headers = [
        h
        for h in next(c for c in load_contracts().values() if c.source == "interventions").headers
        if h != "Observations"
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=headers, delimiter=";", lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerow({**VALID["interventions"], "N° intervention": f"INT-{day}"})


def test_an_issue_of_every_file_is_one_warning_naming_how_many_files(tmp_path):
    from tranquillite import runner
    from tranquillite.definitions import build_defs

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRANQUILLITE_HOME", str(tmp_path))
        mp.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
        for day in DAYS:
            _without_observations(landing_file(tmp_path / "landing", "interventions", day), day)
        instance = runner.instance()
        outcomes = runner.materialize(build_defs(), date(2025, 3, 8), date(2025, 3, 10), instance, forecast=False)
        assert all(o.success for o in outcomes), outcomes
        ingestion = next(o for o in outcomes if o.job == "ingestion_quotidienne")
        lines = [
            e.user_message
            for e in instance.all_logs(ingestion.run_id)
            if e.level >= 30 and "colonnes absentes" in (e.user_message or "")
        ]
        assert len(lines) == 1, lines
        assert "3 fichiers" in lines[0] and "Observations" in lines[0] and "interventions_2025-03-08.csv" in lines[0]
        # each file's own record keeps its issue
        files = pl.read_parquet(tmp_path / "warehouse" / "governance" / "landing_files" / "*.parquet")
        mine = files.filter(pl.col("file").str.contains("interventions_"))
        assert mine.height == 3
        assert all(any("colonnes_manquantes" in i for i in issues) for issues in mine["issues"].to_list())
