"""`Warehouse.writer`: day files written by two threads while the step goes on — every file there
and whole when the block exits, the same bytes as written in turn, and a failed write never lost."""

from __future__ import annotations

import threading

import polars as pl
import pytest

from tranquillite.resources.warehouse import Warehouse

DAYS = [f"2025-03-{d:02d}" for d in range(1, 31)]


def _day(i: int) -> pl.DataFrame:
    return pl.DataFrame({"id": [f"{i}-{j}" for j in range(200)], "n": list(range(i, i + 200))})


def test_every_day_is_written_whole_and_as_in_turn(tmp_path):
    seq, par = Warehouse(root=str(tmp_path / "a")), Warehouse(root=str(tmp_path / "b"))
    for i, d in enumerate(DAYS):
        seq.write("clean", "interventions", _day(i), d)
    threads = set()
    real = Warehouse.write

    def spy(self, *args, **kwargs):
        threads.add(threading.current_thread().name)
        return real(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Warehouse, "write", spy)
        with par.writer(workers=2, pending=4) as out:  # pending < days: the caller waits, nothing is dropped
            for i, d in enumerate(DAYS):
                out.write("clean", "interventions", _day(i), d)
    assert out.written == len(DAYS)
    assert all(t.startswith("warehouse-write") for t in threads)  # not in the caller's thread
    for d in DAYS:
        a, b = seq.file("clean", "interventions", d), par.file("clean", "interventions", d)
        assert b.read_bytes() == a.read_bytes(), d
    assert not list(par.table_dir("clean", "interventions").glob(".tmp-*"))


def test_a_failed_write_raises_when_the_block_exits_after_the_others_are_written(tmp_path, monkeypatch):
    wh = Warehouse(root=str(tmp_path / "w"))
    real = Warehouse.write

    def fail_one(self, layer, table, df, partition=None, row_group_size=None):
        if partition == DAYS[3]:
            raise OSError("disque plein")
        return real(self, layer, table, df, partition, row_group_size)

    monkeypatch.setattr(Warehouse, "write", fail_one)
    with pytest.raises(OSError, match="disque plein"):
        with wh.writer(workers=2, pending=len(DAYS) + 1) as out:
            for i, d in enumerate(DAYS):
                out.write("clean", "interventions", _day(i), d)
    written = set(wh.partitions("clean", "interventions"))
    assert written == set(DAYS) - {DAYS[3]}  # as in turn up to the failure, and the queued ones finished


def test_the_steps_own_error_is_the_one_raised(tmp_path, monkeypatch):
    wh = Warehouse(root=str(tmp_path / "w"))
    monkeypatch.setattr(Warehouse, "write", lambda *a, **k: (_ for _ in ()).throw(OSError("disque plein")))
    with pytest.raises(ValueError, match="contrat"):
        with wh.writer() as out:
            out.write("clean", "interventions", _day(0), DAYS[0])
            raise ValueError("contrat violé")
