"""A home copied or moved elsewhere works where it is, and never reads its old folder: the
catalog's views point at files relative to the catalog, the model register names models
relative to the store, the Dagster instance config holds no path.

A real home (two days of landing files, the real runner, a model in the model store), copied,
the original deleted; then every reader on the copy."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from tests.factories import VALID, landing_file, write_csv
from tranquillite import runner
from tranquillite.app_core.queries import Catalog, scoped_query
from tranquillite.app_core.rights import Scope, all_conventions, all_sources
from tranquillite.cli import main
from tranquillite.definitions import build_defs
from tranquillite.forecasting.features import model_feature_columns
from tranquillite.forecasting.models import fit_glm
from tranquillite.forecasting.slots import SlotScheme
from tranquillite.forecasting.study_area import AreaSpec
from tranquillite.resources.model_store import LocalModelStore
from tranquillite.resources.warehouse import CatalogMoved, open_catalog

DAYS = ("2025-03-07", "2025-03-08")
SPEC = AreaSpec(sources=("a",), planned_sources=())


def _build(home: Path) -> None:
    for day in DAYS:
        write_csv(
            landing_file(home / "landing", "interventions", day),
            "interventions",
            [{**VALID["interventions"], "N° intervention": f"INT-{day}-{k}"} for k in range(3)],
        )
    outcomes = runner.materialize(
        build_defs(), date.fromisoformat(DAYS[0]), date.fromisoformat(DAYS[1]), runner.instance(), forecast=False
    )
    assert all(o.success for o in outcomes), outcomes
    rng = np.random.default_rng(0)
    X = pl.DataFrame(
        {
            c: rng.integers(0, 5, 400).astype(np.float64)
            for c in model_feature_columns(SPEC, SlotScheme(), with_events=False)
        }
    )
    y = rng.poisson(0.3, 400).astype(np.float64)
    LocalModelStore(root=str(home / "models")).save(
        fit_glm("glm_poisson", "a", X, y, np.ones_like(y), SPEC, with_events=False),
        {"usage": "backtest", "conventions": ["internal"]},
    )


@pytest.fixture
def moved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    old, new = tmp_path / "old_home", tmp_path / "new_home"
    (old / "landing").mkdir(parents=True)
    monkeypatch.setenv("TRANQUILLITE_HOME", str(old))
    monkeypatch.setenv("DAGSTER_HOME", str(old / "dagster"))
    _build(old)
    shutil.copytree(old, new, symlinks=True)
    shutil.rmtree(old)  # any read of the old folder now fails
    monkeypatch.setenv("TRANQUILLITE_HOME", str(new))
    monkeypatch.setenv("DAGSTER_HOME", str(new / "dagster"))
    return old, new


@pytest.mark.slow
def test_every_reader_works_on_the_moved_home(moved, capsys, tmp_path, monkeypatch):
    old, new = moved
    # the app's data gateway
    cat = Catalog.open()
    scope = Scope(all_sources(), all_sources(), all_conventions(), False)
    n = scoped_query(cat, scope, "clean.events", select="count(*) AS n", level="aggregate")["n"][0]
    assert n == 6
    cat.close()
    # ... from a working directory that holds another warehouse with the same layout (a trap)
    trap = tmp_path / "trap"
    shutil.copytree(new / "warehouse" / "clean", trap / "clean")
    for f in (trap / "clean" / "events").glob("*.parquet"):
        pl.read_parquet(f).head(1).write_parquet(f)
    monkeypatch.chdir(trap)
    with open_catalog(new / "warehouse" / "catalog.duckdb") as con:
        assert con.cursor().execute("SELECT count(*) FROM clean.events").fetchall()[0][0] == 6
    # the CLI readers
    assert main(["summary"]) == 0
    out = capsys.readouterr().out
    assert "clean.events" in out and "lus        6  propres        6" in out
    assert main(["status", "--json"]) == 0
    rows = {r["asset"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["clean/interventions"]["rows"] == 6
    # the model store: the register names models relative to the store, and they load
    store = LocalModelStore(root=str(new / "models"))
    reg = store.registry()
    assert reg.height == 1 and not Path(reg["path"][0]).is_absolute()
    assert (new / "models" / reg["path"][0] / "meta.json").exists()
    assert store.load("glm_poisson", "a").name == "glm_poisson"
    # nothing in the home names the old folder
    for f in [new / "dagster" / "dagster.yaml", *(new / "models").rglob("*.json")]:
        assert str(old) not in f.read_text(encoding="utf-8"), f
    with duckdb.connect(str(new / "warehouse" / "catalog.duckdb"), read_only=True) as con:
        sql = " ".join(r[0] for r in con.execute("SELECT sql FROM duckdb_views() WHERE NOT internal").fetchall())
    assert str(old) not in sql and str(new) not in sql  # relative paths


def test_a_catalog_built_with_absolute_paths_elsewhere_is_refused(tmp_path):
    data = tmp_path / "original" / "warehouse" / "clean" / "events"
    data.mkdir(parents=True)
    pl.DataFrame({"n": [1]}).write_parquet(data / "data.parquet")
    (tmp_path / "copy" / "warehouse").mkdir(parents=True)
    legacy = tmp_path / "copy" / "warehouse" / "catalog.duckdb"
    with duckdb.connect(str(legacy)) as con:  # as earlier versions built it: absolute paths of the original
        con.execute("CREATE SCHEMA clean")
        con.execute(f"CREATE VIEW clean.events AS SELECT * FROM read_parquet('{data}/*.parquet')")
    with pytest.raises(CatalogMoved, match="autre dossier"):
        open_catalog(legacy)
