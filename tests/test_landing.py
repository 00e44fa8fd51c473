"""Malformed landing files give a clear error and lose none of their good records."""

from __future__ import annotations

import json

import polars as pl
import pytest

from tests.factories import VALID, VALID_CORTEGE, landing_file, write_csv, write_json
from tranquillite import landing as landing_io
from tranquillite.contracts import contracts_for_source
from tranquillite.validation import reason_code, validate

DAY = "2025-03-08"


def _outcome(landing, source):
    raw, reads = landing_io.read_partition(landing, source, DAY)
    return validate(raw, contracts_for_source(source)), reads


def test_truncated_json_keeps_complete_entries_and_quarantines_the_tail(landing):
    path = write_json(landing_file(landing, "cortege", DAY), list(VALID_CORTEGE.values()))
    text = path.read_text(encoding="utf-8")
    cut = text.rindex('"objet"')  # cut inside the last entry
    path.write_text(text[:cut], encoding="utf-8")
    outcome, reads = _outcome(landing, "cortege")
    (issue,) = reads[0].issues
    assert issue.kind == "json_invalide" and "3 entrée(s) complète(s)" in issue.message
    assert outcome.n_clean == 3
    assert outcome.quarantine.get_column("reasons").to_list() == [["json_invalide"]]
    assert outcome.quarantine.row(0, named=True)["raw"].lstrip().startswith("{")  # the broken tail, kept
    assert outcome.balanced


def test_wrong_encoding_lines_are_quarantined_others_kept(landing):
    rows = [{**VALID["interventions"], "N° intervention": f"INT-{i}"} for i in range(3)]
    path = write_csv(landing_file(landing, "interventions", DAY), "interventions", rows)
    lines = path.read_bytes().decode("utf-8").split("\n")
    # line 3 re-encoded as Windows-1252 (as a spreadsheet export would), the rest stays UTF-8
    data = "\n".join(lines[:2]).encode() + b"\n" + lines[2].encode("cp1252") + b"\n" + "\n".join(lines[3:]).encode()
    path.write_bytes(data)
    outcome, reads = _outcome(landing, "interventions")
    assert [i.kind for i in reads[0].issues] == ["encodage_invalide"]
    assert outcome.n_clean == 2 and outcome.n_quarantined == 1 and outcome.balanced
    assert outcome.quarantine.get_column("reasons").to_list() == [["encodage_invalide"]]
    assert "Canebière" in outcome.quarantine.row(0, named=True)["raw"]  # decoded as cp1252, kept whole


def test_whole_file_in_windows_1252_is_reported(landing):
    rows = [VALID["signalements"]]
    write_csv(landing_file(landing, "signalements", DAY), "signalements", rows, encoding="cp1252")
    outcome, reads = _outcome(landing, "signalements")
    kinds = {i.kind for i in reads[0].issues}
    assert {"encodage_invalide", "entete_illisible"} <= kinds
    assert outcome.read == 1 and outcome.balanced


def test_empty_file_is_a_clear_issue_not_a_crash(landing):
    path = landing_file(landing, "interventions", DAY)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    outcome, reads = _outcome(landing, "interventions")
    assert [i.kind for i in reads[0].issues] == ["fichier_vide"]
    assert outcome.read == 0 and outcome.balanced


def test_ragged_csv_row_is_quarantined(landing):
    path = write_csv(landing_file(landing, "interventions", DAY), "interventions", [VALID["interventions"]])
    with path.open("a", encoding="utf-8") as f:
        f.write("INT-9;Dégradation;08/03/2025 10:00\n")
    outcome, _ = _outcome(landing, "interventions")
    assert outcome.n_clean == 1
    assert [reason_code(r) for r in outcome.quarantine.row(0, named=True)["reasons"]] == [
        "nombre_de_colonnes_incorrect"
    ]


