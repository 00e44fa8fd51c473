"""Any city through the product: a made-up town (two zones of a GeoJSON, far from Marseille, its own
time zone and holidays) chosen by settings only, its incidents dropped as `incidents` landing files
(`;` CSV, one file per day, as a City analyst would), then ingestion, publication and the
`prevision` job through the runner the CLI uses — one materialisation of the range.

On the old code every record was quarantined `hors_zone` (validated against Marseille), the other
sources were processed every day and the forecast crashed on an empty panel."""

import csv
import json
from datetime import date, datetime, timedelta

import dagster as dg
import numpy as np
import polars as pl
import pytest

from tranquillite import runner
from tranquillite.assets import constants as K
from tranquillite.settings import paths

FIRST, DAYS = date(2025, 9, 1), 35
LAST = FIRST + timedelta(days=DAYS - 1)
SMALL = {"n_origins": 1, "train_weeks": 2, "lgbm_rounds": 10, "workers": 1, "threads": 1}
W, E, S, N, MID = -79.42, -79.36, 43.64, 43.68, -79.39  # a town by a lake, not Marseille
HOT = (-79.405, 43.655)


def zones_geojson(path):
    def box(x0, x1):
        return {"type": "Polygon", "coordinates": [[[x0, S], [x1, S], [x1, N], [x0, N], [x0, S]]]}

    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": {"quartier": "Q1", "nom": "Ouest"}, "geometry": box(W, MID)},
                    {"type": "Feature", "properties": {"quartier": "Q2", "nom": "Est"}, "geometry": box(MID, E)},
                ],
            }
        )
    )
    return path


def incidents(seed=3) -> list[dict]:
    rng = np.random.default_rng(seed)
    n = 1800
    hot = rng.random(n) < 0.5
    lon = np.where(hot, HOT[0] + rng.normal(0, 0.002, n), rng.uniform(W + 0.001, E - 0.001, n))
    lat = np.where(hot, HOT[1] + rng.normal(0, 0.0015, n), rng.uniform(S + 0.001, N - 0.001, n))
    minutes = np.sort(rng.integers(0, DAYS * 24 * 60, n))
    t0 = datetime.combine(FIRST, datetime.min.time())
    return [
        {
            "id": f"T-{i}",
            "timestamp": (t0 + timedelta(minutes=int(m))).strftime("%Y-%m-%d %H:%M:%S"),
            "category": "vol" if i % 3 else "agression",
            "lon": f"{x:.6f}",
            "lat": f"{y:.6f}",
        }
        for i, (m, x, y) in enumerate(zip(minutes, np.clip(lon, W, E), np.clip(lat, S, N)))
    ]


def land(home, rows: list[dict]) -> None:
    """The rows as an analyst would drop them: one `;` CSV of the five columns per day."""
    by_day: dict[str, list[dict]] = {}
    for r in rows:
        by_day.setdefault(r["timestamp"][:10], []).append(r)
    for day, part in by_day.items():
        path = home / "landing" / "incidents" / f"incidents_{day}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=["id", "timestamp", "category", "lon", "lat"], delimiter=";")
            w.writeheader()
            w.writerows(part)


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    home = tmp_path_factory.mktemp("ville")
    area = zones_geojson(home / "quartiers.geojson")
    rows = incidents()
    # one record outside the town, one with an offset (its instant is kept, in the town's time)
    rows.append({"id": "T-hors", "timestamp": "2025-09-10 12:00:00", "category": "vol", "lon": "5.37", "lat": "43.29"})
    rows.append(
        {
            "id": "T-offset",
            "timestamp": "2025-09-10T23:30:00-05:00",
            "category": "vol",
            "lon": f"{HOT[0]}",
            "lat": f"{HOT[1]}",
        }
    )
    land(home, rows)
    mp = pytest.MonkeyPatch()
    for k, v in {
        "TRANQUILLITE_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster"),
        "TRANQUILLITE_AREA": str(area),
        "TRANQUILLITE_AREA_ZONE_PROPERTY": "quartier",
        "TRANQUILLITE_TIMEZONE": "America/Toronto",
        "TRANQUILLITE_HOLIDAYS_COUNTRY": "CA",
    }.items():
        mp.setenv(k, v)
    from tranquillite.definitions import build_defs

    defs = build_defs()
    inst = runner.instance()
    outcomes = runner.materialize(defs, FIRST, LAST, inst, forecast_settings=SMALL)
    yield home, defs, inst, outcomes, len(rows)
    mp.undo()


def test_the_area_comes_from_the_settings(town):
    _, defs, *_ = town
    spec = defs.resources["study_area"].spec()
    assert spec.name == "quartiers" and spec.sources == ("incidents",) and spec.planned_sources == ()
    assert spec.timezone == "America/Toronto" and spec.holidays_country == "CA"
    assert spec.school_holidays_subdivision is None


