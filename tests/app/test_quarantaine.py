"""The DPO's quarantine viewer (issue #9, C2): records masked, retention set and logged, purge
history; readable only by the profiles granted the page, through the data gateway."""

from __future__ import annotations

import json

import polars as pl
import pytest

from tests.app.helpers import catalog_home, login_as, texts
from tranquillite import retention
from tranquillite.app_core import queries, store
from tranquillite.app_core import quarantine as Q
from tranquillite.app_core.rights import load_principal

PHONE = "06 12 34 56 78"


def _quarantine_home(app_home, monkeypatch):
    raw = json.dumps(
        {
            "N° intervention": "INT-9",
            "Adresse": "Place Victor Hugo, 13003 Marseille",
            "Observations": f"Rappeler Mme Martin au {PHONE}",
        },
        ensure_ascii=False,
    )
    q = pl.DataFrame(
        {
            "source": ["interventions", "interventions"],
            "contract": ["interventions"] * 2,
            "partition": ["2025-03-08", "2025-03-07"],
            "file": ["interventions/x.csv"] * 2,
            "line": [3, 5],
            "record_id": ["INT-9", "INT-4"],
            "reasons": [["donnee_personnelle:telephone"], ["date_invalide:debut"]],
            "raw": [raw, json.dumps({"N° intervention": "INT-4", "Début": "hier soir"})],
        }
    )
    purges = pl.DataFrame(
        {
            "purged_at": ["2025-04-09T01:15:00+00:00"],
            "source": ["interventions"],
            "partition": ["2025-03-01"],
            "records": [2],
            "retention_days": [30],
            "cutoff": ["2025-03-10"],
        }
    )
    return catalog_home(
        app_home,
        "quarantaine",
        {("quarantine", "interventions"): q, ("governance", "quarantine_purges"): purges},
        monkeypatch,
    )


def test_dpo_sees_records_with_personal_data_masked(app_home, monkeypatch):
    _quarantine_home(app_home, monkeypatch)
    at = login_as("auditeur_dpo")
    assert "quarantaine" in at.session_state["tq_pages"]
    at.switch_page("views/quarantaine.py").run()
    assert not at.exception
    counts, records, purges = (d.value for d in at.dataframe)
    assert set(counts["Motif"]) == {"donnee_personnelle", "date_invalide"}
    shown = " ".join(records["Enregistrement (données personnelles masquées)"].to_list())
    assert "Rappeler Mme ██████ au ██ ██ ██ ██ ██" in shown
    assert PHONE not in shown and "Martin" not in shown and "Place Victor Hugo" in shown
    assert purges["Enregistrements"].to_list() == [2]
    # filter by reason: only the record with personal data
    at.selectbox(key="q_motif").set_value("donnee_personnelle").run()
    assert at.dataframe[1].value["Identifiant"].to_list() == ["INT-9"]
    with store.connect() as con:
        logged = store.access_log(con, login="demo.dpo", page="quarantaine")
    assert logged and json.loads(logged[0]["filters"])["motif"] == "donnee_personnelle"


def test_dpo_sets_the_retention_and_the_change_is_logged(app_home, monkeypatch):
    _quarantine_home(app_home, monkeypatch)
    at = login_as("auditeur_dpo")
    at.switch_page("views/quarantaine.py").run()
    assert "30 jours" in texts(at)
    at.number_input(key="q_jours").set_value(45).run()
    next(b for b in at.button if b.label == "Enregistrer la durée").click().run()
    assert not at.exception
    assert retention.retention_days() == 45
    with store.connect() as con:
        changes = [r for r in store.access_log(con, login="demo.dpo") if r["action"] == "reglage_conservation"]
    assert len(changes) == 1 and "30 → 45 jours" in changes[0]["detail"]
    assert "45 jours" in texts(at)


def test_other_profiles_cannot_read_the_quarantine(app_home, monkeypatch):
    _quarantine_home(app_home, monkeypatch)
    cat = queries.Catalog.open()
    with store.connect() as con:
        dpo = load_principal(con, "demo.dpo")
        analyst = load_principal(con, "demo.analyste")
    assert Q.records(cat, dpo, None, None).height == 2
    for table in ("governance.quarantine", "governance.quarantine_purges"):
        with pytest.raises(queries.Forbidden):
            queries.quarantine_query(cat, analyst, table, select="*")
        with pytest.raises(queries.Forbidden):  # and the general gateway never opens them
            queries.scoped_query(cat, dpo.scope, table, select="*")
    with pytest.raises(queries.Forbidden):
        queries.quarantine_query(cat, dpo, "raw.interventions", select="*")
    with pytest.raises(queries.Forbidden):
        Q.set_retention(analyst, 10)
    at = login_as("analyste")
    assert "quarantaine" not in at.session_state["tq_pages"]
