"""`governance.convention_lineage`: where each convention's data are, published for the app (issue 11).

The app may not import the pipeline (`tranquillite.lineage` needs the Dagster asset graph), so the
lineage facts the auditors' *Traçabilité* page shows are published as a governance table, computed
by `tranquillite.lineage.convention_lineage` from the asset graph and the warehouse's files:

* `lineage_kind = 'table'`: one row per convention × table × partition holding its rows (rows,
  bytes of the files holding them, first and last date of those rows), with the table's asset,
  whether the asset's derived tags name the convention, and how the rows were attributed;
* `lineage_kind = 'modele'`: one row per model trained on its data (the model store's registry);
* `lineage_kind = 'fichiers'`: per landing source (`landing_source`: not `source`, which the
  gateway would read as the rows' source) × day, the files received under it (count,
  bytes, records, first and last reception) — counts only, no file name.

Every row carries `conventions = [convention]`: the gateway shows a convention's lineage only to a
profile that sees that convention (the Préfecture's reader gets its own convention's, C7).
"""

import time
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from tranquillite.assets import constants as K
from tranquillite.assets.metadata import base_metadata
from tranquillite.contracts import load_conventions
from tranquillite.lineage import (
    UNPARTITIONED,
    cache_dir,
    convention_lineage,
    per_file_memo,
    read_parquet_sql,
    source_conventions,
    table_counts,
)
from tranquillite.resources import Warehouse

TABLE = "convention_lineage"
SCHEMA = {
    "lineage_kind": pl.Utf8,
    "convention": pl.Utf8,
    "table_name": pl.Utf8,
    "asset_key": pl.Utf8,
    "tagged": pl.Boolean,
    "partition": pl.Utf8,
    "rows": pl.Int64,
    "total_rows": pl.Int64,
    "n_files": pl.Int64,
    "bytes": pl.Int64,
    "first_date": pl.Utf8,
    "last_date": pl.Utf8,
    "attribution": pl.Utf8,
    "model": pl.Utf8,
    "model_group": pl.Utf8,
    "model_version": pl.Utf8,
    "usage": pl.Utf8,
    "variant": pl.Utf8,
    "trained_at": pl.Utf8,
    "train_start": pl.Utf8,
    "train_end": pl.Utf8,
    "landing_source": pl.Utf8,
    "records": pl.Int64,
    "conventions": pl.List(pl.Utf8),
}


