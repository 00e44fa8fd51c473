"""Helpers of the crash tests: `tranquillite` as a real process on a real home, and the Dagster
instance of that home read from the test process (runs, pools) while the process works."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

REPO = Path(__file__).resolve().parents[2]
POOL = "warehouse_writer"


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRANQUILLITE_")}
    env.update(
        {"TRANQUILLITE_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), "PYTHONUNBUFFERED": "1", **extra}
    )
    return env


def start_cli(home: Path, *args: str, **extra: str) -> subprocess.Popen:
    """`tranquillite <args>` in its own process (own session: signals reach it alone)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tranquillite.cli", *args],
        cwd=REPO,
        env=cli_env(home, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def claimed_slots(instance: dg.DagsterInstance, pool: str = POOL) -> list[tuple[str, str]]:
    """(run_id, step_key) of the claimed slots of a pool."""
    info = instance.event_log_storage.get_concurrency_info(pool)
    return [(s.run_id, s.step_key) for s in info.claimed_slots]


def pending_steps(instance: dg.DagsterInstance, pool: str = POOL) -> list[tuple[str, str]]:
    """(run_id, step_key) of the steps waiting for a slot of a pool."""
    info = instance.event_log_storage.get_concurrency_info(pool)
    return [(p.run_id, p.step_key) for p in info.pending_steps if p.assigned_timestamp is None]


def wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None, every: float = 0.02):
    """Poll `predicate()` until it returns something truthy (returned), or fail after `timeout` s."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        got = predicate()
        if got:
            return got
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"process ended ({proc.returncode}) before {what}:\n{out}\n{err}")
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
