"""A `tranquillite materialize` killed with `kill -9` while it holds the `warehouse_writer` slot
must not block the platform: the next run finds the dead run (its process is gone), marks it
failed, frees its slot and proceeds. A run waiting for a slot held by a live run gives up after
`TRANQUILLITE_POOL_WAIT_SECONDS` with a French message, and obeys SIGTERM while it waits.

Real processes on a real home (7 generated days), the real Dagster instance of that home."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from tests.runs.conftest import REPO, claimed_slots, cli_env, pending_steps, start_cli, wait_for
from tranquillite import runner
from tranquillite.synthetic import generate

FIRST, LAST = "2025-03-03", "2025-03-09"
MATERIALIZE = ["materialize", "--from", FIRST, "--to", LAST, "--sans-prevision"]


@pytest.fixture(scope="module")
def landing_template(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("crash_landing")
    generate(src, start=date.fromisoformat(FIRST), days=7, seed=5, scale=0.3)
    return src / "landing"


@pytest.fixture
def crash_home(home: Path, landing_template: Path) -> Path:
    import shutil

    shutil.rmtree(home / "landing")
    shutil.copytree(landing_template, home / "landing")
    return home


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _hold_slot(instance: dg.DagsterInstance, home: Path) -> tuple[subprocess.Popen, str]:
    """Start a materialisation and return it (still running) with the run holding the slot."""
    proc = start_cli(home, *MATERIALIZE)
    run_id, _ = wait_for(lambda: (claimed_slots(instance) or [None])[0], 240, "a claimed slot", proc)
    return proc, run_id


@pytest.mark.slow
def test_a_run_killed_with_sigkill_is_swept_and_the_next_run_succeeds(crash_home: Path):
    instance = runner.instance()
    for _attempt in range(3):  # the kill must land while a step holds the slot (steps last ~1 s)
        proc, run_id = _hold_slot(instance, crash_home)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if any(r == run_id for r, _ in claimed_slots(instance)):
            break
    else:
        pytest.fail("the killed run never held the slot at the moment of the kill")
    dead = instance.get_run_by_id(run_id)
    assert dead.status == dg.DagsterRunStatus.STARTED  # what the crash leaves behind
    assert dead.tags[runner.PID_TAG] == str(proc.pid)

    t0 = time.monotonic()
    res = subprocess.run(
        [sys.executable, "-m", "tranquillite.cli", *MATERIALIZE],
        cwd=REPO,
        env=cli_env(crash_home),
        capture_output=True,
        text=True,
        timeout=240,
    )
    elapsed = time.monotonic() - t0
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ingestion_quotidienne: succès" in res.stdout and "indicateurs: succès" in res.stdout
    # the dead run is reported, marked failed with the reason, its slot freed
    assert f"{run_id[:8]}" in res.stderr and "processus" in res.stderr and str(proc.pid) in res.stderr
    swept = instance.get_run_by_id(run_id)
    assert swept.status == dg.DagsterRunStatus.FAILURE
    failure = [e.dagster_event.message for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)]
    assert failure and f"processus {proc.pid}" in failure[0] and "n'existe plus" in failure[0]
    assert claimed_slots(instance) == [] and pending_steps(instance) == []
    print(f"\nrun after kill -9: {elapsed:.1f} s in all (sweep, then ingestion, publication, indicators)")


@pytest.mark.slow
def test_a_waiting_run_obeys_sigterm_and_gives_up_after_the_bound(crash_home: Path):
    instance = runner.instance()
    holder, holder_run = _hold_slot(instance, crash_home)
    os.kill(holder.pid, signal.SIGSTOP)  # alive, holding the slot, making no progress
    waiter = None
    try:
        # 1. SIGTERM while waiting: the process stops at once and releases its place in the queue
        waiter = start_cli(crash_home, *MATERIALIZE, TRANQUILLITE_POOL_WAIT_SECONDS="600")
        waiting_run, _ = wait_for(
            lambda: next(((r, s) for r, s in pending_steps(instance) if r != holder_run), None),
            240,
            "the second run to wait for the slot",
            waiter,
        )
        cpu0, t0 = _cpu_seconds(waiter.pid), time.monotonic()
        time.sleep(3)
        cpu = (_cpu_seconds(waiter.pid) - cpu0) / (time.monotonic() - t0)
        assert cpu < 0.25, f"the waiting process burns {cpu:.0%} of a core"  # it sleeps, it does not spin
        t0 = time.monotonic()
        waiter.send_signal(signal.SIGTERM)
        out, err = waiter.communicate(timeout=30)
        print(f"\nSIGTERM while waiting: exited in {time.monotonic() - t0:.1f} s; CPU while waiting {cpu:.0%}")
        assert waiter.returncode == 130, out + err
        assert "interrompu" in err and "Traceback" not in err
        assert instance.get_run_by_id(waiting_run).status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
        assert [r for r, _ in pending_steps(instance)] == []

        # 2. a bounded wait: a clear French message naming the run that holds the slot
        t0 = time.monotonic()
        res = subprocess.run(
            [sys.executable, "-m", "tranquillite.cli", *MATERIALIZE],
            cwd=REPO,
            timeout=240,
            env=cli_env(crash_home, TRANQUILLITE_POOL_WAIT_SECONDS="3"),
            capture_output=True,
            text=True,
        )
        print(f"bounded wait (3 s): the run gave up, process ended after {time.monotonic() - t0:.1f} s")
        assert res.returncode == 1, res.stdout + res.stderr
        text = res.stdout + res.stderr
        assert "ingestion_quotidienne: ÉCHEC" in res.stdout
        assert "warehouse_writer" in text and holder_run[:8] in text and "TRANQUILLITE_POOL_WAIT_SECONDS" in text
        print(res.stdout + res.stderr)
        assert "publication: non lancé — dépend de ingestion_quotidienne (en échec)" in res.stdout
        assert "indicateurs: non lancé — dépend de publication (non lancé)" in res.stdout  # nothing ran on top
        # the live holder was left alone
        assert instance.get_run_by_id(holder_run).status == dg.DagsterRunStatus.STARTED
        assert [r for r, _ in claimed_slots(instance)] == [holder_run]
    finally:
        if waiter is not None and waiter.poll() is None:
            waiter.kill()
            waiter.wait()
        os.kill(holder.pid, signal.SIGCONT)
    out, err = holder.communicate(timeout=300)
    assert holder.returncode == 0, out + err  # and it finished its work afterwards
    assert instance.get_run_by_id(holder_run).status == dg.DagsterRunStatus.SUCCESS
