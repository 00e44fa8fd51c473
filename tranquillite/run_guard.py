"""What keeps a crashed or stuck run from blocking the platform.

* Every run `tranquillite` launches carries the identity of its process in its tags
  (`process_tags()`: pid, host, and on Linux the boot id and start time of the process, so that a
  reused pid is never taken for the dead one).
* `sweep(instance)` finds the runs still marked in progress whose process is gone — on this host;
  a run without these tags (launched by the Dagster daemon) is identified by the pid its executor
  logged, on the local SQLite instance only — and marks them failed (`report_run_failed`, with the
  reason in French), then frees their concurrency slots (`free_concurrency_slots_for_run`).
  Finished runs still holding slots are freed too. Every action is an event of the run (Dagster UI).
* `RunWatch` watches a run of this process while it executes. While one of its steps waits for a
  slot it sweeps every second (a holder that dies during the wait is found at once); after
  `pool_wait_seconds` it stops the run with a message naming the holder; and a SIGTERM/SIGINT
  received while Dagster waits for a slot (Dagster only acts on signals inside a step) stops it
  at once.
* `patch_pool_wait()` makes Dagster's executor sleep while it waits for a slot (it busy-waits).

A run that a live process still executes is never touched: only the bounded wait gives up.
"""

from __future__ import annotations

import ctypes
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster._core.storage.dagster_run import FINISHED_STATUSES

PID_TAG = "tranquillite/pid"
HOST_TAG = "tranquillite/host"
PROCESS_TAG = "tranquillite/process"  # '<boot id>:<start time in clock ticks>' (Linux)

IN_PROGRESS = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
_PROC = Path("/proc")


# --------------------------------------------------------------------------- process identity
def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state letter, start time in clock ticks) of a process, None if it does not exist."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = text.rsplit(")", 1)[1].split()  # after 'pid (comm)': state is field 3, starttime 22
    return fields[0], fields[19]


def _boot_id() -> str:
    try:
        return (_PROC / "sys" / "kernel" / "random" / "boot_id").read_text().strip()
    except OSError:
        return ""


def process_identity(pid: int) -> str:
    """What tells this process apart from a later one given the same pid ('' where unknown)."""
    stat = _proc_stat(pid)
    return f"{_boot_id()}:{stat[1]}" if stat else ""


def process_tags() -> dict[str, str]:
    pid = os.getpid()
    return {PID_TAG: str(pid), HOST_TAG: socket.gethostname(), PROCESS_TAG: process_identity(pid)}


def is_alive(pid: int, identity: str = "") -> bool:
    """Is process `pid` (with this identity, when known) still running on this host?"""
    if _PROC.is_dir():
        stat = _proc_stat(pid)
        if stat is None or stat[0] in ("Z", "X"):  # gone, or a zombie waiting for its parent
            return False
        return not identity or identity == f"{_boot_id()}:{stat[1]}"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --------------------------------------------------------------------------- pools
def pool_usage(instance: dg.DagsterInstance) -> dict:
    """Pool → Dagster's `ConcurrencyKeyInfo` (claimed slots, pending steps)."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return {}
    keys = sorted(storage.get_concurrency_keys())
    return dict(storage.get_concurrency_infos(keys)) if keys else {}


def _slots_by_run(usage: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for pool, info in usage.items():
        for s in info.claimed_slots:
            out.setdefault(s.run_id, []).append(pool)
        for p in info.pending_steps:
            out.setdefault(p.run_id, [])
    return out


# --------------------------------------------------------------------------- the sweep
@dataclass(frozen=True)
class SweptRun:
    """A run marked failed (its process is gone) or a finished run whose slots were freed."""

    run_id: str
    job: str
    pid: int | None
    host: str
    slots: tuple[str, ...]
    dead: bool  # False: the run had finished, only its slots were freed

    def message(self) -> str:
        slots = (
            f"{len(self.slots)} créneau(x) {', '.join(sorted(set(self.slots)))} libéré(s)"
            if self.slots
            else "aucun créneau tenu"
        )
        if not self.dead:
            return f"Run {self.run_id[:8]} ({self.job}) terminé mais tenant encore des créneaux: {slots}."
        return (
            f"Run {self.run_id[:8]} ({self.job}) interrompu sans se terminer: le processus {self.pid} sur "
            f"{self.host} n'existe plus (arrêt brutal, kill -9 ou panne). Marqué en échec par tranquillite; "
            f"{slots}."
        )


def _logged_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The pid the run's executor logged (runs launched by the Dagster daemon carry no tags)."""
    for rec in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        data = rec.dagster_event.event_specific_data if rec.dagster_event else None
        pid = getattr(data, "metadata", {}).get("pid") if data is not None else None
        if pid is not None:
            try:
                return int(pid.value)
            except (TypeError, ValueError):
                continue
    return None


