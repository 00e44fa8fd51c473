"""`raw` layer: every landing record of a source, as read, one daily partition per export day."""


import time

import dagster as dg
import polars as pl

from tranquillite.assets import constants as K
from tranquillite.assets.metadata import base_metadata
from tranquillite.assets.partitions import DAILY
from tranquillite.contracts import contracts_for_source
from tranquillite.conventions.guard import ingestion_refused
from tranquillite.resources import LandingZone, Warehouse

FILES_TABLE = "landing_files"


def _file_rows(source: str, reads) -> pl.DataFrame:
    return pl.DataFrame(
        [{"source": source, "partition": r.partition, "file": r.path.name, "path": str(r.path),
          "sha256": r.sha256, "bytes": r.bytes, "records": r.records.height,
          "issues": [f"{i.kind}: {i.message}" for i in r.issues]} for r in reads],
        schema={"source": pl.Utf8, "partition": pl.Utf8, "file": pl.Utf8, "path": pl.Utf8, "sha256": pl.Utf8,
                "bytes": pl.Int64, "records": pl.Int64, "issues": pl.List(pl.Utf8)})


def build_raw_asset(source: str) -> dg.AssetsDefinition:
    contracts = contracts_for_source(source)
    titles = ", ".join(c.title for c in contracts)
    provider = contracts[0].meta.get("provider", "")

    @dg.asset(
        key=K.raw_key(source),
        group_name=K.RAW,
        description=(f"Enregistrements bruts de la source « {source} » ({titles}), tels que déposés "
                     f"dans `landing/{source}/` par {provider}. Tous les champs en texte, avec la "
                     "ligne d'origine (`_raw`), le fichier et le numéro de ligne."),
        partitions_def=DAILY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={"parquet", "polars"},
        owners=[K.OWNER_DATA],
        tags=K.source_tags(source),
        pool="warehouse_writer",
        output_required=False,  # a source whose convention has ended yields nothing: downstream is skipped
    )
    def _raw(context: dg.AssetExecutionContext, landing: LandingZone, warehouse: Warehouse):
        if ingestion_refused(source, context):  # convention ended: files kept unread until destroyed (#12)
            return
        t0 = time.perf_counter()
        frames, files, issues = [], [], []
        for key in context.partition_keys:
            df, reads = landing.read_partition(source, key)
            warehouse.write(K.RAW, source, df, key)
            warehouse.write(K.GOVERNANCE, FILES_TABLE, _file_rows(source, reads), f"{source}_{key}")
            frames.append(df)
            files.extend(reads)
            issues.extend(f"{i.file} — {i.kind}: {i.message}" for r in reads for i in r.issues)
        for msg in issues:
            context.log.warning(msg)
        df = pl.concat(frames) if frames else pl.DataFrame()
        yield dg.MaterializeResult(metadata=base_metadata(
            df, time.perf_counter() - t0,
            partitions=dg.MetadataValue.int(len(context.partition_keys)),
            fichiers=dg.MetadataValue.int(len(files)),
            octets=dg.MetadataValue.int(sum(r.bytes for r in files)),
            anomalies_fichiers=dg.MetadataValue.md("\n".join(f"- {m}" for m in issues) or "aucune"),
        ))

    return _raw


RAW_ASSETS = [build_raw_asset(s) for s in K.SOURCES]
