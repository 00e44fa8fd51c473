"""Jobs: daily ingestion (partitioned: raw → clean + quarantine), publication (unpartitioned),
weekly training (backtest, champion, models in service), daily forecasting and indicators — and
which of them a later one needs (`REQUIRES`)."""

from __future__ import annotations

import dagster as dg

from tranquillite.assets import constants as K
from tranquillite.run_guard import patch_pool_wait

# every process that loads the jobs (CLI, daemon-launched run workers) waits for a pool slot
# without burning a core (see run_guard.patch_pool_wait)
patch_pool_wait()

INGEST_JOB = "ingestion_quotidienne"
PUBLISH_JOB = "publication"
PREVISION_JOB = "prevision"
TRAINING_JOB = "entrainement_hebdomadaire"
INDICATORS_JOB = "indicateurs"
PURGE_JOB = "purge_quarantaine"

# tags of a run over a range of daily partitions (single-run backfill)
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

PURGE_KEY = dg.AssetKey([K.GOVERNANCE, "quarantine_purge"])
# The jobs a job needs to have succeeded in the same `materialize` chain: it reads their outputs.
# Upstream assets of the other jobs are optional inputs, read as last published: the indicators
# use the latest forecast and backtest if there are any (and drop the forecast's weight
# otherwise), so a failed `prevision` does not stop them (`OPTIONAL_UPSTREAM`, checked against
# the asset graph by tests/runs/test_chain.py).
# The daily forecast reads the models last put in service by the training job (an optional input:
# a failed training leaves the previous champion in service; none at all is a clear error).
REQUIRES: dict[str, tuple[str, ...]] = {
    PUBLISH_JOB: (INGEST_JOB,),
    TRAINING_JOB: (PUBLISH_JOB,),
    PREVISION_JOB: (PUBLISH_JOB,),
    INDICATORS_JOB: (PUBLISH_JOB,),
}
OPTIONAL_UPSTREAM: dict[str, tuple[str, ...]] = {
    INDICATORS_JOB: (TRAINING_JOB, PREVISION_JOB),
    PREVISION_JOB: (TRAINING_JOB,),
}

ingest_selection = dg.AssetSelection.groups(K.RAW, K.CLEAN, K.GOVERNANCE) - dg.AssetSelection.assets(
    K.EVENTS_KEY,
    K.QUALITY_KEY,
    K.QUARANTINE_REASONS_KEY,
    K.CATALOG_KEY,
    PURGE_KEY,
    K.CONVENTION_ALERTS_KEY,
    K.CONVENTION_LINEAGE_KEY,
)
# the lineage per convention (issue 11) is recomputed before each publication of the catalog
publish_selection = dg.AssetSelection.assets(
    K.EVENTS_KEY, K.QUALITY_KEY, K.QUARANTINE_REASONS_KEY, K.CONVENTION_LINEAGE_KEY, K.CATALOG_KEY
)
indicators_selection = dg.AssetSelection.groups("indicators") | dg.AssetSelection.assets(
    K.CONVENTION_LINEAGE_KEY, K.CATALOG_KEY
)
# the features of the run's range (partitions, incremental) in both; the training job alone runs
# the backtest and trains, the daily forecast only predicts with the models in service
training_selection = dg.AssetSelection.groups(K.FEATURES) | dg.AssetSelection.assets(
    K.BACKTEST_KEY,
    K.BACKTEST_SCORES_KEY,
    K.BACKTEST_PLANNED_KEY,
    K.BACKTEST_PUBLIC_KEY,
    K.MODEL_REGISTRY_KEY,
    K.AUDIT_LOOP_KEY,
    K.AUDIT_LOOP_ZONES_KEY,
)
prevision_selection = dg.AssetSelection.groups(K.FEATURES) | dg.AssetSelection.assets(K.FORECAST_KEY)

ingest_job = dg.define_asset_job(
    INGEST_JOB,
    selection=ingest_selection,
    description="Lit la zone d'atterrissage et produit les tables propres et la quarantaine pour une plage de jours.",
)
publish_job = dg.define_asset_job(
    PUBLISH_JOB,
    selection=publish_selection,
    description="Table unifiée des événements, bilan qualité et catalogue DuckDB en lecture seule.",
)
training_job = dg.define_asset_job(
    TRAINING_JOB,
    selection=training_selection,
    description=(
        "Entraînement hebdomadaire: grille H3, caractéristiques de la plage de jours, backtest à origine "
        "glissante, choix du champion (contrôle bloquant: il bat chaque référence), champion réentraîné "
        "et rangé dans le magasin de modèles avec le registre. La prévision quotidienne s'en sert."
    ),
)
prevision_job = dg.define_asset_job(
    PREVISION_JOB,
    selection=prevision_selection,
    description=(
        "Prévision quotidienne: caractéristiques des derniers jours et prévision des 7 prochains jours "
        "par le champion en service et ses modèles entraînés (ni backtest ni entraînement: le job "
        f"{TRAINING_JOB} les fait). À lancer après la publication, avec la plage de partitions."
    ),
)

indicators_job = dg.define_asset_job(
    INDICATORS_JOB,
    selection=indicators_selection,
    description="Zones de tension, indicateurs du catalogue, alertes, puis catalogue DuckDB republié.",
)

# C2: quarantined personal data past the DPO's retention, then the quality figures and the catalog
purge_job = dg.define_asset_job(
    PURGE_JOB,
    selection=dg.AssetSelection.assets(
        PURGE_KEY, K.QUALITY_KEY, K.QUARANTINE_REASONS_KEY, K.CONVENTION_LINEAGE_KEY, K.CATALOG_KEY
    ),
    description=(
        "Purge de la quarantaine: données personnelles au-delà de la durée de conservation fixée par le "
        "DPO, journal des purges, bilan qualité et catalogue republiés."
    ),
)


def source_selection(source: str) -> list[dg.AssetKey]:
    from tranquillite.contracts import contracts_for_source

    return [
        K.raw_key(source),
        K.landing_files_key(source),
        K.quarantine_key(source),
        K.ledger_key(source),
        *[K.clean_key(c.name) for c in contracts_for_source(source)],
    ]
