"""Cortège: forms generated from the contracts, ingestion's validation, versioned saves to the landing zone."""

from __future__ import annotations

import json
from datetime import date, time

import dagster as dg
import pytest

from tests.app.helpers import both_stores, login_as
from tranquillite import landing
from tranquillite.app_core import cortege as C
from tranquillite.app_core import store
from tranquillite.app_core.rights import load_principal
from tranquillite.contracts import contracts_for_source
from tranquillite.resources import LandingZone
from tranquillite.sensors.landing import landing_sensor
from tranquillite.validation import validate

WIDGETS = ("text_area", "text_input", "number_input", "selectbox", "date_input", "radio")


def _labels(at) -> set[str]:
    return {w.label for kind in WIDGETS for w in getattr(at, kind)}


def _k(record_type: str, name: str, part: str = "") -> str:
    return f"ctg_{record_type}_{name}{part}"


def _fill_statique(at, objet="Rassemblement devant la Préfecture"):
    rt = "manifestation_statique"
    at.text_area(key=_k(rt, "objet")).input(objet)
    at.text_input(key=_k(rt, "adresse")).input("Place Félix Baret, 13006 Marseille")
    at.date_input(key=_k(rt, "date_debut", "_date")).set_value(date(2025, 3, 8))
    at.time_input(key=_k(rt, "date_debut", "_heure")).set_value(time(14, 0))
    at.date_input(key=_k(rt, "date_fin", "_date")).set_value(date(2025, 3, 8))
    at.time_input(key=_k(rt, "date_fin", "_heure")).set_value(time(16, 0))
    at.number_input(key=_k(rt, "nombre_personnes_attendues")).set_value(150)
    at.selectbox(key=_k(rt, "statut_organisateur")).set_value("association")
    return at


def _click(at, label):
    next(b for b in at.button if b.label == label).click()
    return at.run()


def _files(home):
    return sorted(p.relative_to(home / "landing").as_posix() for p in (home / "landing").rglob("*.json"))


def test_forms_are_generated_from_the_contracts(app_home):
    at = login_as("agent_cortege")
    assert at.title[0].value.startswith("Cortège")
    assert set(at.selectbox(key="ctg_type").options) == {c.title for c in contracts_for_source("cortege")}
    for c in contracts_for_source("cortege"):
        at.selectbox(key="ctg_type").set_value(c.record_type).run()
        assert not at.exception
        labels = _labels(at)
        for f in c.fields:
            shown = f"{f.label} *" if f.required else f.label  # every field, its label verbatim, « * » if required
            assert shown in labels, (c.name, shown)
            if f.type == "enum":
                assert at.selectbox(key=_k(c.record_type, f.name)).options == list(f.values)


def test_validation_messages_are_those_of_ingestion_in_french(app_home):
    at = login_as("agent_cortege")
    rt = "manifestation_deambulatoire"
    at.selectbox(key="ctg_type").set_value(rt).run()
    at.text_area(key=_k(rt, "objet")).input("Contacter M. Dupont au 06 12 34 56 78")
    at.text_input(key=_k(rt, "adresse_arrivee")).input("Rue Imaginaire du Zèbre, 13001 Marseille")
    at.date_input(key=_k(rt, "date_debut", "_date")).set_value(date(2025, 3, 8))
    at.time_input(key=_k(rt, "date_debut", "_heure")).set_value(time(14, 0))
    at.date_input(key=_k(rt, "date_fin", "_date")).set_value(date(2025, 3, 8))
    at.time_input(key=_k(rt, "date_fin", "_heure")).set_value(time(10, 0))
    at.run()
    at = _click(at, "Enregistrer")
    assert not at.exception
    message = at.error[0].value
    for expected in (
        "« Adresse de départ » est obligatoire.",
        "« Statut de l’organisateur » est obligatoire.",
        "La date et heure de fin est antérieure à la date et heure de début.",
        "Donnée personnelle détectée (numéro de téléphone) dans « Objet »",
    ):
        assert expected in message, message
    assert _files(app_home) == []  # nothing reaches the landing zone


