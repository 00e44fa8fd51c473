"""A partner onboarding, end to end, as a test (issue 16): `partner_scenario.py` runs in a process
that reads a copy of the contracts with the RTM's convention and contract added (`tests/partner.py`)
— the data team's two YAML files, and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.partner import contracts_with

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_partner_onboarding_end_to_end(tmp_path: Path):
    root = contracts_with(tmp_path / "contrats")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRANQUILLITE_", "DAGSTER_HOME", "PYTEST_"))}
    env["TRANQUILLITE_CONTRACTS"] = str(root)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "--basetemp",
            str(tmp_path / "run"),
            "tests/conventions/partner_scenario.py",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=1500,
    )
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-3000:]
    assert "1 passed" in out.stdout
