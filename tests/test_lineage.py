"""Follow a Préfecture record through the whole platform, as `tranquillite materialize` runs it.

Two entries are seeded in the Cortège landing files of a small generated Marseille (a static
demonstration in the past, another in the forecast's horizon); after ingestion, publication,
forecasting and indicators, each appears in `clean.events`, in the features it touches, in the
forecasts and indicators derived from them, every such row with `prefecture_police_13` in its
`conventions` — while the rows computed from the City's data alone do not carry it. The lineage
report finds the same from the data; every table of the warehouse is an asset."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from tests.factories import PREFECTURE
from tranquillite import runner
from tranquillite.definitions import build_defs
from tranquillite.lineage import convention_lineage, lineage_table, untracked_tables
from tranquillite.settings import paths
from tranquillite.synthetic import generate

pytestmark = pytest.mark.slow

FIRST, DAYS = date(2025, 3, 3), 28
LAST = FIRST + timedelta(days=DAYS - 1)
PREF, CITY = "prefecture_police_13", "internal"
# the event model alone: its forecast uses the Préfecture's records, so the City's own one is published too
SMALL = {
    "n_origins": 2,
    "train_weeks": 2,
    "lgbm_rounds": 20,
    "workers": 1,
    "threads": 1,
    "models": ["lgbm_avec_evenements"],
}
PAST, COMING = "PP-TRACE-PASSE", "PP-TRACE-AVENIR"
# the ingestion stream makes these tables assets (issue 11): until then they are the only untracked ones


def _entry(ident: str, entered: str, start: str, end: str) -> dict:
    lon, lat = 5.3803, 43.2902
    square = [
        [lon - 0.0006, lat - 0.0004],
        [lon + 0.0006, lat - 0.0004],
        [lon + 0.0006, lat + 0.0004],
        [lon - 0.0006, lat + 0.0004],
        [lon - 0.0006, lat - 0.0004],
    ]
    return {
        "id": ident,
        "type": "manifestation_statique",
        "version": 1,
        "saisi_le": entered,
        "objet": "Rassemblement pour le suivi du lignage",
        "description_observations": None,
        "adresse": PREFECTURE,
        "date_debut": start,
        "date_fin": end,
        "nombre_personnes_attendues": 5000,
        "nombre_personnes_declarees": None,
        "nombre_voitures_attendues": None,
        "nombre_voitures_declarees": None,
        "statut_organisateur": "association",
        "emprise": {"type": "Polygon", "coordinates": [square]},
    }


def _seed(home: Path) -> None:
    for day, entry in (
        (
            "2025-03-14",
            _entry(PAST, "2025-03-14T10:00:00+01:00", "2025-03-20T14:00:00+01:00", "2025-03-20T16:00:00+01:00"),
        ),
        (
            "2025-03-28",
            _entry(COMING, "2025-03-28T10:00:00+01:00", "2025-04-01T15:00:00+02:00", "2025-04-01T17:00:00+02:00"),
        ),
    ):
        path = home / "landing" / "cortege" / f"prefecture_{day}.json"
        docs = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps([*docs, entry], ensure_ascii=False), encoding="utf-8")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    home = tmp_path_factory.mktemp("lignage")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRANQUILLITE_HOME", str(home))
    mp.setenv("DAGSTER_HOME", str(home / "dagster"))
    generate(home, start=FIRST, days=DAYS, seed=11, scale=0.2)
    _seed(home)
    defs = build_defs()
    outcomes = runner.materialize(defs, FIRST, LAST, runner.instance(), forecast_settings=SMALL)
    assert all(o.success for o in outcomes), outcomes
    yield defs, paths().warehouse
    mp.undo()


def read(wh: Path, layer: str, table: str) -> pl.DataFrame:
    return pl.read_parquet(sorted((wh / layer / table).glob("*.parquet")), missing_columns="insert")


def _pref(df: pl.DataFrame) -> pl.Expr:
    return pl.col("conventions").list.contains(PREF)


def test_every_published_row_says_which_conventions_it_comes_from(run):
    defs, wh = run
    for layer in ("clean", "features", "models", "indicators"):
        for d in sorted((wh / layer).iterdir()):
            df = read(wh, layer, d.name)
            if layer == "clean" and d.name != "events":
                continue  # one contract per table: its convention is the table's (asset tags)
            assert "conventions" in df.columns, d
            bad = df.filter(
                pl.col("conventions").is_null()
                | (pl.col("conventions").list.len() == 0)
                | (pl.col("conventions") != pl.col("conventions").list.unique().list.sort())
            )
            assert bad.height == 0, (d, bad.head(3))


def test_every_column_of_every_table_is_described_in_french_with_a_readable_type(run):
    from tranquillite.assets.metadata import table_schema

    _, wh = run
    for d in sorted(wh.glob("*/*")):
        files = sorted(d.glob("*.parquet"))
        if files:
            cols = table_schema(dict(pl.read_parquet_schema(files[-1]))).columns
            assert all(c.description for c in cols), (d, [c.name for c in cols if not c.description])
            assert all("(" not in c.type and "Datetime" not in c.type for c in cols), (d, [c.type for c in cols])


def test_the_seeded_record_is_followed_through_events_features_forecasts_and_indicators(run):
    _, wh = run
    ev = read(wh, "clean", "events")
    seeded = ev.filter(pl.col("record_id").is_in([PAST, COMING]))
    assert seeded.height == 2 and seeded["conventions"].to_list() == [[PREF]] * 2
    ids = seeded["event_id"].to_list()
    # features: its exposure, and the feature rows of the cells it touches while it is on
    ex = read(wh, "features", "planned_exposure")
    mine = ex.filter(pl.col("event_id").is_in(ids))
    assert mine.height and mine["conventions"].to_list() == [[PREF]] * mine.height
    past = ex.filter((pl.col("event_id") == f"manifestation_statique:{PAST}") & (pl.col("ring") == 0))
    cs = read(wh, "features", "cell_slot")
    hit = cs.join(past.select("cell_idx", "slot").unique(), on=["cell_idx", "slot"], how="semi")
    assert hit.height and hit.filter(~_pref(hit)).height == 0
    # the City-only rows: counts always, feature rows no Préfecture record touched
    assert (
        read(wh, "features", "observed_counts")["conventions"].to_list()
        == [[CITY]] * read(wh, "features", "observed_counts").height
    )
    touched = ex.filter((pl.col("convention") == PREF) & (pl.col("known_slot") <= pl.col("slot")))
    untouched = cs.join(touched.select("cell_idx", "slot").unique(), on=["cell_idx", "slot"], how="anti")
    assert untouched.height > 0.5 * cs.height
    assert untouched.filter(_pref(untouched)).height == 0
    assert cs.filter(_pref(cs)).height == cs.height - untouched.height
    # forecasts: the champion read the Préfecture's records (every row says so), the City's own one none
    fc = read(wh, "models", "forecast")
    assert set(fc["variant"]) == {"complete", "internal"}
    complete, internal = fc.filter(pl.col("variant") == "complete"), fc.filter(pl.col("variant") == "internal")
    assert complete.filter(~_pref(complete)).height == 0
    assert set(map(tuple, internal["conventions"].to_list())) == {(CITY,)}
    assert internal.height == complete.height
    reg = read(wh, "models", "model_registry")
    assert reg.height and reg.filter(_pref(reg))["model"].unique().to_list() == ["lgbm_avec_evenements"]
    hist = read(wh, "models", "forecast_history")
    assert set(map(tuple, hist.filter(pl.col("variant") == "internal")["conventions"].to_list())) == {(CITY,)}
    # indicators: its footprint, the tension rows of its cells while it is on, the values of its day
    fp = read(wh, "indicators", "planned_footprints")
    assert (
        fp.filter(pl.col("event_id").is_in(ids))["conventions"].to_list()
        == [[PREF]] * fp.filter(pl.col("event_id").is_in(ids)).height
    )
    ten = read(wh, "indicators", "tension")
    with_it = ten.filter(pl.col("event_ids").list.contains(f"manifestation_statique:{COMING}"))
    assert with_it.height and with_it.filter(~_pref(with_it)).height == 0
    # a tension row carries the Préfecture's convention only if one of its records is active on it
    no_pref_event = ten.filter(
        ~pl.col("event_ids")
        .list.eval(
            pl.element().str.starts_with("manifestation")
            | pl.element().str.starts_with("operation")
            | pl.element().str.starts_with("visite")
        )
        .list.any()
    )
    assert no_pref_event.height > 0.5 * ten.height
    assert no_pref_event.filter(_pref(no_pref_event)).height == 0
    vals = read(wh, "indicators", "values")
    assert vals.filter(_pref(vals)).height > 0 and vals.filter(~_pref(vals)).height > 0
    assert read(wh, "indicators", "values_public").filter(_pref(read(wh, "indicators", "values_public"))).height == 0
    al = read(wh, "indicators", "alerts")
    pref_ids = al.filter(
        pl.col("event_ids")
        .list.eval(pl.element().is_in(ev.filter(pl.col("convention") == PREF)["event_id"].to_list()))
        .list.any()
    )
    assert pref_ids.filter(~_pref(pref_ids)).height == 0
    assert (
        al.filter(pl.col("kind") == "depassement_prevision")
        .filter(_pref(al.filter(pl.col("kind") == "depassement_prevision")))
        .height
        == 0
    )


def test_an_internal_only_scope_gets_the_citys_forecast_through_the_gateway(run):
    from tranquillite.app_core import queries
    from tranquillite.app_core.rights import Scope, sources_of_conventions

    _, wh = run
    city = sources_of_conventions((CITY,))
    scope = Scope(row_sources=city, aggregate_sources=city, conventions=(CITY,), aggregated_only=False)
    cat = queries.Catalog.open(wh / "catalog.duckdb")
    try:
        got = queries.scoped_query(cat, scope, "models.forecast", select="variant, count(*) AS n", group_by="variant")
    finally:
        cat.close()
    assert dict(got.iter_rows()) == {
        "internal": read(wh, "models", "forecast").filter(pl.col("variant") == "internal").height
    }


def test_the_lineage_report_lists_per_convention_the_tables_rows_and_models(run):
    defs, wh = run
    report = convention_lineage(defs, wh)
    pref, city = report[PREF], report[CITY]
    assert pref.contracts == [
        "manifestation_deambulatoire",
        "manifestation_statique",
        "operation_programmee",
        "visite_officielle",
    ] and pref.sources == ["cortege"]
    assert "features/observed_counts" in pref.assets and "indicators/values_public" not in pref.assets
    rows = {t.table: t for t in pref.tables}
    ev = read(wh, "clean", "events")
    assert rows["clean.events"].rows == ev.filter(pl.col("convention") == PREF).height > 0
    assert rows["clean.events"].total_rows == ev.height
    for t in (
        "raw.cortege",
        "clean.manifestation_statique",
        "features.planned_exposure",
        "features.cell_slot",
        "models.forecast",
        "models.forecast_history",
        "models.backtest",
        "models.model_registry",
        "indicators.planned_footprints",
        "indicators.tension",
        "indicators.values",
    ):
        assert rows[t].rows > 0 and rows[t].bytes > 0 and rows[t].files > 0, t
    assert rows["features.cell_slot"].first_partition >= FIRST.isoformat()
    assert rows["features.cell_slot"].last_partition <= LAST.isoformat()
    cs = read(wh, "features", "cell_slot")
    assert rows["features.cell_slot"].rows == cs.filter(_pref(cs)).height
    # tagged (it may hold the Préfecture's data) but holding none: the City's fact counts
    assert rows["features.observed_counts"].tagged and rows["features.observed_counts"].rows == 0
    assert rows["indicators.values_public"].rows == 0 and not rows["indicators.values_public"].tagged
    assert {t.table for t in city.holding} >= {
        "features.observed_counts",
        "indicators.values_public",
        "clean.interventions",
        "models.forecast",
    }
    assert {m["model"] for m in pref.models} == {"lgbm_avec_evenements"}
    assert all(m["model"] != "lgbm_avec_evenements" or m["variant"] == "complete" for m in pref.models)
    flat = lineage_table(report)
    assert (
        flat.filter((pl.col("convention") == PREF) & (pl.col("table") == "clean.events"))["rows"][0]
        == rows["clean.events"].rows
    )


def test_the_per_file_counts_kept_between_runs_give_the_same_report_and_follow_a_changed_file(run, tmp_path):
    """The daily run reads only the files that changed (`lineage.per_file_memo`): with its cache the report
    is the uncached one; a rewritten file is counted again, the others come from the cache."""
    import shutil

    from tranquillite import lineage as L

    defs, wh = run
    plain = lineage_table(convention_lineage(defs, wh))
    cache = tmp_path / "cache"
    assert lineage_table(convention_lineage(defs, wh, cache=cache)).equals(plain)  # first: all computed
    seen: list[int] = []
    real = L._counts
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(L, "_counts", lambda con, files, *a: seen.append(len(files)) or real(con, files, *a))
        assert lineage_table(convention_lineage(defs, wh, cache=cache)).equals(plain)
        assert sum(seen) == 0  # nothing read again
        # a rewritten partition of clean.interventions (one row fewer): only that file is read again
        copy = tmp_path / "wh"
        shutil.copytree(wh, copy)
        before = lineage_table(convention_lineage(defs, copy, cache=tmp_path / "cache2"))
        f = sorted((copy / "clean" / "interventions").glob("*.parquet"))[-1]
        df = pl.read_parquet(f)
        df.head(df.height - 1).write_parquet(f)
        seen.clear()
        after = lineage_table(convention_lineage(defs, copy, cache=tmp_path / "cache2"))
    assert [n for n in seen if n] == [1]  # the one rewritten file
    assert after.equals(lineage_table(convention_lineage(defs, copy)))  # = computed from scratch
    rows = lambda t: t.filter(pl.col("table") == "clean.interventions")["rows"].sum()  # noqa: E731
    assert rows(after) == rows(before) - 1


def test_every_table_of_the_warehouse_is_an_asset(run):
    defs, wh = run
    assert untracked_tables(defs, wh) == []


# ----------------------------------------------------------------------------- the app half (issue 11)
def _app_store():
    """The demo accounts in this home, and one internal-only profile: the City's management without
    the Préfecture's convention (demo.encadrement)."""
    import streamlit as st

    from tranquillite.app_core import store
    from tranquillite.app_core.seed_demo import seed_demo

    path = paths().home / "app" / "platform.sqlite"
    if not path.exists():
        seed_demo(path)
        with store.connect() as con:
            con.execute("DELETE FROM profile_conventions WHERE profile = 'encadrement_pm' AND convention = ?", (PREF,))
    st.cache_data.clear()
    st.cache_resource.clear()


