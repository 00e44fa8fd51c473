"""Every asset of the graph, by layer (imports every layer's module: LightGBM, Presidio, spaCy…)."""

from tranquillite.assets.clean import CLEAN_ASSETS
from tranquillite.assets.events import events
from tranquillite.assets.features import FEATURE_ASSETS
from tranquillite.assets.governance import GOVERNANCE_ASSETS
from tranquillite.assets.indicators import INDICATOR_ASSETS
from tranquillite.assets.lineage_table import LINEAGE_ASSETS
from tranquillite.assets.models import MODEL_ASSETS
from tranquillite.assets.models_audit import AUDIT_ASSETS
from tranquillite.assets.models_public import PUBLIC_MODEL_ASSETS
from tranquillite.assets.purge import PURGE_ASSETS
from tranquillite.assets.raw import RAW_ASSETS

ALL_ASSETS = [
    *RAW_ASSETS,
    *CLEAN_ASSETS,
    events,
    *GOVERNANCE_ASSETS,
    *PURGE_ASSETS,
    *FEATURE_ASSETS,
    *MODEL_ASSETS,
    *PUBLIC_MODEL_ASSETS,
    *AUDIT_ASSETS,
    *INDICATOR_ASSETS,
    *LINEAGE_ASSETS,
]
