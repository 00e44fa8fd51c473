"""Jobs: daily ingestion (partitioned: raw → clean + quarantine) and publication (unpartitioned)."""

from __future__ import annotations

import dagster as dg

from tranquillite.assets import constants as K

INGEST_JOB = "ingestion_quotidienne"
PUBLISH_JOB = "publication"

ingest_selection = (dg.AssetSelection.groups(K.RAW, K.CLEAN, K.GOVERNANCE)
                    - dg.AssetSelection.assets(K.EVENTS_KEY, K.QUALITY_KEY, K.CATALOG_KEY))
publish_selection = dg.AssetSelection.assets(K.EVENTS_KEY, K.QUALITY_KEY, K.CATALOG_KEY)

ingest_job = dg.define_asset_job(
    INGEST_JOB, selection=ingest_selection,
    description="Lit la zone d'atterrissage et produit les tables propres et la quarantaine pour une plage de jours.",
)
publish_job = dg.define_asset_job(
    PUBLISH_JOB, selection=publish_selection,
    description="Table unifiée des événements, bilan qualité et catalogue DuckDB en lecture seule.",
)


def source_selection(source: str) -> list[dg.AssetKey]:
    from tranquillite.contracts import contracts_for_source
    return [K.raw_key(source), K.quarantine_key(source), *[K.clean_key(c.name) for c in contracts_for_source(source)]]