def test_a_valid_entry_is_written_as_a_new_version_and_amended_as_the_next(app_home, con):
    at = login_as("agent_cortege")
    at.selectbox(key="ctg_type").set_value("manifestation_statique").run()
    at = _fill_statique(at).run()
    at = _click(at, "Vérifier")
    assert [s.value for s in at.success] == ["Entrée valide: elle sera acceptée par la plateforme."]
    assert _files(app_home) == []
    at = _click(at, "Enregistrer")
    assert not at.exception and not at.error
    assert "version 1 enregistrée" in at.success[0].value
    (v1,) = _files(app_home)
    day, name = v1.split("/")[1:]
    year = day[:4]
    assert name == f"CTG-{year}-000001_v1.json"
    # the file is the Préfecture format, and ingestion accepts it
    fr = landing.read_file(app_home / "landing" / v1, app_home / "landing", "cortege")
    out = validate(fr.records, contracts_for_source("cortege"))
    assert out.n_clean == 1 and out.n_quarantined == 0
    entry = json.loads((app_home / "landing" / v1).read_text(encoding="utf-8"))
    assert entry["type"] == "manifestation_statique" and entry["version"] == 1
    assert entry["nombre_personnes_attendues"] == 150 and entry["emprise"] is None
    assert "demo" not in json.dumps(entry)  # the agent's identity stays in the app's registry (C2)
    v1_bytes = (app_home / "landing" / v1).read_bytes()

    # amend: the agent's own entry, pre-filled, saved as version 2; version 1 untouched
    at.radio(key="ctg_mode").set_value("modifier").run()
    assert at.text_area(key=_k("manifestation_statique", "objet")).value == "Rassemblement devant la Préfecture"
    at.text_area(key=_k("manifestation_statique", "objet")).input("Rassemblement déplacé sur le Vieux-Port")
    at.radio(key=_k("manifestation_statique", "emprise", "_mode")).set_value("adresses").run()
    at.number_input(key=_k("manifestation_statique", "emprise", "_rayon")).set_value(120)
    at.run()
    at = _click(at, "Enregistrer")
    assert not at.error, [e.value for e in at.error]
    assert "version 2 enregistrée" in at.success[0].value
    files = _files(app_home)
    assert len(files) == 2 and v1 in files
    v2 = next(f for f in files if f.endswith("_v2.json"))
    assert (app_home / "landing" / v1).read_bytes() == v1_bytes
    e2 = json.loads((app_home / "landing" / v2).read_text(encoding="utf-8"))
    assert e2["id"] == entry["id"] and e2["version"] == 2 and e2["emprise"]["type"] == "Polygon"
    assert [r["version"] for r in C.own_entries(con, "demo.cortege")] == [2]
    log = store.access_log(con, login="demo.cortege", page="cortege")
    assert [r["action"] for r in log if r["action"].startswith("saisie")] == ["saisie_enregistree"] * 2

    # the landing sensor requests the ingestion of the new files, automatically (C3)
    ctx = dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(), resources={"landing": LandingZone(root=str(app_home / "landing"))}
    )
    requests = landing_sensor(ctx).run_requests
    assert [r.partition_key for r in requests] == sorted({f.split("/")[1] for f in files})


def test_pasted_geojson_route(app_home):
    at = login_as("agent_cortege")
    rt = "manifestation_deambulatoire"
    at.selectbox(key="ctg_type").set_value(rt).run()
    at.text_area(key=_k(rt, "objet")).input("Marche pour le climat")
    at.text_input(key=_k(rt, "adresse_depart")).input("Quai du Port, 13002 Marseille")
    at.text_area(key=_k(rt, "adresses_points_passage")).input("La Canebière, 13001 Marseille")
    at.text_input(key=_k(rt, "adresse_arrivee")).input("Square Stalingrad, 13001 Marseille")
    for k, h in (("date_debut", 10), ("date_fin", 12)):
        at.date_input(key=_k(rt, k, "_date")).set_value(date(2025, 3, 8))
        at.time_input(key=_k(rt, k, "_heure")).set_value(time(h, 0))
    at.selectbox(key=_k(rt, "statut_organisateur")).set_value("Autres")
    at.radio(key=_k(rt, "trace_parcours", "_mode")).set_value("geojson").run()
    at.text_area(key=_k(rt, "trace_parcours", "_geojson")).input('{"type": "Polygon", "coordinates": []}').run()
    at = _click(at, "Vérifier")
    assert "géométrie invalide" in at.error[0].value
    route = {"type": "LineString", "coordinates": [[5.3698, 43.2950], [5.3790, 43.2969], [5.3866, 43.2990]]}
    at.text_area(key=_k(rt, "trace_parcours", "_geojson")).input(json.dumps(route)).run()
    at = _click(at, "Enregistrer")
    assert not at.error, [e.value for e in at.error]
    (f,) = _files(app_home)
    assert json.loads((app_home / "landing" / f).read_text(encoding="utf-8"))["trace_parcours"] == route


def test_saves_never_overwrite_and_only_the_author_amends(app_home, con, tmp_path):
    root = app_home / "landing"
    values = {
        "objet": "Visite du ministre",
        "adresses": "Quai du Port, 13002 Marseille",
        "date_debut": "2025-03-08T11:00:00+01:00",
        "date_fin": "2025-03-08T12:00:00+01:00",
    }
    eid = C.next_entry_id(con, root, 2025)
    assert eid == "CTG-2025-000001"
    e1 = C.build_entry("visite_officielle", values, eid, 1)
    assert C.check_entry(e1).ok
    path = C.save_entry(con, root, e1, "demo.cortege")
    with pytest.raises(C.SaveError, match="plus récente"):
        C.save_entry(con, root, e1, "demo.cortege")  # same version again
    with pytest.raises(C.SaveError, match="Seul l'agent"):
        C.save_entry(con, root, {**e1, "version": 2}, "autre.agent")
    assert C.next_entry_id(con, root, 2025) == "CTG-2025-000002"
    assert C.next_version(con, root, eid) == 2
    assert C.own_entries(con, "autre.agent") == []
    assert not list(path.parent.glob(".*"))  # no temporary file left behind
    with pytest.raises(Exception, match="ajout seul"):
        con.execute("DELETE FROM cortege_entries")
    assert load_principal(con, "demo.cortege").can("saisir")


