from __future__ import annotations

import os
from pathlib import Path

import pytest

# the partitions of the test process are those of the first home it imports the assets with: from
# 2025-01-01 up to today, as before, rather than the export days of whichever landing zone is
# current then (the partitions following the data are tested through `partitions.daily_partitions`)
os.environ.setdefault("TRANQUILLITE_PARTITIONS_START", "2025-01-01")
os.environ.setdefault("TRANQUILLITE_PARTITIONS_END", "aujourdhui")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh TRANQUILLITE_HOME with its Dagster instance; nothing shared between tests."""
    monkeypatch.setenv("TRANQUILLITE_HOME", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    (tmp_path / "landing").mkdir()
    return tmp_path


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server for the session (tests/pg.py); yields its `postgres` database's URL."""
    from tests.pg import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture
def landing(home: Path) -> Path:
    return home / "landing"


def pytest_configure(config):
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
