"""The warehouse's DuckDB sessions: one view per table, or only the views a step reads."""

from __future__ import annotations

import polars as pl

from tranquillite.resources.warehouse import Warehouse


def _views(con) -> set[str]:
    return {
        f"{s}.{n}"
        for s, n in con.execute("SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    }


def test_a_session_binds_only_the_views_it_is_asked_for(tmp_path):
    wh = Warehouse(root=str(tmp_path / "warehouse"))
    wh.write("clean", "events", pl.DataFrame({"event_id": ["a", "b"], "source": ["x", "y"]}))
    wh.write("clean", "interventions", pl.DataFrame({"id": ["1"]}), "2025-03-08")
    wh.write("quarantine", "interventions", pl.DataFrame({"id": ["2"]}), "2025-03-08")
    with wh.connect() as con:
        assert _views(con) == {
            "clean.events",
            "clean.interventions",
            "quarantine.interventions",
            "governance.quarantine",
        }
    with wh.connect(tables=["clean.events"]) as con:
        assert _views(con) == {"clean.events"}
        assert con.execute("SELECT count(*) FROM clean.events").fetchall() == [(2,)]
    with wh.connect(tables=()) as con:
        assert _views(con) == set()
