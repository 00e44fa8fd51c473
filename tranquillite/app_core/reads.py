"""What was read: the tables, the conventions of the rows returned and their count (T4, issue 11).

The gateway (`queries.scoped_query`, `quarantine_query`, `export_rows`) records every read into
the collector of the current run — a page run of the app (`apps/streamlit/app.py` opens one around
each page), an export, a CLI command — never the rows themselves. The collector is a context
variable: Streamlit runs each page run in its own thread, so two sessions never share one.

A read made inside a cached function (`st.cache_data`) is not repeated on a cache hit: the app's
`app_ui.cached_read` keeps the reads with the cached value and replays them here (`replay`), so a
page served from the cache logs what it showed all the same.

The reads of a run are written with its access-log line (`store.log_access(reads=...)`), summed
per table (`summarise`): `[{"table", "conventions", "rows", "lectures"}]`.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Iterable, Iterator


@dataclass(frozen=True)
class Read:
    """One read of the gateway: a table, the conventions of the rows returned, how many rows."""

    table: str
    conventions: tuple[str, ...]
    rows: int


@dataclass
class Collector:
    reads: list[Read] = field(default_factory=list)
    views: list[tuple[int, dict]] = field(default_factory=list)  # (index of the first read, view) — app pages

    def add(self, read: Read) -> None:
        self.reads.append(read)


_CURRENT: ContextVar[Collector | None] = ContextVar("tranquillite_reads", default=None)


def current() -> Collector | None:
    return _CURRENT.get()


def active() -> bool:
    return _CURRENT.get() is not None


@contextmanager
def collecting() -> Iterator[Collector]:
    """A new collector for the reads made inside the block (nested: the outer one does not get them)."""
    c = Collector()
    token = _CURRENT.set(c)
    try:
        yield c
    finally:
        _CURRENT.reset(token)


def record(table: str, conventions: Iterable[str], rows: int) -> None:
    c = _CURRENT.get()
    if c is not None:
        c.add(Read(table, tuple(sorted(set(conventions))), int(rows)))


def replay(reads: Iterable[Read]) -> None:
    """Reads made earlier (a cached value's) count again in the current run."""
    c = _CURRENT.get()
    if c is not None:
        for r in reads:
            c.add(r)


def summarise(reads: Iterable[Read]) -> list[dict]:
    """Per table: the union of the conventions, the rows returned (summed) and the number of reads."""
    out: dict[str, dict] = {}
    for r in reads:
        s = out.setdefault(r.table, {"table": r.table, "conventions": set(), "rows": 0, "lectures": 0})
        s["conventions"].update(r.conventions)
        s["rows"] += r.rows
        s["lectures"] += 1
    return [{**s, "conventions": sorted(s["conventions"])} for _, s in sorted(out.items())]


def to_json(reads: Iterable[Read]) -> str | None:
    """The `reads` field of an access-log line (None: nothing was read)."""
    s = summarise(reads)
    return json.dumps(s, ensure_ascii=False, sort_keys=True, separators=(",", ":")) if s else None


def cli_login() -> str:
    """The login the CLI's reads are logged under: the setting `cli_login`, else the OS user."""
    import getpass

    from tranquillite.settings import settings

    configured = settings().cli_login
    if configured and configured.strip():
        return configured.strip()
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid (a container)
        import os

        return f"uid:{os.getuid()}"


CLI_PROFILE = "console"  # the CLI is no profile of the app: its lines say so


def log_cli(command: str, got: Iterable[Read], filters: dict | None = None) -> int | None:
    """One access-log line for a CLI command that read convention data (none if it read nothing)."""
    got = list(got)
    if not got:
        return None
    from tranquillite.app_core import store

    with store.connect() as con:
        return store.log_access(
            con,
            login=cli_login(),
            profile=CLI_PROFILE,
            page="console",
            action=f"cli_{command}",
            filters=filters,
            reads=to_json(got),
        )


def conventions_of(summary: Iterable[dict]) -> list[str]:
    return sorted({c for s in summary for c in s.get("conventions", [])})
