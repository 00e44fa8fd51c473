"""The daily indicators run recomputes only the periods a new day touches, and its tables are those
of a full recompute, table for table (real materialisations in a temporary instance)."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tranquillite import runner
from tranquillite.assets.indicators import INDICATORS
from tranquillite.definitions import build_defs
from tranquillite.indicators.incremental import FULL_TAG
from tranquillite.resources import Warehouse
from tranquillite.settings import paths
from tranquillite.synthetic import generate
from tranquillite.assets import constants as K

START, DAYS = date(2025, 1, 1), 24
TABLES = ("grid", "planned_footprints", "hotspots", "emerging_hotspots", "tension", "values", "values_public",
          "catalogue", "alerts")


def _calcul(instance, key) -> dict:
    ev = instance.get_latest_materialization_event(key)
    return ev.asset_materialization.metadata["calcul"].data


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    home = tmp_path_factory.mktemp("incremental_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRANQUILLITE_HOME", str(home))
        mp.setenv("DAGSTER_HOME", str(home / "dagster"))
        generate(home, start=START, days=DAYS, seed=7, scale=0.25)
        instance = runner.instance()
        last = START + timedelta(days=DAYS - 1)
        first = runner.materialize(build_defs(), START, last - timedelta(days=1), instance)
        assert all(o.success for o in first), [(o.job, o.reason) for o in first]
        first_mode = {k: _calcul(instance, k) for k in (K.VALUES_KEY, K.HOTSPOTS_KEY)}
        daily = runner.materialize(build_defs(), last, last, instance)   # one new day
        assert all(o.success for o in daily), [(o.job, o.reason) for o in daily]
        daily_mode = {k: _calcul(instance, k) for k in (K.VALUES_KEY, K.HOTSPOTS_KEY)}
        wh = Warehouse(root=str(paths().warehouse))
        incremental = {t: wh.read(INDICATORS, t) for t in TABLES}
        full = runner._run(build_defs(), runner.INDICATORS_JOB, instance, {FULL_TAG: "oui"})
        assert full.success, full.reason
        full_mode = {k: _calcul(instance, k) for k in (K.VALUES_KEY, K.HOTSPOTS_KEY)}
        recomputed = {t: wh.read(INDICATORS, t) for t in TABLES}
        yield first_mode, daily_mode, full_mode, incremental, recomputed


def test_the_new_day_recomputes_only_what_it_touches(runs):
    first_mode, daily_mode, full_mode, _, _ = runs
    assert {m["mode"] for m in first_mode.values()} == {"complet"}
    values, hot = daily_mode[K.VALUES_KEY], daily_mode[K.HOTSPOTS_KEY]
    assert values["mode"] == "incrémental" and values["jours_modifies"]["faits"] >= 1
    assert hot["mode"] == "incrémental"
    # the new day's week and month (and a week it completes): not the whole history
    assert 1 <= hot["cartes_recalculees"]["semaine"] <= 2 and hot["cartes_recalculees"]["mois"] == 1
    # the forced full run (a convention's end) recomputes everything
    assert {m["mode"] for m in full_mode.values()} == {"complet"}


@pytest.mark.parametrize("table", TABLES)
def test_incremental_tables_equal_a_full_recompute(runs, table):
    *_, incremental, recomputed = runs
    a, b = incremental[table], recomputed[table]
    assert a.height > 0 or table in ("alerts", "emerging_hotspots")   # too few weeks to classify
    assert_frame_equal(a, b, check_exact=True)


def test_only_the_touched_periods_differ_from_the_day_before(runs):
    """The kept periods are not frozen: a full recompute gives them the same rows (above), and the
    periods of the new day do change."""
    *_, incremental, _ = runs
    v = incremental["values"]
    last = START + timedelta(days=DAYS - 1)
    day = v.filter((pl.col("period_level") == "jour") & (pl.col("period_start") == last)
                   & (pl.col("indicator_id") == "faits_par_categorie"))
    assert day.height > 0
