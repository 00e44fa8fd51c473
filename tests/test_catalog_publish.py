"""The catalog (`catalog.duckdb`, views only) is rewritten only when its views change (issue 14)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tranquillite.resources.warehouse import Warehouse, open_catalog


def _stamp(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_ino, st.st_mtime_ns


def _contents(path: Path) -> dict:
    """What a reader sees of the catalog: views, their SQL and columns, and their rows."""
    con = open_catalog(path)
    try:
        views = con.execute(
            "SELECT schema_name, view_name, sql FROM duckdb_views() WHERE NOT internal ORDER BY 1, 2"
        ).fetchall()
        cols = con.execute(
            "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema NOT IN ('information_schema', 'pg_catalog', 'main') "
            "ORDER BY 1, 2, ordinal_position"
        ).fetchall()
        rows = {f"{s}.{n}": con.execute(f'SELECT count(*) FROM "{s}"."{n}"').fetchall()[0][0] for s, n, _ in views}
        schemas = sorted(
            r[0] for r in con.execute("SELECT schema_name FROM duckdb_schemas() WHERE NOT internal").fetchall()
        )
    finally:
        con.close()
    return {"views": views, "columns": cols, "rows": rows, "schemas": schemas}


def _rebuilt(wh: Warehouse, tmp: Path) -> dict:
    """The contents of a catalog built whole from the same files."""
    other = tmp / "whole"
    shutil.rmtree(other, ignore_errors=True)
    shutil.copytree(
        wh.path.parent, other, ignore=shutil.ignore_patterns("catalog.duckdb", "cache"), copy_function=shutil.copy2
    )
    w = Warehouse(root=str(other / "warehouse"))
    return _contents(w.publish_catalog(force=True))


@pytest.fixture
def wh(tmp_path) -> Warehouse:
    w = Warehouse(root=str(tmp_path / "home" / "warehouse"))
    w.write("clean", "events", pl.DataFrame({"event_id": ["a", "b"], "source": ["x", "y"]}))
    for day in ("2025-03-08", "2025-03-09"):
        w.write("clean", "interventions", pl.DataFrame({"id": [day]}), day)
        w.write("quarantine", "interventions", pl.DataFrame({"id": [day], "reason": ["hors_zone"]}), day)
    w.publish_catalog()
    return w


def test_a_second_publication_with_nothing_changed_leaves_the_catalog_untouched(wh, tmp_path):
    before = _stamp(wh.catalog_path)
    assert wh.publish_catalog() == wh.catalog_path
    assert _stamp(wh.catalog_path) == before
    # a partition rewritten, added or removed with the same schema: the views' SQL and columns are the
    # same, but the catalog is the app's version of the data (its reads are cached per catalog mtime,
    # `apps/streamlit/app_ui.py`): it is swapped anew, so the app reopens it and reads the new rows
    for step in (
        lambda: wh.write("clean", "interventions", pl.DataFrame({"id": ["z", "y"]}), "2025-03-08"),
        lambda: wh.write("clean", "interventions", pl.DataFrame({"id": ["n"]}), "2025-03-10"),
        lambda: wh.drop_partition("clean", "interventions", "2025-03-09"),
    ):
        step()
        wh.publish_catalog()
        assert _stamp(wh.catalog_path) != before
        before = _stamp(wh.catalog_path)
        assert _contents(wh.catalog_path) == _rebuilt(wh, tmp_path)
        wh.publish_catalog()  # and nothing more changed: untouched again
        assert _stamp(wh.catalog_path) == before
    assert _contents(wh.catalog_path)["rows"]["clean.interventions"] == 3


def test_a_new_table_a_new_column_a_new_view_or_a_removed_table_rewrite_it(wh, tmp_path):
    steps = [
        lambda: wh.write("indicators", "tension", pl.DataFrame({"cell": ["c"], "score": [1.0]})),  # new table
        lambda: wh.write("clean", "interventions", pl.DataFrame({"id": ["n"], "extra": [1.5]}), "2025-03-10"),  # column
        lambda: wh.write("clean", "events", pl.DataFrame({"event_id": ["a"], "source": [1]})),  # a column's type
        lambda: wh.write("quarantine", "cortege", pl.DataFrame({"id": ["q"], "reason": ["r"]}), "2025-03-08"),
        lambda: shutil.rmtree(wh.table_dir("indicators", "tension")),  # table removed
        lambda: wh.drop_partition("clean", "interventions", "2025-03-10"),  # column gone
    ]
    for step in steps:
        before = _stamp(wh.catalog_path)
        step()
        wh.publish_catalog()
        assert _stamp(wh.catalog_path) != before
        assert _contents(wh.catalog_path) == _rebuilt(wh, tmp_path)  # the changed views only = built whole
    got = _contents(wh.catalog_path)
    assert "indicators" not in got["schemas"] and got["rows"]["governance.quarantine"] == 3
    assert ("clean", "events", "source", "BIGINT") in got["columns"]
    assert not [c for c in got["columns"] if c[2] == "extra"]


def test_force_rebuilds_it(wh):
    before = _stamp(wh.catalog_path)
    wh.publish_catalog(force=True)
    assert _stamp(wh.catalog_path) != before


def test_a_deleted_catalog_file_is_always_rebuilt(wh, tmp_path):
    contents = _contents(wh.catalog_path)
    wh.catalog_path.unlink()
    wh.publish_catalog()
    assert wh.catalog_path.exists() and _contents(wh.catalog_path) == contents


@pytest.mark.parametrize("how", ["replaced", "record_deleted", "record_damaged"])
def test_a_catalog_it_did_not_swap_in_or_an_unreadable_record_means_a_whole_rebuild(wh, tmp_path, how):
    contents = _contents(wh.catalog_path)
    if how == "replaced":
        # another file in its place (a restore, a copy by hand): one view only
        stray = tmp_path / "stray.duckdb"
        con = duckdb.connect(str(stray))
        con.execute("CREATE SCHEMA clean")
        con.execute("CREATE VIEW clean.events AS SELECT 1 AS x")
        con.close()
        os.replace(stray, wh.catalog_path)
    elif how == "record_deleted":
        wh.catalog_record_path.unlink()
    else:
        wh.catalog_record_path.write_text("{not json", encoding="utf-8")
    before = _stamp(wh.catalog_path)
    wh.publish_catalog()
    assert _stamp(wh.catalog_path) != before and _contents(wh.catalog_path) == contents
