"""One Parquet file written a frame at a time, renamed into place when complete.

Each frame becomes its own row groups: a table written chunk by chunk (the ground truth of a
generation, the indicators' values) is never whole in memory, and a reader filtering on the
chunks' keys skips the others' row groups by their statistics. Until `close`, the path is left
as it was: a failure (`abort`, or an exception in a `with` block) removes the unfinished file.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl


class ParquetStream:
    """`schema` ({column: dtype}): every frame is cast to it, and a stream closed with no frame
    writes an empty table of it (without, closing an empty stream is an error)."""

    def __init__(self, path: Path, schema: dict | None = None, statistics: bool = False):
        self.path = Path(path)
        self.tmp = self.path.with_name(self.path.name + ".part")
        self.schema, self.statistics = schema, statistics
        self.rows = 0
        self._writer = None

    def write(self, df: pl.DataFrame) -> None:
        import pyarrow.parquet as pq

        if self.schema is not None:
            df = df.select([pl.col(k).cast(v) for k, v in self.schema.items()])
        table = df.to_arrow()
        if self._writer is None:
            self.tmp.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(
                self.tmp, table.schema, compression="zstd", write_statistics=self.statistics
            )
        self._writer.write_table(table)
        self.rows += df.height

    def close(self) -> None:
        if self._writer is None:
            if self.schema is None:
                raise ValueError(f"{self.path.name}: aucune ligne écrite")
            self.write(pl.DataFrame(schema=self.schema))
        self._writer.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        """Closes and removes the unfinished file (the path is left as it was)."""
        if self._writer is not None:
            self._writer.close()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> "ParquetStream":
        return self

    def __exit__(self, kind, *_) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()
