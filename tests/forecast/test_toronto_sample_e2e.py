"""The any-city path on two years of a real city, through the product (issue 13, "Done means").

`tests/fixtures/toronto_centre_2020_2021.csv`: the 2,930 real crime events of 2020–2021 in a
1.6 × 1.7 km box of central Toronto, cut from `../shared/data/real/toronto/events.parquet` (columns
renamed to the `incidents` contract's, categories in snake case, nothing else changed; see
tests/fixtures/README.md). **Contains information licensed under the Open Government Licence –
Toronto. Source: Toronto Police Service, Public Safety Data Portal, "Major Crime Indicators".**

Dropped as `incidents` landing files (`;` CSV, one per day, naive local time, lon/lat), with the
area taken from the data (`TRANQUILLITE_AREA=donnees`: Toronto ships no boundary file), the city's
time zone and holidays, the partitions starting where the data start — settings only, as a City
analyst would; then ingestion, publication, the weekly training (backtest, champion, models in
service) and the daily forecast through the runner the CLI uses. Nothing in the code knows Toronto.
"""

import csv
import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import polars as pl
import pytest

from tranquillite.assets import constants as K
from tranquillite.settings import paths

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "toronto_centre_2020_2021.csv"
FIRST, LAST = date(2020, 1, 1), date(2021, 12, 31)
SETTINGS = {"n_origins": 4, "train_weeks": 4, "lgbm_rounds": 10, "workers": 1, "threads": 1}
BASELINES = {"compte_52_semaines", "compte_historique", "sepp"}

pytestmark = pytest.mark.slow


def fixture_rows() -> list[dict]:
    with FIXTURE.open(encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter=";"))


