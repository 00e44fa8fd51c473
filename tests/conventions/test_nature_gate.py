"""C2: a change in the nature of the Préfecture's data blocks its ingestion until the DPO acknowledges it."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from tests.factories import VALID, VALID_CORTEGE, landing_file, write_csv, write_json
from tranquillite.conventions import nature

REPO = Path(__file__).resolve().parents[2]
DAY = "2025-03-08"


def _changed_contracts(tmp: Path) -> Path:
    d = tmp / "contracts"
    shutil.copytree(REPO / "data_contracts", d)
    p = d / "manifestation_statique.yaml"
    text = p.read_text(encoding="utf-8")
    assert "label: Objet," in text
    p.write_text(
        text.replace("label: Objet,", "label: Objet et revendications des organisateurs,", 1), encoding="utf-8"
    )
    return d


def test_changes_are_described_field_by_field(tmp_path):
    fp0, d0 = nature.current("cortege")
    fp1, d1 = nature.current("cortege", _changed_contracts(tmp_path))
    assert fp0 != fp1
    assert nature.changes(d0, d1) == ["manifestation_statique: champ « objet » modifié (label)"]
    assert nature.current("interventions")[0] == nature.current("interventions", tmp_path / "contracts")[0]


@pytest.mark.slow
def test_changed_contract_blocks_the_source_until_the_dpo_acknowledges(home, landing, tmp_path, monkeypatch):
    from tranquillite import runner
    from tranquillite.app_core import store
    from tranquillite.definitions import build_defs
    from tranquillite.jobs import INGEST_JOB

    write_csv(landing_file(landing, "interventions", DAY), "interventions", [VALID["interventions"]])
    write_json(landing_file(landing, "cortege", DAY), list(VALID_CORTEGE.values()))
    store.init_store()  # the baseline: today's contracts
    changed = _changed_contracts(tmp_path)
    monkeypatch.setenv("TRANQUILLITE_CONTRACTS", str(changed))
    defs, inst = build_defs(), runner.instance()
    job = defs.resolve_job_def(INGEST_JOB)

    res = job.execute_in_process(instance=inst, partition_key=DAY, raise_on_error=False)
    wh = home / "warehouse"
    ev = [
        e
        for e in res.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and e.event_specific_data.check_name == "nature_des_donnees"
    ]
    assert [e.event_specific_data.passed for e in ev] == [False]
    assert not (wh / "clean" / "manifestation_statique" / f"{DAY}.parquet").exists()  # blocked
    assert (wh / "clean" / "interventions" / f"{DAY}.parquet").exists()  # the City's data flow on

    with store.connect() as con:
        with pytest.raises(ValueError, match="étude d'impact"):
            nature.acknowledge(
                con,
                "cortege",
                login="demo.dpo",
                profile="auditeur_dpo",
                dpo_informed_on=date(2025, 3, 1),
                impact_study_ref=" ",
                contracts_dir=changed,
            )
        nature.acknowledge(
            con,
            "cortege",
            login="demo.dpo",
            profile="auditeur_dpo",
            dpo_informed_on=date(2025, 3, 1),
            impact_study_ref="AIPD-2025-07",
            contracts_dir=changed,
        )
        assert nature.status(con, "cortege", changed)["ok"]
        logged = con.execute("SELECT detail FROM access_log WHERE action = 'changement_nature_reconnu'").fetchone()[0]
        assert "AIPD-2025-07" in logged
    res = job.execute_in_process(instance=inst, partition_key=DAY, raise_on_error=False)
    assert res.success
    assert (wh / "clean" / "manifestation_statique" / f"{DAY}.parquet").exists()
