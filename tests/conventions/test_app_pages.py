"""The conventions' pages through the real app (AppTest): lifecycle, destruction view, contractors, C2."""

from __future__ import annotations

from datetime import date, timedelta

from tests.app.conftest import app_home, catalog_home, con  # noqa: F401 - the app tests' fixtures
from tests.app.helpers import login_as, texts

PREF = "prefecture_police_13"


def test_dpo_sees_the_pages_and_nothing_to_destroy_while_in_force(app_home):  # noqa: F811
    at = login_as("auditeur_dpo")
    assert {"conventions", "destruction", "prestataires", "nature_donnees"} <= set(at.session_state["tq_pages"])
    at.switch_page("views/destruction.py").run()
    assert not at.exception and "Aucune convention terminée" in texts(at)
    at.switch_page("views/nature_donnees.py").run()
    assert not at.exception and "conformes" in texts(at)
    at.switch_page("views/conventions.py").run()
    assert not at.exception and "En vigueur" in texts(at)
    assert not [b for b in at.button if b.label == "Enregistrer la dénonciation"]  # read-only for the DPO


def test_gestionnaire_records_a_notice_and_the_dpo_sees_what_to_destroy(app_home, con):  # noqa: F811
    from tranquillite.app_core.rights import load_principal
    from tranquillite.conventions import registry

    at = login_as("gestionnaire_habilitations")
    at.switch_page("views/conventions.py").run()
    assert not at.exception
    at.date_input(key=f"cv_notice_{PREF}").set_value(date.today() - timedelta(days=70))
    next(b for b in at.button if b.label == "Enregistrer la dénonciation").click()
    at.run()
    assert not at.exception
    assert "Dénonciation enregistrée" in texts(at)
    lc = registry.lifecycles(con)[PREF]
    assert lc.notice_on == date.today() - timedelta(days=70) and lc.ended(date.today())
    assert load_principal(con, "demo.prefecture") is None  # Préfecture accounts deactivated
    assert PREF not in load_principal(con, "demo.encadrement").scope.conventions
    next(b for b in at.button if b.label == "Ordonner la destruction des données").click()
    at.run()
    assert registry.get(con, PREF)["destruction_ordered_by"] == "demo.habilitations"

    dpo = login_as("auditeur_dpo")
    dpo.switch_page("views/destruction.py").run()
    assert not dpo.exception
    shown = dpo.dataframe[0].value
    assert "clean.events" in shown["Élément"].to_list() and shown["Lignes"].max() > 0
    assert "demo.habilitations" in texts(dpo)


def test_gestionnaire_registers_a_handover(app_home, con):  # noqa: F811
    at = login_as("gestionnaire_habilitations")
    at.switch_page("views/prestataires.py").run()
    assert not at.exception
    at.text_input(key="pr_who").input("Bureau d'études")
    at.text_input(key="pr_work").input("Étude des flux")
    at.multiselect(key="pr_tables").set_value(["clean.events"])
    at.multiselect(key="pr_convs").set_value(["internal"])
    next(b for b in at.button if b.label == "Enregistrer la remise").click()
    at.run()
    assert not at.exception and "Remise n° 1 enregistrée" in texts(at)
    assert con.execute("SELECT contractor FROM contractor_handovers").fetchone()[0] == "Bureau d'études"
