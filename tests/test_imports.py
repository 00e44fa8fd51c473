"""Import budget (issue 14): reading a constant or the landing sensor must not load the heavy
libraries (LightGBM, Presidio/spaCy, statsmodels, geopandas), which cost seconds at every import
of the sensor's code location. Structural, not timed: timings belong to a benchmark."""

import subprocess
import sys

import pytest

HEAVY = ("lightgbm", "presidio_analyzer", "spacy", "statsmodels", "geopandas", "sklearn")


@pytest.mark.parametrize("module", ["tranquillite.assets.constants", "tranquillite.sensors.landing",
                                    "tranquillite.jobs", "tranquillite.settings",
                                    "tranquillite.sensors.alerts"])
def test_light_modules_do_not_load_heavy_libraries(module):
    code = (f"import sys, {module}\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} loads {out.stdout.strip()}"


def test_the_whole_graph_is_still_reachable_from_the_package():
    import tranquillite.assets as assets
    from tranquillite.assets.graph import ALL_ASSETS

    assert assets.ALL_ASSETS is ALL_ASSETS and len(ALL_ASSETS) > 20
    with pytest.raises(AttributeError):
        assets.NO_SUCH_THING  # noqa: B018
