"""`raw` layer: every landing record of a source, as read, one daily partition per export day;
and `governance/landing_files/<source>`: every version of every landing file of the source.

One multi-asset per source reads the day's files once: the records go to `raw.<source>`, and
each file's fingerprint (sha256, size, first seen), its records counted by the independent
counter (`tranquillite.record_count`) and by the parser, its issues and — for a file changed
after ingestion — the records its new version adds, removes and modifies go to
`governance.landing_files`. Files that cannot be given a day are listed there too, with why.
"""

import time
from datetime import datetime, timezone

import dagster as dg
import polars as pl

from tranquillite import file_versions as V
from tranquillite.assets import constants as K
from tranquillite.assets.metadata import RowTally, table_schema
from tranquillite.assets.partitions import DAILY
from tranquillite.contracts import contracts_for_source
from tranquillite.conventions.guard import ingestion_refused
from tranquillite.landing import LINEAGE_COLUMNS, source_columns
from tranquillite.resources import LandingZone, Warehouse

FILES_TABLE = V.FILES_TABLE


def issue_lines(issues: list) -> list[str]:
    """One line per kind of file issue and message, naming how many files and the first ones: an
    optional column absent from each of 2,922 daily exports is one warning, not 2,922 (every file's
    issues stay in `governance.landing_files`)."""
    files: dict[tuple[str, str], list[str]] = {}
    for i in issues:
        files.setdefault((i.kind, i.message), []).append(i.file)
    lines = []
    for (kind, message), names in files.items():
        names = sorted(set(names))
        if len(names) == 1:
            lines.append(f"{names[0]} — {kind}: {message}")
        else:
            more = ", …" if len(names) > 3 else ""
            lines.append(f"{kind}: {message} — {len(names)} fichiers ({', '.join(names[:3])}{more})")
    return lines


def _history(warehouse: Warehouse, part: str) -> pl.DataFrame | None:
    path = warehouse.file(K.GOVERNANCE, FILES_TABLE, part)
    return pl.read_parquet(path) if path.exists() else None


def _id_columns(source: str) -> list[str]:
    c = contracts_for_source(source)[0]
    return [c.field(c.id_field).header] + (["version"] if c.envelope else [])


def nothing_to_read(source: str, keys: list[str], landing: LandingZone, warehouse: Warehouse) -> bool:
    """No landing file of the source (dated or not) and no raw partition of the range already
    written (a file withdrawn after ingestion must still empty its partition): nothing to do."""
    if landing.files(source):
        return False
    if _history(warehouse, f"{source}_{V.UNASSIGNED_PART}") is not None:
        return False
    return not any(warehouse.file(K.RAW, source, k).exists() for k in keys)


def raw_columns(source: str) -> dict[str, pl.DataType]:
    """The raw table's columns when every landing header is present: the headers as text, then the
    lineage columns (`_line`, the first physical line, is a number)."""
    return {
        **{h: pl.String for h in source_columns(source)},
        **{c: pl.Int64 if c == "_line" else pl.String for c in LINEAGE_COLUMNS},
    }


