"""The deployment files of docs/deploiement.md are read and checked, so that they cannot drift from
the code: systemd units start commands that exist, the environment template names only real
settings (and validates once its placeholders are filled), the production instance and the
multiprocess run configuration pass Dagster's own schemas, the Helm values mount the warehouse
where the settings put it."""

from __future__ import annotations

import configparser
import importlib.util
import re
import shlex
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml

from tests.cli import run_cli
from tranquillite.settings import ENV, settings

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
FILLED = {"<mot de passe>": "s3cret", "<64 caractères: openssl rand -hex 32>": "a" * 64}


def env_template() -> dict[str, str]:
    text = (DEPLOY / "tranquillite.env.example").read_text(encoding="utf-8")
    for placeholder, value in FILLED.items():
        text = text.replace(placeholder, value)
    pairs = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert not any("<" in v for v in pairs.values()), "un champ à remplacer n'est pas connu du test"
    return pairs


def unit(path: Path) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(interpolation=None, strict=True)
    cp.optionxform = str
    cp.read(path, encoding="utf-8")
    return cp


def test_the_services_and_make_ui_record_a_range_as_the_cli_does():
    """Runs launched by the daemon or `make ui` record a range of days with Dagster's switches set
    as `tranquillite materialize` sets them (one planned event per asset, materialisations in batches)."""
    from tranquillite import runner

    switches = {runner.PLANNED_SUBSET_ENV: "1", runner.EVENT_BATCH_ENV: runner.EVENT_BATCH_SIZE}
    assert {k: env_template().get(k) for k in switches} == switches
    make = (REPO / "Makefile").read_text(encoding="utf-8")
    for name, value in switches.items():
        assert f"ui: export {name} = {value}\n" in make, name


def test_the_environment_template_names_real_settings_and_validates():
    env = env_template()
    unknown = {k for k in env if k.startswith("TRANQUILLITE_") and k not in ENV}
    assert not unknown
    s = settings(env)
    assert s.is_production and s.behind_tls_proxy and s.dagster_pg_url is not None
    assert s.app_db_url is not None and s.app_db_owner_url is not None  # the app's store on PostgreSQL
    assert env["DAGSTER_HOME"] == str(Path(env["TRANQUILLITE_HOME"]) / "dagster")


@pytest.mark.parametrize("path", UNITS, ids=[p.name for p in UNITS])
def test_every_unit_starts_a_command_that_exists(path):
    cp = unit(path)
    service = cp["Service"]
    assert service["EnvironmentFile"] == "/etc/tranquillite/tranquillite.env"
    assert service["UMask"] == "0077" and service["User"] == "tranquillite"
    assert service["ReadWritePaths"].split()[0] == env_template()["TRANQUILLITE_HOME"]
    cmd = shlex.split(service["ExecStart"])
    if cmd[0] == "/bin/sh":  # a dated backup folder
        cmd = shlex.split(cmd[2].removeprefix("exec "))
    program = Path(cmd[0]).name
    assert (Path(sys.executable).parent / program).exists(), program
    if "-m" in cmd:
        module = cmd[cmd.index("-m") + 1]
        assert importlib.util.find_spec(module) is not None, module
    if "-w" in cmd:
        assert Path(cmd[cmd.index("-w") + 1]).name == "workspace.yaml" and (REPO / "workspace.yaml").exists()
    if "--server.address" in cmd:  # behind the proxy: loopback only
        assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"


def test_the_backup_timer_runs_the_backup_service_daily():
    timer = unit(DEPLOY / "systemd" / "tranquillite-sauvegarde.timer")
    assert re.fullmatch(r"\*-\*-\* \d\d:\d\d:00 Europe/Paris", timer["Timer"]["OnCalendar"])
    assert (DEPLOY / "systemd" / "tranquillite-sauvegarde.service").exists()


