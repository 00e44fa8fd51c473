"""Lineage per convention, the app half (issue 11): the access log says what was read (tables,
conventions of the rows returned, row counts — never rows), for every page view, query, export and
CLI command; the forecast variant rule (one set per profile, never both); the *Traçabilité* page.

Real catalog of the pipeline (`app_home`) and, for the forecast variants, a hand-built catalog with
both sets (`variants_home`)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import polars as pl
import pytest

from tests.app.helpers import catalog_home, demo, login, login_as, new_app, run_page_as, texts
from tranquillite.app_core import audit, carte, queries, reads, store
from tranquillite.app_core import tracabilite as T
from tranquillite.app_core.rights import Scope, load_principal, sources_of_conventions

PREF, CITY = "prefecture_police_13", "internal"


def last_lines(con, page: str | None = None, n: int = 50) -> list[dict]:
    return store.access_log(con, page=page, limit=n)


def reads_of(line: dict) -> dict[str, dict]:
    return {r["table"]: r for r in json.loads(line["reads"] or "[]")}


# ----------------------------------------------------------------------------- what was read
def test_each_page_view_logs_the_tables_conventions_and_row_counts_it_read(app_home, con):
    at = login_as("analyste")  # home: the Carte, over the City's and the Préfecture's events
    assert not at.exception, at.exception
    carte_line = next(r for r in last_lines(con, "carte") if r["action"] == "consultation")
    got = reads_of(carte_line)
    # the map's events, and the alerts the navigation's badge counted (« Alertes (n) », issue 15)
    assert set(got) == {"clean.events", "indicators.alerts"}, got
    assert got["clean.events"]["conventions"] == [CITY, PREF] and got["clean.events"]["rows"] > 0
    assert json.loads(carte_line["filters"])  # the choices, as before
    # never rows: only table names, conventions, counts
    assert set(got["clean.events"]) == {"table", "conventions", "rows", "lectures"}

    at.switch_page("views/previsions.py").run()
    assert not at.exception, at.exception
    line = last_lines(con, "previsions")[0]
    got = reads_of(line)
    assert {"models.forecast", "models.backtest"} <= set(got), got
    assert got["models.forecast"]["rows"] > 0 and got["models.forecast"]["conventions"] == [CITY]
    f = json.loads(line["filters"])  # Prévisions logs the choices made, like the Carte
    assert f["categorie"] == "Tous les faits" and f["zone_signalee"] == "5\u202f%" and f["creneau"].startswith("dim.")
    at.selectbox(key="prev_part").select(0.10).run()
    f2 = json.loads(last_lines(con, "previsions")[0]["filters"])
    assert f2["zone_signalee"] == "10\u202f%" and f2["creneau"] == f["creneau"]

    at.switch_page("views/tension.py").run()
    assert not at.exception, at.exception
    line = last_lines(con, "tension")[0]
    assert "indicators.tension" in reads_of(line) and json.loads(line["filters"])["creneau"]

    at.switch_page("views/accueil_public.py").run()
    line = last_lines(con, "accueil_public")[0]
    assert json.loads(line["filters"])["indicateur"] == "Faits par catégorie"
    assert reads_of(line)["indicators.values_public"]["conventions"] == [CITY]  # the public figures: the City's only
    assert audit.verify(con).intact  # `reads` is MACed and verifies


def test_a_page_served_from_the_cache_logs_its_reads_all_the_same(app_home, con):
    for _ in range(2):  # two sessions: the second one's queries come from st.cache_data
        at = login_as("analyste")
        at.switch_page("views/previsions.py").run()
        assert not at.exception
    lines = [r for r in last_lines(con, "previsions") if r["action"] == "consultation"]
    assert len(lines) == 2
    assert reads_of(lines[0]) == reads_of(lines[1]) and "models.forecast" in reads_of(lines[0])


def test_an_export_logs_its_own_reads_and_the_page_does_not_count_them_twice(app_home, con):
    manager = load_principal(con, "demo.encadrement")
    city = ("interventions", "signalements", "alertes_videoprotection", "evenements_publics")
    cat = queries.Catalog.open()
    try:
        with reads.collecting() as page_run:
            carte.export_csv(cat, manager, carte.MapFilters(date(2025, 3, 7), date(2025, 3, 8), sources=city))
    finally:
        cat.close()
    assert page_run.reads == []
    line = store.access_log(con, exports_only=True)[0]
    got = reads_of(line)
    assert (
        got["clean.events"]["conventions"] == [CITY]
        and got["clean.events"]["rows"] == json.loads(line["detail"])["lignes"] > 0
    )


def test_the_reads_field_is_covered_by_the_line_mac(app_home, con):
    store.log_access(con, login="demo.analyste", profile="analyste", page="carte")  # no reads: old format
    store.log_access(
        con,
        login="demo.analyste",
        profile="analyste",
        page="carte",
        reads=reads.to_json([reads.Read("clean.events", (CITY,), 3)]),
    )
    store.log_access(con, login="demo.analyste", profile="analyste", page="carte")
    assert audit.verify(con).intact
    target = con.execute("SELECT max(id) - 1 FROM access_log").fetchone()[0]
    sql = con.execute("SELECT sql FROM sqlite_master WHERE name = 'access_log_no_update'").fetchone()[0]
    con.execute("DROP TRIGGER access_log_no_update")  # an intruder hiding that Préfecture rows were read
    con.execute(
        "UPDATE access_log SET reads = ? WHERE id = ?",
        (reads.to_json([reads.Read("clean.events", (CITY,), 3)]).replace("3", "1"), target),
    )
    con.execute(sql)
    v = audit.verify(con)
    assert not v.intact and v.first_broken == target


def test_a_store_of_the_previous_version_gets_the_field_and_its_lines_still_verify(app_home, tmp_path):
    path = tmp_path / "old.sqlite"
    with store.connect(path) as c:
        for i in range(3):
            store.log_access(c, login="x", profile="analyste", page="carte", filters={"i": i})
        c.execute("ALTER TABLE access_log DROP COLUMN reads")  # the store as version 1 left it
        c.execute("DROP TABLE alembic_version")  # (created before Alembic)
        c.execute("DELETE FROM meta WHERE key = 'granted_tracabilite'")
        c.execute("DELETE FROM profile_pages WHERE page = 'tracabilite'")
        c.execute("DELETE FROM pages WHERE code = 'tracabilite'")
    store._READY.discard(str(path))
    with store.connect(path) as c:
        assert "reads" in {r[1] for r in c.execute("PRAGMA table_info(access_log)")}
        store.log_access(
            c,
            login="x",
            profile="analyste",
            page="carte",
            reads=reads.to_json([reads.Read("clean.events", (PREF,), 2)]),
        )
        assert audit.verify(c).intact and audit.verify(c).lines == 4
        granted = {r[0] for r in c.execute("SELECT profile FROM profile_pages WHERE page = 'tracabilite'")}
        assert granted == {"auditeur_dpo", "lecteur_prefecture"}


def test_cli_summary_logs_what_it_counted(app_home, con, monkeypatch, capsys):
    from tranquillite import cli

    monkeypatch.setenv("TRANQUILLITE_CLI_LOGIN", "exploitant.dgansi")
    assert cli.main(["summary"]) == 0
    line = last_lines(con, "console")[0]
    assert line["login"] == "exploitant.dgansi" and line["profile"] == "console" and line["action"] == "cli_summary"
    got = reads_of(line)
    assert got["clean.events"]["conventions"] == [CITY, PREF]
    assert got["raw.cortege"]["conventions"] == [PREF] and got["raw.interventions"]["conventions"] == [CITY]
    assert got["clean.events"]["rows"] == 34
    monkeypatch.delenv("TRANQUILLITE_CLI_LOGIN")
    import getpass

    assert cli.main(["summary"]) == 0
    assert last_lines(con, "console")[0]["login"] == getpass.getuser()


# ----------------------------------------------------------------------------- the variant rule
CELLS = [f"89396{i:06d}ffff" for i in range(6)]
ORIGIN = datetime(2025, 3, 9, 6)


def two_variant_forecast() -> pl.DataFrame:
    rows = []
    for variant, convs in (("complete", [CITY, PREF]), ("internal", [CITY])):
        for slot in (60468, 60469):
            for i, cell in enumerate(CELLS):
                e = float(i + (1 if variant == "complete" else 0))
                rows.append(
                    {
                        "origin": ORIGIN,
                        "slot": slot,
                        "slot_start": ORIGIN + timedelta(hours=8 * (slot - 60468)),
                        "slot_end": ORIGIN + timedelta(hours=8 * (slot - 60467)),
                        "lead": slot - 60468,
                        "category": "all",
                        "h3_cell": cell,
                        "zone": "13201",
                        "expected": e,
                        "lower_80": 0.0,
                        "upper_80": e + 1,
                        "lower_95": 0.0,
                        "upper_95": e + 2,
                        "rank": 6 - i,
                        "explanations": "[]",
                        "model": "lgbm_avec_evenements" if variant == "complete" else "lgbm_sans_evenements",
                        "model_version": "v1",
                        "variant": variant,
                        "variant_conventions": convs,
                        # a complete row far from any Préfecture record names only the City's data
                        "conventions": convs if i % 2 == 0 else [CITY],
                    }
                )
    return pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.col("lead").cast(pl.Int16), pl.col("rank").cast(pl.Int32)
    )


@pytest.fixture
def variants_home(app_home, monkeypatch):
    return catalog_home(app_home, "home_variants", {("models", "forecast"): two_variant_forecast()}, monkeypatch)


def _scope(convs: tuple[str, ...]) -> Scope:
    src = sources_of_conventions(convs)
    return Scope(row_sources=src, aggregate_sources=src, conventions=convs, aggregated_only=False)


def test_each_profile_gets_one_forecast_set_never_both(variants_home, con):
    cat = queries.Catalog.open()
    try:
        sets = cat.variant_sets("models.forecast")
        assert queries.served_variant(sets, [CITY, PREF], ORIGIN) == "complete"
        assert queries.served_variant(sets, [CITY], ORIGIN) == "internal"
        for convs, variant in (((CITY, PREF), "complete"), ((CITY,), "internal")):
            got = queries.scoped_query(
                cat, _scope(convs), "models.forecast", select="variant, h3_cell, slot, conventions"
            )
            assert got.height == len(CELLS) * 2, (convs, got)
            assert set(got["variant"]) == {variant}
            assert got.select("h3_cell", "slot").is_unique().all()  # no cell twice
            if PREF not in convs:
                assert not got["conventions"].list.contains(PREF).any()
        # a Préfecture-only scope sees no complete set in full (it mixes the City's data) nor the City's set
        assert queries.scoped_query(cat, _scope((PREF,)), "models.forecast", select="h3_cell").height == 0
        for login in ("demo.analyste", "demo.encadrement", "demo.admin"):
            p = load_principal(con, login)
            got = queries.scoped_query(cat, p.scope, "models.forecast", select="variant, h3_cell, slot")
            assert set(got["variant"]) == {"complete"} and got.select("h3_cell", "slot").is_unique().all()
    finally:
        cat.close()


def test_the_previsions_page_shows_each_cell_once_and_internal_only_profiles_the_citys_set(variants_home, con):
    at = login_as("analyste")
    at.switch_page("views/previsions.py").run()
    assert not at.exception, at.exception
    cells = pl.from_pandas(at.dataframe[0].value)
    assert cells["Cellule H3"].is_unique().all()
    line = last_lines(con, "previsions")[0]
    assert reads_of(line)["models.forecast"]["conventions"] == [CITY, PREF]
    # an internal-only profile: the City's own set, no row carrying the Préfecture's convention
    con.execute("DELETE FROM profile_conventions WHERE profile = 'encadrement_pm' AND convention = ?", (PREF,))
    at = login_as("encadrement_pm")
    at.switch_page("views/previsions.py").run()
    assert not at.exception, at.exception
    assert "LightGBM sans les événements prévus" in texts(at)
    got = reads_of(last_lines(con, "previsions")[0])
    assert got["models.forecast"]["conventions"] == [CITY] and got["models.forecast"]["rows"] > 0


# ----------------------------------------------------------------------------- Traçabilité
def test_the_tracabilite_page_lists_tables_models_files_reads_and_habilitations(app_home, con):
    login_as("analyste")  # a test user reads the Préfecture's rows on the Carte
    at = login_as("auditeur_dpo")
    at.switch_page("views/tracabilite.py").run()
    assert not at.exception, at.exception
    sb = at.selectbox(key="trace_convention")
    assert sb.options == [T.convention_title(CITY), T.convention_title(PREF)]
    sb.select(PREF).run()
    assert not at.exception, at.exception
    frames = {i: pl.from_pandas(df.value) for i, df in enumerate(at.dataframe)}
    page = texts(at)
    assert "Tables et partitions" in page and "Lectures et exports" in page
    tables = next(f for f in frames.values() if "Lignes de la convention" in f.columns and "Partitions" in f.columns)
    assert "Données brutes (Données brutes)" not in set(tables["Table"])
    assert {"clean.events", "raw.cortege", "clean.manifestation_statique", "features.cell_slot"} <= set(
        T.report(queries.Catalog.open(), con, load_principal(con, "demo.dpo"), PREF).tables["Nom technique"]
    )
    cat = queries.Catalog.open()
    try:
        truth = pl.from_arrow(
            cat.cursor().sql("SELECT count(*) FROM clean.events WHERE convention = ?", params=[PREF]).to_arrow_table()
        ).item()
    finally:
        cat.close()
    ev = tables.filter(pl.col("Table").str.starts_with("Événements unifiés"))
    assert ev["Lignes de la convention"][0] == truth == 8
    assert any("Cortège" in str(v) or "Manifestation" in str(v) for f in frames.values() for v in f.to_dicts())
    lectures = next(f for f in frames.values() if "Utilisateur" in f.columns and "Tables lues" in f.columns)
    mine = lectures.filter(pl.col("Utilisateur") == "demo.analyste")
    assert mine.height >= 1 and mine["Page"].to_list()[0] == "Carte" and mine["Lignes"][0] > 0
    habil = next(f for f in frames.values() if "Identifiant" in f.columns and "Nature d'activité" in f.columns)
    assert {"demo.analyste", "demo.prefecture", "demo.dpo"} <= set(habil["Identifiant"])
    assert "demo.partenaire" not in set(habil["Identifiant"])


def test_the_report_downloads_are_the_same_facts_as_csv_and_json(app_home, con):
    login_as("analyste")
    dpo = load_principal(con, "demo.dpo")
    cat = queries.Catalog.open()
    try:
        rep = T.report(cat, con, dpo, PREF)
    finally:
        cat.close()
    doc = json.loads(T.report_json(rep))
    assert doc["convention"] == PREF
    assert {t["Nom technique"] for t in doc["Tables"]} >= {
        "clean.events",
        "raw.cortege",
        "clean.manifestation_statique",
    }
    assert any(r["Utilisateur"] == "demo.analyste" for r in doc["Lectures et exports"])
    csv = pl.read_csv(T.report_csv(rep).encode(), infer_schema_length=0)
    assert set(csv["Rubrique"]) >= {"Sources et contrats", "Tables", "Lectures et exports", "Habilitations ouvertes"}
    assert csv.filter(pl.col("Rubrique") == "Tables").height == rep.tables.height
    # the City's own report has no Préfecture table rows
    city = T.report(queries.Catalog.open(), con, dpo, CITY)
    assert "raw.cortege" not in set(city.tables["Nom technique"])


def test_the_prefecture_reader_receives_only_its_own_conventions_report(app_home, con):
    reader = load_principal(con, "demo.prefecture")
    assert T.report_conventions(reader) == [PREF]
    cat = queries.Catalog.open()
    try:
        with pytest.raises(queries.Forbidden):
            T.report(cat, con, reader, CITY)
        rep = T.report(cat, con, reader, PREF)
        assert rep.tables.height > 0
        # the gateway, not the page, keeps the City's lineage from it
        assert (
            queries.scoped_query(
                cat, reader.scope, T.LINEAGE, select="convention", where="convention = ?", params=[CITY]
            ).height
            == 0
        )
    finally:
        cat.close()
    u = demo("lecteur_prefecture")
    at = login(new_app(), u.login, u.password)
    at.switch_page("views/tracabilite.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="trace_convention").options == [T.convention_title(PREF)]
    # other profiles do not get the page, even when it is run directly
    at = run_page_as("demo.analyste", "tracabilite.py")
    assert "n'est pas ouverte" in texts(at) and not at.dataframe


# --------------------------------------------------------------------------- one scan per read (issue 14)
FOLD_READS = [  # (table, select, where, group_by, order_by, limit): every shape a page sends
    ("clean.events", "source, count(*) AS n", "start IS NOT NULL", "source", None, None),
    ("clean.events", "h3_cell, count(*) AS n, mode(subcategory) AS p", "h3_cell IS NOT NULL", "h3_cell", None, None),
    ("clean.events", "count(*) AS n", "start >= ?", None, None, None),
    ("clean.events", "count(*) AS n", "start < ?", None, None, None),  # nothing matches
    ("clean.events", "event_id, source, start", "start >= ?", None, "start, event_id", 7),
    ("indicators.hotspots", "*", None, None, None, 50),
    ("indicators.values", "indicator_id, count(*) AS n", None, "indicator_id", None, None),
    ("governance.data_quality", "source, count(*) AS n", None, "source", None, None),
]


def _scope_all() -> Scope:
    from tranquillite.app_core.rights import all_conventions, all_sources

    return Scope(
        row_sources=all_sources(), aggregate_sources=all_sources(), conventions=all_conventions(), aggregated_only=False
    )


@pytest.mark.parametrize("table, select, where, group_by, order_by, limit", FOLD_READS)
def test_a_read_records_its_conventions_in_the_same_query(
    app_home, monkeypatch, table, select, where, group_by, order_by, limit
):
    """The access log's conventions come with the rows (no second DISTINCT scan), and are those the
    separate DISTINCT query gives on the same predicate; the page never sees the gateway's column."""
    scope, cat = _scope_all(), queries.Catalog.open()
    params = (
        [] if where is None or "?" not in where else [datetime(2025, 3, 1) if ">" in where else datetime(2000, 1, 1)]
    )
    statements = []
    cursor = queries.Catalog.cursor

    def counting(self):
        statements.append(1)
        return cursor(self)

    try:
        assert cat.has(table), f"{table} absent du catalogue de test: la lecture ne prouverait rien"
        plain = queries.scoped_query(
            cat,
            scope,
            table,
            select=select,
            where=where,
            params=params,
            group_by=group_by,
            order_by=order_by,
            limit=limit,
        )
        monkeypatch.setattr(queries.Catalog, "cursor", counting)
        with reads.collecting() as run:
            df = queries.scoped_query(
                cat,
                scope,
                table,
                select=select,
                where=where,
                params=params,
                group_by=group_by,
                order_by=order_by,
                limit=limit,
            )
        monkeypatch.setattr(queries.Catalog, "cursor", cursor)
        cols = cat.columns(table)
        pred, pred_params = queries.scope_predicate(scope, cols, table, "rows", None)
        expected = queries.returned_conventions(
            cat, table, cols, pred, pred_params, where, params, group_by, order_by, limit, df.height
        )
    finally:
        cat.close()
    assert df.columns == plain.columns and df.height == plain.height
    assert bool(expected) == (where != "start < ?")  # only the empty read names no convention
    assert len(statements) == 1
    assert [(r.table, list(r.conventions), r.rows) for r in run.reads] == [(table, expected, df.height)]
