"""Files of the home are readable by the service user only (issue #9: the Dagster databases and
the quarantine were world-readable): umask 077 at every entry point, home created 0700."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _run(code: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRANQUILLITE_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    # the parent's umask is the usual 022: the entry point must tighten it itself
    return subprocess.run(
        [sys.executable, "-c", "import os; os.umask(0o022)\n" + code],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _open_to_others(home: Path) -> list[str]:
    return [
        f"{p.relative_to(home)} {stat.filemode(p.stat().st_mode)}"
        for p in [home, *home.rglob("*")]
        if not p.is_symlink() and p.stat().st_mode & 0o077
    ]


def test_cli_creates_a_private_home_and_private_files(tmp_path):
    home = tmp_path / "nouveau" / "home"
    res = _run(
        "from tranquillite.cli import main\nraise SystemExit(main(['generate', '--days', '2', '--scale', '0.02']))",
        home,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert any(home.rglob("*.csv")) and _open_to_others(home) == []


def test_code_location_and_runs_write_private_files(tmp_path):
    home = tmp_path / "home"
    res = _run(
        "import tranquillite.definitions as d\n"
        "from tranquillite import runner\n"
        "inst = runner.instance()\n"
        "from tranquillite.resources import Warehouse\n"
        "import polars as pl\n"
        "Warehouse(root=str(d.paths().warehouse)).write('quarantine', 'x', pl.DataFrame({'a': [1]}), '2025-01-01')\n"
        "print(oct(os.umask(0o077)))",
        home,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1] == "0o77"
    assert (home / "dagster" / "dagster.yaml").exists() and any((home / "warehouse").rglob("*.parquet"))
    assert _open_to_others(home) == []


def test_app_entry_point_sets_the_umask(tmp_path):
    home = tmp_path / "home"
    res = _run(
        "from streamlit.testing.v1 import AppTest\n"
        f"AppTest.from_file({str(REPO / 'apps' / 'streamlit' / 'app.py')!r}, default_timeout=120).run()\n"
        "print(oct(os.umask(0o077)))",
        home,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1] == "0o77"
    assert stat.S_IMODE(home.stat().st_mode) == 0o700 and _open_to_others(home) == []
