"""The daily indicators run recomputes only the periods a new day touches, and its tables are those
of a full recompute, table for table (real materialisations in a temporary instance)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tranquillite import runner
from tranquillite.assets.indicators import INDICATORS
from tranquillite.definitions import build_defs
from tranquillite.indicators.incremental import FULL_TAG, cache_dir
from tranquillite.resources import Warehouse
from tranquillite.settings import paths
from tranquillite.synthetic import generate
from tranquillite.assets import constants as K

START, DAYS = date(2025, 12, 20), 24  # two years: indicators.hotspots is kept as one file per year
TABLES = (
    "grid",
    "planned_footprints",
    "hotspots",
    "emerging_hotspots",
    "tension",
    "values",
    "values_public",
    "catalogue",
    "alerts",
)


def _located(instance) -> dict:
    ev = instance.get_latest_materialization_event(K.VALUES_KEY)
    return ev.asset_materialization.metadata["localisation"].data


def _calcul(instance, key) -> dict:
    ev = instance.get_latest_materialization_event(key)
    return ev.asset_materialization.metadata["calcul"].data


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    home = tmp_path_factory.mktemp("incremental_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRANQUILLITE_HOME", str(home))
        mp.setenv("DAGSTER_HOME", str(home / "dagster"))
        generate(home, start=START, days=DAYS, seed=7, scale=0.25)
        instance = runner.instance()
        last = START + timedelta(days=DAYS - 1)
        first = runner.materialize(build_defs(), START, last - timedelta(days=1), instance)
        assert all(o.success for o in first), [(o.job, o.reason) for o in first]
        first_mode = {k: _calcul(instance, k) for k in (K.VALUES_KEY, K.HOTSPOTS_KEY)}
        hot_files = paths().warehouse / INDICATORS / "hotspots"
        stamps = {p.name: p.stat().st_mtime_ns for p in hot_files.glob("*.parquet")}
        daily = runner.materialize(build_defs(), last, last, instance)  # one new day
        assert all(o.success for o in daily), [(o.job, o.reason) for o in daily]
        daily_mode = {k: _calcul(instance, k) for k in (K.VALUES_KEY, K.HOTSPOTS_KEY)}
        daily_mode["fichiers"] = {
            p.name: p.stat().st_mtime_ns != stamps.get(p.name) for p in hot_files.glob("*.parquet")
        }
        daily_mode["localisation"] = _located(instance)
        daily_mode["emergents"] = _calcul(instance, K.EMERGING_KEY)
        wh = Warehouse(root=str(paths().warehouse))
        incremental = {t: wh.read(INDICATORS, t) for t in TABLES}
        full = runner._run(build_defs(), runner.INDICATORS_JOB, instance, {FULL_TAG: "oui"})
        assert full.success, full.reason
        full_mode = {k: _calcul(instance, k) for k in (K.VALUES_KEY, K.HOTSPOTS_KEY)}
        full_mode["localisation"] = _located(instance)
        full_mode["emergents"] = _calcul(instance, K.EMERGING_KEY)
        recomputed = {t: wh.read(INDICATORS, t) for t in TABLES}
        yield first_mode, daily_mode, full_mode, incremental, recomputed


def test_the_new_day_recomputes_only_what_it_touches(runs):
    first_mode, daily_mode, full_mode, _, _ = runs
    assert {m["mode"] for m in first_mode.values()} == {"complet"}
    values, hot = daily_mode[K.VALUES_KEY], daily_mode[K.HOTSPOTS_KEY]
    # the facts located by the day before are not located again: only the new day's points
    located = daily_mode["localisation"]
    assert 0 < located["localises"] < located["points"] / 5, located
    assert full_mode["localisation"]["localises"] == full_mode["localisation"]["points"]
    # no period completed by the new day: the emerging classes are kept, not computed again
    assert daily_mode["emergents"]["mode"] == "conservé" and full_mode["emergents"]["mode"] == "complet"
    assert values["mode"] == "incrémental" and values["jours_modifies"]["faits"] >= 1
    assert hot["mode"] == "incrémental"
    # the new day's week and month (and a week it completes): not the whole history
    assert 1 <= hot["cartes_recalculees"]["semaine"] <= 2 and hot["cartes_recalculees"]["mois"] == 1
    # one file per year of the maps: the new day rewrites its year's file only, the year before is untouched
    assert daily_mode["fichiers"] == {"2025.parquet": False, "2026.parquet": True}
    assert hot["annees_conservees"] == 1
    # the forced full run (a convention's end) recomputes everything
    assert {full_mode[k]["mode"] for k in (K.VALUES_KEY, K.HOTSPOTS_KEY)} == {"complet"}


@pytest.mark.parametrize("table", TABLES)
def test_incremental_tables_equal_a_full_recompute(runs, table):
    *_, incremental, recomputed = runs
    a, b = incremental[table], recomputed[table]
    assert a.height > 0 or table in ("alerts", "emerging_hotspots")  # too few weeks to classify
    assert_frame_equal(a, b, check_exact=True)


@pytest.fixture(scope="module")
def damaged(runs):
    """After the runs: every kept state damaged (truncated frames, garbled documents), and one
    more daily run."""
    *_, recomputed = runs
    root = cache_dir(paths().warehouse)
    files = sorted(root.glob("*"))
    assert any(p.name.startswith("zones") for p in files)
    for p in files:
        p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])
    out = runner._run(build_defs(), runner.INDICATORS_JOB, runner.instance())
    assert out.success, out.reason
    wh = Warehouse(root=str(paths().warehouse))
    return {t: wh.read(INDICATORS, t) for t in TABLES}, recomputed


@pytest.mark.parametrize("table", TABLES)
def test_a_damaged_cache_gives_the_full_recompute_never_a_wrong_table(damaged, table):
    got, recomputed = damaged
    assert_frame_equal(got[table], recomputed[table], check_exact=True)


def test_only_the_touched_periods_differ_from_the_day_before(runs):
    """The kept periods are not frozen: a full recompute gives them the same rows (above), and the
    periods of the new day do change."""
    *_, incremental, _ = runs
    v = incremental["values"]
    last = START + timedelta(days=DAYS - 1)
    day = v.filter(
        (pl.col("period_level") == "jour")
        & (pl.col("period_start") == last)
        & (pl.col("indicator_id") == "faits_par_categorie")
    )
    assert day.height > 0


# --------------------------------------------------------------------------- located facts kept between runs
def _points(n: int, seed: int) -> tuple:
    import numpy as np

    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(5.30, 5.55, n), rng.uniform(43.19, 43.40, n)  # Marseille, sea and beyond
    lon[:3], lat[3:5] = np.nan, np.nan  # unlocated facts
    return lon, lat


def test_the_zone_cache_locates_only_new_points_and_equals_zones_of(tmp_path):
    import numpy as np
    from tranquillite.indicators.grid import ZoneCache, zones_of

    lon, lat = _points(3000, 1)
    first = ZoneCache(tmp_path, "z")
    arr, qua = first.zones_of(lon, lat)
    want = zones_of(lon, lat)
    assert list(arr) == list(want[0]) and list(qua) == list(want[1])
    assert first.info["localises"] == first.info["points"] > 0
    # the next day: the same points and 200 new ones, in another order
    lon2, lat2 = _points(200, 2)
    lon2, lat2 = np.concatenate([lon2, lon[::-1]]), np.concatenate([lat2, lat[::-1]])
    nxt = ZoneCache(tmp_path, "z")
    arr, qua = nxt.zones_of(lon2, lat2)
    want = zones_of(lon2, lat2)
    assert list(arr) == list(want[0]) and list(qua) == list(want[1])
    assert 0 < nxt.info["localises"] <= 200 < nxt.info["points"]


def test_a_damaged_foreign_or_bypassed_zone_cache_locates_everything(tmp_path):
    import polars as pl
    from tranquillite.indicators.grid import ZoneCache, zones_of

    lon, lat = _points(2000, 3)
    want = zones_of(lon, lat)
    ZoneCache(tmp_path, "z").zones_of(lon, lat)
    frame = tmp_path / "z.parquet"
    # a row's zone edited behind the cache's back (same row count): not trusted
    df = pl.read_parquet(frame)
    df.with_columns(
        pl.when(pl.int_range(pl.len()) == 10).then(pl.lit("13299")).otherwise(pl.col("_arr")).alias("_arr")
    ).write_parquet(frame)
    for damage in ("edited", "truncated", "foreign", "full run"):
        if damage == "truncated":
            frame.write_bytes(frame.read_bytes()[:100])
        if damage == "foreign":
            doc = (tmp_path / "z.json").read_text().replace('"key": "', '"key": "x')
            (tmp_path / "z.json").write_text(doc)
        zc = ZoneCache(tmp_path, "z", reuse=damage != "full run")
        arr, qua = zc.zones_of(lon, lat)
        assert zc.info["localises"] == zc.info["points"], damage
        assert list(arr) == list(want[0]) and list(qua) == list(want[1]), damage


def test_the_zone_cache_keeps_only_the_points_of_its_latest_call(tmp_path):
    """A purged fact's point does not outlive the next run in the cache."""
    import polars as pl
    from tranquillite.indicators.grid import ZoneCache

    lon, lat = _points(1000, 4)
    ZoneCache(tmp_path, "z").zones_of(lon, lat)
    ZoneCache(tmp_path, "z").zones_of(lon[500:], lat[500:])
    kept = pl.read_parquet(tmp_path / "z.parquet")
    gone = pl.DataFrame({"lon": lon[5:500], "lat": lat[5:500]}).join(kept, on=["lon", "lat"], how="semi")
    assert kept.height == pl.DataFrame({"lon": lon[500:], "lat": lat[500:]}).unique().height
    assert gone.height == 0


