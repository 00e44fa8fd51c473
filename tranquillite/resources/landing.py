"""The landing zone: where partners, City exports and the Cortège app drop their files."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from tranquillite import landing

if TYPE_CHECKING:
    import polars as pl


def partition_bounds() -> tuple[str, str]:
    """First and last daily partition keys (the last one is today, Europe/Paris)."""
    from tranquillite.assets.partitions import DAILY

    return DAILY.get_first_partition_key(), DAILY.get_last_partition_key()


class LandingZone(dg.ConfigurableResource):
    """Folder `landing/<source>/…` (default `$TRANQUILLITE_HOME/landing`)."""

    root: str

    @property
    def path(self) -> Path:
        return Path(self.root)

    def files(self, source: str) -> list[Path]:
        return landing.source_files(self.path, source)

    def inventory(self, source: str) -> tuple[dict[str, list[Path]], list[tuple[Path, landing.Assignment]]]:
        """Files of a source by partition, and those that cannot be assigned, with why."""
        return landing.inventory(self.path, source, *partition_bounds())

    def fingerprint(self, path: Path, source: str) -> tuple[str, int, int]:
        """(sha256, bytes, records by the independent counter) of a file that is not ingested."""
        data = path.read_bytes()
        return hashlib.sha256(data).hexdigest(), len(data), landing.count_file(path, source)

    def read_partition(
        self, source: str, partition: str, by_partition: dict[str, list[Path]] | None = None
    ) -> tuple[pl.DataFrame, list[landing.FileRead]]:
        return landing.read_partition(self.path, source, partition, by_partition)