def lineage_rows(defs, root: Path, registry: pl.DataFrame | None = None) -> pl.DataFrame:
    """The rows of `governance.convention_lineage` for the warehouse at `root` (its own table excluded)."""
    root = Path(root)
    cache = cache_dir(root)
    counts = table_counts(defs, root, cache)  # one pass over the changed files: the report and the rows below
    report = convention_lineage(defs, root, registry=registry, counts=counts)
    info = {(c, t.table): t for c, cl in report.items() for t in cl.tables}
    reported = {n for (_, n) in info}
    known = sorted(load_conventions())
    out: list[pl.DataFrame] = []
    con = duckdb.connect(":memory:")
    try:
        for name, tc in counts.items():
            if name == f"{K.GOVERNANCE}.{TABLE}" or name not in reported:
                continue
            df = tc.counts.filter(pl.col("convention").is_in(known) & (pl.col("n") > 0))
            if df.height == 0:
                continue
            files = [Path(f) for f in df["file"].unique().to_list()]
            sizes = {str(f): f.stat().st_size for f in files}
            df = df.with_columns(
                pl.col("file").replace_strict(sizes, default=0, return_dtype=pl.Int64).alias("bytes"),
                pl.col("file").str.extract(r"([^/\\]+)\.parquet$").alias("stem"),
            )
            df = df.with_columns(
                pl.when(pl.col("stem") == UNPARTITIONED).then(None).otherwise(pl.col("stem")).alias("partition")
            )
            per = df.group_by("convention", "partition").agg(
                pl.col("n").sum().alias("rows"),
                pl.col("file").n_unique().cast(pl.Int64).alias("n_files"),
                pl.col("bytes").sum().alias("bytes"),
                pl.coalesce(pl.col("a").min(), pl.col("partition").first()).alias("first_date"),
                pl.coalesce(pl.col("b").max(), pl.col("partition").first()).alias("last_date"),
            )
            meta = pl.DataFrame(
                [
                    {
                        "convention": c,
                        "asset_key": t.asset,
                        "tagged": t.tagged,
                        "total_rows": t.total_rows,
                        "attribution": t.attribution,
                    }
                    for (c, n), t in info.items()
                    if n == name
                ],
                schema={
                    "convention": pl.Utf8,
                    "asset_key": pl.Utf8,
                    "tagged": pl.Boolean,
                    "total_rows": pl.Int64,
                    "attribution": pl.Utf8,
                },
            )
            out.append(
                per.join(meta, on="convention", how="left").with_columns(
                    pl.lit("table").alias("lineage_kind"), pl.lit(name).alias("table_name")
                )
            )
        landing = counts.get(f"{K.GOVERNANCE}.landing_files")
        out += _landing_rows(con, root, cache, landing is not None and landing.uniform)
    finally:
        con.close()
    models = [
        {
            "convention": c,
            "model": m.get("model"),
            "model_group": m.get("group"),
            "model_version": m.get("version"),
            "usage": m.get("usage"),
            "variant": m.get("variant"),
            "trained_at": m.get("trained_at"),
            "train_start": m.get("train_start"),
            "train_end": m.get("train_end"),
        }
        for c, cl in report.items()
        for m in cl.models
    ]
    if models:
        out.append(
            pl.DataFrame(models, schema={k: pl.Utf8 for k in models[0]}).with_columns(
                pl.lit("modele").alias("lineage_kind"), pl.lit("models.model_registry").alias("table_name")
            )
        )
    frames = [
        f.with_columns([pl.lit(None, dtype=t).alias(k) for k, t in SCHEMA.items() if k not in f.columns]).select(
            [pl.col(k).cast(t) for k, t in SCHEMA.items() if k != "conventions"]
        )
        for f in out
    ]
    df = pl.concat(frames) if frames else pl.DataFrame(schema={k: t for k, t in SCHEMA.items() if k != "conventions"})
    return df.with_columns(pl.concat_list(pl.col("convention")).alias("conventions")).sort(
        "convention", "lineage_kind", "table_name", "partition", "model", nulls_last=True
    )


LANDING_COUNTS = {
    "file": pl.Utf8,
    "source": pl.Utf8,
    "partition": pl.Utf8,
    "n_files": pl.Int64,
    "bytes": pl.Int64,
    "records": pl.Int64,
    "a": pl.Datetime("us", "UTC"),
    "b": pl.Datetime("us", "UTC"),
}


def _landing_counts(con: duckdb.DuckDBPyConnection, files: list[Path], uniform: bool) -> pl.DataFrame:
    """Per file of `governance.landing_files` and (source, day): files, bytes, records, first/last reception."""
    if not files:
        return pl.DataFrame(schema=LANDING_COUNTS)
    q = (
        "SELECT filename AS file, source, partition, count(*) AS n_files, sum(bytes) AS bytes, "
        f"sum(records) AS records, min(first_seen) AS a, max(first_seen) AS b FROM "
        f"{read_parquet_sql(uniform)} GROUP BY ALL"
    )
    df = pl.from_arrow(con.sql(q, params=[[str(f) for f in files]]).to_arrow_table())
    return df.select([pl.col(k).cast(t) for k, t in LANDING_COUNTS.items()])


