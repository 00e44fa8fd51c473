"""`governance/quarantine_purge`: quarantined records holding personal data are kept only as long
as the DPO sets (C2; `tranquillite.retention`, default 30 days), then removed from the quarantine
Parquet partitions, each purge recorded without any content (when, which partitions, how many).

Run daily by the schedule `purge_quarantaine_quotidienne` (03:15, Europe/Paris; on by default: the
retention is a legal obligation, not an option), or from the Dagster UI (job `purge_quarantaine`).
"""

from __future__ import annotations

import time
from datetime import date, datetime, timezone

import dagster as dg
import polars as pl

from tranquillite import retention as R
from tranquillite.assets import constants as K
from tranquillite.resources import Warehouse
from tranquillite.settings import paths

PURGE_KEY = dg.AssetKey([K.GOVERNANCE, "quarantine_purge"])


def _old_partitions(warehouse: Warehouse, source: str, before: date) -> list[str]:
    out = []
    for k in warehouse.partitions(K.QUARANTINE, source):
        try:
            if date.fromisoformat(k) < before:
                out.append(k)
        except ValueError:  # not a day: never purged blindly
            continue
    return out


def purge(warehouse: Warehouse, days: int, today: date | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Remove the personal-data quarantine rows of partitions older than `days`; returns the purge
    log rows and the identities of the purged rows (no content)."""
    limit = R.cutoff(days, today)
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    log, keys = [], []
    for source in K.SOURCES:
        for part in _old_partitions(warehouse, source, limit):
            q = warehouse.read(K.QUARANTINE, source, [part])
            if "reasons" not in q.columns or q.is_empty():
                continue
            pii = q.filter(R.holds_personal_data())
            if pii.is_empty():
                continue
            warehouse.write(K.QUARANTINE, source, q.filter(~R.holds_personal_data()), part)
            log.append(
                {
                    "purged_at": stamp,
                    "source": source,
                    "partition": part,
                    "records": pii.height,
                    "retention_days": days,
                    "cutoff": limit.isoformat(),
                }
            )
            keys.append(
                pii.select(
                    pl.lit(source).alias("source"),
                    pl.lit(part).alias("partition"),
                    pl.col("file").cast(pl.Utf8),
                    pl.col("line").cast(pl.Int64),
                    pl.col("record_id").cast(pl.Utf8),
                    pl.col("reasons")
                    .list.eval(pl.element().str.split(":").list.first())
                    .list.unique()
                    .alias("reasons"),
                    pl.lit(stamp).alias("purged_at"),
                )
            )
    schema = {**R.PURGED_SCHEMA, "reasons": pl.List(pl.Utf8)}
    return (
        pl.DataFrame(log, schema=R.PURGES_SCHEMA),
        pl.concat(keys).select(list(schema)) if keys else pl.DataFrame(schema=schema),
    )


def _append(warehouse: Warehouse, table: str, new: pl.DataFrame) -> pl.DataFrame:
    old = warehouse.read(K.GOVERNANCE, table) if warehouse.exists(K.GOVERNANCE, table) else new.clear()
    out = pl.concat([old, new], how="diagonal_relaxed")
    warehouse.write(K.GOVERNANCE, table, out)
    return out


@dg.asset(
    key=PURGE_KEY,
    group_name=K.GOVERNANCE,
    description=(
        "Purge de la quarantaine (C2): les enregistrements en quarantaine pour donnée personnelle sont "
        "supprimés des partitions plus anciennes que la durée de conservation fixée par le DPO "
        "(application, page Quarantaine; 30 jours par défaut). Chaque purge est journalisée sans aucun "
        "contenu dans `governance.quarantine_purges` (quand, quelle source, quelle partition, combien) "
        "et les identifiants des lignes purgées dans `governance/quarantine_purged`, pour que le bilan "
        "d'ingestion reste explicable: lus = propres + quarantaine + doublons + purgés."
    ),
    deps=[K.quarantine_key(s) for s in K.SOURCES],  # it rewrites their partitions
    kinds={"parquet"},
    owners=[K.OWNER_DPO],
    pool="warehouse_writer",
)
def quarantine_purge(warehouse: Warehouse) -> dg.MaterializeResult:
    t0 = time.perf_counter()
    days = R.retention_days(paths().home)
    log, keys = purge(warehouse, days)
    all_log = _append(warehouse, R.PURGES_TABLE, log)
    _append(warehouse, R.PURGED_TABLE, keys)
    return dg.MaterializeResult(
        metadata={
            "duree_de_conservation_jours": days,
            "partitions_purgees": dg.MetadataValue.json(
                sorted({f"{s}/{p}" for s, p in log.select("source", "partition").iter_rows()})
            ),
            "enregistrements_purges": int(log.get_column("records").sum() or 0),
            "purges_journalisees": all_log.height,
            "dagster/row_count": all_log.height,
            "duree_s": round(time.perf_counter() - t0, 3),
        }
    )


PURGE_ASSETS = [quarantine_purge]