@both_stores
def test_two_agents_saving_at_once_get_two_ids(app_home, con):
    """The issue: both got the same new id, one an uncaught sqlite3.IntegrityError."""
    import threading

    root = app_home / "landing"
    values = {
        "objet": "Visite du ministre",
        "adresses": "Quai du Port, 13002 Marseille",
        "date_debut": "2025-03-08T11:00:00+01:00",
        "date_fin": "2025-03-08T12:00:00+01:00",
    }
    eid = C.next_entry_id(con, root)  # what each page computed before its agent clicked
    entry = C.build_entry("visite_officielle", values, eid, 1)
    assert C.check_entry(entry).ok
    out, errors, barrier = [], [], threading.Barrier(4)

    def save(login):
        barrier.wait()
        try:
            with store.connect() as c:
                out.append(C.save_entry(c, root, dict(entry), login, new=True))
        except Exception as exc:  # noqa: BLE001 — any error is the failure under test
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(f"agent.{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    ids = sorted(json.loads(p.read_text(encoding="utf-8"))["id"] for p in out)
    assert len(set(ids)) == 4 and ids[0] == eid
    assert sorted(r[0] for r in con.execute("SELECT entry_id FROM cortege_entries")) == ids
    # the same version of the same entry saved twice at once: one wins, the other gets a French refusal
    amend = {**json.loads(out[0].read_text(encoding="utf-8")), "version": 2}
    owner = C.owner(con, amend["id"])
    results = []

    def amend_it():
        barrier2.wait()
        try:
            with store.connect() as c:
                results.append(C.save_entry(c, root, dict(amend), owner))
        except C.SaveError as exc:
            results.append(exc)

    barrier2 = threading.Barrier(2)
    threads = [threading.Thread(target=amend_it) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(type(r).__name__ for r in results) == ["PosixPath", "SaveError"]


@pytest.mark.parametrize(
    "bad", ["../../../tmp/evil", "..", "a/b", "CTG-2025-1/../../x", "", "x" * 200, "nul\x00", ".cache"]
)
def test_paths_built_from_an_id_stay_in_their_folder(app_home, con, bad, tmp_path):
    root = app_home / "landing"
    values = {
        "objet": "Visite",
        "adresses": "Quai du Port, 13002 Marseille",
        "date_debut": "2025-03-08T11:00:00+01:00",
        "date_fin": "2025-03-08T12:00:00+01:00",
    }
    entry = C.build_entry("visite_officielle", values, bad, 1)
    before = set(tmp_path.parent.rglob("*.json")) | set((app_home).rglob("*.json"))
    check = C.check_entry(entry)
    assert not check.ok and any("Identifiant" in m for m in check.messages)
    with pytest.raises(C.SaveError, match="Identifiant"):
        C.save_entry(con, root, entry, "demo.cortege")
    with pytest.raises(C.SaveError):  # the version is part of the file name too
        C.save_entry(con, root, {**entry, "id": "CTG-2025-000009", "version": "../1"}, "demo.cortege")
    after = set(tmp_path.parent.rglob("*.json")) | set((app_home).rglob("*.json"))
    assert after == before
    with pytest.raises(C.SaveError):
        C.load_entry(root, "../app/platform.sqlite")


@pytest.mark.parametrize(
    "reason,expected",
    [
        ("date_hors_bornes:date_debut", "date hors de la période plausible (de "),
        ("valeur_hors_bornes:nombre_personnes_attendues", "valeur hors des bornes plausibles"),
        ("champ_trop_long:objet", "texte trop long"),
        ("type_entree_inconnu", "Type d'entrée inconnu"),
        ("entree_non_objet", "un objet JSON"),
        ("code_futur:objet", "raison technique (code_futur:objet)"),
    ],
)
def test_every_ingestion_reason_is_told_in_french(reason, expected):
    c = next(c for c in contracts_for_source("cortege") if c.record_type == "manifestation_statique")
    text = C.explain(c, reason, {})
    assert expected in text, text
    code, _, field_name = reason.partition(":")
    if field_name and code != "code_futur":
        assert c.field(field_name).label in text  # the field's contract label, not its code
        assert field_name not in text


def test_the_preview_fits_the_whole_route_in_its_frame():
    """A route across the city is seen whole, not zoomed on the mean of its addresses (issue 15)."""
    from tranquillite.app_core import deck

    route = [(5.3650, 43.2950), (5.3810, 43.2960), (5.4050, 43.3100)]  # Vieux-Port → la Belle de Mai
    v = deck.fit_view(route)
    assert v["zoom"] <= 13 and 5.365 < v["longitude"] < 5.405 and 43.295 < v["latitude"] < 43.310
    one = deck.fit_view([(5.3810, 43.2960)])
    assert one == {"longitude": 5.3810, "latitude": 43.2960, "zoom": 16}
    d = deck.preview_deck({"type": "LineString", "coordinates": [list(p) for p in route]}, route[:1])
    assert d.initial_view_state.zoom == v["zoom"]
