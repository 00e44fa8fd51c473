"""A real Dagster materialisation of the features and models assets, in a temporary instance, on
a small generated Marseille (4 weeks at 20 % volume), as `tranquillite materialize` runs it:
ingestion, publication, the training job over the same range (single run, small settings
passed through the runner: features, backtest, champion, models in service), the daily
`prevision` job (the last day's features, the forecast by the models in service), indicators;
then one day again (incremental), the daily schedule's run (nothing retrained), and the daily
forecast with no model in service (a clear error)."""

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl
import pytest

from tests.factories import SMALL_FORECAST as SMALL
from tranquillite import runner
from tranquillite.assets import constants as K
from tranquillite.assets.models import BACKTEST_COLUMNS
from tranquillite.definitions import build_defs
from tranquillite.jobs import PREVISION_JOB, TRAINING_JOB
from tranquillite.resources.warehouse import open_catalog
from tranquillite.sensors.schedules import PREVISION_SCHEDULE
from tranquillite.settings import paths
from tranquillite.synthetic import generate

FIRST, DAYS = date(2025, 3, 3), 28
LAST = FIRST + timedelta(days=DAYS - 1)
QUIET = {"console": {"config": {"log_level": "WARNING"}}}
TRAIN_CONFIG = {"ops": {"backtest": {"config": SMALL}, "model_registry": {"config": SMALL}}, "loggers": QUIET}
DAILY_CONFIG = {"ops": {"forecast": {"config": SMALL}}, "loggers": QUIET}


def _materialized_keys(instance, run_id) -> set:
    return {
        e.dagster_event.asset_key
        for e in instance.all_logs(run_id)
        if e.dagster_event and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"
    }


def _stored_versions(home) -> set:
    return {p.parent for p in (home / "models").glob("*/*/*/meta.json")}


@pytest.fixture(scope="module")
def materialized(tmp_path_factory):
    home = tmp_path_factory.mktemp("prevision")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRANQUILLITE_HOME", str(home))
    mp.setenv("DAGSTER_HOME", str(home / "dagster"))
    generate(home, start=FIRST, days=DAYS, seed=11, scale=0.2)
    defs = build_defs()
    instance = runner.instance()
    outcomes = runner.materialize(defs, FIRST, LAST, instance, forecast_settings=SMALL)
    (training,) = [o for o in outcomes if o.job == TRAINING_JOB]
    (prevision,) = [o for o in outcomes if o.job == PREVISION_JOB]
    yield home, defs, instance, outcomes, training, prevision
    mp.undo()