def test_ingestion_validates_against_the_configured_area(town):
    home, _, _, outcomes, n = town
    assert [o.job for o in outcomes][:4] == [
        "ingestion_quotidienne",
        "publication",
        "entrainement_hebdomadaire",
        "prevision",
    ]
    assert all(o.success for o in outcomes), [(o.job, o.reason) for o in outcomes]
    ingest = outcomes[0]
    assert ingest.failed_checks == []
    wh = paths().warehouse
    clean = pl.read_parquet(wh / "clean" / "incidents" / "*.parquet")
    q = pl.read_parquet(wh / "quarantine" / "incidents" / "*.parquet")
    assert clean.height == n - 1 and q["record_id"].to_list() == ["T-hors"]
    assert q["reasons"].to_list() == [["hors_zone"]]
    assert set(clean["arrondissement"].unique().to_list()) == {"Q1", "Q2"}
    # 23:30 at -05:00 is 00:30 the next day in Toronto (EDT, -04:00), not Paris's 06:30
    t = clean.filter(pl.col("id") == "T-offset")["timestamp"].item()
    assert t == datetime(2025, 9, 11, 0, 30)


def test_sources_without_data_are_not_processed(town):
    _, _, inst, outcomes, _ = town
    wh = paths().warehouse
    for source in ("interventions", "signalements", "cortege", "evenements_publics"):
        assert not (wh / "raw" / source).exists(), source
    mats = inst.get_materialized_partitions(K.raw_key("interventions"))
    assert mats == set()
    assert len(inst.get_materialized_partitions(K.raw_key("incidents"))) == DAYS


def test_the_forecast_runs_on_the_town_grid(town):
    _, _, inst, outcomes, _ = town
    wh = paths().warehouse
    grid = pl.read_parquet(wh / "features" / "study_grid" / "data.parquet")
    assert set(grid["zone"].to_list()) == {"Q1", "Q2"} and 150 < grid.height < 400
    counts = pl.read_parquet(wh / "features" / "observed_counts" / "*.parquet")
    clean = pl.read_parquet(wh / "clean" / "incidents" / "*.parquet")
    # every clean fact of the range's shifts is counted on the town's grid (the first day's shift
    # starts at 06:00: earlier facts belong to the night before the range)
    in_range = clean.filter(pl.col("timestamp") >= datetime.combine(FIRST, datetime.min.time()) + timedelta(hours=6))
    assert counts["n"].sum() == in_range.height > 1700
    backtest = pl.read_parquet(wh / "models" / "backtest" / "*.parquet")
    assert backtest.height > 0 and set(backtest["category"].unique().to_list()) >= {"incidents", "all"}
    runs = inst.get_runs(dg.RunsFilter(job_name="prevision"))
    assert len(runs) == 1


@pytest.fixture(scope="module")
def data_town(tmp_path_factory):
    """No boundary file (`TRANQUILLITE_AREA=donnees`): the area is the H3 cells of the facts."""
    home = tmp_path_factory.mktemp("donnees")
    rows = incidents(seed=4)[:900]
    rows.append({"id": "T-zero", "timestamp": "2025-09-10 12:00:00", "category": "vol", "lon": "0", "lat": "0"})
    land(home, rows)
    mp = pytest.MonkeyPatch()
    for k, v in {
        "TRANQUILLITE_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster"),
        "TRANQUILLITE_AREA": "donnees",
        "TRANQUILLITE_TIMEZONE": "America/Toronto",
    }.items():
        mp.setenv(k, v)
    from tranquillite.definitions import build_defs

    outcomes = runner.materialize(build_defs(), FIRST, LAST, runner.instance(), forecast_settings=SMALL)
    yield home, outcomes, rows
    mp.undo()


def test_without_a_boundary_the_area_is_the_cells_of_the_facts(data_town):
    home, outcomes, rows = data_town
    assert all(o.success for o in outcomes), [(o.job, o.reason) for o in outcomes]
    wh = paths().warehouse
    q = pl.read_parquet(wh / "quarantine" / "incidents" / "*.parquet")
    assert q["record_id"].to_list() == ["T-zero"] and q["reasons"].to_list() == [["coordonnees_invalides"]]
    clean = pl.read_parquet(wh / "clean" / "incidents" / "*.parquet")
    assert clean.height == len(rows) - 1 and set(clean["arrondissement"].to_list()) == {"donnees"}
    grid = pl.read_parquet(wh / "features" / "study_grid" / "data.parquet")
    assert set(grid["h3_cell"].to_list()) == set(clean["h3_cell"].to_list())
    assert (wh / "features" / "zone_d_etude.geojson").exists()
