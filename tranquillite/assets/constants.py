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
CONVENTION_ALERTS_KEY = dg.AssetKey([GOVERNANCE, "convention_alerts"])
ACCESS_LOG_KEY = dg.AssetKey([GOVERNANCE, "app_access_log"])
QUARANTINE_REASONS_KEY = dg.AssetKey([GOVERNANCE, "quarantine_reasons"])
CONVENTION_LINEAGE_KEY = dg.AssetKey([GOVERNANCE, "convention_lineage"])  # the Traçabilité page's facts (issue 11)

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


CONVENTION_TAG_PREFIX = "convention/"
# the platform's reference data (study area outline, calendars, the indicator catalogue) are the City's
REFERENCE_CONVENTION = "internal"
SOURCE_TAG = "tranquillite/source"          # a raw asset: every record of one landing source
CONTRACT_TAG = "tranquillite/contrat"       # a clean asset: the records of one data contract
REFERENCE_TAG = "tranquillite/reference"    # a root asset built from the platform's reference data
KEEP_METADATA = "tranquillite/conventions_retenues"  # a derived asset that keeps only these conventions


def landing_files_key(source: str) -> dg.AssetKey:
    """`governance.landing_files` rows of one source (one asset per source, one table)."""
    return dg.AssetKey([GOVERNANCE, "landing_files", source])


def ledger_key(source: str) -> dg.AssetKey:
    """`governance.ingestion_ledger` rows of one source (one asset per source, one table)."""
    return dg.AssetKey([GOVERNANCE, "ingestion_ledger", source])


def convention_tags(conventions: set[str] | list[str]) -> dict[str, str]:
    """Tags naming the convention(s) an asset's data come from (auditors filter on them).

    Never typed on an asset by hand: `tranquillite.assets.conventions.with_conventions` derives them
    through the asset graph from the declarations below."""
    return {f"{CONVENTION_TAG_PREFIX}{c}": "" for c in sorted(conventions)}


def source_tags(source: str) -> dict[str, str]:
    """Declares a root asset holding the records of a landing source (its contracts name the conventions)."""
    return {SOURCE_TAG: source}


def contract_tags(contract: str) -> dict[str, str]:
    """Declares an asset holding the records of one data contract (which names its convention)."""
    return {CONTRACT_TAG: contract}


def reference_tags(name: str) -> dict[str, str]:
    """Declares a root asset built from the platform's reference data (`REFERENCE_CONVENTION`)."""
    return {REFERENCE_TAG: name}


def keeps_only(conventions: set[str] | list[str]) -> dict[str, list[str]]:
    """Metadata of a derived asset whose rows keep only these conventions of what it reads (its
    blocking check must prove it on every materialisation)."""
    return {KEEP_METADATA: sorted(conventions)}


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

# --------------------------------------------------------------------------- indicators (issue #4)
INDICATORS = "indicators"
FOOTPRINTS_KEY = dg.AssetKey([INDICATORS, "planned_footprints"])
HOTSPOTS_KEY = dg.AssetKey([INDICATORS, "hotspots"])
EMERGING_KEY = dg.AssetKey([INDICATORS, "emerging_hotspots"])
TENSION_KEY = dg.AssetKey([INDICATORS, "tension"])
VALUES_KEY = dg.AssetKey([INDICATORS, "values"])
PUBLIC_KEY = dg.AssetKey([INDICATORS, "values_public"])
ALERTS_KEY = dg.AssetKey([INDICATORS, "alerts"])
GRID_KEY = dg.AssetKey([INDICATORS, "grid"])
CATALOGUE_KEY = dg.AssetKey([INDICATORS, "catalogue"])
PUBLIC_CONVENTIONS = frozenset({"internal"})   # the public restitution: the City's data only (C5)