def test_the_training_then_the_daily_forecast_materialise_every_asset(materialized):
    home, defs, instance, outcomes, training, prevision = materialized
    assert [o.job for o in outcomes] == [
        "ingestion_quotidienne",
        "publication",
        TRAINING_JOB,
        PREVISION_JOB,
        "indicateurs",
    ]
    assert all(o.success for o in outcomes), outcomes
    features = {K.STUDY_GRID_KEY, K.PLANNED_EXPOSURE_KEY, K.OBSERVED_COUNTS_KEY, K.CELL_SLOT_KEY}
    assert _materialized_keys(instance, training.run_id) == features | {
        K.BACKTEST_KEY,
        K.BACKTEST_SCORES_KEY,
        K.BACKTEST_PLANNED_KEY,
        K.BACKTEST_PUBLIC_KEY,
        K.MODEL_REGISTRY_KEY,
        K.AUDIT_LOOP_KEY,
        K.AUDIT_LOOP_ZONES_KEY,
    }
    # the daily forecast: the features of its last day and the forecast, never the backtest nor a training
    assert _materialized_keys(instance, prevision.run_id) == features | {K.FORECAST_KEY, K.FORECAST_HISTORY_KEY}
    assert instance.get_materialized_partitions(K.CELL_SLOT_KEY) == {
        (FIRST + timedelta(days=i)).isoformat() for i in range(DAYS)
    }
    daily_days = {
        e.dagster_event.partition
        for e in instance.all_logs(prevision.run_id)
        if e.dagster_event
        and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"
        and e.dagster_event.asset_key == K.CELL_SLOT_KEY
    }
    assert daily_days == {LAST.isoformat()}  # the training computed the range's features once
    # the forecast history is a partitioned asset: the partition of the forecast's origin day
    assert instance.get_materialized_partitions(K.FORECAST_HISTORY_KEY) == {(LAST + timedelta(days=1)).isoformat()}
    runs = instance.get_runs(dg.RunsFilter(job_name=TRAINING_JOB))
    assert len(runs) == 1  # the range is one run
    events = [*instance.all_logs(training.run_id), *instance.all_logs(prevision.run_id)]
    checks = {
        e.dagster_event.event_specific_data.check_name: e.dagster_event.event_specific_data.passed
        for e in events
        if e.dagster_event and e.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    # the runner passed the small settings to the models assets of each job
    run = instance.get_run_by_id(training.run_id)
    assert run.run_config["ops"]["backtest"]["config"]["n_origins"] == 2
    assert run.run_config["ops"]["model_registry"]["config"]["train_weeks"] == 2
    assert instance.get_run_by_id(prevision.run_id).run_config["ops"]["forecast"]["config"]["train_weeks"] == 2
    for name in (
        "surface_de_la_grille",
        "panel_complet",
        "colonnes_stables",
        "champion_bat_les_references",
        "prevision_complete",
        "intervalles_coherents",
        "connu_avant_usage",
        "conventions_de_la_ville_seules",
    ):
        assert checks[name] is True, name


def test_published_tables(materialized):
    home, *_ = materialized
    wh = paths().warehouse
    grid = pl.read_parquet(wh / "features" / "study_grid" / "data.parquet")
    assert grid.height == 2599
    cells = pl.read_parquet(wh / "features" / "cell_slot" / f"{LAST.isoformat()}.parquet")
    assert cells.height == grid.height * 3
    with open_catalog(wh / "catalog.duckdb") as con:
        cols = [r[0] for r in con.execute("DESCRIBE models.backtest").fetchall()]
        assert cols[: len(BACKTEST_COLUMNS)] == BACKTEST_COLUMNS
        models = {r[0] for r in con.execute("SELECT DISTINCT model FROM models.backtest").fetchall()}
        assert {"oracle", "lgbm_avec_evenements", "hotspot_prospectif"} <= models
        n_origins = con.execute("SELECT count(DISTINCT origin) FROM models.backtest").fetchall()[0][0]
        assert n_origins == 2
        fc = con.execute(
            "SELECT count(*), count(DISTINCT category), min(slot_start), count(DISTINCT variant) FROM models.forecast"
        ).fetchall()[0]
        variants = fc[3]  # the City's own forecast too, when needed
        assert fc[0] == grid.height * 21 * 4 * variants and fc[1] == 4
        assert fc[2].date() == LAST + timedelta(days=1)
        # every row says which conventions it was computed from; the City's forecast holds none of a partner's
        bad = con.execute(
            "SELECT count(*) FROM models.forecast WHERE len(conventions) = 0 "
            "OR conventions <> list_sort(list_distinct(conventions))"
        ).fetchall()[0][0]
        assert bad == 0
        per_variant = dict(
            con.execute(
                "SELECT variant, list_sort(list_distinct(flatten(list(conventions)))) "
                "FROM models.forecast GROUP BY variant"
            ).fetchall()
        )
        assert per_variant.get("internal", ["internal"]) == ["internal"]
        assert (variants == 2) == (per_variant["complete"] != ["internal"])
        # the next-day part of the forecast is kept, one file per origin day
        hist = con.execute(
            "SELECT count(*), count(DISTINCT slot), min(origin) FROM models.forecast_history"
        ).fetchall()[0]
        assert hist[0] == grid.height * 3 * 4 * variants and hist[1] == 3 and hist[2].date() == LAST + timedelta(days=1)
        reg = con.execute("SELECT count(*) FROM models.model_registry").fetchall()[0][0]
        assert reg >= 2 * 9  # 2 origins × 3 learned models × 3 groups
    champion = json.loads((home / "models" / "champion.json").read_text(encoding="utf-8"))
    assert champion["model"] in models
    # the best model trained on the City's data only, for the profiles that do not see the Préfecture's
    assert champion["internal"]["conventions"] == ["internal"] and champion["internal"]["model"] in models


def _foreign_models(bt: pl.DataFrame) -> dict[str, set[str]]:
    """Per predictor, the conventions other than the City's its backtest rows name (read from the rows)."""
    city = {"internal"}
    out: dict[str, set[str]] = {}
    for m, convs in bt.select("model", "conventions").iter_rows():
        bad = {c for c in (convs or [None]) if c not in city}
        if bad:
            out.setdefault(m, set()).update(str(c) for c in bad)
    return out


def test_the_public_backtest_holds_nothing_drawn_from_the_prefecture(materialized):
    """models/backtest_public (issue 13): every predictor whose backtest rows read a Préfecture record is
    absent, every other one is there; each row names the City's convention only; no origin, cell nor
    category; the asset's convention tags, derived through the graph, name only the City's convention
    (its parent's name the Préfecture's too), and its blocking check passed."""
    from tranquillite.assets.conventions import conventions_of_tags
    from tranquillite.assets.models_public import CHECK_CITY_ONLY
    from tranquillite.contracts import load_conventions

    home, defs, instance, outcomes, training, prevision = materialized
    wh = paths().warehouse
    bt = pl.read_parquet(wh / "models" / "backtest" / "*.parquet")
    pub = pl.read_parquet(wh / "models" / "backtest_public" / "*.parquet")
    foreign = _foreign_models(bt)
    prefecture = {c for c in load_conventions() if c != "internal"}
    assert "lgbm_avec_evenements" in foreign and set().union(*foreign.values()) <= prefecture  # not vacuous
    assert set(pub["model"]) == set(bt["model"]) - set(foreign)
    assert not set(pub["model"]) & set(foreign)
    assert set(pub["conventions"].explode().to_list()) == {"internal"}
    assert {"origin", "category", "coverage", "cell_idx"}.isdisjoint(pub.columns)
    assert pub.select("model", "horizon").is_unique().all()
    graph = defs.resolve_asset_graph()
    assert conventions_of_tags(graph.get(K.BACKTEST_PUBLIC_KEY).tags) == {"internal"}
    assert prefecture & conventions_of_tags(graph.get(K.BACKTEST_KEY).tags)
    evals = [
        e.dagster_event.event_specific_data
        for e in instance.all_logs(training.run_id)
        if e.dagster_event
        and e.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.dagster_event.event_specific_data.check_name == CHECK_CITY_ONLY
    ]
    assert len(evals) == 1 and evals[0].passed
    md = instance.get_latest_materialization_event(K.BACKTEST_PUBLIC_KEY).asset_materialization.metadata
    assert md["dagster/row_count"].value == pub.height and set(md["exclus"].value) == set(foreign)


def _public_app(home):
    import streamlit as st
    from streamlit import config as st_config

    from tranquillite.app_core.seed_demo import seed_demo

    st_config.set_option("runner.magicEnabled", False)  # as apps/streamlit/.streamlit/config.toml
    if not (home / "app" / "platform.sqlite").exists():
        seed_demo()
    st.cache_data.clear()
    st.cache_resource.clear()


def test_the_public_visitor_sees_the_citys_backtest_on_the_model_card(materialized):
    """The Fiche du modèle, as a visitor without an account (AppTest): one table per horizon of the
    City's predictors, in words, with the mean hit rates over the origins computed here from the
    materialised models.backtest (DuckDB, not the asset's code); no predictor that read the
    Préfecture's records; the next-day champion is the one the backtest chose on the City's data
    alone (champion.json → internal), with its reason."""
    import duckdb

    from tests.app.helpers import new_app, texts
    from tranquillite.app_core import fiche_modele as FM

    home = materialized[0]
    _public_app(home)
    wh = paths().warehouse
    bt = pl.read_parquet(wh / "models" / "backtest" / "*.parquet")
    foreign = sorted(_foreign_models(bt))
    expected = pl.from_arrow(
        duckdb.sql(
            "SELECT model, horizon, coverage, avg(hit_rate) AS h, count(DISTINCT origin) AS n "
            "FROM read_parquet(?) WHERE category = 'all' AND NOT isnan(hit_rate) AND NOT list_contains(?, model) "
            "GROUP BY ALL",
            params=[str(wh / "models" / "backtest" / "*.parquet"), foreign],
        ).to_arrow_table()
    )
    at = new_app().run()
    at.switch_page("views/fiche_modele.py").run()
    assert not at.exception, at.exception
    t = texts(at)
    assert "réservée aux agents" not in t and "seules données de la Ville" in t
    tables = [d.value for d in at.dataframe if "Méthode" in d.value.columns]
    horizons = [h for h in FM.HORIZON_LABELS if h in set(expected["horizon"])]
    assert len(tables) == len(horizons) >= 3
    label_to_model = {v: k for k, v in FM.MODEL_LABELS.items()}
    for h, table in zip(horizons, tables):
        assert f"**{FM.HORIZON_LABELS[h]}**" in t
        models = [label_to_model[m] for m in table["Méthode"]]  # every predictor in words
        exp = expected.filter(pl.col("horizon") == h)
        assert set(models) == set(exp["model"]) and not set(models) & set(foreign)
        for k in (1, 5, 10, 20):
            want = {
                m: round(100 * v, 1)
                for m, v in exp.filter((pl.col("coverage") - k / 100).abs() < 1e-9).select("model", "h").iter_rows()
            }
            got = dict(zip(models, table[f"{k} %"]))  # share of the facts (%) in k % of the area
            assert got == pytest.approx(want, abs=0.051), (h, k)
        n = dict(exp.filter((pl.col("coverage") - 0.05).abs() < 1e-9).select("model", "n").iter_rows())
        assert dict(zip(models, table["Origines"])) == n
        stars = [m for m, c in zip(models, table["Champion"]) if c]
        assert len(stars) == (1 if h in ("creneau_suivant", "jour_suivant", "semaine_suivante") else 0), h
        assert set(table["Nature"]) <= set(FM.KIND_LABELS.values())
        if h == "jour_suivant":
            champion = json.loads((home / "models" / "champion.json").read_text(encoding="utf-8"))
            assert stars == [champion["internal"]["model"]]
            why = [c.value for c in at.caption if c.value.startswith("Pourquoi:")]
            assert any(FM.MODEL_LABELS[stars[0]] in w for w in why), why  # the reason, in words
    assert FM.MODEL_LABELS["lgbm_avec_evenements"] not in "".join(str(tb["Méthode"].tolist()) for tb in tables)


def test_the_analyst_keeps_the_fuller_backtest_on_the_model_card(materialized):
    """A profile whose scope reads models.backtest keeps its view: every predictor it may see, the
    Préfecture-reading one included, and the champion in service."""
    from tests.app.helpers import login_as
    from tranquillite.app_core import fiche_modele as FM

    _public_app(materialized[0])
    at = login_as("analyste")
    at.switch_page("views/fiche_modele.py").run()
    assert not at.exception, at.exception
    tables = [d.value for d in at.dataframe if "Méthode" in d.value.columns]
    assert tables and any(FM.MODEL_LABELS["lgbm_avec_evenements"] in list(tb["Méthode"]) for tb in tables)
    assert any("★ en service" in list(tb["Champion"]) for tb in tables)
    assert all("Nature" not in tb.columns for tb in tables)


def test_a_new_day_updates_only_its_partition(materialized):
    home, defs, instance, *_ = materialized
    wh = paths().warehouse
    path = wh / "features" / "cell_slot" / f"{LAST.isoformat()}.parquet"
    before = pl.read_parquet(path)
    other = wh / "features" / "cell_slot" / f"{FIRST.isoformat()}.parquet"
    mtime = other.stat().st_mtime_ns
    job = defs.resolve_job_def(PREVISION_JOB)
    sel = dg.AssetSelection.assets(K.OBSERVED_COUNTS_KEY, K.CELL_SLOT_KEY)
    res = job.get_subset(asset_selection=set(sel.resolve(defs.resolve_asset_graph()))).execute_in_process(
        instance=instance, partition_key=LAST.isoformat(), run_config={"loggers": QUIET}
    )
    assert res.success
    assert pl.read_parquet(path).equals(before)  # the incremental day = the backfilled one
    assert other.stat().st_mtime_ns == mtime  # the other days are not recomputed


def test_a_long_range_is_computed_by_periods_with_the_same_features(materialized, monkeypatch):
    """cell_slot computes a range by periods (memory: a period and its year of history, not the
    range): the same features as in one go."""
    from tranquillite.assets import features as features_mod

    home, defs, instance, *_ = materialized
    wh = paths().warehouse
    days = [(FIRST + timedelta(days=i)).isoformat() for i in range(DAYS)]
    before = {d: pl.read_parquet(wh / "features" / "cell_slot" / f"{d}.parquet") for d in days}
    monkeypatch.setattr(features_mod, "CHUNK_DAYS", 10)
    monkeypatch.setattr(features_mod, "ONE_PIECE_DAYS", 0)
    job = defs.resolve_job_def(PREVISION_JOB)
    res = job.get_subset(asset_selection={K.CELL_SLOT_KEY}).execute_in_process(
        instance=instance,
        tags={runner.RANGE_START_TAG: days[0], runner.RANGE_END_TAG: days[-1]},
        run_config={"loggers": QUIET},
    )
    assert res.success
    mats = res.get_asset_materialization_events()
    assert {m.partition for m in mats} == set(days)
    meta = mats[0].materialization.metadata
    assert meta["periodes_calculees"].value == 3 and meta["dagster/row_count"].value == sum(
        f.height for f in before.values()
    )
    for d in days:
        assert pl.read_parquet(wh / "features" / "cell_slot" / f"{d}.parquet").equals(before[d]), d


def test_the_daily_schedule_run_refreshes_the_last_two_days_and_the_forecast_without_training(materialized):
    """The daily run is features + forecast by the champion in service: the backtest is not rerun,
    no model is trained or stored, the forecast says which stored versions made it."""
    home, defs, instance, *_ = materialized
    wh = paths().warehouse
    sched = defs.resolve_schedule_def(PREVISION_SCHEDULE)
    morning = datetime.combine(LAST + timedelta(days=1), datetime.min.time()).replace(
        hour=5, minute=30, tzinfo=ZoneInfo("Europe/Paris")
    )
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=morning) as ctx:
        (req,) = sched.evaluate_tick(ctx).run_requests
    untouched = wh / "features" / "cell_slot" / f"{FIRST.isoformat()}.parquet"
    mtime = untouched.stat().st_mtime_ns
    backtest_file = next((wh / "models" / "backtest").glob("*.parquet"))
    backtest_mtime = backtest_file.stat().st_mtime_ns
    stored = _stored_versions(home)
    service = json.loads((home / "models" / "champion.json").read_text(encoding="utf-8"))["service"]
    res = defs.resolve_job_def(PREVISION_JOB).execute_in_process(
        instance=instance, tags=req.tags, run_config=DAILY_CONFIG, raise_on_error=False
    )
    assert res.success
    done = {(e.asset_key, e.partition) for e in res.get_asset_materialization_events()}
    assert {p for k, p in done if k == K.CELL_SLOT_KEY} == {(LAST - timedelta(days=1)).isoformat(), LAST.isoformat()}
    assert (K.FORECAST_KEY, None) in done
    assert not {k for k, _ in done} & {
        K.BACKTEST_KEY,
        K.BACKTEST_SCORES_KEY,
        K.BACKTEST_PLANNED_KEY,
        K.MODEL_REGISTRY_KEY,
    }
    assert untouched.stat().st_mtime_ns == mtime
    assert backtest_file.stat().st_mtime_ns == backtest_mtime  # the backtest is not rerun
    assert _stored_versions(home) == stored  # nothing trained, nothing stored
    with open_catalog(wh / "catalog.duckdb") as con:
        first_slot = con.execute("SELECT min(slot_start) FROM models.forecast").fetchall()[0][0]
        used = con.execute(
            "SELECT variant, list(DISTINCT model), list(DISTINCT model_version) FROM models.forecast GROUP BY variant"
        ).fetchall()
    assert first_slot.date() == LAST + timedelta(days=1)
    for variant, models, versions in used:
        rec = service[variant]
        assert models == [rec["model"]]  # the champion in service
        in_store = {m["version"] for m in rec["models"]}
        # its stored versions (the count rules store none: they read the facts when forecasting)
        assert {v for vs in versions if vs for v in vs.split("+")} <= in_store
        assert bool(in_store) == any(versions)


