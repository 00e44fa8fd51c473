"""Asset keys, owners and tags: constants so that jobs, sensors, checks and tests agree."""

from __future__ import annotations

import dagster as dg

from tranquillite.contracts import Contract, contracts_for_source, load_contracts, sources

OWNER_DATA = "team:dgansi-donnees"
OWNER_SECURITY = "team:dgsec-police-municipale"
OWNER_DPO = "team:dpo"

RAW, CLEAN, QUARANTINE, GOVERNANCE = "raw", "clean", "quarantine", "governance"

EVENTS_KEY = dg.AssetKey([CLEAN, "events"])
CATALOG_KEY = dg.AssetKey([GOVERNANCE, "warehouse_catalog"])
QUALITY_KEY = dg.AssetKey([GOVERNANCE, "data_quality"])
QUARANTINE_REASONS_KEY = dg.AssetKey([GOVERNANCE, "quarantine_reasons"])

CHECK_NOTHING_LOST = "aucune_perte"
CHECK_SCHEMA = "schema_du_contrat"
CHECK_UNIQUE_IDS = "identifiants_uniques"
CHECK_IN_AREA = "localise_dans_la_zone"
CHECK_NO_PII = "sans_donnee_personnelle"


def raw_key(source: str) -> dg.AssetKey:
    return dg.AssetKey([RAW, source])


def clean_key(contract: str) -> dg.AssetKey:
    return dg.AssetKey([CLEAN, contract])


def quarantine_key(source: str) -> dg.AssetKey:
    return dg.AssetKey([QUARANTINE, source])


def landing_files_key(source: str) -> dg.AssetKey:
    """`governance.landing_files` rows of one source (one asset per source, one table)."""
    return dg.AssetKey([GOVERNANCE, "landing_files", source])


def ledger_key(source: str) -> dg.AssetKey:
    """`governance.ingestion_ledger` rows of one source (one asset per source, one table)."""
    return dg.AssetKey([GOVERNANCE, "ingestion_ledger", source])


def convention_tags(conventions: set[str] | list[str]) -> dict[str, str]:
    """Tags naming the convention(s) an asset's data come from (auditors filter on them)."""
    return {f"convention/{c}": "" for c in sorted(conventions)}


def source_conventions(source: str) -> set[str]:
    return {c.convention for c in contracts_for_source(source)}


def all_conventions() -> set[str]:
    return {c.convention for c in load_contracts().values()}


def source_contracts(source: str) -> list[Contract]:
    return contracts_for_source(source)


SOURCES = sources()

# --------------------------------------------------------------------------- forecasting (issue #3)
FEATURES, MODELS = "features", "models"
STUDY_GRID_KEY = dg.AssetKey([FEATURES, "study_grid"])
PLANNED_EXPOSURE_KEY = dg.AssetKey([FEATURES, "planned_exposure"])
OBSERVED_COUNTS_KEY = dg.AssetKey([FEATURES, "observed_counts"])
CELL_SLOT_KEY = dg.AssetKey([FEATURES, "cell_slot"])
BACKTEST_KEY = dg.AssetKey([MODELS, "backtest"])
BACKTEST_SCORES_KEY = dg.AssetKey([MODELS, "backtest_scores"])
BACKTEST_PLANNED_KEY = dg.AssetKey([MODELS, "backtest_evenements"])
FORECAST_KEY = dg.AssetKey([MODELS, "forecast"])
FORECAST_HISTORY_KEY = dg.AssetKey([MODELS, "forecast_history"])
MODEL_REGISTRY_KEY = dg.AssetKey([MODELS, "model_registry"])
