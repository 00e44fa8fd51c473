"""A real materialisation of the indicators layer in a temporary Dagster instance, on a small
synthetic Marseille ingested by the existing graph; then the alert sensor on its output."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import yaml

from tranquillite import runner
from tranquillite.assets import ALL_ASSETS
from tranquillite.assets import constants as K
from tranquillite.assets.conventions import with_conventions
from tranquillite.assets.indicators import ALERTS_KEY, INDICATOR_KEYS, INDICATORS
from tranquillite.sensors.alerts import alerts_sensor
from tranquillite.definitions import build_defs
from tranquillite.indicators.config import IndicatorSettings, default_catalogue_path
from tranquillite.resources import Warehouse
from tranquillite.settings import paths
from tranquillite.synthetic import generate

START, DAYS = date(2025, 1, 1), 28
NIGHT = {
    "id": "faits_nocturnes",
    "name": "Faits nocturnes",
    "definition": "Faits entre 22 h et 6 h.",
    "formula": "faits dont l'heure de début est ≥ 22 h ou < 6 h",
    "unit": "faits",
    "sources": ["interventions", "alertes_videoprotection", "signalements"],
    "relation": "faits",
    "value": "count(*)",
    "filter": "heure >= 22 OR heure < 6",
    "granularity": {"areas": ["ville", "arrondissement"], "periods": ["semaine"]},
    "trends": True,
    "owner": "team:dgsec-police-municipale",
    "profiles": ["analyste", "encadrement_pm"],
}


def _definitions(catalogue: Path) -> dg.Definitions:
    base = build_defs()
    return dg.Definitions(
        assets=with_conventions(ALL_ASSETS),
        jobs=[
            dg.define_asset_job(
                "indicateurs",
                selection=dg.AssetSelection.groups(INDICATORS) | dg.AssetSelection.assets(K.STUDY_GRID_KEY),
            )
        ],
        sensors=[alerts_sensor],
        resources={
            **base.resources,
            "indicators": IndicatorSettings(catalogue_path=str(catalogue), emerging_min_periods=3),
        },
    )


@pytest.fixture(scope="module")
def layer(tmp_path_factory):
    home = tmp_path_factory.mktemp("indicators_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRANQUILLITE_HOME", str(home))
        mp.setenv("DAGSTER_HOME", str(home / "dagster"))
        generate(home, start=START, days=DAYS, seed=42, scale=0.25)
        instance = runner.instance()
        ingest = runner.materialize(build_defs(), START, date(2025, 1, DAYS), instance)
        assert all(o.success for o in ingest)
        d = yaml.safe_load(default_catalogue_path().read_text(encoding="utf-8"))
        d["indicators"].append(NIGHT)  # a new indicator: a YAML entry, nothing else
        catalogue = home / "indicators.yaml"
        catalogue.write_text(yaml.safe_dump(d, allow_unicode=True, sort_keys=False), encoding="utf-8")
        defs = _definitions(catalogue)
        result = defs.resolve_job_def("indicateurs").execute_in_process(instance=instance, raise_on_error=False)
        yield defs, instance, result, Warehouse(root=str(paths().warehouse))


def test_the_layer_materialises_and_every_check_passes(layer):
    defs, instance, result, wh = layer
    assert result.success
    done = {
        e.asset_key for e in result.get_asset_materialization_events() for e in [e.event_specific_data.materialization]
    }
    assert done >= set(INDICATOR_KEYS)
    checks = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert all(c.passed for c in checks), [(c.check_name, c.passed) for c in checks]
    mine = {c.check_name for c in checks if c.asset_key.path[0] == INDICATORS}
    assert mine == {"carte_complete", "indice_coherent", "secret_statistique", "identifiants_uniques"}
    for table in (
        "grid",
        "planned_footprints",
        "hotspots",
        "emerging_hotspots",
        "tension",
        "values",
        "values_public",
        "catalogue",
        "alerts",
    ):
        assert wh.exists(INDICATORS, table), table


def test_tables_are_consistent(layer):
    _, _, _, wh = layer
    grid, study = wh.read(INDICATORS, "grid"), wh.read(K.FEATURES, "study_grid")
    assert grid.height == study.height  # the published study grid is the analysis grid
    hot = wh.read(INDICATORS, "hotspots")
    assert set(hot["period_level"]) == {"semaine", "mois"} and "toutes" in set(hot["category"])
    assert hot.group_by("period_level", "category", "period").len()["len"].unique().to_list() == [grid.height]
    em = wh.read(INDICATORS, "emerging_hotspots")
    assert em.height and set(em["n_periods"]) >= {3}
    ten = wh.read(INDICATORS, "tension")
    assert ten.height == grid.height * 21 and ten["index"].is_between(0, 100).all()
    assert ten["as_of"].n_unique() == 1 and ten["slot_start"].min() == ten["as_of"][0]
    vals = wh.read(INDICATORS, "values")
    assert "faits_nocturnes" in set(vals["indicator_id"])
    assert "faits_par_categorie" in set(vals["indicator_id"])
    pub = wh.read(INDICATORS, "values_public")
    assert pub.height and not ({"faits_nocturnes", "charge_evenements_prevus"} & set(pub["indicator_id"]))
    cat = wh.read(INDICATORS, "catalogue")
    # the forecasting job ran before (runner.materialize): the backtest indicator is computed, and each
    # of its values is the pooled 5 % hit rate of the backtest rows of its period and breakdown
    assert cat.filter(pl.col("indicator_id") == "precision_prevision")["status"][0] == "calculé"
    prec = vals.filter(pl.col("indicator_id") == "precision_prevision")
    bt = (
        wh.read(K.MODELS, "backtest")
        .filter((pl.col("coverage") - 0.05).abs() < 1e-9)
        .with_columns(
            pl.col("origin").dt.date().alias("d"),
            pl.concat_str("model", "category", "horizon", separator=" · ").alias("dimension"),
        )
    )
    assert prec.height and bt.height
    for row in prec.iter_rows(named=True):
        b = bt.filter(
            (pl.col("dimension") == row["dimension"]) & pl.col("d").is_between(row["period_start"], row["period_end"])
        )
        expected = 100.0 * float((b["hit_rate"] * b["n_events"]).sum()) / float(b["n_events"].sum())
        assert row["value"] == pytest.approx(expected, rel=1e-9, abs=1e-9), row
        assert row["n"] == b["n_events"].sum()
    alerts = wh.read(INDICATORS, "alerts")
    assert alerts["alert_id"].n_unique() == alerts.height


def test_the_sensor_raises_the_layer_alerts_once(layer):
    defs, instance, _, wh = layer
    alerts = wh.read(INDICATORS, "alerts")
    resources = {"warehouse": wh, "indicators": IndicatorSettings(sensor_max_per_tick=10_000)}
    res = alerts_sensor(dg.build_sensor_context(instance=instance, resources=resources))
    assert len(res.asset_events) == alerts.height
    assert {e.metadata["alert_id"].value for e in res.asset_events} == set(alerts["alert_id"])
    again = alerts_sensor(dg.build_sensor_context(instance=instance, cursor=res.cursor, resources=resources))
    assert again.asset_events == [] and json.loads(again.cursor) == json.loads(res.cursor)
    assert defs.resolve_sensor_def("alertes_indicateurs").name == "alertes_indicateurs"
    assert ALERTS_KEY in defs.resolve_asset_graph().get_all_asset_keys()


def test_definitions_with_the_layer_are_loadable(layer):
    defs, *_ = layer
    dg.Definitions.validate_loadable(defs)
