"""A landing file changed after ingestion is a new version: recorded, its changes counted and shown
to the data team (raw metadata, `tranquillite status` / `summary`, the app's Qualité page)."""

from __future__ import annotations

import json
from datetime import date

import dagster as dg
import polars as pl
import pytest

from tests.factories import VALID, landing_file, write_csv
from tranquillite.assets import constants as K

DAY = "2025-03-08"
pytestmark = pytest.mark.slow


def _rows(ids_and_categories):
    return [{**VALID["interventions"], "N° intervention": i, "Catégorie": cat} for i, cat in ids_and_categories]


def _files(home) -> pl.DataFrame:
    return pl.read_parquet(home / "warehouse" / "governance" / "landing_files" / f"interventions_{DAY}.parquet")


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """Ingest a day, then the partner's corrected re-export of the same file (one home per module)."""
    from tranquillite import runner
    from tranquillite.definitions import build_defs

    home = tmp_path_factory.mktemp("versions")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRANQUILLITE_HOME", str(home))
        mp.setenv("DAGSTER_HOME", str(home / "dagster"))
        defs, instance = build_defs(), runner.instance()
        path = landing_file(home / "landing", "interventions", DAY)
        write_csv(
            path,
            "interventions",
            _rows(
                [("INT-1", "Dégradation"), ("INT-2", "Dégradation"), ("INT-3", "Dégradation"), ("INT-4", "Dégradation")]
            ),
        )
        write_csv(landing_file(home / "landing", "signalements", DAY), "signalements", [VALID["signalements"]])
        first = runner.materialize(defs, date(2025, 3, 8), date(2025, 3, 8), instance, forecast=False)
        v1 = _files(home)
        # the partner re-exports the day: INT-2 deleted, INT-3 corrected, INT-5 added
        write_csv(
            path,
            "interventions",
            _rows(
                [
                    ("INT-1", "Dégradation"),
                    ("INT-3", "Rixe / violences"),
                    ("INT-4", "Dégradation"),
                    ("INT-5", "Dégradation"),
                ]
            ),
        )
        second = runner.materialize(defs, date(2025, 3, 8), date(2025, 3, 8), instance, forecast=False)
        assert all(o.success for o in first + second), first + second
        yield home, defs, instance, path, v1


def test_changed_file_is_a_new_version_with_its_changes_counted(versions):
    home, _, _, path, v1 = versions
    assert v1.height == 1 and v1.row(0, named=True)["version"] == 1
    files = _files(home).sort("version")
    old, new = files.to_dicts()
    assert (old["version"], old["current"], old["status"]) == (1, False, "remplacee")
    assert (new["version"], new["current"], new["status"]) == (2, True, "courante")
    assert old["sha256"] == v1.row(0, named=True)["sha256"] != new["sha256"]
    assert old["first_seen"] == v1.row(0, named=True)["first_seen"] < new["first_seen"]
    assert (new["added"], new["removed"], new["modified"]) == (1, 1, 1)
    assert new["records"] == 4 and new["bytes"] == path.stat().st_size
    # the partition now holds the new version only; the ledger balances on it
    ledger = pl.read_parquet(home / "warehouse" / "governance" / "ingestion_ledger" / f"interventions_{DAY}.parquet")
    assert ledger.select("read", "clean", "balanced").row(0) == (4, 4, True)


def test_changes_are_in_the_raw_materialisation_metadata(versions):
    _, _, instance, _, _ = versions
    ev = instance.get_latest_materialization_event(K.raw_key("interventions"))
    meta = ev.asset_materialization.metadata
    assert meta["versions_nouvelles_apres_ingestion"].value == 1
    assert (
        meta["enregistrements_ajoutes"].value,
        meta["enregistrements_supprimes"].value,
        meta["enregistrements_modifies"].value,
    ) == (1, 1, 1)
    assert meta["enregistrements_comptes"].value == 4


def test_status_and_summary_show_the_changed_file(versions, capsys):
    from tranquillite.cli import main

    assert main(["status"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("interventions") and "modifiés" in ln)
    assert "modifiés après ingestion   1 (+1 −1 ~1)" in line
    assert main(["status", "--json"]) == 0
    rows = {r["asset"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["governance/landing_files/interventions"]["files"]["versions_nouvelles_apres_ingestion"] == 1
    assert rows["governance/ingestion_ledger/interventions"]["partitions"]["done"] == 1
    assert main(["summary"]) == 0
    out = capsys.readouterr().out
    assert "modifiés après ingestion   1 (+1 −1 ~1 enregistrements)" in out


def test_quality_page_shows_the_counts_only(versions):
    home = versions[0]
    from tests.app.helpers import demo, run_page_as, texts
    from tranquillite.app_core.seed_demo import seed_demo

    seed_demo(home / "app" / "platform.sqlite")
    at = run_page_as(demo("analyste").login, "qualite.py")
    assert not at.exception, at.exception
    shown = texts(at)
    assert "1 fichier(s) modifié(s) après leur ingestion" in shown
    assert "1 enregistrement(s) ajouté(s), 1 retiré(s), 1 modifié(s)" in shown
    frames = {tuple(df.value.columns): df.value for df in at.dataframe}
    files = next(v for k, v in frames.items() if "Fichiers modifiés après ingestion" in k)
    row = files[files["Source"] == "interventions"].iloc[0]
    assert row["Fichiers modifiés après ingestion"] == 1 and row["Enregistrements retirés"] == 1
    # counts only: no file name, no record content on the page
    everything = shown + " ".join(str(df.value.to_dict()) for df in at.dataframe)
    assert "interventions_2025-03-08.csv" not in everything and "INT-5" not in everything


def test_removed_file_is_recorded_as_such(versions):
    """Last of the module: it removes the file."""
    from tranquillite import runner

    home, defs, instance, path, _ = versions
    path.unlink()
    outcomes = runner.materialize(defs, date(2025, 3, 8), date(2025, 3, 8), instance, forecast=False)
    assert all(o.success for o in outcomes)
    last = _files(home).sort("version").to_dicts()[-1]
    assert (last["version"], last["status"], last["current"], last["removed"]) == (3, "supprimee", False, 4)
    dq = pl.read_parquet(home / "warehouse" / "governance" / "data_quality" / "data.parquet")
    assert dq.filter(pl.col("source") == "interventions").row(0, named=True)["rows_removed"] == 5
    instance_ev = instance.get_latest_materialization_event(K.landing_files_key("interventions"))
    assert instance_ev is not None and isinstance(instance_ev.asset_materialization, dg.AssetMaterialization)