def _landing_rows(
    con: duckdb.DuckDBPyConnection, root: Path, cache: Path | None = None, uniform: bool = False
) -> list[pl.DataFrame]:
    """Files received per convention × landing source × day: counts, bytes, records, first/last reception
    (the per-file sums of files unchanged since the last run from `cache`; `uniform`: the files share one
    schema, `TableCounts.uniform`)."""
    files = sorted((root / K.GOVERNANCE / "landing_files").glob("*.parquet"))
    if not files:
        return []
    per_file = per_file_memo(files, lambda fs: _landing_counts(con, fs, uniform), "landing_files.received", cache, root)
    q = (
        "SELECT source, partition, sum(n_files) AS n_files, sum(bytes) AS bytes, sum(records) AS records, "
        "CAST(min(a) AS VARCHAR) AS first_date, CAST(max(b) AS VARCHAR) AS last_date FROM per_file GROUP BY ALL"
    )
    con.register("per_file", per_file.to_arrow())
    try:
        df = pl.from_arrow(con.sql(q).to_arrow_table())
    finally:
        con.unregister("per_file")
    mapping = {s: sorted(source_conventions(s)) for s in df["source"].drop_nulls().unique().to_list()}
    df = (
        df.with_columns(
            pl.col("source").replace_strict(mapping, default=None, return_dtype=pl.List(pl.Utf8)).alias("convention")
        )
        .explode("convention")
        .filter(pl.col("convention").is_not_null())
    )
    return [
        df.rename({"source": "landing_source"}).with_columns(
            pl.lit("fichiers").alias("lineage_kind"),
            pl.lit("governance.landing_files").alias("table_name"),
            pl.col("n_files").cast(pl.Int64),
            pl.col("bytes").cast(pl.Int64),
            pl.col("records").cast(pl.Int64),
        )
    ]


class _Graph:
    """What `convention_lineage` needs of a Definitions: the asset graph of the running code location."""

    def __init__(self, context: dg.AssetExecutionContext):
        self._context = context

    def resolve_asset_graph(self):
        try:
            return self._context.repository_def.asset_graph
        except Exception:  # a run without a repository on its context (`materialize`, in-process jobs)
            from tranquillite.definitions import build_defs  # the code location, assembled once more

            return build_defs().resolve_asset_graph()


@dg.asset(
    key=K.CONVENTION_LINEAGE_KEY,
    group_name=K.GOVERNANCE,
    description=(
        "Traçabilité par convention (issue 11): pour chaque convention, chaque table et partition qui "
        "contient de ses lignes (lignes, octets, premières et dernières dates), les modèles appris sur "
        "ses données et les fichiers reçus sous elle (comptes seulement). Calculée depuis le graphe des "
        "assets et les fichiers de l'entrepôt; lue par la page Traçabilité."
    ),
    # after every table it describes, before the catalog publishes it
    deps=[
        K.EVENTS_KEY,
        K.QUALITY_KEY,
        K.QUARANTINE_REASONS_KEY,
        K.FORECAST_KEY,
        K.FORECAST_HISTORY_KEY,
        K.BACKTEST_KEY,
        K.MODEL_REGISTRY_KEY,
        *[
            dg.AssetKey(["indicators", t])
            for t in (
                "grid",
                "hotspots",
                "emerging_hotspots",
                "tension",
                "values",
                "catalogue",
                "values_public",
                "alerts",
            )
        ],
    ],
    kinds={"parquet"},
    owners=[K.OWNER_DPO],
    pool="warehouse_writer",
)
def convention_lineage_table(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    t0 = time.perf_counter()
    df = lineage_rows(_Graph(context), Path(warehouse.root))
    warehouse.write(K.GOVERNANCE, TABLE, df)
    tables = df.filter(pl.col("lineage_kind") == "table")
    per = {
        c: {"tables": int(g["table_name"].n_unique()), "lignes": int(g["rows"].sum() or 0)}
        for (c,), g in tables.group_by("convention")
    }
    return dg.MaterializeResult(
        metadata=base_metadata(
            df,
            time.perf_counter() - t0,
            tables_par_convention=dg.MetadataValue.json(dict(sorted(per.items()))),
            modeles=int(df.filter(pl.col("lineage_kind") == "modele").height),
        )
    )


LINEAGE_ASSETS = [convention_lineage_table]