def _visit(profile: str, period: tuple[date, date]) -> None:
    """Every page the profile may open, the Carte over the seeded records' days."""
    from tests.app.helpers import demo, login, new_app

    u = demo(profile)
    at = login(new_app(), u.login, u.password)
    assert not at.exception, at.exception
    for page in at.session_state["tq_pages"]:
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, (page, at.exception)
        if page == "carte":
            at.date_input(key="periode").set_value(period).run()
            assert not at.exception, at.exception


def test_the_record_is_never_read_by_an_internal_only_profile_and_the_tracabilite_page_lists_it(run):
    from tests.app.helpers import demo, login, new_app
    from tranquillite.app_core import queries, store
    from tranquillite.app_core import tracabilite as T
    from tranquillite.app_core.rights import load_principal

    _, wh = run
    _app_store()
    period = (FIRST, LAST + timedelta(days=7))
    _visit("encadrement_pm", period)  # internal-only: Carte, Prévisions, Zones de tension, Accueil
    _visit("analyste", period)  # sees the Préfecture's convention: reads the record
    with store.connect() as con:
        lines = store.access_log(con, login="demo.encadrement")
        seen = [json.loads(line["reads"]) for line in lines if line["reads"]]
        pages = {line["page"] for line in lines if line["reads"]}
        assert {"carte", "previsions", "tension", "accueil_public"} <= pages, pages
        assert all(PREF not in r["conventions"] for got in seen for r in got), seen
        assert sum(r["rows"] for got in seen for r in got) > 0
        # through the gateway, no published table gives that profile a row of the record or derived from it
        # (the tables of the catalog the gateway serves: `is_published`, the rule `scoped_query` applies)
        manager = load_principal(con, "demo.encadrement")
        cat = queries.Catalog.open()
        try:
            published = sorted(t for t in cat.tables() if queries.is_published(t))
            assert {"clean.events", "models.forecast", "indicators.tension"} <= set(published), published
            for table in published:
                cols = cat.columns(table)
                pick = ", ".join(c for c in ("conventions", "convention", "record_id") if c in cols)
                if not pick:
                    continue
                got = queries.scoped_query(cat, manager.scope, table, select=pick)
                if "conventions" in got.columns:
                    assert not got["conventions"].list.contains(PREF).any(), table
                if "record_id" in got.columns:
                    assert not got["record_id"].is_in([PAST, COMING]).any(), table
            assert queries.scoped_query(cat, manager.scope, "models.forecast", select="variant")[
                "variant"
            ].unique().to_list() == ["internal"]
        finally:
            cat.close()
    # the auditor's Traçabilité page: every table holding the record, every read of it by the test user
    u = demo("auditeur_dpo")
    at = login(new_app(), u.login, u.password)
    at.switch_page("views/tracabilite.py").run()
    at.selectbox(key="trace_convention").select(PREF).run()
    assert not at.exception, at.exception
    frames = [pl.from_pandas(d.value) for d in at.dataframe]
    tables = next(f for f in frames if "Lignes de la convention" in f.columns and "Partitions" in f.columns)
    with store.connect() as con:
        rep = T.report(queries.Catalog.open(), con, load_principal(con, "demo.dpo"), PREF)
    holding = {
        "raw.cortege",
        "clean.manifestation_statique",
        "clean.events",
        "features.planned_exposure",
        "features.cell_slot",
        "models.forecast",
        "models.forecast_history",
        "indicators.planned_footprints",
        "indicators.tension",
        "indicators.values",
    }
    assert holding <= set(rep.tables["Nom technique"]), holding - set(rep.tables["Nom technique"])
    assert tables.height == rep.tables.height
    ev = read(wh, "clean", "events")
    assert (
        rep.tables.filter(pl.col("Nom technique") == "clean.events")["Lignes de la convention"][0]
        == ev.filter(pl.col("convention") == PREF).height
    )
    assert "lgbm_avec_evenements" in set(rep.models["Modèle"])
    lectures = next(f for f in frames if "Utilisateur" in f.columns and "Tables lues" in f.columns)
    analyst = lectures.filter(pl.col("Utilisateur") == "demo.analyste")
    assert {"Carte", "Prévisions"} <= set(analyst["Page"]), analyst
    assert (analyst["Lignes"] > 0).all()
    assert "demo.encadrement" not in set(lectures["Utilisateur"])