def build_raw_asset(source: str) -> dg.AssetsDefinition:
    contracts = contracts_for_source(source)
    titles = ", ".join(c.title for c in contracts)
    provider = contracts[0].meta.get("provider", "")
    tags = K.source_tags(source)  # conventions: those of the source's contracts (derived)
    raw_schema = table_schema(raw_columns(source))
    specs = [
        dg.AssetSpec(
            key=K.raw_key(source),
            group_name=K.RAW,
            description=(
                f"Enregistrements bruts de la source « {source} » ({titles}), tels que déposés "
                f"dans `landing/{source}/` par {provider}. Tous les champs en texte, avec le texte "
                "d'origine de l'enregistrement (`_raw`, ses lignes physiques exactes), le fichier "
                "et le numéro de sa première ligne physique (`_line`)."
            ),
            kinds={"parquet", "polars"},
            owners=[K.OWNER_DATA],
            tags=tags,
            metadata={"dagster/column_schema": raw_schema},
            skippable=True,
        ),  # a source whose convention has ended yields nothing: downstream is skipped
        dg.AssetSpec(
            key=K.landing_files_key(source),
            group_name=K.GOVERNANCE,
            description=(
                f"Fichiers déposés de la source « {source} » (table `governance.landing_files`): "
                "une ligne par version de fichier — empreinte sha256, taille, première vue, "
                "enregistrements comptés par le compteur indépendant et par le lecteur, anomalies, "
                "et pour un fichier modifié après ingestion les enregistrements ajoutés, supprimés "
                "et modifiés. Les fichiers sans jour d'export valide y figurent avec leur raison."
            ),
            kinds={"parquet"},
            owners=[K.OWNER_DATA],
            tags=tags,
            skippable=True,
            metadata={"table": f"{K.GOVERNANCE}.{FILES_TABLE}", "dagster/column_schema": table_schema(V.FILES_SCHEMA)},
        ),
    ]

    @dg.multi_asset(
        name=f"raw_{source}",
        specs=specs,
        partitions_def=DAILY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool="warehouse_writer",
    )
    def _raw(context: dg.AssetExecutionContext, landing: LandingZone, warehouse: Warehouse):
        if ingestion_refused(source, context):  # convention ended: files kept unread until destroyed (#12)
            return
        if nothing_to_read(source, list(context.partition_keys), landing, warehouse):
            # a source with no landing file and nothing ingested before in the range (the sources a
            # city does not use): nothing is written, its clean and governance steps are skipped
            context.log.info(f"{source}: aucun fichier déposé ni déjà ingéré sur la plage — source ignorée")
            return
        t0 = time.perf_counter()
        now = datetime.now(timezone.utc)
        id_cols = _id_columns(source)
        histories, issues, read = [], [], RowTally()  # the records are not kept: eight years of days
        by_partition, unassigned = landing.inventory(source)  # the landing folder walked once per run
        with warehouse.writer() as out:  # a day is written while the next one is read
            for key in context.partition_keys:
                old = warehouse.file(K.RAW, source, key)
                old_raw = pl.read_parquet(old) if old.exists() else None
                df, reads = landing.read_partition(source, key, by_partition)
                part = f"{source}_{key}"
                files = V.merge(source, key, _history(warehouse, part), reads, old_raw, id_cols, now)
                out.write(K.RAW, source, df, key)
                out.write(K.GOVERNANCE, FILES_TABLE, files, part)
                read.add(df)
                histories.append(files.with_columns(pl.lit(key).alias("_run_partition")))
                issues.extend(i for r in reads for i in r.issues)
        # files without a valid day: recorded with their reason, never blocking the others
        part = f"{source}_{V.UNASSIGNED_PART}"
        rows = V.unassigned(
            source,
            [(p, a, *landing.fingerprint(p, source)) for p, a in unassigned],
            _history(warehouse, part),
            landing.path,
            now,
        )
        warehouse.write(K.GOVERNANCE, FILES_TABLE, rows, part)
        for r in rows.iter_rows(named=True):
            context.log.warning(f"{r['file']}: non ingéré — {r['unassigned_reason']}")
        issues = issue_lines(issues)
        for msg in issues:
            context.log.warning(msg)
        files = pl.concat(histories) if histories else pl.DataFrame(schema=V.FILES_SCHEMA)
        this_run = files.filter(pl.col("first_seen") == now)
        ch = V.changes(this_run)
        current = files.filter(pl.col("current"))
        counts = dict(
            fichiers=dg.MetadataValue.int(current.height),
            enregistrements_comptes=dg.MetadataValue.int(int(current.get_column("records").sum() or 0)),
            enregistrements_lus=dg.MetadataValue.int(read.rows),
            versions_nouvelles_apres_ingestion=dg.MetadataValue.int(ch["new_versions"]),
            enregistrements_ajoutes=dg.MetadataValue.int(ch["rows_added"]),
            enregistrements_supprimes=dg.MetadataValue.int(ch["rows_removed"]),
            enregistrements_modifies=dg.MetadataValue.int(ch["rows_modified"]),
            fichiers_non_assignes=dg.MetadataValue.int(rows.height),
        )
        elapsed = time.perf_counter() - t0
        yield dg.MaterializeResult(
            asset_key=K.raw_key(source),
            metadata=read.metadata(
                elapsed,
                raw_schema,
                partitions=dg.MetadataValue.int(len(context.partition_keys)),
                octets=dg.MetadataValue.int(int(current.get_column("bytes").sum() or 0)),
                anomalies_fichiers=dg.MetadataValue.md("\n".join(f"- {m}" for m in issues) or "aucune"),
                **counts,
            ),
        )
        yield dg.MaterializeResult(
            asset_key=K.landing_files_key(source),
            metadata={
                "dagster/row_count": dg.MetadataValue.int(files.height + rows.height),
                "duree_s": dg.MetadataValue.float(round(elapsed, 3)),
                "partitions": dg.MetadataValue.int(len(context.partition_keys)),
                **counts,
            },
        )

    return _raw


RAW_ASSETS = [build_raw_asset(s) for s in K.SOURCES]
