"""The asset graph, by layer: raw → clean (+ quarantine) → events → governance → features → models →
indicators.

Importing this package is cheap: `tranquillite.assets.constants` (keys, owners, tags) is what the
sensors, jobs and tests need, and it must not pay for LightGBM, Presidio or spaCy. The assets
themselves are in `tranquillite.assets.graph`, loaded on first use of `ALL_ASSETS` (PEP 562).
"""

import warnings

# dagster's own warning class (`dg.BetaWarning` is this class), from the light `dagster_shared`
# package: importing dagster here would cost every reader of a constant ~0.6 s (issue 14)
from dagster_shared.utils.warnings import BetaWarning

# single-run backfill policies are marked beta in Dagster 1.13; we rely on them deliberately
warnings.filterwarnings("ignore", category=BetaWarning)


def __getattr__(name: str):
    if name == "ALL_ASSETS":
        from tranquillite.assets.graph import ALL_ASSETS

        return ALL_ASSETS
    raise AttributeError(f"module 'tranquillite.assets' has no attribute {name!r}")