def _local_storage(instance: dg.DagsterInstance) -> bool:
    module = type(instance.run_storage).__module__
    return "sqlite" in module or "in_memory" in module


def _owner(instance: dg.DagsterInstance, run: dg.DagsterRun) -> tuple[int | None, str, str]:
    """(pid, host, identity) of the process executing a run; pid None when unknown."""
    tags = run.tags
    if PID_TAG in tags:
        try:
            return int(tags[PID_TAG]), tags.get(HOST_TAG, ""), tags.get(PROCESS_TAG, "")
        except ValueError:
            return None, "", ""
    if _local_storage(instance):
        return _logged_pid(instance, run.run_id), socket.gethostname(), ""
    return None, "", ""


def sweep(instance: dg.DagsterInstance) -> list[SweptRun]:
    """Mark failed the in-progress runs whose process is gone, and free their slots (and those of
    finished runs). Returns what was done (also recorded as events of each run)."""
    host = socket.gethostname()
    usage = pool_usage(instance)
    slots = _slots_by_run(usage)
    done: list[SweptRun] = []
    for rec in instance.get_run_records(dg.RunsFilter(statuses=IN_PROGRESS)):
        run = rec.dagster_run
        pid, run_host, identity = _owner(instance, run)
        if pid is None or run_host != host or is_alive(pid, identity):
            continue
        held = tuple(slots.get(run.run_id, ()))
        swept = SweptRun(run.run_id, run.job_name, pid, run_host, held, True)
        instance.report_run_failed(run, message=swept.message())
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        done.append(swept)
    finished = [r for r in slots if r not in {d.run_id for d in done}]
    if finished:
        for rec in instance.get_run_records(dg.RunsFilter(run_ids=finished, statuses=list(FINISHED_STATUSES))):
            run = rec.dagster_run
            swept = SweptRun(run.run_id, run.job_name, None, "", tuple(slots[run.run_id]), False)
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            instance.report_engine_event(swept.message(), run)
            done.append(swept)
    return done


def free_after_run(instance: dg.DagsterInstance, run_id: str, reason: str) -> None:
    """After `execute_in_process` returned (or raised): a run left in progress is failed, and
    whatever slot or place in a queue it still has is released."""
    run = instance.get_run_by_id(run_id)
    if run is None:
        return
    if run.status in IN_PROGRESS:
        instance.report_run_failed(run, message=reason)
    if run_id in _slots_by_run(pool_usage(instance)):
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)


# --------------------------------------------------------------------------- the watch
class PoolWaitExpired(Exception):
    """A step waited longer than `pool_wait_seconds` for a concurrency slot."""


