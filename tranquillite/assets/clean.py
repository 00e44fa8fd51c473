"""`clean` layer: records typed per contract, deduplicated, located (geometry, H3, arrondissement);
`quarantine` layer: every rejected record whole, with every reason.

One multi-asset per landing source: the records of the source are validated once, then split
into one clean table per contract (the Préfecture's four record types) and the source's
quarantine, and the source's rows of the ingestion ledger (`governance.ingestion_ledger`) are
written. A blocking check proves nothing was lost: for every partition, the records counted in
the landing files by the independent counter (`governance.landing_files`) = clean + quarantined
+ exact duplicates.
"""

import time

import dagster as dg
import polars as pl

from tranquillite.assets import constants as K
from tranquillite.assets.metadata import base_metadata, contract_column_schema, table_schema
from tranquillite.assets.partitions import DAILY, rows_by_partition
from tranquillite.contracts import Contract, contracts_for_source
from tranquillite.file_versions import FILES_TABLE
from tranquillite.forecasting.study_area import StudyArea
from tranquillite.landing import LINEAGE_COLUMNS, source_columns
from tranquillite.pii.columns import count_with_pii
from tranquillite.resources import Warehouse
from tranquillite.validation import LEDGER_SCHEMA, QUARANTINE_SCHEMA, clean_schema, reason_code, validate

LEDGER_TABLE = "ingestion_ledger"


def counted_records(warehouse: Warehouse, source: str, keys: list[str]) -> dict[str, int]:
    """Per partition, the records of the current landing files by the independent counter."""
    parts = [f"{source}_{k}" for k in keys]
    if not any(warehouse.file(K.GOVERNANCE, FILES_TABLE, p).exists() for p in parts):
        return {}
    files = warehouse.read(K.GOVERNANCE, FILES_TABLE, parts)
    if "current" in files.columns:
        files = files.filter(pl.col("current"))
    if files.height == 0:
        return {}
    return dict(files.group_by("partition").agg(pl.col("records").sum()).iter_rows())


def contract_checks(c: Contract, df: pl.DataFrame) -> list[dg.AssetCheckResult]:
    """Checks derived from the contract, on the rows this run wrote."""
    key = K.clean_key(c.name)
    expected = clean_schema(c)
    actual = dict(df.schema)
    schema_ok = actual == expected
    id_cols = [c.id_field] + (["version"] if c.envelope else [])
    dup = df.height - df.unique(subset=["_partition", *id_cols]).height if df.height else 0
    outside = df.filter(pl.col("h3_cell").is_null() | pl.col("arrondissement").is_null()).height
    pii = count_with_pii(df, c.all_fields)  # the same detector as the validation (tranquillite.pii)
    return [
        dg.AssetCheckResult(
            asset_key=key,
            check_name=K.CHECK_SCHEMA,
            passed=schema_ok,
            metadata={
                "ecarts": dg.MetadataValue.text(
                    "aucun"
                    if schema_ok
                    else str(
                        {
                            k: (str(expected.get(k)), str(actual.get(k)))
                            for k in set(expected) | set(actual)
                            if expected.get(k) != actual.get(k)
                        }
                    )
                )
            },
        ),
        dg.AssetCheckResult(asset_key=key, check_name=K.CHECK_UNIQUE_IDS, passed=dup == 0, metadata={"doublons": dup}),
        dg.AssetCheckResult(
            asset_key=key, check_name=K.CHECK_IN_AREA, passed=outside == 0, metadata={"lignes_non_localisees": outside}
        ),
        dg.AssetCheckResult(
            asset_key=key,
            check_name=K.CHECK_NO_PII,
            passed=pii == 0,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"textes_avec_donnee_personnelle": int(pii)},
        ),
    ]


