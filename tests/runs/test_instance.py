"""The Dagster instance of a home comes from the committed template (run monitoring, one writer at
a time, SQLite storage), and the pool wait is a validated setting."""

from __future__ import annotations

import pytest

from tranquillite import runner
from tranquillite.settings import SettingsError, settings


def test_the_instance_is_configured_from_the_committed_template(home):
    inst = runner.instance()
    cfg = home / "dagster" / "dagster.yaml"
    assert cfg.read_text(encoding="utf-8") == runner.INSTANCE_TEMPLATE.read_text(encoding="utf-8")
    assert inst.run_monitoring_enabled
    assert inst.run_monitoring_settings["free_slots_after_run_end_seconds"] > 0
    assert inst.run_monitoring_max_runtime_seconds > 0
    assert inst.event_log_storage.get_pool_config().default_pool_limit == 1
    assert type(inst.run_storage).__name__ == "SqliteRunStorage"  # SQLite stays the default


def test_an_old_generated_config_is_upgraded_and_an_administrators_one_is_kept(home):
    dh = home / "dagster"
    dh.mkdir()
    (dh / "dagster.yaml").write_text(runner.LEGACY_CONFIG, encoding="utf-8")
    runner.install_instance_config(dh)
    assert (dh / "dagster.yaml").read_text(encoding="utf-8").startswith(runner.TEMPLATE_MARKER)
    mine = "telemetry:\n  enabled: false\nconcurrency:\n  pools:\n    default_limit: 2\n"
    (dh / "dagster.yaml").write_text(mine, encoding="utf-8")
    runner.install_instance_config(dh)
    assert (dh / "dagster.yaml").read_text(encoding="utf-8") == mine


@pytest.mark.parametrize("value", ["inf", "nan", "0", "-5", "jamais", "1e9"])
def test_the_pool_wait_must_be_a_plausible_duration(value):
    with pytest.raises(SettingsError, match="TRANQUILLITE_POOL_WAIT_SECONDS"):
        settings({"TRANQUILLITE_POOL_WAIT_SECONDS": value})
    assert settings({"TRANQUILLITE_POOL_WAIT_SECONDS": "45"}).pool_wait_seconds == 45
    assert settings({}).pool_wait_seconds == 300
