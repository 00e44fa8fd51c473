"""System programs some tests need (Debian's postgresql, chromium, nginx), installed by the
Makefile (`make postgres browser proxy`, part of `make test`).

`make test` runs with `TRANQUILLITE_SYSTEM_TESTS=require` (and CI sets `CI`): there, a missing
program fails its tests — the PostgreSQL profile, the browser and the TLS proxy are part of what the
suite proves, and a skip would let `make test` pass without them. A developer without the programs
opts out explicitly with `make test SYSTEM_TESTS=skip` (or by running pytest directly): the tests
are then skipped with the reason and the command that installs what is missing."""

from __future__ import annotations

import os

import pytest


def required() -> bool:
    """True when a missing system program must fail its tests rather than skip them."""
    return os.environ.get("TRANQUILLITE_SYSTEM_TESTS") == "require" or bool(os.environ.get("CI"))


def missing(what: str, install: str) -> None:
    """Fail (make test, CI) or skip (an explicit opt-out) a test whose system program is absent."""
    message = f"{what} absent ({install})"
    if required():
        pytest.fail(f"{message}: `make test` l'installe en root; `make test SYSTEM_TESTS=skip` pour s'en passer")
    pytest.skip(f"{message}: test ignoré")