def test_extra_and_missing_columns_are_reported(landing):
    path = landing_file(landing, "alertes_videoprotection", DAY)
    path.parent.mkdir(parents=True)
    path.write_text(
        "Identifiant alerte;Caméra;Catégorie;Date et heure;Adresse;Longitude;Latitude;Opérateur\n"
        "ALR-1;CAM-0001;Regroupement;08/03/2025 10:00;La Canebière, 13001 Marseille;5.379;43.2969;op7\n",
        encoding="utf-8",
    )
    raw, reads = landing_io.read_partition(landing, "alertes_videoprotection", DAY)
    kinds = {i.kind for i in reads[0].issues}
    assert kinds == {"colonnes_manquantes", "colonnes_inattendues"}
    assert raw.row(0, named=True)["_raw"].endswith(";op7")  # the original line, unknown column kept
    outcome = validate(raw, contracts_for_source("alertes_videoprotection"))
    assert outcome.n_clean == 1  # Observations is optional


def test_single_entry_file_from_cortege_app(landing):
    path = landing / "cortege" / DAY / "PP-2025-000004_v1.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(VALID_CORTEGE["visite_officielle"], ensure_ascii=False), encoding="utf-8")
    outcome, _ = _outcome(landing, "cortege")
    assert outcome.clean["visite_officielle"].height == 1


def test_file_without_date_cannot_be_assigned(landing):
    path = landing / "interventions" / "export.csv"
    path.parent.mkdir(parents=True)
    path.write_text("x", encoding="utf-8")
    assert landing_io.undated_files(landing, "interventions") == [path]
    with pytest.raises(landing_io.LandingError, match="aucune date"):
        landing_io.read_file(path, landing, "interventions")


@pytest.mark.parametrize(
    "rel,partition,words",
    [
        ("interventions/interventions_2025-03-08.csv", "2025-03-08", None),
        ("cortege/2025-03-08/PP-1_v2.json", "2025-03-08", None),
        ("interventions/export_sans_date.csv", None, "aucune date AAAA-MM-JJ"),
        ("interventions/interventions_2026-02-31.csv", None, "date impossible « 2026-02-31 »"),
        ("interventions/interventions_2024-12-31.csv", None, "avant la première partition (2025-01-01"),
        ("cortege/prefecture_2099-01-01.json", None, "après la dernière partition (2025-12-31"),
    ],
)
def test_every_file_gets_a_partition_or_a_french_reason(rel, partition, words):
    from pathlib import Path

    a = landing_io.assign(Path(rel), "2025-01-01", "2025-12-31")
    assert a.partition == partition
    assert (a.reason is None) if words is None else words in a.reason
    assert a.later == rel.endswith("2099-01-01.json")


def test_inventory_keeps_unassignable_files_apart(landing):
    write_csv(landing_file(landing, "interventions", DAY), "interventions", [VALID["interventions"]])
    bad = landing / "interventions" / "interventions_2025-02-30.csv"
    bad.write_text("x", encoding="utf-8")
    by_day, unassigned = landing_io.inventory(landing, "interventions", "2025-01-01", "2025-12-31")
    assert list(by_day) == [DAY] and [p for p, _ in unassigned] == [bad]
    raw, _ = landing_io.read_partition(landing, "interventions", DAY)
    assert raw.height == 1


def test_a_reader_failure_keeps_the_file_whole_and_the_other_files(landing, monkeypatch):
    """A defect of the reader on one file: that file is quarantined whole, counted by the counter
    (so the ledger shows the gap), the day's other files are read."""
    write_csv(
        landing_file(landing, "interventions", DAY),
        "interventions",
        [{**VALID["interventions"], "N° intervention": f"INT-{i}"} for i in range(3)],
    )
    other = write_csv(landing / "interventions" / f"autre_{DAY}.csv", "interventions", [VALID["interventions"]])
    real = landing_io.read_csv_file

    def broken(path, *args):
        if path.name.startswith("interventions_"):
            raise RuntimeError("bogue du lecteur")
        return real(path, *args)

    monkeypatch.setattr(landing_io, "read_csv_file", broken)
    raw, reads = landing_io.read_partition(landing, "interventions", DAY)
    bad = next(r for r in reads if r.label.startswith("interventions/interventions_"))
    assert [i.kind for i in bad.issues] == ["lecture_impossible"] and "bogue du lecteur" in bad.issues[0].message
    assert bad.counted == 3 and bad.records.get_column("_parse_error").to_list() == ["lecture_invalide"]
    assert "INT-2" in bad.records.row(0, named=True)["_raw"]
    assert raw.filter(pl.col("_file") == other.relative_to(landing).as_posix()).height == 1
