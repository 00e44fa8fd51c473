"""The `tranquillite` console script: materialize a range, then status (text and JSON)."""

from __future__ import annotations

import json

from tests.factories import VALID, landing_file, write_csv
from tranquillite.cli import main


def test_materialize_range_then_status_json(landing, capsys):
    for day in ("2025-03-07", "2025-03-08"):
        write_csv(
            landing_file(landing, "interventions", day),
            "interventions",
            [{**VALID["interventions"], "N° intervention": f"INT-{day}"}],
        )
    assert main(["materialize", "--from", "2025-03-07", "--to", "2025-03-08", "--sans-prevision"]) == 0
    out = capsys.readouterr().out
    assert "ingestion_quotidienne: succès" in out and "publication: succès" in out
    assert "prevision" not in out and "entrainement" not in out and "indicateurs: succès" in out
    assert main(["status", "--json"]) == 0
    rows = {r["asset"]: r for r in json.loads(capsys.readouterr().out)}
    clean = rows["clean/interventions"]
    assert clean["partitions"]["done"] == 2 and clean["rows"] == 2
    assert {c["name"]: c["status"] for c in clean["checks"]} == {
        "identifiants_uniques": "SUCCEEDED",
        "localise_dans_la_zone": "SUCCEEDED",
        "sans_donnee_personnelle": "SUCCEEDED",
        "schema_du_contrat": "SUCCEEDED",
    }
    assert rows["clean/events"]["rows"] == 2 and rows["clean/events"]["last_materialization"]
    assert main(["status"]) == 0
    assert "clean/interventions" in capsys.readouterr().out
    assert main(["summary"]) == 0
    assert "lus        2  propres        2" in capsys.readouterr().out


def test_materialize_without_landing_data_is_a_clear_error(landing, capsys):
    assert main(["materialize"]) == 2
    assert "aucun fichier" in capsys.readouterr().err


def test_materialize_needs_both_bounds(landing, capsys):
    assert main(["materialize", "--from", "2025-03-07"]) == 2
    assert "--from et --to" in capsys.readouterr().err
