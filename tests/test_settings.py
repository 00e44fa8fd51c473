"""One validated settings module: a bad value is refused at start with the variable's name."""

from pathlib import Path

import pytest

from tests.cli import run_cli
from tranquillite.settings import ENV, Settings, SettingsError, settings

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("value", ["inf", "nan", "-3", "0", "beaucoup", "100000"])
def test_idle_minutes_must_be_finite_and_plausible(value):
    with pytest.raises(SettingsError, match="TRANQUILLITE_SESSION_IDLE_MINUTES"):
        settings({"TRANQUILLITE_SESSION_IDLE_MINUTES": value})


def test_defaults_and_parsing(tmp_path):
    s = settings(
        {
            "TRANQUILLITE_HOME": str(tmp_path),
            "TRANQUILLITE_ENV": "prod",
            "TRANQUILLITE_BEHIND_TLS_PROXY": "oui",
            "TRANQUILLITE_SESSION_IDLE_MINUTES": "12.5",
            "TRANQUILLITE_PARTITIONS_START": "2016-01-01",
        }
    )
    assert s.home == tmp_path.resolve()
    assert s.is_production and s.behind_tls_proxy
    assert s.session_idle_minutes == 12.5
    assert s.partitions_start.isoformat() == "2016-01-01"
    assert not settings({}).is_production


@pytest.mark.parametrize(
    "var,value",
    [
        ("TRANQUILLITE_ENV", "staging"),
        ("TRANQUILLITE_PARTITIONS_START", "2026-02-31"),
        ("TRANQUILLITE_BEHIND_TLS_PROXY", "peut-être"),
        ("TRANQUILLITE_CARTE_MAX_POINTS", "-1"),
        ("TRANQUILLITE_FOND_DE_CARTE", "google"),
    ],
)
def test_every_bad_value_names_its_variable(var, value):
    with pytest.raises(SettingsError, match=var):
        settings({var: value})


def test_every_field_has_its_variable():
    assert set(ENV.values()) == set(Settings.model_fields)


def test_cli_refuses_to_start_with_a_bad_setting(tmp_path):
    res = run_cli("status", env={"TRANQUILLITE_HOME": str(tmp_path), "TRANQUILLITE_SESSION_IDLE_MINUTES": "nan"})
    assert res.returncode == 2
    assert "TRANQUILLITE_SESSION_IDLE_MINUTES" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize(
    "value", ["mysql://u:p@h/db", "postgresql://u:p@h:5432", "pas une url", "postgresql+asyncpg://u:p@h/db"]
)
def test_a_bad_dagster_database_url_is_refused_without_echoing_it(value):
    with pytest.raises(SettingsError, match="TRANQUILLITE_DAGSTER_PG_URL") as err:
        settings({"TRANQUILLITE_DAGSTER_PG_URL": value})
    assert value not in str(err.value) and "secret non affiché" in str(err.value)


def test_the_dagster_database_url_gets_the_driver_dagster_postgres_ships():
    s = settings({"TRANQUILLITE_DAGSTER_PG_URL": "postgresql://dagster:s3cret@db.ville.fr:5432/dagster"})
    assert s.dagster_pg_url.get_secret_value() == "postgresql+psycopg2://dagster:s3cret@db.ville.fr:5432/dagster"
    assert "s3cret" not in repr(s)