# --------------------------------------------------------------------------- maps that vanish, the old layout
def _tables() -> dict:
    wh = Warehouse(root=str(paths().warehouse))
    return {t: wh.read(INDICATORS, t) for t in TABLES}


@pytest.fixture(scope="module")
def moved_back(damaged):
    """After the other runs: the last day's facts withdrawn (a corrected export) — the analysis instant
    moves back a day, and the last day's week (a Monday's: that day alone) has no map any more."""
    last = START + timedelta(days=DAYS - 1)
    events = paths().warehouse / "clean" / "events" / "data.parquet"
    cut = datetime.combine(last, time()) - timedelta(hours=6)  # the shift after the latest fact ends the day before
    ev = pl.read_parquet(events)
    kept = ev.filter(pl.col("start").is_null() | (pl.col("start") < cut))
    assert kept.height < ev.height
    kept.write_parquet(events)
    out = runner._run(build_defs(), runner.INDICATORS_JOB, runner.instance())
    assert out.success, out.reason
    incremental = _tables()
    full = runner._run(build_defs(), runner.INDICATORS_JOB, runner.instance(), {FULL_TAG: "oui"})
    assert full.success, full.reason
    return incremental, _tables(), last


@pytest.mark.parametrize("table", TABLES)
def test_a_map_that_vanishes_is_removed_as_a_full_recompute_would(moved_back, table):
    incremental, recomputed, last = moved_back
    assert_frame_equal(incremental[table], recomputed[table], check_exact=True)
    if table == "hotspots":
        weeks = incremental[table].filter(pl.col("period_level") == "semaine")["period_start"].unique()
        assert last not in weeks.to_list() and (last - timedelta(days=7)) in weeks.to_list()


