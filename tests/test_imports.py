"""Import budget (issue 14): reading a constant or the landing sensor must not load the heavy
libraries (LightGBM, Presidio/spaCy, statsmodels, geopandas), which cost seconds at every import
of the sensor's code location. Structural, not timed: timings belong to a benchmark."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("lightgbm", "presidio_analyzer", "spacy", "statsmodels", "geopandas", "sklearn")


@pytest.mark.parametrize(
    "module",
    [
        "tranquillite.assets.constants",
        "tranquillite.sensors.landing",
        "tranquillite.jobs",
        "tranquillite.settings",
        "tranquillite.sensors.alerts",
    ],
)
def test_light_modules_do_not_load_heavy_libraries(module):
    code = f"import sys, {module}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} loads {out.stdout.strip()}"


def test_the_whole_graph_is_still_reachable_from_the_package():
    import tranquillite.assets as assets
    from tranquillite.assets.graph import ALL_ASSETS

    assert assets.ALL_ASSETS is ALL_ASSETS and len(ALL_ASSETS) > 20
    with pytest.raises(AttributeError):
        assets.NO_SUCH_THING  # noqa: B018


# --------------------------------------------------------------------------- below the 0.5 s budget
# reading a constant, or importing the landing sensor's module, loads neither dagster (~0.5-0.9 s on
# its own) nor a data library; the Dagster sensor object needs dagster (its floor) and nothing else heavy
LIGHT_BUDGET = ("dagster", "numpy", "polars", "duckdb", "pyarrow", "lightgbm", "pandas", "presidio_analyzer", "spacy")
ROOT = Path(__file__).resolve().parents[1]


def _loaded_after(statement: str, tmp_path: Path) -> set[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRANQUILLITE_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


@pytest.mark.parametrize("module", ["tranquillite.assets.constants", "tranquillite.sensors.landing"])
def test_light_modules_load_no_dagster_nor_data_library(module, tmp_path):
    loaded = _loaded_after(f"import {module}", tmp_path)
    assert not loaded & set(LIGHT_BUDGET), loaded & set(LIGHT_BUDGET)


def test_the_landing_sensor_object_loads_dagster_only(tmp_path):
    loaded = _loaded_after("from tranquillite.sensors.landing import landing_sensor", tmp_path)
    assert "dagster" in loaded  # a sensor is a Dagster object: its floor
    assert not loaded & (set(LIGHT_BUDGET) - {"dagster"}), loaded & set(LIGHT_BUDGET)


def test_the_lazy_landing_sensor_is_the_one_dagster_object():
    import dagster as dg

    import tranquillite.sensors as sensors
    from tranquillite.sensors import landing

    assert isinstance(landing.landing_sensor, dg.SensorDefinition) and landing.landing_sensor.name == "landing_sensor"
    assert landing.landing_sensor is landing.landing_sensor is sensors.landing_sensor  # built once
    assert landing.landing_sensor.job_name == "ingestion_quotidienne"
    with pytest.raises(AttributeError):
        landing.no_such_sensor  # noqa: B018


def test_lazy_asset_keys_are_dagster_keys():
    import dagster as dg

    from tranquillite.assets import constants as K

    assert K.EVENTS_KEY == dg.AssetKey(["clean", "events"])
    assert K.ALERTS_KEY is K.ALERTS_KEY  # built once, then a plain module attribute
    assert K.raw_key("signalements") == dg.AssetKey(["raw", "signalements"])
    assert "HOTSPOTS_KEY" in dir(K)
    with pytest.raises(AttributeError):
        K.NO_SUCH_KEY  # noqa: B018


# --------------------------------------------------------------------------- a run's start-up
# every Dagster run (a process of its own under the daemon), `tranquillite` command and code-server
# load imports the definitions: the libraries only some steps use load with those steps
RUN_START_HEAVY = ("lightgbm", "sklearn", "presidio_analyzer", "spacy", "scipy.stats", "scipy.signal")


def test_a_runs_start_up_loads_the_model_and_text_libraries_only_when_used(tmp_path):
    code = (
        "import sys, json; import tranquillite.runner, tranquillite.definitions; "
        f"print(json.dumps([m for m in {RUN_START_HEAVY!r} if m in sys.modules]))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRANQUILLITE_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_the_lazily_loaded_engines_still_answer():
    import numpy as np

    import tranquillite.pii as pii
    from tranquillite.forecasting.sepp import lfilter
    from tranquillite.pii import detect

    assert pii.KINDS[0] == "telephone" and pii.detect is detect
    assert detect(["Rappeler au 06 12 34 56 78"])[0].kind == "telephone"
    assert pii.mask_text("Rappeler au 06 12 34 56 78").endswith("██ ██ ██ ██ ██")
    np.testing.assert_allclose(lfilter([0.0, 1.0], [1.0, -0.5], np.array([1.0, 0.0, 0.0])), [0.0, 1.0, 0.5])
    with pytest.raises(AttributeError):
        pii.NO_SUCH_NAME  # noqa: B018
