"""C8: the register of temporary hand-overs to contractors, the extract, the written proof."""

from __future__ import annotations

import json
from datetime import date, timedelta

import polars as pl
import pytest

from tranquillite.conventions import contractors as C

PREF = "prefecture_police_13"


@pytest.fixture
def store_con(home):
    from tranquillite.app_core import store
    from tranquillite.resources.warehouse import Warehouse

    wh = Warehouse(root=str(home / "warehouse"))
    wh.write(
        "clean",
        "events",
        pl.DataFrame(
            {
                "event_id": ["interventions:A", "manifestation_statique:PP-1", "x:B"],
                "convention": ["internal", PREF, "internal"],
            }
        ),
    )
    wh.write("indicators", "values", pl.DataFrame({"v": [1, 2], "conventions": [["internal"], ["internal", PREF]]}))
    store.init_store()
    with store.connect() as con:
        yield con


def test_register_extract_and_an_accepted_proof(home, store_con):
    con = store_con
    due = date.today() + timedelta(days=30)
    hid = C.register(
        con,
        contractor="Bureau d'études Méditerranée",
        work="Étude des flux piétons",
        tables=["clean.events", "indicators.values"],
        conventions=["internal"],
        due_on=due,
        login="demo.habilitations",
        profile="gestionnaire_habilitations",
    )
    m = C.extract(con, home, hid, login="demo.habilitations", profile="gestionnaire_habilitations")
    out = home / "exports" / "prestataires" / str(hid)
    assert pl.read_parquet(out / "clean.events.parquet")["convention"].to_list() == ["internal", "internal"]
    assert pl.read_parquet(out / "indicators.values.parquet")["v"].to_list() == [1]  # the mixed row stays
    assert json.loads((out / "manifest.json").read_text())["reference"] == m["reference"]
    assert {f["fichier"] for f in m["fichiers"]} == {"clean.events.parquet", "indicators.values.parquet"}

    bad = C.record_proof(
        con,
        hid,
        "pv.txt",
        b"Nous avons detruit les fichiers.",
        login="demo.habilitations",
        profile="gestionnaire_habilitations",
    )
    assert any("référence" in p for p in bad) and C.get(con, hid)["status"] == "justificatif_refuse"
    assert [r["kind"] for r in C.due_reminders(con)] == ["prestataire_justificatif_refuse"]
    proof = (
        f"Procès-verbal de destruction — remise {m['reference']}. Les fichiers clean.events.parquet et "
        f"{m['fichiers'][1]['sha256']} ont été détruits le {date.today():%d/%m/%Y}."
    ).encode()
    assert (
        C.record_proof(con, hid, "pv.txt", proof, login="demo.habilitations", profile="gestionnaire_habilitations")
        == []
    )
    assert C.get(con, hid)["status"] == "justifiee" and not out.exists()  # the platform's copy goes too
    assert C.due_reminders(con) == []
    events = [e["event"] for e in C.events(con, hid)]
    assert events == ["enregistree", "extraite", "justificatif_refuse", "justificatif_accepte"]
    with pytest.raises(Exception, match="ajout seul"):
        con.execute("DELETE FROM contractor_events")


def test_reminders_before_and_after_the_due_date(store_con):
    con = store_con
    hid = C.register(
        con,
        contractor="X",
        work="Y",
        tables=["clean.events"],
        conventions=["internal"],
        due_on=date.today() + timedelta(days=3),
        login="g",
        profile="gestionnaire_habilitations",
    )
    assert [(r["kind"], r["days_left"]) for r in C.due_reminders(con)] == [("prestataire_echeance", 3)]
    late = C.due_reminders(con, date.today() + timedelta(days=5))
    assert [(r["kind"], r["level"], r["days_left"]) for r in late] == [("prestataire_en_retard", "depasse", -2)]
    assert C.get(con, hid)["status"] == "enregistree"


def test_only_conventions_allowing_a_handover_and_in_force(home, store_con, monkeypatch):
    from tranquillite.conventions import registry

    con = store_con
    with monkeypatch.context() as mp:
        mp.setattr(C, "load_conventions", lambda: {"internal": {"temporary_handover": True}, PREF: {}})
        with pytest.raises(C.HandoverError, match="interdite pour: prefecture_police_13"):
            C.register(
                con,
                contractor="X",
                work="Y",
                tables=["clean.events"],
                conventions=[PREF],
                due_on=date.today() + timedelta(days=9),
                login="g",
                profile="p",
            )
    hid = C.register(
        con,
        contractor="X",
        work="Y",
        tables=["clean.events"],
        conventions=[PREF, "internal"],
        due_on=date.today() + timedelta(days=9),
        login="g",
        profile="p",
    )
    registry.give_notice(con, PREF, date.today() - timedelta(days=70), "ville", login="g", profile="p")
    with pytest.raises(C.HandoverError, match="interdite"):  # ended since: no extract
        C.extract(con, home, hid, login="g", profile="p")


def test_the_extraction_job_writes_the_extract(home, store_con):
    from tranquillite import runner
    from tranquillite.assets.convention_lifecycle import extraction_job

    hid = C.register(
        store_con,
        contractor="X",
        work="Y",
        tables=["clean.events"],
        conventions=["internal"],
        due_on=date.today() + timedelta(days=9),
        login="g",
        profile="p",
    )
    res = extraction_job.execute_in_process(
        instance=runner.instance(),
        run_config={"ops": {"extraire_pour_prestataire": {"config": {"remise": hid, "par": "demo.habilitations"}}}},
    )
    assert res.success and res.output_for_node("extraire_pour_prestataire").startswith(f"REM-{hid}-")
    assert C.get(store_con, hid)["status"] == "extraite"