def test_the_paris_time_zone_is_named_once():
    """Marseille's time zone is `tranquillite.timezones` (PARIS, PARIS_NAME): no module of the code
    names "Europe/Paris" itself in a string of its code (docstrings and comments aside)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    found = []
    for path in [*(root / "tranquillite").rglob("*.py"), *(root / "apps").rglob("*.py")]:
        if path.name == "timezones.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = {
            id(n.body[0].value)
            for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and n.body
            and isinstance(n.body[0], ast.Expr)
            and isinstance(n.body[0].value, ast.Constant)
        }
        found += [
            f"{path.relative_to(root)}:{n.lineno}"
            for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and n.value == "Europe/Paris" and id(n) not in docs
        ]
    assert not found, found


# --------------------------------------------------------------------------- production at start (issue 14)
def test_production_without_its_databases_is_refused_at_start_naming_both(tmp_path):
    """TRANQUILLITE_ENV=production keeps Dagster's history and the app's store in PostgreSQL: the
    CLI (pipelines, backups, accounts) refuses to start without both URLs, before any command."""
    res = run_cli("status", env={"TRANQUILLITE_HOME": str(tmp_path), "TRANQUILLITE_ENV": "production"})
    assert res.returncode == 2, res.stdout + res.stderr
    assert "TRANQUILLITE_DAGSTER_PG_URL" in res.stderr and "TRANQUILLITE_APP_DB_URL" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "dagster").exists()  # nothing was started, no SQLite instance written


def test_the_start_check_names_only_what_production_lacks(tmp_path):
    from tranquillite.settings import check

    BOTH = ("dagster", "app")
    base = {"TRANQUILLITE_HOME": str(tmp_path), "TRANQUILLITE_ENV": "production"}
    with pytest.raises(SettingsError) as err:
        check({**base, "TRANQUILLITE_DAGSTER_PG_URL": "postgresql://u:p@h:5432/dagster"}, stores=BOTH)
    assert "TRANQUILLITE_APP_DB_URL" in str(err.value) and "TRANQUILLITE_DAGSTER_PG_URL" not in str(err.value)
    s = check(
        {
            **base,
            "TRANQUILLITE_DAGSTER_PG_URL": "postgresql://u:p@h:5432/dagster",
            "TRANQUILLITE_APP_DB_URL": "postgresql://a:p@h:5432/tranquillite",
        },
        stores=BOTH,
    )
    assert s.is_production
    assert not check({"TRANQUILLITE_HOME": str(tmp_path)}, stores=BOTH).is_production  # development needs neither
    assert check(base).is_production  # an entry point using neither (the app's own guard is at its store)


def test_a_production_backup_without_the_dagster_database_fails_instead_of_skipping_it(tmp_path, monkeypatch):
    from tranquillite.backup import BackupError, backup

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("TRANQUILLITE_HOME", str(home))
    monkeypatch.setenv("TRANQUILLITE_ENV", "production")
    monkeypatch.delenv("TRANQUILLITE_DAGSTER_PG_URL", raising=False)
    with pytest.raises(BackupError, match="TRANQUILLITE_DAGSTER_PG_URL"):
        backup(tmp_path / "sauvegarde", home)
    assert not any((tmp_path / "sauvegarde").glob("*"))  # no half backup left behind


# --------------------------------------------------------------------------- one reading of each setting
def _environ_reads(tree) -> list[tuple[int, str]]:
    """(line, variable) of every read of a TRANQUILLITE_* variable from os.environ / os.getenv."""
    import ast

    def is_environ(node) -> bool:
        return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
            isinstance(node, ast.Name) and node.id == "environ"
        )

    def name_of(node) -> str | None:
        return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None

    out = []
    for n in ast.walk(tree):
        var = None
        if isinstance(n, ast.Call) and n.args:
            f = n.func
            if isinstance(f, ast.Attribute) and f.attr in ("get", "setdefault", "pop") and is_environ(f.value):
                var = name_of(n.args[0])
            elif isinstance(f, ast.Attribute) and f.attr == "getenv":
                var = name_of(n.args[0])
        elif isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Load) and is_environ(n.value):
            var = name_of(n.slice)
        if var and var.startswith("TRANQUILLITE_"):
            out.append((n.lineno, var))
    return out


def test_only_the_settings_module_reads_the_platforms_variables():
    """Settings come from one validated module: a TRANQUILLITE_* variable read anywhere else would
    skip its validation (the contracts folder was read from os.environ at import, beside its setting)."""
    import ast

    found = []
    for root in ("tranquillite", "apps"):
        for path in sorted((REPO / root).rglob("*.py")):
            if path == REPO / "tranquillite" / "settings.py":
                continue
            for line, var in _environ_reads(ast.parse(path.read_text(encoding="utf-8"))):
                found.append(f"{path.relative_to(REPO)}:{line} {var}")
    assert not found, found
    probe = ast.parse('import os\nx = os.environ.get("TRANQUILLITE_HOME")\ny = os.environ["TRANQUILLITE_ENV"]')
    assert [v for _, v in _environ_reads(probe)] == ["TRANQUILLITE_HOME", "TRANQUILLITE_ENV"]  # the probe sees reads


def test_a_production_backup_without_the_app_database_fails_instead_of_skipping_it(tmp_path, monkeypatch):
    from tranquillite.backup import BackupError, backup

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("TRANQUILLITE_HOME", str(home))
    monkeypatch.setenv("TRANQUILLITE_ENV", "production")
    monkeypatch.setenv("TRANQUILLITE_DAGSTER_PG_URL", "postgresql://u:p@127.0.0.1:1/dagster")
    monkeypatch.delenv("TRANQUILLITE_APP_DB_URL", raising=False)
    with pytest.raises(BackupError, match="TRANQUILLITE_APP_DB_URL"):
        backup(tmp_path / "sauvegarde", home)
    assert not (tmp_path / "sauvegarde").exists()  # refused before anything is written