def test_the_daily_forecast_without_a_model_in_service_says_which_job_to_run(materialized):
    home, defs, instance, *_ = materialized
    wh = paths().warehouse
    path = home / "models" / "champion.json"
    kept = path.read_text(encoding="utf-8")
    forecast_file = next((wh / "models" / "forecast").glob("*.parquet"))
    mtime = forecast_file.stat().st_mtime_ns
    try:
        path.write_text(json.dumps({k: v for k, v in json.loads(kept).items() if k != "service"}), encoding="utf-8")
        (out,) = [
            o
            for o in runner.materialize(defs, LAST, LAST, instance, forecast_settings=SMALL, train=False)
            if o.job == PREVISION_JOB
        ]
        assert not out.success
        assert "aucun modèle en service" in out.reason and TRAINING_JOB in out.reason, out.reason
        assert forecast_file.stat().st_mtime_ns == mtime  # the last forecast stays published
        path.unlink()  # a home never trained at all
        res = defs.resolve_job_def(PREVISION_JOB).execute_in_process(
            instance=instance, partition_key=LAST.isoformat(), run_config=DAILY_CONFIG, raise_on_error=False
        )
        assert not res.success
        (failure,) = [e for e in res.all_events if e.event_type_value == "STEP_FAILURE"]
        assert TRAINING_JOB in failure.event_specific_data.error.message
    finally:
        path.write_text(kept, encoding="utf-8")