def test_the_production_instance_passes_dagsters_schema(tmp_path):
    from dagster._core.instance.config import dagster_instance_config

    (tmp_path / "dagster.yaml").write_text((DEPLOY / "dagster.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    config, _ = dagster_instance_config(str(tmp_path))
    assert "postgres" in config["storage"]
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["concurrency"]["pools"]["default_limit"] == 1


def test_the_multiprocess_run_config_is_valid_for_every_job():
    from tranquillite.definitions import build_defs

    run_config = yaml.safe_load((DEPLOY / "scaling" / "multiprocess.yaml").read_text(encoding="utf-8"))
    jobs = [j for j in build_defs().resolve_all_job_defs() if not j.name.startswith("__")]
    assert jobs

    def execution_errors(job, config) -> list[str]:
        """Errors of `config` about the executor (a job's own required op config is not this file's)."""
        try:
            dg.validate_run_config(job, config)
        except dg.DagsterInvalidConfigError as exc:
            return [
                e.message
                for e in exc.errors
                if "execution" in e.message
                or any(getattr(entry, "field_name", None) == "execution" for entry in e.stack.entries)
            ]
        return []

    for job in jobs:
        assert execution_errors(job, run_config) == [], job.name
    bad = {"execution": {"config": {"multiprocess": {"max_concurrent": "beaucoup"}}}}
    assert all(execution_errors(job, bad) for job in jobs)


def test_the_helm_values_share_the_warehouse_and_load_the_code_location():
    values = yaml.safe_load((DEPLOY / "scaling" / "helm-values.yaml").read_text(encoding="utf-8"))
    home = env_template()["TRANQUILLITE_HOME"]
    assert values["postgresql"]["enabled"] is False  # the City's PostgreSQL
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    for where in (launcher, deployment):
        assert [m["mountPath"] for m in where["volumeMounts"]] == [home]
        assert where["volumes"][0]["persistentVolumeClaim"]["claimName"] == "tranquillite-entrepot"
    args = deployment["dagsterApiGrpcArgs"]
    module = args[args.index("--module-name") + 1]
    assert module == "tranquillite.definitions" and importlib.util.find_spec(module) is not None


# --------------------------------------------------------------------------- the instance before the services


def test_a_fresh_home_gets_the_committed_instance_before_dagster_starts(tmp_path):
    """The issue: `make ui` on a fresh home ran `dagster dev` without the committed instance
    (the writer pool, the run coordinator): only the CLI's runs wrote it."""
    from tranquillite import runner

    home = tmp_path / "home"
    res = run_cli("instance", env={"TRANQUILLITE_HOME": str(home)})
    assert res.returncode == 0, res.stderr
    cfg = home / "dagster" / "dagster.yaml"
    assert cfg.read_text(encoding="utf-8") == runner.INSTANCE_TEMPLATE.read_text(encoding="utf-8")
    assert str(cfg) in res.stdout and "SQLite" in res.stdout
    make = (REPO / "Makefile").read_text(encoding="utf-8")
    ui = make[make.index("\nui: install") :].split("\n\n")[0]
    assert ui.index("$(BIN)/tranquillite instance") < ui.index("$(BIN)/dagster dev"), ui


def test_production_services_check_their_instance_before_starting(tmp_path):
    home = tmp_path / "home"
    env = {
        "TRANQUILLITE_HOME": str(home),
        "TRANQUILLITE_ENV": "production",
        "TRANQUILLITE_DAGSTER_PG_URL": "postgresql://u:p@127.0.0.1:1/dagster",
        "TRANQUILLITE_APP_DB_URL": "postgresql://a:p@127.0.0.1:1/tranquillite",
    }
    res = run_cli("instance", env=env)
    assert res.returncode == 2 and "deploy" in res.stderr and "dagster.yaml" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert not (home / "dagster" / "dagster.yaml").exists()  # never written in production
    for name in ("tranquillite-daemon.service", "tranquillite-webserver.service"):
        pre = shlex.split(unit(DEPLOY / "systemd" / name)["Service"]["ExecStartPre"])
        assert Path(pre[0]).name == "tranquillite" and pre[1:] == ["instance"], name