def _async_raise(thread_id: int, exc_type: type[BaseException]) -> None:
    """Raise `exc_type` in another thread of this process, at its next Python instruction (the
    only way to stop an `execute_in_process` whose executor waits for a slot: it never checks)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc_type))


def _with_message(base: type[Exception], message: str) -> type[Exception]:
    def __init__(self, *args):  # noqa: N807 - raised by class, without arguments
        base.__init__(self, message)

    return type(base.__name__, (base,), {"__init__": __init__, "__module__": base.__module__})


def _describe(instance: dg.DagsterInstance, info) -> str:
    """Who holds the slots of a pool, in words."""
    parts = []
    for s in info.claimed_slots:
        run = instance.get_run_by_id(s.run_id)
        if run is None:
            parts.append(f"le run {s.run_id[:8]} (inconnu)")
            continue
        pid, host, _ = _owner(instance, run)
        where = f", processus {pid} sur {host}" if pid is not None else ""
        parts.append(f"le run {s.run_id[:8]} (job {run.job_name}, étape {s.step_key}{where}, toujours actif)")
    return "; ".join(parts) or "un run inconnu"


@dataclass
class RunWatch:
    """Watch one run of this process (see module docstring). Use as a context manager around
    `execute_in_process`, then read `reason` / `interrupted` / `swept`."""

    instance: dg.DagsterInstance
    run_id: str
    wait_seconds: float
    tick: float = 0.25
    pool_every: int = 4  # pools checked every `tick * pool_every` s
    sweep_every: float = 5.0  # while waiting, dead holders looked for every … s
    reason: str | None = None
    interrupted: bool = False
    swept: list[SweptRun] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._target = threading.get_ident()
        self._lock = threading.Lock()
        self._done = False
        self._stop = threading.Event()
        self._since: dict[tuple[str, str], float] = {}
        self._swept_at = 0.0
        self._thread = threading.Thread(target=self._loop, name=f"run-watch-{self.run_id[:8]}", daemon=True)

    def __enter__(self) -> "RunWatch":
        self._thread.start()
        return self

    def finish(self) -> None:
        """No interruption can be raised after this returns."""
        with self._lock:
            self._done = True
        self._stop.set()

    def __exit__(self, *exc) -> None:
        self.finish()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        try:  # the flag Dagster sets for a signal received outside a step (private API, 1.13)
            from dagster._utils.interrupts import check_captured_interrupt
        except ImportError:  # pragma: no cover - a later Dagster: signals only act inside steps

            def check_captured_interrupt() -> bool:
                return False

        signalled, n = 0, 0
        while not self._stop.wait(self.tick):
            n += 1
            try:
                # Dagster records a signal received outside a step and acts on it at the next step
                signalled = signalled + 1 if check_captured_interrupt() else 0
                if signalled >= 2:
                    self.interrupted = True
                    self._stop_run(
                        "Signal d'arrêt reçu pendant l'attente d'un créneau: exécution interrompue.",
                        dg.DagsterExecutionInterruptedError,
                    )
                    return
                if n % self.pool_every == 0 and self._check_pools():
                    return
            except Exception:  # noqa: BLE001 - the watch must never break the run it watches
                continue

    def _check_pools(self) -> bool:
        usage = pool_usage(self.instance)
        mine = {
            (pool, p.step_key)
            for pool, info in usage.items()
            for p in info.pending_steps
            if p.run_id == self.run_id and p.assigned_timestamp is None
        }
        now = time.monotonic()
        self._since = {k: self._since.get(k, now) for k in mine}
        if not mine:
            return False
        if now - self._swept_at >= self.sweep_every:  # a holder that dies while we wait is found
            self._swept_at = now
            self.swept += sweep(self.instance)
        (pool, step), since = min(self._since.items(), key=lambda kv: kv[1])
        waited = now - since
        if waited < self.wait_seconds:
            return False
        holder = _describe(self.instance, pool_usage(self.instance).get(pool, usage[pool]))
        self._stop_run(
            f"Le créneau d'écriture « {pool} » est occupé depuis {waited:.0f} s par {holder}: abandon de l'étape "
            f"{step}. Relancer une fois ce run terminé, ou allonger l'attente (TRANQUILLITE_POOL_WAIT_SECONDS, "
            f"actuellement {self.wait_seconds:g} s).",
            PoolWaitExpired,
        )
        return True

    def _stop_run(self, message: str, exc: type[BaseException]) -> None:
        with self._lock:
            if self._done:
                return
            self.reason = message
            run = self.instance.get_run_by_id(self.run_id)
            if run is not None:
                self.instance.report_engine_event(message, run)
            _async_raise(self._target, _with_message(exc, message) if issubclass(exc, PoolWaitExpired) else exc)
            self._done = True


# --------------------------------------------------------------------------- Dagster's busy wait
_PATCHED = False


def patch_pool_wait() -> None:
    """Dagster 1.13's executors wait for a pool slot in a busy loop: `interval_to_next_pending_
    claim_check` returns `min([0, …])`, never more than 0 (dagster-io/dagster#20367 noted it), so
    the waiting run burns a core. Sleep until the next claim check instead — at most 1 s, so that a
    signal or the watch's interruption is acted upon within a second."""
    global _PATCHED
    if _PATCHED:
        return
    from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext

    def interval_to_next_pending_claim_check(self) -> float:
        ready = [self._pending_timeouts[k] for k in self._pending_claims if k in self._pending_timeouts]
        if not ready:
            return 0.0
        return min(1.0, max(0.0, min(ready) - time.time()))

    InstanceConcurrencyContext.interval_to_next_pending_claim_check = interval_to_next_pending_claim_check
    _PATCHED = True
