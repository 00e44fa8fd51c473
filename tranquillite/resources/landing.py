"""The landing zone: where partners, City exports and the Cortège app drop their files."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl

from tranquillite import landing


class LandingZone(dg.ConfigurableResource):
    """Folder `landing/<source>/…` (default `$TRANQUILLITE_HOME/landing`)."""

    root: str

    @property
    def path(self) -> Path:
        return Path(self.root)

    def files(self, source: str) -> list[Path]:
        return landing.source_files(self.path, source)

    def read_partition(self, source: str, partition: str) -> tuple[pl.DataFrame, list[landing.FileRead]]:
        return landing.read_partition(self.path, source, partition)