def test_a_predictor_that_loses_to_a_reference_is_not_put_in_service(materialized):
    """The check `champion_bat_les_references` is blocking: a predictor imposed by configuration
    that does worse than a reference (the last shift's count, against the trailing counts and hot
    spots) fails it, and it is neither trained for service nor recorded as champion; the next daily
    forecast still uses the champion in service."""
    home, defs, instance, *_ = materialized
    wh = paths().warehouse
    before = json.loads((home / "models" / "champion.json").read_text(encoding="utf-8"))
    bad = {**SMALL, "predicteur_impose": "derniere_periode"}
    job = defs.resolve_job_def(TRAINING_JOB)
    sel = dg.AssetSelection.assets(K.BACKTEST_KEY, K.BACKTEST_SCORES_KEY, K.BACKTEST_PLANNED_KEY, K.MODEL_REGISTRY_KEY)
    res = job.get_subset(asset_selection=set(sel.resolve(defs.resolve_asset_graph()))).execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config={"ops": {"backtest": {"config": bad}, "model_registry": {"config": bad}}, "loggers": QUIET},
    )
    checks = {e.check_name: e for e in res.get_asset_check_evaluations()}
    assert checks["champion_bat_les_references"].passed is False
    done = {e.asset_key for e in res.get_asset_materialization_events()}
    assert K.BACKTEST_KEY in done and K.MODEL_REGISTRY_KEY not in done
    after = json.loads((home / "models" / "champion.json").read_text(encoding="utf-8"))
    assert after["model"] == before["model"] and after["service"] == before["service"]
    # the published backtest says which predictor was imposed and why
    bt = pl.read_parquet(wh / "models" / "backtest" / "*.parquet")
    why = bt.filter(pl.col("champion") & (pl.col("category") == "all"))["champion_pourquoi"].unique().to_list()
    assert why and all("imposé" in w for w in why)
    daily = defs.resolve_job_def(PREVISION_JOB).execute_in_process(
        instance=instance, partition_key=LAST.isoformat(), run_config=DAILY_CONFIG, raise_on_error=False
    )
    assert daily.success
    fc = pl.read_parquet(wh / "models" / "forecast" / "*.parquet")
    assert fc["model"].unique().to_list() != ["derniere_periode"]
    assert set(fc.filter(pl.col("variant") == "complete")["model"].unique()) == {before["service"]["complete"]["model"]}


