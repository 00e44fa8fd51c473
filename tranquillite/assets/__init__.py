"""The asset graph, by layer: raw → clean (+ quarantine) → events → governance."""

import warnings

import dagster as dg

# single-run backfill policies are marked beta in Dagster 1.13; we rely on them deliberately
warnings.filterwarnings("ignore", category=dg.BetaWarning)

from tranquillite.assets.clean import CLEAN_ASSETS  # noqa: E402
from tranquillite.assets.purge import PURGE_ASSETS  # noqa: E402
from tranquillite.assets.events import events  # noqa: E402
from tranquillite.assets.governance import GOVERNANCE_ASSETS  # noqa: E402
from tranquillite.assets.raw import RAW_ASSETS  # noqa: E402
from tranquillite.assets.features import FEATURE_ASSETS  # noqa: E402
from tranquillite.assets.models import MODEL_ASSETS  # noqa: E402
from tranquillite.assets.indicators import INDICATOR_ASSETS  # noqa: E402
from tranquillite.assets.lineage_table import LINEAGE_ASSETS  # noqa: E402

ALL_ASSETS = [*RAW_ASSETS, *CLEAN_ASSETS, events, *GOVERNANCE_ASSETS, *PURGE_ASSETS, *FEATURE_ASSETS, *MODEL_ASSETS,
              *INDICATOR_ASSETS, *LINEAGE_ASSETS]
