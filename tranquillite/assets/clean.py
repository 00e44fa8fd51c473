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
from collections import Counter

import dagster as dg
import polars as pl

from tranquillite.assets import constants as K
from tranquillite.assets.metadata import RowTally, base_metadata, contract_column_schema, table_schema
from tranquillite.assets.partitions import DAILY, rows_by_partition
from tranquillite.assets.raw import raw_columns
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


def contract_figures(c: Contract, df: pl.DataFrame) -> dict:
    """What the contract's checks count on rows a run wrote: each is per row or per partition, so a
    run's figures are the sums of its chunks' (`add_figures`)."""
    expected, actual = clean_schema(c), dict(df.schema)
    id_cols = [c.id_field] + (["version"] if c.envelope else [])
    return {
        "ecarts": None
        if actual == expected
        else {
            k: (str(expected.get(k)), str(actual.get(k)))
            for k in set(expected) | set(actual)
            if expected.get(k) != actual.get(k)
        },
        "doublons": df.height - df.unique(subset=["_partition", *id_cols]).height if df.height else 0,
        "lignes_non_localisees": df.filter(pl.col("h3_cell").is_null() | pl.col("arrondissement").is_null()).height,
        # the same detector as the validation (tranquillite.pii)
        "textes_avec_donnee_personnelle": int(count_with_pii(df, c.all_fields)),
    }


def add_figures(a: dict | None, b: dict) -> dict:
    """The figures of two chunks of a run together (the first schema difference met is kept)."""
    if a is None:
        return b
    return {k: (a[k] or b[k]) if k == "ecarts" else a[k] + b[k] for k in b}


def contract_check_results(c: Contract, f: dict) -> list[dg.AssetCheckResult]:
    key = K.clean_key(c.name)
    pii = f["textes_avec_donnee_personnelle"]
    return [
        dg.AssetCheckResult(
            asset_key=key,
            check_name=K.CHECK_SCHEMA,
            passed=f["ecarts"] is None,
            metadata={"ecarts": dg.MetadataValue.text("aucun" if f["ecarts"] is None else str(f["ecarts"]))},
        ),
        dg.AssetCheckResult(
            asset_key=key,
            check_name=K.CHECK_UNIQUE_IDS,
            passed=f["doublons"] == 0,
            metadata={"doublons": f["doublons"]},
        ),
        dg.AssetCheckResult(
            asset_key=key,
            check_name=K.CHECK_IN_AREA,
            passed=f["lignes_non_localisees"] == 0,
            metadata={"lignes_non_localisees": f["lignes_non_localisees"]},
        ),
        dg.AssetCheckResult(
            asset_key=key,
            check_name=K.CHECK_NO_PII,
            passed=pii == 0,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"textes_avec_donnee_personnelle": pii},
        ),
    ]


def contract_checks(c: Contract, df: pl.DataFrame) -> list[dg.AssetCheckResult]:
    """Checks derived from the contract, on the rows this run wrote."""
    return contract_check_results(c, contract_figures(c, df))


CHUNK_DAYS = 92  # days validated at once: a range's memory grows with a quarter, not with its years


def raw_days(warehouse: Warehouse, source: str, days: list[str]) -> pl.DataFrame:
    """The raw records of `days` (none for the days without a raw file), every raw column present."""
    try:
        raw = warehouse.read(K.RAW, source, days)
    except FileNotFoundError:  # none of these days has a raw file
        raw = pl.DataFrame(schema=raw_columns(source))
    for col in source_columns(source) + LINEAGE_COLUMNS:
        if col not in raw.columns:
            raw = raw.with_columns(pl.lit(None, dtype=pl.Utf8).alias(col))
    return raw


def reason_counts(q: pl.DataFrame) -> Counter:
    """Quarantined records per reason code (a record counts once for each of its reasons)."""
    if q.height == 0:
        return Counter()
    codes = q.select(pl.col("reasons").list.eval(pl.element().str.split(":").list.first())).explode("reasons")
    return Counter(dict(codes.group_by("reasons").len().iter_rows()))


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
        if not any(warehouse.file(K.RAW, source, k).exists() for k in keys):
            raise dg.Failure(f"raw/{source}: partitions {keys[0]}…{keys[-1]} non matérialisées")
        # locations are checked against the configured study area (TRANQUILLITE_AREA), dates read
        # in its time zone; `donnees`: no boundary, only valid WGS84 positions
        spec = study_area.spec()
        area = None if spec.from_data else spec.area()
        # a range (eight years of days) is validated CHUNK_DAYS at a time: every rule, the duplicates and
        # the ledger are per record or per day, and what the results and checks say is summed
        tally = {name: RowTally() for name in [*(c.name for c in contracts), K.QUARANTINE]}
        checked: dict[str, dict | None] = {c.name: None for c in contracts}
        ledgers, reasons, figures, balanced = [], Counter(), Counter(), True
        with warehouse.writer() as out:  # the day files, two at a time
            for i in range(0, len(keys), CHUNK_DAYS):
                days = keys[i : i + CHUNK_DAYS]
                outcome = validate(
                    raw_days(warehouse, source, days),
                    contracts,
                    area=area,
                    h3_resolution=spec.h3_resolution,
                    timezone=spec.timezone,
                    anywhere=spec.from_data,
                )
                ledger = outcome.ledger(days, counted_records(warehouse, source, days))
                q = outcome.quarantine
                for k, part in rows_by_partition(ledger, "partition", days, dict(ledger.schema)).items():
                    out.write(K.GOVERNANCE, LEDGER_TABLE, part, f"{source}_{k}")
                for k, part in rows_by_partition(q, "partition", days, QUARANTINE_SCHEMA).items():
                    out.write(K.QUARANTINE, source, part, k)
                for c in contracts:
                    df = outcome.clean[c.name]
                    for k, part in rows_by_partition(df, "_partition", days, clean_schema(c)).items():
                        out.write(K.CLEAN, c.name, part, k)
                    tally[c.name].add(df)
                    checked[c.name] = add_figures(checked[c.name], contract_figures(c, df))
                tally[K.QUARANTINE].add(q)
                ledgers.append(ledger)
                reasons.update(reason_counts(q))
                figures.update(
                    {
                        "lus_par_le_lecteur": outcome.read,
                        "propres": outcome.n_clean,
                        "quarantaine": outcome.n_quarantined,
                        "doublons_exacts": outcome.duplicates,
                    }
                )  # `update` keeps the zeros (`+=` drops them)
                balanced = balanced and outcome.balanced
                del outcome, ledger, q, df  # the next chunk's records replace these
        elapsed = time.perf_counter() - t0
        ledger = pl.concat(ledgers)
        for c in contracts:
            yield dg.MaterializeResult(
                asset_key=K.clean_key(c.name),
                metadata=tally[c.name].metadata(elapsed, declared[c.name], partitions=len(keys)),
                check_results=contract_check_results(c, checked[c.name]),
            )
        unbalanced = ledger.filter(~pl.col("balanced"))
        figures = {"lus": int(ledger.get_column("read").sum()), **dict(figures)}
        yield dg.MaterializeResult(
            asset_key=K.quarantine_key(source),
            metadata=tally[K.QUARANTINE].metadata(
                elapsed,
                declared[K.QUARANTINE],
                partitions=len(keys),
                **figures,
                raisons=dg.MetadataValue.json(dict(sorted(reasons.items(), key=lambda r: (-r[1], r[0])))),
            ),
            check_results=[
                dg.AssetCheckResult(
                    asset_key=K.quarantine_key(source),
                    check_name=K.CHECK_NOTHING_LOST,
                    passed=unbalanced.height == 0 and balanced,
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