def test_the_old_single_file_is_replaced_and_never_read_twice(moved_back, monkeypatch):
    """A table of the previous layout (`hotspots/data.parquet`) beside a foreign state: the first run
    removes it before writing any year, so that even a run failing half-way never shows a map twice."""
    *_, recomputed, _ = moved_back
    folder = paths().warehouse / INDICATORS / "hotspots"
    recomputed["hotspots"].write_parquet(folder / "data.parquet")
    for p in cache_dir(paths().warehouse).glob("hotspots.*"):
        p.unlink()
    import tranquillite.assets.indicator_maps as assets

    real, calls = assets.hotspot_table, []

    def failing(*args, **kwargs):  # the second year fails
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("panne au milieu du calcul")
        return real(*args, **kwargs)

    monkeypatch.setattr(assets, "hotspot_table", failing)
    out = runner._run(build_defs(), runner.INDICATORS_JOB, runner.instance())
    assert not out.success
    assert not (folder / "data.parquet").exists()  # gone before the first year was written
    hot = pl.read_parquet(folder / "*.parquet")
    assert hot.height == hot.select("period_level", "category", "period_start", "h3_cell").n_unique()
    monkeypatch.setattr(assets, "hotspot_table", real)
    out = runner._run(build_defs(), runner.INDICATORS_JOB, runner.instance())
    assert out.success, out.reason
    assert sorted(p.name for p in folder.glob("*.parquet")) == ["2025.parquet", "2026.parquet"]
    assert_frame_equal(_tables()["hotspots"], recomputed["hotspots"], check_exact=True)


def test_values_are_written_a_chunk_at_a_time_and_a_failure_keeps_the_last_table(moved_back, monkeypatch):
    """`indicators.values` goes from the last run's files to the new ones one (indicator, area,
    period level) at a time (each its own row groups: never the whole table in memory); a run
    failing half-way leaves the published table and its state as they were, and no partial file."""
    import pyarrow.parquet as pq
    from tranquillite.indicators import catalogue as C

    *_, recomputed, _ = moved_back
    table = paths().warehouse / INDICATORS / "values" / "data.parquet"
    v = recomputed["values"]
    assert pq.ParquetFile(table).num_row_groups == v.select("indicator_id", "area_level", "period_level").n_unique()
    state = sorted(cache_dir(paths().warehouse).glob("values.*"))
    assert [p.name for p in state] == ["values.json", "values.parquet"]
    before = {p: p.read_bytes() for p in [table, *state]}
    real, calls = C.IncrementalRun._chunk, []

    def failing(self, chunk):  # the fifth chunk fails
        calls.append(chunk)
        if len(calls) == 5:
            raise RuntimeError("panne au milieu des indicateurs")
        return real(self, chunk)

    monkeypatch.setattr(C.IncrementalRun, "_chunk", failing)
    out = runner._run(build_defs(), runner.INDICATORS_JOB, runner.instance())
    assert not out.success and len(calls) == 5
    assert {p: p.read_bytes() for p in before} == before
    assert not list(table.parent.glob("*.part")) and not list(cache_dir(paths().warehouse).glob("*.part"))
    monkeypatch.setattr(C.IncrementalRun, "_chunk", real)
    out = runner._run(build_defs(), runner.INDICATORS_JOB, runner.instance())
    assert out.success, out.reason
    assert _calcul(runner.instance(), K.VALUES_KEY)["mode"] == "incrémental"
    assert_frame_equal(_tables()["values"], v, check_exact=True)
