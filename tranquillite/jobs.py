"""Jobs: daily ingestion (partitioned: raw → clean + quarantine) and publication (unpartitioned)."""

from __future__ import annotations

import dagster as dg

from tranquillite.assets import constants as K

INGEST_JOB = "ingestion_quotidienne"
PUBLISH_JOB = "publication"
PREVISION_JOB = "prevision"
INDICATORS_JOB = "indicateurs"

# tags of a run over a range of daily partitions (single-run backfill)
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

ingest_selection = (dg.AssetSelection.groups(K.RAW, K.CLEAN, K.GOVERNANCE)
                    - dg.AssetSelection.assets(K.EVENTS_KEY, K.QUALITY_KEY, K.QUARANTINE_REASONS_KEY, K.CATALOG_KEY))
publish_selection = dg.AssetSelection.assets(K.EVENTS_KEY, K.QUALITY_KEY, K.QUARANTINE_REASONS_KEY, K.CATALOG_KEY)
indicators_selection = dg.AssetSelection.groups("indicators") | dg.AssetSelection.assets(K.CATALOG_KEY)
prevision_selection = dg.AssetSelection.groups(K.FEATURES, K.MODELS)

ingest_job = dg.define_asset_job(
    INGEST_JOB, selection=ingest_selection,
    description="Lit la zone d'atterrissage et produit les tables propres et la quarantaine pour une plage de jours.",
)
publish_job = dg.define_asset_job(
    PUBLISH_JOB, selection=publish_selection,
    description="Table unifiée des événements, bilan qualité et catalogue DuckDB en lecture seule.",
)
prevision_job = dg.define_asset_job(
    PREVISION_JOB, selection=prevision_selection,
    description=("Grille H3, caractéristiques (plage de jours, exécution unique), backtest, champion et prévision "
                 "des 7 prochains jours. À lancer après la publication, avec la plage de partitions."),
)

indicators_job = dg.define_asset_job(
    INDICATORS_JOB, selection=indicators_selection,
    description="Zones de tension, indicateurs du catalogue, alertes, puis catalogue DuckDB republié.",
)


def source_selection(source: str) -> list[dg.AssetKey]:
    from tranquillite.contracts import contracts_for_source
    return [K.raw_key(source), K.landing_files_key(source), K.quarantine_key(source), K.ledger_key(source),
            *[K.clean_key(c.name) for c in contracts_for_source(source)]]
