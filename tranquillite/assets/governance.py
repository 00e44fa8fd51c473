"""`governance` layer: data quality accounting (`data_quality`, `quarantine_reasons`) and the
published, read-only catalog."""

import time

import dagster as dg
import polars as pl

from tranquillite import file_versions as V
from tranquillite.assets import constants as K
from tranquillite.assets.clean import LEDGER_TABLE
from tranquillite.assets.metadata import base_metadata, table_schema
from tranquillite.resources import Warehouse
from tranquillite.validation import LEDGER_SCHEMA

REASONS_SCHEMA = {"source": pl.Utf8, "reason": pl.Utf8, "records": pl.UInt32}


QUALITY_COLUMNS = {
    "source": pl.Utf8,
    "partitions": pl.UInt32,
    "read": pl.Int64,
    "clean": pl.Int64,
    "quarantined": pl.Int64,
    "duplicates": pl.Int64,
    "unbalanced_partitions": pl.UInt32,
    "files": pl.Int64,
    "changed_files": pl.Int64,
    "rows_added": pl.Int64,
    "rows_removed": pl.Int64,
    "rows_modified": pl.Int64,
    "unassigned_files": pl.Int64,
}


def _files_summary(files: pl.DataFrame) -> pl.DataFrame:
    """Per source: current files, files changed after ingestion and what the changes did — counts."""
    rows = [{"source": s, **V.changes(part)} for (s,), part in files.group_by("source")] if files.height else []
    schema = {
        "source": pl.Utf8,
        **{
            k: pl.Int64
            for k in (
                "files",
                "changed_files",
                "new_versions",
                "rows_added",
                "rows_removed",
                "rows_modified",
                "unassigned_files",
            )
        },
    }
    return pl.DataFrame(rows, schema=schema).drop("new_versions")


def quality_summary(ledger: pl.DataFrame, files: pl.DataFrame) -> pl.DataFrame:
    by_source = ledger.group_by("source").agg(
        pl.len().alias("partitions"),
        pl.col("read").sum(),
        pl.col("clean").sum(),
        pl.col("quarantined").sum(),
        pl.col("duplicates").sum(),
        (~pl.col("balanced")).sum().alias("unbalanced_partitions"),
    )
    out = by_source.join(_files_summary(files), on="source", how="full", coalesce=True)
    return (
        out.with_columns([pl.col(c).fill_null(0) for c in out.columns if c != "source"])
        .select([pl.col(k).cast(t) for k, t in QUALITY_COLUMNS.items()])
        .sort("source")
    )


