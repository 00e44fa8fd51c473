"""The lineage opens only new or changed files (issue 14): per-file facts memoised by (path, size, mtime_ns)
(`tranquillite.file_memo`), and the published lineage equal to the one computed from every file."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from tranquillite import file_memo, runner
from tranquillite.assets import lineage_table as LT
from tranquillite import lineage as L
from tranquillite.definitions import build_defs
from tranquillite.resources.warehouse import Warehouse
from tranquillite.settings import paths
from tranquillite.synthetic import generate

FIRST, DAYS = date(2025, 3, 3), 4
LAST = FIRST + timedelta(days=DAYS - 1)


# ----------------------------------------------------------------------------- the memo on its own
def _files(wh: Warehouse, n: int) -> list[Path]:
    for k in range(n):
        wh.write("clean", "t", pl.DataFrame({"x": list(range(k + 1))}), f"2025-01-{k + 1:02d}")
    return sorted(wh.table_dir("clean", "t").glob("*.parquet"))


def _counter(seen: list[list[str]]):
    def compute(files: list[Path]) -> pl.DataFrame:
        seen.append(sorted(f.name for f in files))
        rows = [(str(f), pl.read_parquet(f).height) for f in files]
        return pl.DataFrame(rows, schema={"file": pl.Utf8, "n": pl.Int64}, orient="row")

    return compute


def _truth(files: list[Path]) -> dict[str, int]:
    return {str(f): pl.read_parquet(f).height for f in files}


def _memo(files, compute, cache, root, tag="t") -> dict[str, int]:
    return dict(file_memo.memo(files, compute, cache, root, tag=tag).select("file", "n").iter_rows())


def test_the_memo_reads_only_new_and_changed_files_and_drops_removed_ones(tmp_path):
    wh = Warehouse(root=str(tmp_path / "warehouse"))
    cache = tmp_path / "cache" / "memo.parquet"
    seen: list[list[str]] = []
    compute = _counter(seen)
    files = _files(wh, 3)
    assert _memo(files, compute, cache, wh.path) == _truth(files) and seen == [[f.name for f in files]]
    seen.clear()
    assert _memo(files, compute, cache, wh.path) == _truth(files) and seen == [[]]  # nothing read
    mtime = cache.stat().st_mtime_ns
    assert _memo(files, compute, cache, wh.path) and cache.stat().st_mtime_ns == mtime  # nor rewritten
    # a new file, a changed one (same name, rewritten with another size), a removed one
    wh.write("clean", "t", pl.DataFrame({"x": [1, 2, 3, 4, 5, 6, 7]}), "2025-01-09")
    wh.write("clean", "t", pl.DataFrame({"x": [9] * 10}), "2025-01-02")
    wh.drop_partition("clean", "t", "2025-01-01")
    files = sorted(wh.table_dir("clean", "t").glob("*.parquet"))
    seen.clear()
    got = _memo(files, compute, cache, wh.path)
    assert got == _truth(files) and seen == [["2025-01-02.parquet", "2025-01-09.parquet"]]
    assert set(pl.read_parquet(cache)["_file"]) == {
        "clean/t/2025-01-02.parquet",
        "clean/t/2025-01-03.parquet",
        "clean/t/2025-01-09.parquet",
    }  # the removed file dropped


def test_a_file_rewritten_with_the_same_size_is_read_again(tmp_path):
    wh = Warehouse(root=str(tmp_path / "warehouse"))
    cache = tmp_path / "memo.parquet"
    seen: list[list[str]] = []
    files = _files(wh, 2)
    _memo(files, _counter(seen), cache, wh.path)
    size = files[0].stat().st_size
    wh.write("clean", "t", pl.DataFrame({"x": [7]}), "2025-01-01")  # one row again: the same size
    assert files[0].stat().st_size == size
    seen.clear()
    assert _memo(files, _counter(seen), cache, wh.path) == _truth(files) and seen == [["2025-01-01.parquet"]]


@pytest.mark.parametrize("damage", ["garbage", "empty", "other_version", "other_tag", "other_columns"])
def test_a_damaged_or_foreign_cache_means_every_file_is_read(tmp_path, damage):
    wh = Warehouse(root=str(tmp_path / "warehouse"))
    cache = tmp_path / "memo.parquet"
    seen: list[list[str]] = []
    files = _files(wh, 3)
    _memo(files, _counter(seen), cache, wh.path)
    old = pl.read_parquet(cache)
    if damage == "garbage":
        cache.write_bytes(b"PAR1 not a parquet file")
    elif damage == "empty":
        cache.write_bytes(b"")
    elif damage == "other_version":
        # what the memo wrote, but under another format version: its rows would be wrong (n doubled)
        old.with_columns(pl.col("n") * 2).write_parquet(
            cache, metadata={file_memo.META_KEY: '{"version": "0", "tag": "t"}'}
        )
    elif damage == "other_tag":
        old.with_columns(pl.col("n") * 2).write_parquet(
            cache, metadata={file_memo.META_KEY: '{"version": "%s", "tag": "u"}' % file_memo.VERSION}
        )
    else:  # the right stamp, another payload
        old.rename({"n": "m"}).write_parquet(cache, metadata=pl.read_parquet_metadata(cache))
    seen.clear()
    assert _memo(files, _counter(seen), cache, wh.path) == _truth(files)
    assert [f for s in seen for f in s] == [f.name for f in files]  # each read once
    seen.clear()
    assert _memo(files, _counter(seen), cache, wh.path) == _truth(files) and seen == [[]]  # rewritten, sound


def test_the_memo_keys_files_relative_to_the_home_a_copied_home_keeps_its_cache(tmp_path):
    wh = Warehouse(root=str(tmp_path / "a" / "warehouse"))
    files = _files(wh, 3)
    _memo(files, _counter([]), tmp_path / "a" / "memo.parquet", wh.path)
    shutil.copytree(tmp_path / "a", tmp_path / "b", copy_function=shutil.copy2)  # sizes and mtimes kept
    root = tmp_path / "b" / "warehouse"
    moved = sorted((root / "clean" / "t").glob("*.parquet"))
    seen: list[list[str]] = []
    assert _memo(moved, _counter(seen), tmp_path / "b" / "memo.parquet", root) == _truth(moved) and seen == [[]]


# ----------------------------------------------------------------------------- the lineage of a real run
@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A small generated Marseille, ingested and published as `tranquillite materialize` does."""
    home = tmp_path_factory.mktemp("memo")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRANQUILLITE_HOME", str(home))
    mp.setenv("DAGSTER_HOME", str(home / "dagster"))
    generate(home, start=FIRST, days=DAYS, seed=5, scale=0.1)
    defs = build_defs()
    for job in (runner.INGEST_JOB, runner.PUBLISH_JOB):
        out = runner.run_job(defs, job, FIRST, LAST)
        assert out.success, out
    yield defs, paths().warehouse
    mp.undo()


