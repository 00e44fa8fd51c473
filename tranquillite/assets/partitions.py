"""Daily partitions: one per export day of the landing files."""

from __future__ import annotations

import dagster as dg

from tranquillite.settings import partitions_start

DAILY = dg.DailyPartitionsDefinition(start_date=partitions_start(), timezone="Europe/Paris",
                                     end_offset=1)
