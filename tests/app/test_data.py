"""Every data query goes through the scoped gateway: a profile only ever gets rows it may see."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date

import polars as pl
import pytest

from tests.app.helpers import catalog_home, demo, login, login_as, new_app
from tranquillite.app_core import carte, habilitations, queries
from tranquillite.app_core.rights import load_principal, public_principal, sources_of_conventions

MARCH = carte.MapFilters(start=date(2025, 3, 7), end=date(2025, 3, 8))
PREFECTURE_SOURCES = {
    "manifestation_deambulatoire",
    "manifestation_statique",
    "operation_programmee",
    "visite_officielle",
}


@pytest.fixture
def cat(app_home):
    c = queries.Catalog.open()
    yield c
    c.close()


def _sources(cat, scope) -> set[str]:
    df = queries.scoped_query(cat, scope, "clean.events", select="DISTINCT source")
    return set(df.get_column("source").to_list())


def test_analyst_sees_every_source_prefecture_reader_only_the_convention(cat, con):
    analyst = load_principal(con, "demo.analyste")
    reader = load_principal(con, "demo.prefecture")
    assert _sources(cat, analyst.scope) == PREFECTURE_SOURCES | {
        "interventions",
        "signalements",
        "alertes_videoprotection",
        "evenements_publics",
    }
    assert _sources(cat, reader.scope) == PREFECTURE_SOURCES
    d = carte.map_data(cat, reader.scope, MARCH)
    assert d.n_facts == 0 and set(d.per_source) <= PREFECTURE_SOURCES
    assert d.routes and d.footprints and d.markers
    full = carte.map_data(cat, analyst.scope, MARCH)
    assert full.n_facts == 18 + 2 + 2 + 2  # interventions (incl. 2 at night), reports, alerts
    # even asking for a forbidden source by name returns nothing: the scope is ANDed
    asked = carte.map_data(cat, reader.scope, carte.with_filters(MARCH, sources=("interventions",)))
    assert asked.n_facts == 0
    # an event outside the scope has no details for this profile
    assert carte.event_detail(cat, reader.scope, "interventions:T-INT-2025-03-08-0") is None
    assert (
        carte.event_detail(cat, analyst.scope, "interventions:T-INT-2025-03-08-0")["Source"]
        == "Interventions de la Police Municipale"
    )


def test_public_and_partner_get_aggregates_only(cat, con):
    public = public_principal(con)
    partner = load_principal(con, "demo.partenaire")
    for p in (public, partner):
        with pytest.raises(queries.Forbidden):
            carte.map_data(cat, p.scope, MARCH)
        with pytest.raises(queries.Forbidden):
            queries.scoped_query(cat, p.scope, "clean.events", select="*")
    df = carte.public_indicators(cat, public.scope)
    assert set(df.get_column("source")) <= {"interventions", "signalements", "alertes_videoprotection"}
    cell = df.filter((pl.col("arrondissement") == "13201") & (pl.col("source") == "interventions")).row(0, named=True)
    assert cell["n"] == 18 and cell["n_affiche"] == "18"
    small = df.filter(pl.col("source") == "signalements").row(0, named=True)
    assert small["n"] is None and small["n_affiche"] == "<11"
    # the Préfecture's data never reach the public aggregates (C5)
    assert not set(df.get_column("source")) & PREFECTURE_SOURCES


def test_unpublished_tables_are_refused(cat, con):
    analyst = load_principal(con, "demo.analyste")
    for table in (
        "raw.interventions",
        "quarantine.cortege",
        "governance.landing_files",
        "main.x",
        "clean.events; DROP TABLE x",
        "clean.interventions",
    ):
        with pytest.raises(queries.Forbidden):
            queries.scoped_query(cat, analyst.scope, table, select="*")
    # the models' internals stay out of the app; their evaluation tables are published
    for table in ("models.model_registry", "models.backtest_evenements"):
        with pytest.raises(queries.Forbidden):
            queries.scoped_query(cat, analyst.scope, table, select="*")
    assert all(queries.is_published(f"models.{t}") for t in ("forecast", "backtest", "backtest_scores"))
    with pytest.raises(queries.NotAvailable):  # published but not (yet) materialised
        queries.scoped_query(cat, analyst.scope, "indicators.table_absente", select="*")


def test_activity_nature_restricts_the_sources(cat, con):
    admin = load_principal(con, "demo.habilitations")
    habilitations.update_user(con, admin, "demo.analyste", activity_nature="supervision_videoprotection")
    analyst = load_principal(con, "demo.analyste")
    assert _sources(cat, analyst.scope) == {"alertes_videoprotection", "interventions"}


def test_rights_are_data_a_profile_change_applies_at_once(cat, con):
    tech = load_principal(con, "demo.admin")
    habilitations.set_profile_rights(
        con, tech, "encadrement_pm", pages=["accueil_public", "carte", "compte"], actions=[], conventions=[]
    )
    manager = load_principal(con, "demo.encadrement")
    assert _sources(cat, manager.scope) == set()
    habilitations.set_profile_rights(
        con, tech, "encadrement_pm", pages=["accueil_public", "carte", "compte"], actions=[], conventions=["internal"]
    )
    manager = load_principal(con, "demo.encadrement")
    everything = _sources(cat, load_principal(con, "demo.analyste").scope)
    assert _sources(cat, manager.scope) == everything & set(sources_of_conventions(("internal",))) != set()
    assert "previsions" not in manager.pages and not manager.can("exporter")
    with pytest.raises(habilitations.RightsError):
        habilitations.set_profile_rights(con, tech, "public", pages=["carte"], actions=[], conventions=[])
    with pytest.raises(habilitations.RightsError):
        habilitations.set_profile_rights(
            con, load_principal(con, "demo.habilitations"), "analyste", pages=[], actions=[], conventions=[]
        )


def test_filters_are_sql_parameters(cat, con):
    analyst = load_principal(con, "demo.analyste")
    night = carte.with_filters(MARCH, hours=(22, 5))
    d = carte.map_data(cat, analyst.scope, night)
    assert d.per_source.get("interventions") == 2 and d.per_source.get("alertes_videoprotection") == 2
    assert "evenements_publics" in d.per_source  # 21:00–23:00 overlaps the night window
    rome = carte.with_filters(MARCH, arrondissements=("13206",), sources=("interventions",))
    assert carte.map_data(cat, analyst.scope, rome).n_facts == 2
    cats = carte.with_filters(MARCH, categories=("interventions|Rixe / violences",), sources=("interventions",))
    assert carte.map_data(cat, analyst.scope, cats).n_facts == 20
    hostile = carte.with_filters(MARCH, categories=("interventions|x' OR 1=1 --",), sources=("interventions",))
    assert carte.map_data(cat, analyst.scope, hostile).n_facts == 0
    hexes = carte.map_data(cat, analyst.scope, carte.with_filters(MARCH, detail="hexagones", resolution=7))
    assert hexes.facts_mode == "hexagones" and sum(h["n"] for h in hexes.hexagons) == hexes.n_facts
    assert night.as_log() == {"du": "2025-03-07", "au": "2025-03-08", "heures": "22-5"}  # access-log form


def test_map_page_renders_with_filters_from_the_url(app_home):
    at = new_app()  # a shared link opened in a new session: log in, land on the map with the link's filters
    # bound widgets write their displayed labels in the URL: links are readable
    at.query_params = {
        "periode": ["2025-03-07", "2025-03-08"],
        "sources": ["Interventions de la Police Municipale"],
        "arr": ["6e arrondissement"],
    }
    at.run()  # anonymous: the map is not open to the public (Streamlit says "page not found")
    at.query_params = {}  # the browser drops the query string when the visitor goes to Connexion
    u = demo("encadrement_pm")
    at = login(at, u.login, u.password)
    assert not at.exception
    assert at.multiselect(key="sources").value == ["interventions"]
    assert at.multiselect(key="arr").value == ["13206"]
    assert at.markdown[0].value.startswith("**2** faits")
    # the Préfecture reader cannot widen its scope through the URL
    at = new_app()
    at.query_params = {"periode": ["2025-03-07", "2025-03-08"], "sources": ["Interventions de la Police Municipale"]}
    at.run()
    at.query_params = {}
    u = demo("lecteur_prefecture")
    at = login(at, u.login, u.password)
    assert not at.exception
    assert at.multiselect(key="sources").value == []
    assert at.markdown[0].value.startswith("**0** faits")


def test_map_details_panel_then_the_forecast_page(app_home, con):
    at = login_as("analyste")
    at.query_params = {"periode": ["2025-03-07", "2025-03-08"]}
    at.run()
    at.selectbox(key="carte_detail").set_value("manifestation_deambulatoire:T-PP-2025-000001-0").run()
    assert not at.exception
    details = at.dataframe[-1].value
    assert details["Valeur"].to_list()[0] == "manifestation_deambulatoire:T-PP-2025-000001-0"
    assert "Personnes attendues" in details["Champ"].to_list()
    from tranquillite.app_core import store

    assert store.access_log(con, login="demo.analyste", page="carte")[0]["action"] == "detail"
    # the pipeline now publishes the forecast: the page shows it, not a placeholder
    at.switch_page("views/previsions.py").run()
    assert not at.exception
    assert not any("pas encore disponible" in i.value for i in at.info)
    assert at.selectbox(key="prev_categorie").value == "all"
    # two days of data: the published forecast expects nothing anywhere, so no cell is a hot spot
    assert any("Aucune cellule signalée" in i.value for i in at.info)
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    assert [layer["id"] for layer in spec["layers"]] == ["arrondissements", "prevision"]


def test_forecast_page_reads_the_model_tables_once_published(app_home, monkeypatch):
    """A home whose catalog has only models.* tables, with the columns the modelling assets publish."""
    from datetime import datetime

    origin = datetime(2025, 3, 1, 6)
    backtest = pl.DataFrame(
        {
            "model": ["moyenne_saisonniere", "lgbm_avec_evenements", "oracle"],
            "category": ["all"] * 3,
            "horizon": ["jour_suivant"] * 3,
            "origin": [origin] * 3,
            "coverage": [0.05] * 3,
            "hit_rate": [0.31, 0.38, 0.5],
            "pai": [6.2, 7.6, 10.0],
            "pei": [0.55, 0.67, 0.9],
            "n_events": [812] * 3,
            "hits": [251.7, 308.6, 406.0],
            "max_hits": [456.0] * 3,
            "oracle_hit_rate": [0.5] * 3,
            "hit_rate_vs_oracle": [0.62, 0.76, 1.0],
        }
    )
    cells = ["89396815307ffff", "89396802d13ffff"]
    forecast = pl.DataFrame(
        {
            "origin": [origin] * 4,
            "slot": [60444] * 4,
            "slot_start": [origin] * 4,
            "slot_end": [datetime(2025, 3, 1, 14)] * 4,
            "lead": pl.Series([0] * 4, dtype=pl.Int16),
            "category": ["all", "all", "interventions", "interventions"],
            "h3_cell": cells * 2,
            "zone": ["13201", "13206"] * 2,
            "expected": [2.5, 0.4, 2.0, 0.3],
            "lower_80": [1.2, 0.05, 0.9, 0.04],
            "upper_80": [4.6, 1.7, 3.9, 1.5],
            "lower_95": [0.6, 0.01, 0.4, 0.01],
            "upper_95": [5.9, 2.6, 5.1, 2.3],
            "rank": pl.Series([1, 2, 1, 2], dtype=pl.Int32),
            "explanations": ["[]"] * 4,
            "model": ["lgbm_avec_evenements"] * 4,
            "model_version": ["v1+v2+v3", "v1+v2+v3", "v1", "v1"],
        }
    )
    catalog_home(
        app_home, "home_models", {("models", "backtest"): backtest, ("models", "forecast"): forecast}, monkeypatch
    )
    at = login_as("analyste")
    assert any("Aucune donnée publiée" in i.value for i in at.info)  # no clean.events in this catalog
    at.switch_page("views/previsions.py").run()
    assert not at.exception and not at.info
    assert at.selectbox(key="prev_creneau").options == ["sam. 01/03 06h–14h"]
    top = at.dataframe[0].value  # 5 % of 2 cells: the best one, with its integer interval bounds
    assert top["Cellule H3"].to_list() == ["89396815307ffff"] and top["Intervalle 80 %"].to_list() == ["1–4"]
    conf = at.dataframe[1].value
    assert conf["Modèle"].to_list() == [
        "LightGBM avec les événements prévus",
        "Moyenne saisonnière",
        "Oracle (intensité vraie, données synthétiques)",
    ]
    assert conf["Rôle"].to_list()[0].startswith("★ champion")
    assert conf["Rapport à l'oracle"].to_list() == ["76\u202f%", "62\u202f%", "100\u202f%"]
    assert len(at.dataframe) == 2 and not at.metric  # no models.backtest_scores in this catalog
    # the Préfecture reader gets no forecast: they derive from the City's data (convention internal)
    from tranquillite.app_core import store

    with store.connect() as c:
        reader = load_principal(c, "demo.prefecture")
    cat = queries.Catalog.open()
    assert queries.scoped_query(cat, reader.scope, "models.backtest", select="*").height == 0
    assert queries.scoped_query(cat, reader.scope, "models.forecast", select="*").height == 0
    cat.close()


def test_time_of_day_overlap_is_exact():
    """The scalar SQL of the planned events' hour overlap equals set intersection, for every case."""
    import duckdb

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t AS SELECT TIMESTAMP '2025-03-08 00:00' + to_hours(s) AS start, "
        "TIMESTAMP '2025-03-08 00:00' + to_hours(s) + to_minutes(d) AS \"end\", s, d "
        "FROM range(24) r(s), (VALUES (0), (30), (150), (600), (1400), (1500)) v(d)"
    )
    for a in range(24):
        for b in range(24):
            window = set(range(a, b + 1)) if a <= b else set(range(a, 24)) | set(range(0, b + 1))
            sql, params = carte.planned_hours_sql(a, b)
            got = {(r[0], r[1]) for r in con.execute(f"SELECT s, d FROM t WHERE {sql}", params).fetchall()}
            want = set()
            for s, d in con.execute("SELECT s, d FROM t").fetchall():
                end_min = s * 60 + d
                hours = {(m // 60) % 24 for m in range(s * 60, end_min + 1)}
                if d >= 24 * 60 or hours & window:
                    want.add((s, d))
            assert got == want, (a, b)


def test_map_counts_and_cells_in_one_read_match_the_separate_reads(cat, con, monkeypatch):
    """The facts' counts per source and per H3 cell, and each cell's main category, come from one grouped
    read (issue 14), and say what plain reads of the same filters say."""
    from tests.app.helpers import count_queries

    analyst = load_principal(con, "demo.analyste")
    f = carte.with_filters(MARCH, detail="hexagones")
    where, params = carte._facts_where(f)
    by_source = queries.scoped_query(
        cat,
        analyst.scope,
        "clean.events",
        select="source, count(*) AS n",
        where=where,
        params=params,
        group_by="source",
    )
    by_cell = queries.scoped_query(
        cat,
        analyst.scope,
        "clean.events",
        select="h3_cell, count(*) AS n",
        where=where + " AND h3_cell IS NOT NULL",
        params=params,
        group_by="h3_cell",
    )
    by_category = queries.scoped_query(
        cat,
        analyst.scope,
        "clean.events",
        select="h3_cell, subcategory, count(*) AS n",
        where=where + " AND h3_cell IS NOT NULL AND subcategory IS NOT NULL",
        params=params,
        group_by="h3_cell, subcategory",
    )
    calls = count_queries(monkeypatch)
    monkeypatch.setattr(carte, "scoped_query", queries.scoped_query)
    d = carte.map_data(cat, analyst.scope, f)
    assert calls == ["clean.events", "clean.events"]  # the facts (counts and cells at once), the planned events
    facts = {s: n for s, n in d.per_source.items() if s in carte.FACT_SOURCES}
    assert facts == dict(by_source.iter_rows()) and d.n_facts == by_source.get_column("n").sum() > 0
    assert {h["h3"]: h["n"] for h in d.hexagons} == dict(by_cell.iter_rows())
    assert all(h["titre"] == ("1 fait" if h["n"] == 1 else f"{h['n']} faits") for h in d.hexagons)
    for h in d.hexagons:  # the main category: the most counted (the first in alphabetical order on a tie)
        ranked = sorted(((-n, sub) for c, sub, n in by_category.iter_rows() if c == h["h3"]))
        assert h["info"] == "Catégorie principale: " + (ranked[0][1] if ranked else "n.c.")


def test_a_long_planned_event_stays_on_the_map_of_its_last_days(app_home, cat, con, monkeypatch):
    """The planned events' read adds `start >= first day - longest event` so that DuckDB skips the earlier
    row groups (issue 14): an event begun weeks before the period is still drawn, the same events as
    without the bound, and the row groups of the autumn before are not read."""
    from datetime import datetime, timedelta

    from tranquillite.resources.warehouse import Warehouse

    events = pl.from_arrow(cat.cursor().sql("SELECT * FROM clean.events").to_arrow_table())
    base = events.filter(pl.col("source") == "evenements_publics").row(0, named=True)

    def event(code: str, start: datetime, end: datetime) -> dict:
        return {
            **base,
            "event_id": f"evenements_publics:{code}",
            "record_id": code,
            "start": start,
            "end": end,
            "geometry": None,
        }

    long = event("LONGUE", datetime(2025, 2, 20, 8), datetime(2025, 3, 7, 20))  # a fortnight's fair
    added = [long, event("VEILLE", datetime(2025, 3, 6, 8), datetime(2025, 3, 6, 20))]  # over the day before
    added += [event(f"AUTOMNE{i}", datetime(2024, 11, 1 + i, 8), datetime(2024, 11, 1 + i, 20)) for i in range(8)]
    home = app_home.parent / "home_longue"
    shutil.copytree(app_home / "app", home / "app")
    if (app_home / "secrets").exists():
        shutil.copytree(app_home / "secrets", home / "secrets")
    wh = Warehouse(root=str(home / "warehouse"))
    table = pl.concat([events, pl.DataFrame(added, schema=events.schema)]).sort("start")
    wh.write("clean", "events", table, row_group_size=4)  # small row groups: the bound lets DuckDB skip some
    wh.publish_catalog()
    monkeypatch.setenv("TRANQUILLITE_HOME", str(home))
    c = queries.Catalog.open()
    try:
        analyst = load_principal(con, "demo.analyste")
        longest = c.longest_span_us("clean.events", carte.PLANNED_SOURCES)
        assert longest == (long["end"] - long["start"]) // timedelta(microseconds=1)
        d = carte.map_data(c, analyst.scope, MARCH)
        drawn = {r["event_id"] for r in d.routes + d.footprints + d.markers}
        assert "evenements_publics:LONGUE" in drawn and "evenements_publics:VEILLE" not in drawn
        unbounded, params = carte._planned_where(MARCH)
        every = queries.scoped_query(
            c, analyst.scope, "clean.events", select="event_id", where=unbounded, params=params
        )
        assert drawn == set(every.get_column("event_id").to_list())
        bounded, params = carte._planned_where(MARCH, longest)
        plan = (
            c.cursor()
            .execute(f"EXPLAIN ANALYZE SELECT event_id FROM clean.events WHERE {bounded}", params)
            .fetchall()[0][1]
        )
        scanned, total = map(int, re.search(r"Row Groups Scanned: (\d+) / (\d+)", plan).groups())
        assert scanned < total
    finally:
        c.close()