def build_clean_assets(source: str) -> dg.AssetsDefinition:
    contracts = contracts_for_source(source)
    # the column schemas of the definitions: a day's result repeats one only if its table differs
    declared = {c.name: contract_column_schema(c) for c in contracts}
    declared[K.QUARANTINE] = table_schema(QUARANTINE_SCHEMA)
    declared[LEDGER_TABLE] = table_schema({**LEDGER_SCHEMA, "balanced": pl.Boolean})
    specs = [
        dg.AssetSpec(
            key=K.clean_key(c.name),
            group_name=K.CLEAN,
            deps=[K.raw_key(source)],
            description=(
                f"{c.title}: enregistrements valides selon le contrat `data_contracts/{c.name}.yaml`, "
                "typés, dédoublonnés, géolocalisés (géométrie GeoJSON, point représentatif, "
                "cellule H3, arrondissement ou zone de la zone d'étude configurée). Aucune donnée personnelle (C2)."
            ),
            kinds={"parquet", "polars"},
            owners=[K.OWNER_DATA],
            tags=K.contract_tags(c.name),
            metadata={"contrat": f"data_contracts/{c.name}.yaml", "dagster/column_schema": declared[c.name]},
        )
        for c in contracts
    ] + [
        dg.AssetSpec(
            key=K.quarantine_key(source),
            group_name=K.GOVERNANCE,
            deps=[K.raw_key(source), K.landing_files_key(source)],
            description=(
                f"Quarantaine de la source « {source} »: chaque enregistrement rejeté, conservé "
                "entier (`raw`: son texte d'origine), avec sa partition, son fichier, sa première ligne "
                "physique et toutes ses raisons. Accès restreint (peut contenir des données personnelles "
                "détectées)."
            ),
            kinds={"parquet"},
            owners=[K.OWNER_DPO],
            metadata={"dagster/column_schema": declared[K.QUARANTINE]},
        ),
        dg.AssetSpec(
            key=K.ledger_key(source),
            group_name=K.GOVERNANCE,
            deps=[K.raw_key(source), K.landing_files_key(source)],
            description=(
                f"Journal d'ingestion de la source « {source} » (table `governance.ingestion_ledger`): "
                "par jour, enregistrements comptés dans les fichiers déposés par le compteur "
                "indépendant (`read`), produits par le lecteur (`parsed`), propres, en quarantaine, "
                "doublons exacts, et si le jour est équilibré."
            ),
            kinds={"parquet"},
            owners=[K.OWNER_DPO],
            metadata={"table": f"{K.GOVERNANCE}.{LEDGER_TABLE}", "dagster/column_schema": declared[LEDGER_TABLE]},
        ),
    ]
    checks = [
        dg.AssetCheckSpec(
            K.CHECK_NOTHING_LOST,
            asset=K.quarantine_key(source),
            blocking=True,
            description=(
                "Pour chaque partition: enregistrements comptés dans les fichiers "
                "(compteur indépendant du lecteur) = propres + quarantaine + "
                "doublons exacts."
            ),
        )
    ]
    for c in contracts:
        checks += [
            dg.AssetCheckSpec(
                K.CHECK_SCHEMA,
                asset=K.clean_key(c.name),
                blocking=True,
                description="Le schéma de la table est celui dérivé du contrat.",
            ),
            dg.AssetCheckSpec(
                K.CHECK_UNIQUE_IDS,
                asset=K.clean_key(c.name),
                blocking=True,
                description="Identifiant (et version) unique par partition.",
            ),
            dg.AssetCheckSpec(
                K.CHECK_IN_AREA,
                asset=K.clean_key(c.name),
                description="Chaque ligne a une cellule H3 et un arrondissement.",
            ),
            dg.AssetCheckSpec(
                K.CHECK_NO_PII,
                asset=K.clean_key(c.name),
                blocking=True,
                description="Aucun texte libre ne contient de donnée personnelle (C2).",
            ),
        ]

    @dg.multi_asset(
        name=f"clean_{source}",
        specs=specs,
        check_specs=checks,
        partitions_def=DAILY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool="warehouse_writer",
    )
    def _clean(context: dg.AssetExecutionContext, warehouse: Warehouse, study_area: StudyArea):
        t0 = time.perf_counter()
        keys = list(context.partition_keys)
        try:
            raw = warehouse.read(K.RAW, source, keys)
        except FileNotFoundError:
            raise dg.Failure(f"raw/{source}: partitions {keys[0]}…{keys[-1]} non matérialisées") from None
        for col in source_columns(source) + LINEAGE_COLUMNS:
            if col not in raw.columns:
                raw = raw.with_columns(pl.lit(None, dtype=pl.Utf8).alias(col))
        # locations are checked against the configured study area (TRANQUILLITE_AREA), dates read
        # in its time zone; `donnees`: no boundary, only valid WGS84 positions
        spec = study_area.spec()
        outcome = validate(
            raw,
            contracts,
            area=None if spec.from_data else spec.area(),
            h3_resolution=spec.h3_resolution,
            timezone=spec.timezone,
            anywhere=spec.from_data,
        )
        counted = counted_records(warehouse, source, keys)
        ledger = outcome.ledger(keys, counted)
        q = outcome.quarantine
        with warehouse.writer() as out:  # the day files, two at a time
            for k, part in rows_by_partition(ledger, "partition", keys, dict(ledger.schema)).items():
                out.write(K.GOVERNANCE, LEDGER_TABLE, part, f"{source}_{k}")
            for k, part in rows_by_partition(q, "partition", keys, QUARANTINE_SCHEMA).items():
                out.write(K.QUARANTINE, source, part, k)
            for c in contracts:
                for k, part in rows_by_partition(outcome.clean[c.name], "_partition", keys, clean_schema(c)).items():
                    out.write(K.CLEAN, c.name, part, k)
        elapsed = time.perf_counter() - t0
        for c in contracts:
            df = outcome.clean[c.name]
            yield dg.MaterializeResult(
                asset_key=K.clean_key(c.name),
                metadata=base_metadata(df, elapsed, declared[c.name], partitions=len(keys)),
                check_results=contract_checks(c, df),
            )
        by_reason = (
            q.select(pl.col("reasons").list.eval(pl.element().str.split(":").list.first()))
            .explode("reasons")
            .group_by("reasons")
            .len()
            .sort("len", descending=True)
            if q.height
            else pl.DataFrame({"reasons": [], "len": []})
        )
        unbalanced = ledger.filter(~pl.col("balanced"))
        figures = {
            "lus": int(ledger.get_column("read").sum()),
            "lus_par_le_lecteur": outcome.read,
            "propres": outcome.n_clean,
            "quarantaine": outcome.n_quarantined,
            "doublons_exacts": outcome.duplicates,
        }
        yield dg.MaterializeResult(
            asset_key=K.quarantine_key(source),
            metadata=base_metadata(
                q,
                elapsed,
                declared[K.QUARANTINE],
                partitions=len(keys),
                **figures,
                raisons=dg.MetadataValue.json({r: n for r, n in by_reason.iter_rows()}),
            ),
            check_results=[
                dg.AssetCheckResult(
                    asset_key=K.quarantine_key(source),
                    check_name=K.CHECK_NOTHING_LOST,
                    passed=unbalanced.height == 0 and outcome.balanced,
                    metadata={
                        **figures,
                        "partitions_desequilibrees": dg.MetadataValue.json(
                            {
                                r["partition"]: {
                                    k: r[k] for k in ("read", "parsed", "clean", "quarantined", "duplicates")
                                }
                                for r in unbalanced.iter_rows(named=True)
                            }
                        ),
                    },
                )
            ],
        )
        yield dg.MaterializeResult(
            asset_key=K.ledger_key(source),
            metadata=base_metadata(
                ledger,
                elapsed,
                declared[LEDGER_TABLE],
                partitions=len(keys),
                partitions_desequilibrees=dg.MetadataValue.int(unbalanced.height),
                **figures,
            ),
        )

    return _clean


CLEAN_ASSETS = [build_clean_assets(s) for s in K.SOURCES]
__all__ = ["CLEAN_ASSETS", "contract_checks", "reason_code"]
