"""Each contract's validation on good and bad records: each defect kind quarantined with its reason."""

from __future__ import annotations

import copy
import json

import polars as pl
import pytest

from tests.factories import VALID, VALID_CORTEGE, landing_file, write_csv, write_json
from tranquillite import landing as landing_io
from tranquillite.contracts import contracts_for_source
from tranquillite.validation import clean_schema, reason_code, validate

DAY = "2025-03-08"


def run(landing, source, rows):
    path = landing_file(landing, source, DAY)
    (write_json(path, rows) if source == "cortege" else write_csv(path, source, rows))
    raw, reads = landing_io.read_partition(landing, source, DAY)
    return validate(raw, contracts_for_source(source)), reads


def codes(outcome) -> list[list[str]]:
    return [sorted({reason_code(r) for r in rs}) for rs in outcome.quarantine.get_column("reasons").to_list()]


@pytest.mark.parametrize(
    "source", ["interventions", "alertes_videoprotection", "signalements", "evenements_publics", "incidents"]
)
def test_valid_csv_record_is_clean_typed_and_located(landing, source):
    outcome, _ = run(landing, source, [VALID[source]])
    assert outcome.n_quarantined == 0, outcome.quarantine.to_dicts()
    (name,) = outcome.clean
    df = outcome.clean[name]
    assert df.height == 1
    assert dict(df.schema) == clean_schema(contracts_for_source(source)[0])
    row = df.row(0, named=True)
    assert row["h3_cell"] and len(row["h3_cell"]) == 15
    assert row["arrondissement"].startswith("132")
    assert 5.2 < row["lon"] < 5.6 and 43.1 < row["lat"] < 43.4


def test_valid_cortege_entries_get_their_geometry(landing):
    outcome, _ = run(landing, "cortege", list(VALID_CORTEGE.values()))
    assert outcome.n_quarantined == 0, outcome.quarantine.to_dicts()
    got = {name: df.row(0, named=True) for name, df in outcome.clean.items()}
    assert got["manifestation_deambulatoire"]["geometry_type"] == "LineString"
    route = json.loads(got["manifestation_deambulatoire"]["geometry"])["coordinates"]
    assert len(route) == 3  # départ, one waypoint, arrivée
    assert got["manifestation_statique"]["geometry_type"] == "Polygon"
    assert got["manifestation_statique"]["geocode_precision"] == "geometrie_saisie"
    assert got["operation_programmee"]["geometry_type"] == "MultiPoint"
    assert got["visite_officielle"]["geometry_type"] == "Point"
    assert got["manifestation_deambulatoire"]["date_debut"].isoformat() == "2025-03-08T10:30:00"
    assert got["manifestation_deambulatoire"]["adresses_points_passage"] == [
        VALID_CORTEGE["manifestation_deambulatoire"]["adresses_points_passage"][0]
    ]


def test_static_footprint_is_derived_from_address_when_absent(landing):
    entry = copy.deepcopy(VALID_CORTEGE["manifestation_statique"])
    entry["emprise"] = None
    outcome, _ = run(landing, "cortege", [entry])
    row = outcome.clean["manifestation_statique"].row(0, named=True)
    assert row["geometry_type"] == "Polygon"
    ring = json.loads(row["geometry"])["coordinates"][0]
    # a 50 m disc: about 0.0009° across in latitude
    lats = [p[1] for p in ring]
    assert 0.0007 < max(lats) - min(lats) < 0.0011


CSV_DEFECTS = [
    ("date_invalide", {"Début": "31/02/2025 25:61"}),
    ("date_invalide", {"Début": "hier soir"}),
    ("fin_avant_debut", {"Fin": "08/03/2025 22:00"}),
    ("hors_zone", {"Longitude": "5.447", "Latitude": "43.529"}),  # Aix-en-Provence
    ("hors_zone", {"Longitude": "43.296909", "Latitude": "5.379177"}),  # swapped
    ("champ_obligatoire_manquant", {"Catégorie": ""}),
    ("valeur_hors_enumeration", {"Catégorie": "Tapage nocturne!!"}),
    ("valeur_hors_enumeration", {"Unité": "Brigade fantôme"}),
    ("donnee_personnelle", {"Observations": "rappeler le 06 12 34 56 78"}),
    ("donnee_personnelle", {"Observations": "contact: jean.dupont@exemple.fr"}),
    ("donnee_personnelle", {"Observations": "véhicule immatriculé AB-123-CD"}),
    ("donnee_personnelle", {"Observations": "mis en cause M. Dupont"}),
    ("adresse_inconnue", {"Adresse": "Rue qui n'existe pas, 13001 Marseille", "Longitude": "", "Latitude": ""}),
    ("format_invalide", {"Code postal": "75001"}),
]


