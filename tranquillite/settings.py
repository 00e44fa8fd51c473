"""Where the platform keeps its data: one home directory, from the environment.

`TRANQUILLITE_HOME` (default `./data`) holds `landing/` (partner drops and Cortège entries),
`warehouse/` (Parquet tables and the read-only DuckDB catalog) and `dagster/` (the Dagster
instance). Nothing here is committed to git.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = Path(os.environ.get("TRANQUILLITE_CONTRACTS", REPO_ROOT / "data_contracts"))
GEO_DIR = Path(__file__).resolve().parent / "data" / "geo"
DEFAULT_PARTITIONS_START = "2025-01-01"


@dataclass(frozen=True)
class Paths:
    home: Path

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def truth(self) -> Path:
        """Synthetic generator's ground truth (true intensity, injected defects)."""
        return self.home / "synthetic_truth"


def home() -> Path:
    return Path(os.environ.get("TRANQUILLITE_HOME", Path.cwd() / "data")).resolve()


def paths() -> Paths:
    return Paths(home())


def partitions_start() -> str:
    return os.environ.get("TRANQUILLITE_PARTITIONS_START", DEFAULT_PARTITIONS_START)
