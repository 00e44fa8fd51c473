"""Independent fits run a few at a time in threads: LightGBM, NumPy and Polars release the GIL, and
each fit seeds its own draws, so the results are those of the same fits run in turn."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TypeVar

T, R = TypeVar("T"), TypeVar("R")


def cores(workers: int = 0) -> int:
    """`workers`, or one per core when 0."""
    return max(1, workers or (os.cpu_count() or 1))


def map_in_threads(fn: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """[fn(x) for x in items], `workers` at a time (in turn with one worker or one item)."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))