@pytest.mark.parametrize("kind,change", CSV_DEFECTS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(CSV_DEFECTS)])
def test_each_csv_defect_is_quarantined_with_its_reason(landing, kind, change):
    good = dict(VALID["interventions"])
    bad = {**good, **change, "N° intervention": "INT-2"}
    outcome, _ = run(landing, "interventions", [good, bad])
    assert outcome.n_clean == 1 and outcome.n_quarantined == 1 and outcome.balanced
    assert codes(outcome) == [[kind]]
    q = outcome.quarantine.row(0, named=True)
    assert q["record_id"] == "INT-2" and q["line"] == 3 and q["partition"] == DAY
    assert q["raw"].startswith("INT-2;") and q["raw"].count(";") == 10  # the original line, kept whole


def test_personal_data_reason_names_the_kind(landing):
    bad = {**VALID["signalements"], "N° signalement": "SIG-9", "Description": "appeler Mme Martin au 0612345678"}
    outcome, _ = run(landing, "signalements", [bad])
    # the first kind found is named (phone numbers are looked for first)
    assert outcome.quarantine.get_column("reasons").to_list() == [["donnee_personnelle:telephone"]]


def test_duplicate_id_and_exact_duplicate(landing):
    good = dict(VALID["interventions"])
    conflicting = {**good, "Catégorie": "Dégradation"}
    outcome, _ = run(landing, "interventions", [good, good, conflicting])
    assert outcome.read == 3 and outcome.duplicates == 1
    assert outcome.n_clean == 1 and codes(outcome) == [["identifiant_duplique"]]
    assert outcome.balanced
    ledger = outcome.ledger([DAY])
    assert ledger.row(0, named=True) == {
        "source": "interventions",
        "partition": DAY,
        "read": 3,
        "parsed": 3,
        "clean": 1,
        "quarantined": 1,
        "duplicates": 1,
        "balanced": True,
    }


def test_several_reasons_are_all_kept(landing):
    bad = {**VALID["interventions"], "Catégorie": "Inconnue", "Début": "n'importe quand", "Observations": "M. Martin"}
    outcome, _ = run(landing, "interventions", [bad])
    assert codes(outcome) == [["date_invalide", "donnee_personnelle", "valeur_hors_enumeration"]]


CORTEGE_DEFECTS = [
    ("manifestation_deambulatoire", "date_invalide", {"date_debut": "2025-13-40T99:00"}),
    ("manifestation_deambulatoire", "fin_avant_debut", {"date_fin": "2025-03-08T09:00:00+01:00"}),
    ("manifestation_deambulatoire", "valeur_hors_enumeration", {"statut_organisateur": "syndicat"}),
    ("manifestation_deambulatoire", "champ_obligatoire_manquant", {"adresse_depart": None}),
    (
        "manifestation_deambulatoire",
        "hors_zone",
        {"trace_parcours": {"type": "LineString", "coordinates": [[5.44, 43.52], [5.45, 43.53]]}},
    ),
    (
        "manifestation_deambulatoire",
        "geometrie_invalide",
        {"trace_parcours": {"type": "Point", "coordinates": [5.37, 43.29]}},
    ),
    ("manifestation_statique", "valeur_hors_bornes", {"nombre_personnes_attendues": -5}),
    (
        "manifestation_statique",
        "donnee_personnelle",
        {"description_observations": "organisateur joignable au +33 6 12 34 56 78"},
    ),
    ("operation_programmee", "valeur_hors_enumeration", {"theme": "Sécurité routière"}),
    ("operation_programmee", "adresse_inconnue", {"adresses": ["Avenue Imaginaire, 13015 Marseille"]}),
    ("operation_programmee", "champ_obligatoire_manquant", {"adresses": []}),
    ("visite_officielle", "champ_obligatoire_manquant", {"objet": ""}),
    ("visite_officielle", "type_entree_inconnu", {"type": "visite_privee"}),
]