# The materialisation runs in a fresh process, as each CLI command does: the daily partitions are
# read from the settings when the definitions are first imported, and a pytest worker has imported
# them already with the suite's settings (a Marseille start in 2025: the range would be refused).
RUN = """
import dataclasses, json, sys
from datetime import date
from tranquillite import runner
from tranquillite.definitions import build_defs
out = runner.materialize(build_defs(), date.fromisoformat(sys.argv[1]), date.fromisoformat(sys.argv[2]),
                         runner.instance(), forecast_settings=json.loads(sys.argv[3]))
open(sys.argv[4], "w").write(json.dumps([dataclasses.asdict(o) for o in out]))
"""
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def toronto(tmp_path_factory):
    home = tmp_path_factory.mktemp("toronto")
    rows = fixture_rows()
    by_day: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_day[r["timestamp"][:10]].append(r)
    for day, part in by_day.items():
        path = home / "landing" / "incidents" / f"incidents_{day}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter=";")
            w.writeheader()
            w.writerows(part)
    env = {
        "TRANQUILLITE_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster"),
        "TRANQUILLITE_AREA": "donnees",
        "TRANQUILLITE_TIMEZONE": "America/Toronto",
        "TRANQUILLITE_HOLIDAYS_COUNTRY": "CA",
        "TRANQUILLITE_PARTITIONS_START": FIRST.isoformat(),
    }
    result = home / "outcomes.json"
    run = subprocess.run(
        [sys.executable, "-c", RUN, FIRST.isoformat(), LAST.isoformat(), json.dumps(SETTINGS), str(result)],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    outcomes = [SimpleNamespace(**o) for o in json.loads(result.read_text())]
    with pytest.MonkeyPatch.context() as mp:  # restored whatever the tests do: later tests keep the suite's
        for k, v in env.items():
            mp.setenv(k, v)
        yield rows, sorted(by_day), dg.DagsterInstance.from_config(str(home / "dagster")), outcomes


def test_two_real_years_go_through_every_job(toronto):
    rows, days, inst, outcomes = toronto
    # two years are longer than the training's window: the training runs in two parts (`runner.training_runs`),
    # the grid and the counts of every day, then the features and the models of the window only
    assert [o.job for o in outcomes] == [
        "ingestion_quotidienne",
        "publication",
        "entrainement_hebdomadaire",
        "entrainement_hebdomadaire",
        "prevision",
        "indicateurs",
    ]
    counts, window = (o for o in outcomes if o.job == "entrainement_hebdomadaire")
    assert counts.scope.startswith("grille et comptes") and window.scope.startswith("caractéristiques et modèles")
    assert all(o.success for o in outcomes), [(o.job, o.reason) for o in outcomes]
    assert all(o.failed_checks == [] for o in outcomes), [(o.job, o.failed_checks) for o in outcomes]
    # one partition per day of the range, from the data's first day (days without a file too: a day with no
    # event is a day known empty, reported by the features' "jours sans données reçues")
    got = inst.get_materialized_partitions(K.raw_key("incidents"))
    every_day = {(FIRST + timedelta(days=i)).isoformat() for i in range((LAST - FIRST).days + 1)}
    assert set(days) < every_day and got == every_day


def test_nothing_is_lost_and_local_times_are_kept(toronto):
    rows, *_ = toronto
    wh = paths().warehouse
    clean = pl.read_parquet(wh / "clean" / "incidents" / "*.parquet")
    quarantined = (
        pl.read_parquet(wh / "quarantine" / "incidents" / "*.parquet")
        if (wh / "quarantine" / "incidents").exists()
        else pl.DataFrame({"record_id": []})
    )
    ids = set(clean["id"].to_list()) | set(quarantined["record_id"].to_list())
    assert ids == {r["id"] for r in rows}
    assert clean.height == len(rows)  # real, well-formed exports: nothing quarantined
    want = {r["id"]: datetime.fromisoformat(r["timestamp"]) for r in rows}
    got = dict(zip(clean["id"].to_list(), clean["timestamp"].to_list()))
    assert got == want  # naive local time stays the city's wall-clock time
    assert set(clean["arrondissement"].unique().to_list()) == {"donnees"}


def test_the_backtest_scores_the_baselines_on_real_data(toronto):
    wh = paths().warehouse
    bt = pl.read_parquet(wh / "models" / "backtest" / "*.parquet")
    assert set(bt["category"].unique().to_list()) >= {"incidents", "all"}
    assert BASELINES <= set(bt["model"].unique().to_list())
    week = bt.filter(
        (pl.col("horizon") == "semaine_suivante")
        & (pl.col("category") == "all")
        & ((pl.col("coverage") - 0.05).abs() < 1e-9)
    )
    assert week["origin"].n_unique() == SETTINGS["n_origins"]
    # real crime concentrates: a 52-week count's top 5 % of cells hold far more than 5 % of next week's facts
    naive = week.filter(pl.col("model") == "compte_52_semaines")["hit_rate"].mean()
    assert 0.10 < naive < 1.0
    champions = bt.filter(pl.col("champion") & (pl.col("category") == "all"))
    assert {"jour_suivant", "semaine_suivante"} <= set(champions["horizon"].unique().to_list())
    assert champions["champion_pourquoi"].null_count() == 0
    codes = set(bt["model"].unique().to_list())
    assert not any(re.search(rf"\b{c}\b", w) for w in champions["champion_pourquoi"].to_list() for c in codes), (
        champions["champion_pourquoi"].to_list()
    )  # words, not codes


def test_the_daily_forecast_covers_the_data_grid(toronto):
    wh = paths().warehouse
    grid = pl.read_parquet(wh / "features" / "study_grid" / "data.parquet")
    clean = pl.read_parquet(wh / "clean" / "incidents" / "*.parquet")
    assert set(grid["h3_cell"].to_list()) == set(clean["h3_cell"].to_list())
    fc = pl.read_parquet(wh / "models" / "forecast" / "*.parquet")
    assert fc.height > 0 and set(fc["h3_cell"].unique().to_list()) <= set(grid["h3_cell"].to_list())
    assert fc["slot_start"].min() >= datetime.combine(LAST, datetime.min.time())
    assert fc["slot_start"].max() <= datetime.combine(LAST + timedelta(days=8), datetime.min.time())
