"""Asset keys, owners and tags: constants so that jobs, sensors, checks and tests agree."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tranquillite.contracts import contracts_for_source, load_contracts, sources

if TYPE_CHECKING:
    import dagster as dg

OWNER_DATA = "team:dgansi-donnees"
OWNER_SECURITY = "team:dgsec-police-municipale"
OWNER_DPO = "team:dpo"

RAW, CLEAN, QUARANTINE, GOVERNANCE = "raw", "clean", "quarantine", "governance"

EVENTS_KEY_PATH = (
    CLEAN,
    "events",
)
CATALOG_KEY_PATH = (
    GOVERNANCE,
    "warehouse_catalog",
)
QUALITY_KEY_PATH = (
    GOVERNANCE,
    "data_quality",
)
CONVENTION_ALERTS_KEY_PATH = (
    GOVERNANCE,
    "convention_alerts",
)
ACCESS_LOG_KEY_PATH = (
    GOVERNANCE,
    "app_access_log",
)
QUARANTINE_REASONS_KEY_PATH = (
    GOVERNANCE,
    "quarantine_reasons",
)
CONVENTION_LINEAGE_KEY_PATH = (
    GOVERNANCE,
    "convention_lineage",
)  # the Traçabilité page's facts (issue 11)

CHECK_NOTHING_LOST = "aucune_perte"
CHECK_SCHEMA = "schema_du_contrat"
CHECK_UNIQUE_IDS = "identifiants_uniques"
CHECK_IN_AREA = "localise_dans_la_zone"
CHECK_NO_PII = "sans_donnee_personnelle"


def raw_key(source: str) -> dg.AssetKey:
    return _asset_key([RAW, source])


def clean_key(contract: str) -> dg.AssetKey:
    return _asset_key([CLEAN, contract])


def quarantine_key(source: str) -> dg.AssetKey:
    return _asset_key([QUARANTINE, source])


CONVENTION_TAG_PREFIX = "convention/"
# the platform's reference data (study area outline, calendars, the indicator catalogue) are the City's
REFERENCE_CONVENTION = "internal"
SOURCE_TAG = "tranquillite/source"  # a raw asset: every record of one landing source
CONTRACT_TAG = "tranquillite/contrat"  # a clean asset: the records of one data contract
REFERENCE_TAG = "tranquillite/reference"  # a root asset built from the platform's reference data
KEEP_METADATA = "tranquillite/conventions_retenues"  # a derived asset that keeps only these conventions


def landing_files_key(source: str) -> dg.AssetKey:
    """`governance.landing_files` rows of one source (one asset per source, one table)."""
    return _asset_key([GOVERNANCE, "landing_files", source])


def ledger_key(source: str) -> dg.AssetKey:
    """`governance.ingestion_ledger` rows of one source (one asset per source, one table)."""
    return _asset_key([GOVERNANCE, "ingestion_ledger", source])


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


SOURCES = sources()

# --------------------------------------------------------------------------- forecasting (issue #3)
FEATURES, MODELS = "features", "models"
STUDY_GRID_KEY_PATH = (
    FEATURES,
    "study_grid",
)
PLANNED_EXPOSURE_KEY_PATH = (
    FEATURES,
    "planned_exposure",
)
OBSERVED_COUNTS_KEY_PATH = (
    FEATURES,
    "observed_counts",
)
CELL_SLOT_KEY_PATH = (
    FEATURES,
    "cell_slot",
)
BACKTEST_KEY_PATH = (
    MODELS,
    "backtest",
)
BACKTEST_SCORES_KEY_PATH = (
    MODELS,
    "backtest_scores",
)
BACKTEST_PLANNED_KEY_PATH = (
    MODELS,
    "backtest_evenements",
)
FORECAST_KEY_PATH = (
    MODELS,
    "forecast",
)
FORECAST_HISTORY_KEY_PATH = (
    MODELS,
    "forecast_history",
)
MODEL_REGISTRY_KEY_PATH = (
    MODELS,
    "model_registry",
)
AUDIT_LOOP_KEY_PATH = (
    MODELS,
    "audit_boucle",
)  # the feedback-loop audit (issue 13)
AUDIT_LOOP_ZONES_KEY_PATH = (
    MODELS,
    "audit_boucle_zones",
)  # its shares per arrondissement
BACKTEST_PUBLIC_KEY_PATH = (
    MODELS,
    "backtest_public",
)  # the backtest the public reads (City-only, issue 13)

# --------------------------------------------------------------------------- indicators (issue #4)
INDICATORS = "indicators"
FOOTPRINTS_KEY_PATH = (
    INDICATORS,
    "planned_footprints",
)
HOTSPOTS_KEY_PATH = (
    INDICATORS,
    "hotspots",
)
EMERGING_KEY_PATH = (
    INDICATORS,
    "emerging_hotspots",
)
TENSION_KEY_PATH = (
    INDICATORS,
    "tension",
)
VALUES_KEY_PATH = (
    INDICATORS,
    "values",
)
PUBLIC_KEY_PATH = (
    INDICATORS,
    "values_public",
)
ALERTS_KEY_PATH = (
    INDICATORS,
    "alerts",
)
GRID_KEY_PATH = (
    INDICATORS,
    "grid",
)
CATALOGUE_KEY_PATH = (
    INDICATORS,
    "catalogue",
)
PUBLIC_CONVENTIONS = frozenset({"internal"})  # the public restitution: the City's data only (C5)


# --------------------------------------------------------------------------- lazy asset keys (issue 14)
# `dg.AssetKey` needs dagster (~0.6 s to import): the keys above are declared as paths and built on
# first access (PEP 562), so that reading a tag, an owner or a layer name costs no dagster import.
_KEY_PATHS = {name[: -len("_PATH")]: path for name, path in globals().items() if name.endswith("_KEY_PATH")}


def _asset_key(path: list[str] | tuple[str, ...]) -> dg.AssetKey:
    import dagster as dg

    return dg.AssetKey(list(path))


def __getattr__(name: str):
    if name in _KEY_PATHS:
        key = globals()[name] = _asset_key(_KEY_PATHS[name])
        return key
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_KEY_PATHS])
