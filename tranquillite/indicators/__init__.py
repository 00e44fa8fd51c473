"""Tension zones, the indicator catalogue and alerts (issue #5; C4, T7, T8).

Plain, vectorised functions on Polars / NumPy / SciPy data, driven by tests and wrapped as
assets by `tranquillite/assets/indicator_maps.py` (footprints, grid, hot spots, emerging hot
spots) and `tranquillite/assets/indicators.py` (tension, values, alerts), which read the warehouse
through `tranquillite/assets/indicator_inputs.py`:

* `grid` — the analysis grid (H3 cells, arrondissement, quartier) and grid_disk(k) weights;
* `hotspots` — Getis-Ord Gi* per category and period (week, month), exact count p-values,
  Benjamini–Hochberg FDR;
* `emerging` — ESRI's emerging hot-spot classes from the Mann–Kendall trend of Gi* z-scores;
* `planned` — footprints of planned events on the grid, their active shifts, their collisions;
* `tension` — the anticipatory tension index per cell and coming shift, with its components;
* `catalogue` — generic materialisation of `data_contracts/indicators.yaml`, trends, public
  release with small-count suppression;
* `alerts` — forecast exceedances, new hot spots, colliding planned events, and the sensor's
  raise-once logic;
* `config` — the catalogue loader and `IndicatorSettings` (the numeric parameters).
"""

from tranquillite.indicators.config import IndicatorSettings, load_catalogue

__all__ = ["IndicatorSettings", "load_catalogue"]
