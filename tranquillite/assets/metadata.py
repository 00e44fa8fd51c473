"""Metadata helpers shared by every materialisation: row counts, previews, schemas, timings."""

from __future__ import annotations

import polars as pl
import dagster as dg

_DG_TYPES = {pl.Utf8: "string", pl.Int64: "int64", pl.Float64: "float64", pl.Boolean: "bool"}


def preview(df: pl.DataFrame, n: int = 8, max_chars: int = 60) -> dg.MetadataValue:
    head = df.head(n).with_columns(
        [pl.col(c).cast(pl.Utf8).str.slice(0, max_chars) for c in df.columns
         if df.schema[c] != pl.Utf8 and not isinstance(df.schema[c], (pl.List, pl.Struct))]
        + [pl.col(c).str.slice(0, max_chars) for c in df.columns if df.schema[c] == pl.Utf8])
    with pl.Config(tbl_formatting="MARKDOWN", tbl_hide_column_data_types=True,
                   tbl_hide_dataframe_shape=True, tbl_cols=-1, tbl_rows=n, fmt_str_lengths=max_chars):
        return dg.MetadataValue.md(str(head))


def table_schema(schema: dict[str, pl.DataType]) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(name, _DG_TYPES.get(dtype, str(dtype)))
                                   for name, dtype in schema.items()])


def base_metadata(df: pl.DataFrame, seconds: float, **extra) -> dict:
    return {
        "dagster/row_count": dg.MetadataValue.int(df.height),
        "dagster/column_schema": table_schema(dict(df.schema)),
        "apercu": preview(df),
        "duree_s": dg.MetadataValue.float(round(seconds, 3)),
        **extra,
    }