def _sorted(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort([c for c, t in df.schema.items() if not isinstance(t, pl.List)], nulls_last=True)


def _full(defs, root: Path, monkeypatch) -> pl.DataFrame:
    """The lineage computed from every file, no cache."""
    with monkeypatch.context() as mp:
        mp.setattr(LT, "cache_dir", lambda _root: None)
        return _sorted(LT.lineage_rows(defs, root))


def _reads(monkeypatch) -> list[int]:
    """Files handed to the per-file counts (one pass for the report and the dated rows; landing files)."""
    seen: list[int] = []
    real = L._counts
    monkeypatch.setattr(L, "_counts", lambda con, files, *a: seen.append(len(files)) or real(con, files, *a))
    real_landing = LT._landing_counts
    monkeypatch.setattr(
        LT, "_landing_counts", lambda con, files, *a: seen.append(len(files)) or real_landing(con, files, *a)
    )
    return seen


def test_the_published_lineage_is_the_one_computed_from_every_file(published, monkeypatch):
    defs, wh = published
    table = _sorted(pl.read_parquet(wh / "governance" / "convention_lineage" / "data.parquet"))
    assert table.height > 0 and (L.cache_dir(wh)).is_dir()
    assert table.equals(_full(defs, wh, monkeypatch))


def test_a_new_a_changed_and_a_removed_file_give_the_full_lineage_reading_only_them(published, tmp_path, monkeypatch):
    defs, wh = published
    home = tmp_path / "home"
    shutil.copytree(wh.parent / "warehouse", home / "warehouse", copy_function=shutil.copy2)
    shutil.copytree(wh.parent / "cache", home / "cache", copy_function=shutil.copy2)
    root = home / "warehouse"
    assert _sorted(LT.lineage_rows(defs, root)).equals(_full(defs, root, monkeypatch))  # the copy: from its cache
    seen = _reads(monkeypatch)
    LT.lineage_rows(defs, root)
    assert sum(seen) == 0  # nothing new: no file read
    w = Warehouse(root=str(root))
    ms = sorted((root / "clean" / "manifestation_statique").glob("*.parquet"))
    new_day = (LAST + timedelta(days=1)).isoformat()
    w.write("clean", "manifestation_statique", pl.read_parquet(ms[-1]), new_day)  # new
    w.write("clean", "manifestation_statique", pl.read_parquet(ms[0]).head(1), ms[0].stem)  # changed
    ms[1].unlink()  # removed
    lf = sorted((root / "governance" / "landing_files").glob("interventions_*.parquet"))[0]
    w.write("governance", "landing_files", pl.read_parquet(lf).with_columns(pl.col("bytes") + 1), lf.stem)  # changed
    seen.clear()
    got = _sorted(LT.lineage_rows(defs, root))
    # the table's new and changed files, the landing files' one (its counts, then the files received), each
    # read once — the report and the dated rows share one pass: nothing else read
    assert sorted(n for n in seen if n) == [1, 1, 2]
    assert got.equals(_full(defs, root, monkeypatch))
    ms_rows = got.filter((pl.col("table_name") == "clean.manifestation_statique") & (pl.col("lineage_kind") == "table"))
    assert new_day in ms_rows["partition"].to_list() and ms[1].stem not in ms_rows["partition"].to_list()
    assert ms_rows.filter(pl.col("partition") == ms[0].stem)["rows"].to_list() == [1]


def test_a_damaged_lineage_cache_gives_the_full_lineage(published, tmp_path, monkeypatch):
    defs, wh = published
    home = tmp_path / "home"
    shutil.copytree(wh.parent / "warehouse", home / "warehouse", copy_function=shutil.copy2)
    shutil.copytree(wh.parent / "cache", home / "cache", copy_function=shutil.copy2)
    root = home / "warehouse"
    caches = sorted(L.cache_dir(root).glob("*.parquet"))
    assert caches
    for k, c in enumerate(caches):
        if k % 2:
            c.write_bytes(b"damaged")
        else:
            c.unlink()
    assert _sorted(LT.lineage_rows(defs, root)).equals(_full(defs, root, monkeypatch))


def test_a_table_whose_files_differ_in_schema_is_read_by_name_one_schema_from_its_first_file(tmp_path):
    # the per-file counts read files of one schema without a union by name (bound from the first file);
    # files that gained a column, or hold their columns in another order, are read by name
    wh = Warehouse(root=str(tmp_path / "warehouse"))
    day = lambda k: f"2025-01-{k:02d}"  # noqa: E731
    for k in (1, 2):
        wh.write(
            "clean", "same", pl.DataFrame({"source": ["interventions"] * k, "start": [date(2025, 1, k)] * k}), day(k)
        )
    wh.write("clean", "mixed", pl.DataFrame({"source": ["interventions"], "start": [date(2025, 1, 1)]}), day(1))
    wh.write(
        "clean",
        "mixed",
        pl.DataFrame({"start": [date(2025, 1, 2)] * 2, "extra": [1, 2], "source": ["signalements", "interventions"]}),
        day(2),
    )
    counts = L.table_counts(build_defs(), wh.path, cache=tmp_path / "cache")
    same, mixed = counts["clean.same"], counts["clean.mixed"]
    assert (same.uniform, mixed.uniform) == (True, False)
    assert (same.total, mixed.total) == (3, 3)

    def rows(tc):
        return sorted(
            (Path(f).stem, c, n, a, b)
            for f, c, n, a, b in tc.counts.select("file", "convention", "n", "a", "b").iter_rows()
        )

    assert rows(same) == [
        ("2025-01-01", "internal", 1, "2025-01-01", "2025-01-01"),
        ("2025-01-02", "internal", 2, "2025-01-02", "2025-01-02"),
    ]
    # one row per file and source (both sources are the City's)
    assert rows(mixed) == [
        ("2025-01-01", "internal", 1, "2025-01-01", "2025-01-01"),
        ("2025-01-02", "internal", 1, "2025-01-02", "2025-01-02"),
        ("2025-01-02", "internal", 1, "2025-01-02", "2025-01-02"),
    ]
