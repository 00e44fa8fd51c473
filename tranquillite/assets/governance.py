"""`governance` layer: data quality accounting and the published, read-only catalog."""


import time

import dagster as dg
import polars as pl

from tranquillite.assets import constants as K
from tranquillite.assets.clean import LEDGER_TABLE
from tranquillite.assets.metadata import base_metadata
from tranquillite.resources import Warehouse


@dg.asset(
    key=K.QUALITY_KEY,
    group_name=K.GOVERNANCE,
    description=("Bilan qualité par source et partition (T8): enregistrements lus, propres, en "
                 "quarantaine, doublons exacts, et raisons de rejet. Vérifie que rien n'est perdu "
                 "sur tout l'historique."),
    deps=[*(K.quarantine_key(s) for s in K.SOURCES), dg.AssetKey([K.GOVERNANCE, "quarantine_purge"])],
    kinds={"duckdb", "parquet"},
    owners=[K.OWNER_DPO],
    automation_condition=dg.AutomationCondition.eager(),
    pool="warehouse_writer",
    check_specs=[dg.AssetCheckSpec(K.CHECK_NOTHING_LOST, asset=K.QUALITY_KEY,
                                   description="Sur tout l'historique: lus = propres + quarantaine + doublons.")],
)
def data_quality(warehouse: Warehouse) -> dg.MaterializeResult:
    t0 = time.perf_counter()
    if not warehouse.exists(K.GOVERNANCE, LEDGER_TABLE):
        ledger = pl.DataFrame(schema={"source": pl.Utf8, "read": pl.Int64, "clean": pl.Int64,
                                      "quarantined": pl.Int64, "duplicates": pl.Int64, "balanced": pl.Boolean})
    else:
        ledger = warehouse.read(K.GOVERNANCE, LEDGER_TABLE)
    summary = ledger.group_by("source").agg(
        pl.len().alias("partitions"), pl.col("read").sum(), pl.col("clean").sum(),
        pl.col("quarantined").sum(), pl.col("duplicates").sum(),
        (~pl.col("balanced")).sum().alias("unbalanced_partitions")).sort("source")
    reasons = pl.DataFrame(schema={"source": pl.Utf8, "reason": pl.Utf8, "records": pl.UInt32})
    if any(warehouse.exists(K.QUARANTINE, s) for s in K.SOURCES):
        q = pl.concat([warehouse.scan(K.QUARANTINE, s).select("source", "reasons")
                       for s in K.SOURCES if warehouse.exists(K.QUARANTINE, s)]).collect()
        reasons = (q.with_columns(pl.col("reasons").list.eval(pl.element().str.split(":").list.first())
                                  .list.unique())
                   .explode("reasons").group_by("source", "reasons").len()
                   .rename({"reasons": "reason", "len": "records"}).sort("source", "reason"))
    warehouse.write(K.GOVERNANCE, "data_quality", summary)
    warehouse.write(K.GOVERNANCE, "quarantine_reasons", reasons)
    bad = ledger.filter(~pl.col("balanced"))
    return dg.MaterializeResult(
        metadata=base_metadata(summary, time.perf_counter() - t0,
                               raisons=dg.MetadataValue.json({f"{s}/{r}": n for s, r, n in reasons.iter_rows()})),
        check_results=[dg.AssetCheckResult(
            check_name=K.CHECK_NOTHING_LOST, passed=bad.height == 0,
            metadata={"partitions_desequilibrees": bad.height,
                      "lus": int(ledger.get_column("read").sum() or 0)})],
    )


@dg.asset(
    key=K.CATALOG_KEY,
    group_name=K.GOVERNANCE,
    description=("Catalogue DuckDB en lecture seule (`warehouse/catalog.duckdb`): une vue par table "
                 "publiée, reconstruit puis substitué atomiquement pour que l'application ne soit "
                 "jamais bloquée par une matérialisation."),
    # last of the graph: it republishes every table, forecasts and indicators included
    deps=[K.EVENTS_KEY, K.QUALITY_KEY, K.FORECAST_KEY, K.FORECAST_HISTORY_KEY, K.BACKTEST_KEY,
          K.MODEL_REGISTRY_KEY,
          *[dg.AssetKey(["indicators", t]) for t in ("grid", "hotspots", "emerging_hotspots", "tension", "values",
                                                     "catalogue", "values_public", "alerts")]],
    kinds={"duckdb"},
    owners=[K.OWNER_DATA],
    automation_condition=dg.AutomationCondition.eager(),
    pool="warehouse_writer",
)
def warehouse_catalog(warehouse: Warehouse) -> dg.MaterializeResult:
    t0 = time.perf_counter()
    path = warehouse.publish_catalog()
    tables = [f"{layer}.{table}" for layer, table in warehouse.tables()]
    return dg.MaterializeResult(metadata={
        "chemin": dg.MetadataValue.path(str(path)),
        "tables": dg.MetadataValue.json(tables),
        "duree_s": round(time.perf_counter() - t0, 3),
        "dagster/row_count": len(tables),
    })


GOVERNANCE_ASSETS = [data_quality, warehouse_catalog]
