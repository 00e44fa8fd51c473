"""Access log (append-only, hash-chained) and habilitations (Préfecture list workflow, C6/C7)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tests.app.helpers import both_stores, login, login_as, new_app, texts
from tranquillite.app_core import carte, habilitations as H, queries, store
from tranquillite.app_core.rights import load_principal


def test_page_views_filters_and_exports_are_logged(app_home, con):
    at = login_as("encadrement_pm")
    at.query_params = {"periode": ["2025-03-07", "2025-03-08"]}
    at.run()
    # the day's view holds the Préfecture's rows: their convention forbids use outside the platform (C5)
    assert not at.get("download_button") and any("Export refusé" in i.value for i in at.info)
    at.selectbox(key="de").set_value(22).run()  # the night: no Préfecture event in the view
    rows = store.access_log(con, login="demo.encadrement", page="carte")
    assert len(rows) >= 1 and rows[0]["profile"] == "encadrement_pm" and rows[0]["export"] == 0
    assert json.loads(rows[0]["filters"])["heures"] == "22-23"
    assert [d.label for d in at.get("download_button")] == ["Exporter la vue (CSV)"]
    # the export (what the download button's deferred callable runs) is logged with export=1
    manager = load_principal(con, "demo.encadrement")
    cat = queries.Catalog.open()
    city = ("interventions", "signalements", "alertes_videoprotection", "evenements_publics")  # C5: no Préfecture rows
    data = carte.export_csv(cat, manager, carte.MapFilters(date(2025, 3, 7), date(2025, 3, 8), sources=city))
    assert data.decode("utf-8-sig").startswith("event_id;source;")
    exp = store.access_log(con, exports_only=True)
    assert len(exp) == 1 and exp[0]["login"] == "demo.encadrement" and exp[0]["action"] == "export_csv"
    with pytest.raises(queries.Forbidden):
        carte.export_csv(
            cat, load_principal(con, "demo.prefecture"), carte.MapFilters(date(2025, 3, 7), date(2025, 3, 8))
        )
    # a profile without the action gets no export button
    at = login_as("lecteur_prefecture")
    assert not at.get("download_button")


@both_stores
def test_access_log_is_append_only_and_tamper_evident(app_home, con):
    login_as("analyste")
    n = con.execute("SELECT count(*) FROM access_log").fetchone()[0]
    assert n >= 2  # connexion + carte
    with pytest.raises(store.DatabaseError, match="ajout seul"):
        con.execute("UPDATE access_log SET login = 'quelqu.un'")
    with pytest.raises(store.DatabaseError, match="ajout seul"):
        con.execute("DELETE FROM access_log")
    assert con.execute("SELECT count(*) FROM access_log").fetchone()[0] == n
    assert store.verify_access_log(con) == (True, None)
    # someone with the file (or the database's owner role) drops the trigger and edits a line: the
    # hash chain says where
    con.execute("DROP TRIGGER access_log_no_update" + (" ON access_log" if con.dialect == "postgresql" else ""))
    con.execute("UPDATE access_log SET login = 'quelqu.un' WHERE id = 2")
    assert store.verify_access_log(con) == (False, 2)


@both_stores
def test_auditor_reads_the_journal_filtered(app_home):
    login_as("analyste")
    at = login_as("auditeur_dpo")
    at.switch_page("views/journal.py").run()
    assert not at.exception
    assert "Intégrité du journal vérifiée" in texts(at)
    at.selectbox(key="j_login").set_value("demo.analyste").run()
    df = at.dataframe[0].value
    assert set(df["Utilisateur"]) == {"demo.analyste"} and "Carte" in set(df["Page"])  # the page's title


def test_the_journal_speaks_in_words(app_home, con):
    """Issue 15: actions in words, no « None » cell, JSON details as readable fields."""
    at = login_as("analyste")
    at.switch_page("views/previsions.py").run()
    admin = load_principal(con, "demo.habilitations")
    H.update_user(con, admin, "demo.analyste", activity_nature="supervision_videoprotection")
    login(new_app(), "demo.analyste", "mauvais mot de passe")
    at = login_as("auditeur_dpo")
    at.switch_page("views/journal.py").run()
    assert not at.exception
    df = at.dataframe[0].value
    cells = [str(v) for v in df.astype(str).to_numpy().ravel()]
    assert "None" not in cells and "nan" not in cells and "null" not in " ".join(cells)
    actions = set(df["Action"])
    assert {"Consultation de la page", "Connexion réussie", "Connexion échouée", "Habilitation modifiée"} <= actions
    assert not any("_" in a for a in actions)  # no code left
    assert "Analyste" in " ".join(df["Profil"]) and "analyste" not in set(df["Profil"])
    change = df[df["Action"] == "Habilitation modifiée"].iloc[0]
    assert change["Détail"].startswith("Après : nature d'activité Supervision vidéoprotection (CSU)")
    assert "Par : demo.habilitations" in change["Détail"] and "Pour : demo.analyste" in change["Détail"]
    assert "{" not in change["Détail"]
    view = df[(df["Page"] == "Prévisions") & (df["Filtres"] != "")].iloc[0]
    assert "Catégorie : Tous les faits" in view["Filtres"] and "{" not in view["Filtres"]


@both_stores
def test_prefecture_list_workflow(app_home, con):
    validator = load_principal(con, "demo.prefecture")
    manager = load_principal(con, "demo.habilitations")
    # the seed left one pending request (agent.cortege2); the Préfecture validates it
    (pending,) = [r for r in H.requests(con) if r["status"] == "demandee"]
    with pytest.raises(H.RightsError):
        H.validate_request(con, manager, pending["id"], True)  # the City cannot validate for the Préfecture
    with pytest.raises(ValueError):
        H.habilitate_request(con, manager, pending["id"], True)  # not validated yet
    assert H.validate_request(con, validator, pending["id"], True) == "validee_prefecture"
    with pytest.raises(H.RightsError):
        H.habilitate_request(con, validator, pending["id"], True)  # the Préfecture does not habilitate
    status, temp = H.habilitate_request(con, manager, pending["id"], True, "liste du 08/03")
    assert status == "habilitee" and temp is None  # the City never knows a Préfecture person's password
    H.prefecture_password(con, validator, "agent.cortege2")  # the Préfecture hands over the provisional one
    agent = load_principal(con, "agent.cortege2")
    assert agent.profile == "agent_cortege" and agent.must_change_password
    # direct creation or modification of a Préfecture account is refused; deactivation is allowed
    with pytest.raises(H.RightsError):
        H.create_user(
            con,
            manager,
            login="x.y",
            display_name="X",
            email=None,
            profile="lecteur_prefecture",
            organisation="prefecture_police_13",
        )
    with pytest.raises(H.RightsError):
        H.update_user(con, manager, "agent.cortege2", profile="lecteur_prefecture")
    with pytest.raises(ValueError):  # a profile only for persons of the matching organisation
        H.create_user(
            con, manager, login="x.y", display_name="X", email=None, profile="agent_cortege", organisation="ville_dgsec"
        )
    # removal: request → validation → habilitation; the person loses access
    rid = H.create_request(con, validator, kind="retrait", login="agent.cortege2", comment="mutation")
    H.validate_request(con, validator, rid, True)
    H.habilitate_request(con, manager, rid, True)
    assert load_principal(con, "agent.cortege2") is None
    history = [e["status"] for e in next(r for r in H.requests(con) if r["id"] == rid)["history"]]
    assert history == ["demandee", "validee_prefecture", "habilitee"]
    with pytest.raises(store.DatabaseError, match="ajout seul"):
        con.execute("UPDATE habilitation_request_events SET status = 'refusee'")
    actions = {r["action"] for r in store.access_log(con, page="habilitations")}
    assert {
        "liste_prefecture_demande",
        "liste_prefecture_validation",
        "liste_prefecture_habilitation",
        "habilitation_creee",
        "habilitation_modifiee",
    } <= actions


@both_stores
def test_habilitations_page_workflow_in_the_app(app_home, con):
    at = login_as("lecteur_prefecture")  # the Préfecture validator sees only the Préfecture list
    at.switch_page("views/habilitations.py").run()
    assert not at.exception
    assert [t.label for t in at.tabs] == ["Liste Préfecture"]
    assert "demo.analyste" not in texts(at)
    next(b for b in at.button if b.label == "Valider").click()
    at.run()
    assert any("Validée par la Préfecture" in s.value for s in at.success)

    at = login_as("gestionnaire_habilitations")
    at.switch_page("views/habilitations.py").run()
    assert [t.label for t in at.tabs] == [
        "Utilisateurs",
        "Liste Préfecture",
        "Organisations",
        "Profils",
        "Natures d'activité",
        "Conventions",
    ]
    next(b for b in at.button if b.label == "Habiliter" and b.key == "dec_validee_prefecture_True").click()
    at.run()
    assert any("validateur de la Préfecture" in s.value for s in at.success)
    assert "Mot de passe provisoire" not in texts(at)  # the City never sees a Préfecture person's password
    assert not [b for b in at.button if b.label == "Réinitialiser le mot de passe"]
    assert load_principal(con, "agent.cortege2") is not None

    at = login_as("lecteur_prefecture")  # the Préfecture's validator issues the first password
    at.switch_page("views/habilitations.py").run()
    at.selectbox(key="pref_mdp_login").set_value("agent.cortege2").run()
    next(b for b in at.button if b.label == "Générer le mot de passe provisoire").click()
    at.run()
    assert any("agent.cortege2" in s.value and "Mot de passe provisoire" in s.value for s in at.success)

    at = login_as("auditeur_dpo")  # read-only
    at.switch_page("views/habilitations.py").run()
    assert not at.exception and "Consultation seule" in texts(at)
    assert not [b for b in at.button if b.label in ("Habiliter", "Valider", "Enregistrer le profil")]


@both_stores
def test_city_user_created_in_the_app_can_log_in(app_home, con):
    at = login_as("gestionnaire_habilitations")
    at.switch_page("views/habilitations.py").run()
    form_inputs = [w for w in at.text_input if w.label == "Identifiant (prenom.nom)"]
    form_inputs[0].input("claire.martin")
    next(w for w in at.text_input if w.label == "Nom affiché").input("Claire Martin")
    prof = next(w for w in at.selectbox if w.label == "Profil")
    assert prof.value is None  # the most privileged profile is not pre-selected
    next(b for b in at.button if b.label == "Habiliter").click()
    at.run()
    assert "Choisissez le profil" in at.error[0].value and not at.success
    form_inputs = [w for w in at.text_input if w.label == "Identifiant (prenom.nom)"]
    form_inputs[0].input("claire.martin")
    next(w for w in at.text_input if w.label == "Nom affiché").input("Claire Martin")
    next(w for w in at.selectbox if w.label == "Profil").set_value("analyste")
    next(w for w in at.selectbox if w.label == "Nature d'activité").set_value("analyse")
    next(b for b in at.button if b.label == "Habiliter").click()
    at.run()
    msg = next(s.value for s in at.success if "claire.martin" in s.value)
    temp = msg.split("`")[1]
    at = login(new_app(), "claire.martin", temp)
    assert at.session_state["tq_pages"] == ["compte"]  # provisional password first


def test_my_account_names_my_organisation_and_activity_in_words(app_home):
    at = login_as("encadrement_pm")
    at.switch_page("views/compte.py").run()
    text = " ".join(m.value for m in at.markdown)
    assert "Ville de Marseille — DGSEC (Police Municipale)" in text
    assert "ville_dgsec" not in text and "Pilotage et encadrement opérationnel" in text
    # its rights too: sources and conventions by their names, not their codes
    assert "Interventions" in text and "Données propres de la Ville de Marseille" in text
    assert "interventions," not in text and "internal" not in text
