"""The daily partitions follow the data (issue 15): no missing day after the last export day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.factories import VALID, landing_file, write_csv
from tranquillite.assets.partitions import daily_partitions
from tranquillite.settings import SettingsError, settings


def _day(landing, day: str) -> None:
    write_csv(
        landing_file(landing, "interventions", day),
        "interventions",
        [{**VALID["interventions"], "N° intervention": f"INT-{day}"}],
    )


def test_partitions_end_at_the_last_export_day_and_grow_with_a_new_day(home, landing, monkeypatch):
    monkeypatch.setenv("TRANQUILLITE_PARTITIONS_START", "2025-03-01")
    monkeypatch.setenv("TRANQUILLITE_PARTITIONS_END", "donnees")
    for day in ("2025-03-01", "2025-03-02", "2025-03-04"):  # a day without file inside the range is a day
        _day(landing, day)
    keys = daily_partitions().get_partition_keys()
    assert keys == ["2025-03-01", "2025-03-02", "2025-03-03", "2025-03-04"]
    _day(landing, "2025-03-05")  # a new day arrives: one more partition
    assert daily_partitions().get_partition_keys() == [*keys, "2025-03-05"]
    # a file dated in the future is no partition; an empty landing zone: up to today (Europe/Paris)
    write_csv(landing / "interventions" / "interventions_2099-01-01.csv", "interventions", [VALID["interventions"]])
    assert daily_partitions().get_last_partition_key() == "2025-03-05"
    for f in landing.rglob("*.csv"):
        f.unlink()
    last = date.fromisoformat(daily_partitions().get_last_partition_key())
    assert abs(last - date.today()) <= timedelta(days=1)


def test_unset_the_partitions_start_with_the_data(home, landing, monkeypatch):
    monkeypatch.delenv("TRANQUILLITE_PARTITIONS_START", raising=False)
    monkeypatch.setenv("TRANQUILLITE_PARTITIONS_END", "donnees")
    for day in ("2024-11-03", "2024-11-05"):
        _day(landing, day)
    assert daily_partitions().get_partition_keys() == ["2024-11-03", "2024-11-04", "2024-11-05"]


def test_the_partitions_end_can_be_today_or_a_date(home, monkeypatch):
    monkeypatch.setenv("TRANQUILLITE_PARTITIONS_START", "2025-03-01")
    _day(home / "landing", "2025-03-04")
    monkeypatch.setenv("TRANQUILLITE_PARTITIONS_END", "2025-03-10")
    assert daily_partitions().get_last_partition_key() == "2025-03-10"
    monkeypatch.setenv("TRANQUILLITE_PARTITIONS_END", "aujourd'hui")
    last = date.fromisoformat(daily_partitions().get_last_partition_key())
    assert abs(last - date.today()) <= timedelta(days=1)
    # unset in production: a live feed (the daemon's definitions must already hold the new day)
    monkeypatch.delenv("TRANQUILLITE_PARTITIONS_END")
    monkeypatch.setenv("TRANQUILLITE_ENV", "production")
    assert settings().partitions_end_mode == "aujourdhui"
    monkeypatch.setenv("TRANQUILLITE_ENV", "development")
    assert settings().partitions_end_mode == "donnees"
    monkeypatch.setenv("TRANQUILLITE_PARTITIONS_END", "demain")
    with pytest.raises(SettingsError, match="TRANQUILLITE_PARTITIONS_END"):
        settings()