@pytest.mark.parametrize("contract,kind,change", CORTEGE_DEFECTS, ids=[f"{c}-{k}" for c, k, _ in CORTEGE_DEFECTS])
def test_each_cortege_defect_is_quarantined_with_its_reason(landing, contract, kind, change):
    bad = {**copy.deepcopy(VALID_CORTEGE[contract]), **change, "id": "PP-2025-999999"}
    others = [e for name, e in VALID_CORTEGE.items() if name != contract]
    outcome, _ = run(landing, "cortege", [*others, bad])
    assert outcome.n_clean == 3 and outcome.balanced
    assert kind in codes(outcome)[0], codes(outcome)
    assert outcome.quarantine.get_column("record_id").to_list() == ["PP-2025-999999"]


def test_amended_entry_is_a_new_version_not_a_duplicate(landing):
    v1 = VALID_CORTEGE["visite_officielle"]
    v2 = {**v1, "version": 2, "date_fin": "2025-03-08T13:30:00+01:00"}
    outcome, _ = run(landing, "cortege", [v1, v2])
    assert outcome.n_quarantined == 0
    assert outcome.clean["visite_officielle"].get_column("version").to_list() == [1, 2]


def test_validation_is_vectorised_on_a_large_batch(landing):
    rows = [{**VALID["interventions"], "N° intervention": f"INT-{i}"} for i in range(5000)]
    outcome, _ = run(landing, "interventions", rows)
    assert outcome.n_clean == 5000 and outcome.balanced
    assert outcome.clean["interventions"].get_column("id").n_unique() == 5000
    assert isinstance(outcome.clean["interventions"], pl.DataFrame)


BOUND_DEFECTS = [
    ("valeur_invalide", {"Longitude": "NaN"}),
    ("valeur_invalide", {"Latitude": "inf"}),
    ("valeur_invalide", {"Longitude": "-Infinity"}),
    ("valeur_hors_bornes", {"Longitude": "500"}),
    ("date_hors_bornes", {"Début": "31/12/9999 23:00", "Fin": ""}),
    ("date_hors_bornes", {"Début": "01/01/1900 10:00", "Fin": ""}),
    ("date_hors_bornes", {"Fin": "09/03/2027 00:05"}),  # two years after the export day
    ("champ_trop_long", {"Observations": "x" * 10_001}),
]


@pytest.mark.parametrize("kind,change", BOUND_DEFECTS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(BOUND_DEFECTS)])
def test_implausible_values_are_quarantined(landing, kind, change):
    good = dict(VALID["interventions"])
    bad = {**good, **change, "N° intervention": "INT-2"}
    outcome, _ = run(landing, "interventions", [good, bad])
    assert outcome.n_clean == 1 and outcome.n_quarantined == 1 and outcome.balanced
    assert kind in codes(outcome)[0], codes(outcome)
    df = outcome.clean["interventions"]
    assert df.select(pl.col("longitude", "latitude").is_finite().all()).row(0) == (True, True)


def test_dates_near_the_export_day_are_kept(landing):
    rows = [
        {**VALID["interventions"], "N° intervention": f"INT-{i}", "Début": d, "Fin": ""}
        for i, d in enumerate(["08/03/2024 10:00", "10/03/2025 10:00", "08/03/2025 23:59"])
    ]
    outcome, _ = run(landing, "interventions", rows)
    assert outcome.n_quarantined == 0, outcome.quarantine.to_dicts()


def test_unknown_crs_quarantines_its_records_only(landing):
    rows = [
        {**VALID["incidents"], "id": "X-1"},
        {**VALID["incidents"], "id": "X-2", "crs": "EPSG:99999"},
        {**VALID["incidents"], "id": "X-3", "crs": "EPSG:3857", "x": "598800", "y": "5358300"},
    ]
    outcome, _ = run(landing, "incidents", rows)
    assert outcome.quarantine.get_column("record_id").to_list() == ["X-2"]
    assert codes(outcome) == [["crs_inconnu"]]
    assert outcome.clean["incidents"].get_column("id").to_list() == ["X-1", "X-3"]


def test_long_json_text_is_quarantined_with_its_field(landing):
    entry = {**copy.deepcopy(VALID_CORTEGE["visite_officielle"]), "description_observations": "a" * 20_000}
    outcome, _ = run(landing, "cortege", [VALID_CORTEGE["operation_programmee"], entry])
    assert outcome.n_clean == 1
    assert "champ_trop_long:description_observations" in outcome.quarantine.row(0, named=True)["reasons"]


def test_ledger_trusts_the_counter_not_the_parser(landing):
    outcome, _ = run(landing, "interventions", [VALID["interventions"]])
    (row,) = outcome.ledger([DAY], counted={DAY: 2}).to_dicts()
    assert (row["read"], row["parsed"], row["balanced"]) == (2, 1, False)
