"""Forecasting facts on an H3 grid, per police shift: grid, slots, features, baselines, models,
metrics and an honest rolling-origin backtest.

Everything here is plain functions on Polars / NumPy data so that tests (and another city) can
drive it without Dagster; `tranquillite/assets/features.py` and `assets/models.py` wrap them as
assets.

Vocabulary:
* **cell** — an H3 cell of the study grid (`grid.build_grid`), with its zone and land area;
* **slot** — a police shift (06–14, 14–22, 22–06 local by default, `slots.SlotScheme`), identified
  by an integer `slot` = days since 1970-01-01 × shifts per day + shift index;
* **group** — a category group to forecast: one per fact source (`interventions`,
  `alertes_videoprotection`, `signalements`, or `incidents` elsewhere), plus `all` (their sum);
* **origin** — the slot boundary at which a forecast is issued; a forecast for slot `s` issued at
  origin `o` (lead `s - o`) uses only what was known at the start of slot `o`.
"""

from tranquillite.forecasting.study_area import AreaSpec

__all__ = ["AreaSpec"]