def test_the_training_audits_the_feedback_loop(materialized):
    """models/audit_boucle: aggregate tables per origin × training stream and per arrondissement,
    its figures in the metadata (never a row), its non-blocking drift check evaluated."""
    from tranquillite.assets.models_audit import CHECK_DRIFT
    from tranquillite.forecasting import feedback as F

    home, defs, instance, outcomes, training, prevision = materialized
    per_origin = pl.read_parquet(paths().warehouse / K.MODELS / "audit_boucle" / "data.parquet")
    zones = pl.read_parquet(paths().warehouse / K.MODELS / "audit_boucle_zones" / "data.parquet")
    cfg = F.AuditConfig.load()
    assert per_origin["origin"].n_unique() == cfg.n_origins
    assert set(per_origin["stream"].unique().to_list()) == set(F.STREAMS)
    assert "cell_idx" not in per_origin.columns and "cell_idx" not in zones.columns
    assert zones["zone"].n_unique() == 16
    # only the City's sources are read: their rows carry the City's convention alone
    assert set(per_origin["conventions"].explode().to_list()) == {"internal"}
    for (_o, _s), g in zones.group_by("origin", "stream"):
        assert g["population_share"].sum() == pytest.approx(1.0)
        assert g["flagged_share"].sum() == pytest.approx(1.0) or g["flagged_share"].sum() == 0
    assert per_origin["dissimilarity_vs_reports"].is_between(0, 1).all()
    mat = instance.get_latest_materialization_event(K.AUDIT_LOOP_KEY).asset_materialization
    md = mat.metadata
    assert md["origines"].value == cfg.n_origins
    assert md["dagster/row_count"].value == per_origin.height
    conc = md["concentration"].value
    expected = F.summarise(per_origin, cfg)
    assert conc[F.POLICE] == expected[F.POLICE]
    checks = [
        e
        for e in instance.all_logs(training.run_id)
        if e.dagster_event
        and e.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.dagster_event.event_specific_data.check_name == CHECK_DRIFT
    ]
    assert len(checks) == 1