@dg.multi_asset(
    name="data_quality",
    specs=[
        dg.AssetSpec(
            key=K.QUALITY_KEY,
            group_name=K.GOVERNANCE,
            description=(
                "Bilan qualité par source (T8): enregistrements comptés dans les fichiers déposés "
                "(compteur indépendant), propres, en quarantaine, doublons exacts, jours non "
                "équilibrés; fichiers déposés, fichiers modifiés après ingestion et enregistrements "
                "que leurs nouvelles versions ont ajoutés, supprimés ou modifiés; fichiers sans jour "
                "d'export valide. Des effectifs seulement. Vérifie que rien n'est perdu sur tout "
                "l'historique."
            ),
            deps=[
                *[K.quarantine_key(s) for s in K.SOURCES],
                *[K.ledger_key(s) for s in K.SOURCES],
                *[K.landing_files_key(s) for s in K.SOURCES],
                dg.AssetKey([K.GOVERNANCE, "quarantine_purge"]),
            ],
            kinds={"duckdb", "parquet"},
            owners=[K.OWNER_DPO],
            automation_condition=dg.AutomationCondition.eager(),
            metadata={"dagster/column_schema": table_schema(QUALITY_COLUMNS)},
        ),
        dg.AssetSpec(
            key=K.QUARANTINE_REASONS_KEY,
            group_name=K.GOVERNANCE,
            description=(
                "Motifs de mise en quarantaine par source: nombre d'enregistrements rejetés pour "
                "chaque raison (code stable, voir `tranquillite/validation.py`). Des effectifs "
                "seulement, jamais le contenu des enregistrements."
            ),
            deps=[K.quarantine_key(s) for s in K.SOURCES],
            kinds={"parquet"},
            owners=[K.OWNER_DPO],
            automation_condition=dg.AutomationCondition.eager(),
            metadata={"dagster/column_schema": table_schema(REASONS_SCHEMA)},
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            K.CHECK_NOTHING_LOST,
            asset=K.QUALITY_KEY,
            description=("Sur tout l'historique: comptés = propres + quarantaine + doublons, chaque jour."),
        )
    ],
    pool="warehouse_writer",
)
def data_quality(warehouse: Warehouse):
    t0 = time.perf_counter()
    if not warehouse.exists(K.GOVERNANCE, LEDGER_TABLE):
        ledger = pl.DataFrame(schema={**LEDGER_SCHEMA, "balanced": pl.Boolean})
    else:
        ledger = warehouse.read(K.GOVERNANCE, LEDGER_TABLE)
    files = (
        V.normalise(warehouse.read(K.GOVERNANCE, V.FILES_TABLE))
        if warehouse.exists(K.GOVERNANCE, V.FILES_TABLE)
        else V.normalise(None)
    )
    summary = quality_summary(ledger, files)
    reasons = pl.DataFrame(schema=REASONS_SCHEMA)
    if any(warehouse.exists(K.QUARANTINE, s) for s in K.SOURCES):
        q = pl.concat(
            [
                warehouse.scan(K.QUARANTINE, s).select("source", "reasons")
                for s in K.SOURCES
                if warehouse.exists(K.QUARANTINE, s)
            ]
        ).collect()
        reasons = (
            q.with_columns(pl.col("reasons").list.eval(pl.element().str.split(":").list.first()).list.unique())
            .explode("reasons")
            .group_by("source", "reasons")
            .len()
            .rename({"reasons": "reason", "len": "records"})
            .sort("source", "reason")
            .cast(REASONS_SCHEMA)
        )
    warehouse.write(K.GOVERNANCE, "data_quality", summary)
    warehouse.write(K.GOVERNANCE, "quarantine_reasons", reasons)
    bad = ledger.filter(~pl.col("balanced"))
    elapsed = time.perf_counter() - t0
    yield dg.MaterializeResult(
        asset_key=K.QUALITY_KEY,
        metadata={
            **base_metadata(summary, elapsed),
            "fichiers_modifies_apres_ingestion": int(summary.get_column("changed_files").sum() or 0),
            "fichiers_non_assignes": int(summary.get_column("unassigned_files").sum() or 0),
        },
        check_results=[
            dg.AssetCheckResult(
                asset_key=K.QUALITY_KEY,
                check_name=K.CHECK_NOTHING_LOST,
                passed=bad.height == 0,
                metadata={"partitions_desequilibrees": bad.height, "lus": int(ledger.get_column("read").sum() or 0)},
            )
        ],
    )
    yield dg.MaterializeResult(
        asset_key=K.QUARANTINE_REASONS_KEY,
        metadata={
            **base_metadata(reasons, elapsed),
            "raisons": dg.MetadataValue.json({f"{s}/{r}": n for s, r, n in reasons.iter_rows()}),
        },
    )


@dg.asset(
    key=K.CATALOG_KEY,
    group_name=K.GOVERNANCE,
    description=(
        "Catalogue DuckDB en lecture seule (`warehouse/catalog.duckdb`): une vue par table "
        "publiée, reconstruit puis substitué atomiquement pour que l'application ne soit "
        "jamais bloquée par une matérialisation."
    ),
    # last of the graph: it republishes every table, forecasts and indicators included
    deps=[
        K.EVENTS_KEY,
        K.QUALITY_KEY,
        K.QUARANTINE_REASONS_KEY,
        K.FORECAST_KEY,
        K.FORECAST_HISTORY_KEY,
        K.BACKTEST_KEY,
        K.MODEL_REGISTRY_KEY,
        K.CONVENTION_LINEAGE_KEY,
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
    kinds={"duckdb"},
    owners=[K.OWNER_DATA],
    automation_condition=dg.AutomationCondition.eager(),
    pool="warehouse_writer",
)
def warehouse_catalog(warehouse: Warehouse) -> dg.MaterializeResult:
    t0 = time.perf_counter()
    path = warehouse.publish_catalog()
    tables = [f"{layer}.{table}" for layer, table in warehouse.tables()]
    return dg.MaterializeResult(
        metadata={
            "chemin": dg.MetadataValue.path(str(path)),
            "tables": dg.MetadataValue.json(tables),
            "duree_s": round(time.perf_counter() - t0, 3),
            "dagster/row_count": len(tables),
        }
    )


GOVERNANCE_ASSETS = [data_quality, warehouse_catalog]
