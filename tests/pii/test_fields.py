"""Every free-text field of every contract is scanned (issue #9): real landing files through the
real reader and validation, and the clean tables' blocking check on the same detector."""

from __future__ import annotations

import copy

import polars as pl
import pytest

from tests.factories import VALID, VALID_CORTEGE
from tests.test_validation import run
from tranquillite.contracts import load_contracts

CSV_CASES = [
    # (source, field changes, expected reason) — fields the old guard never read
    (
        "evenements_publics",
        {"Intitulé": "Concert organisé par M. Dupont (06 11 22 33 44)"},
        "donnee_personnelle:telephone",
    ),
    ("evenements_publics", {"Lieu": "Vide-grenier chez Mme Martin"}, "donnee_personnelle:nom_de_personne"),
    (
        "evenements_publics",
        {"Adresse": "Boulevard Michelet, 13008 Marseille, contact asso.om@gmail.com"},
        "donnee_personnelle:email",
    ),
    ("incidents", {"category": "Vol signalé par M. Dupont 06 12 34 56 78"}, "donnee_personnelle:telephone"),
    ("incidents", {"category": "Cambriolage chez Jean Moreau"}, "donnee_personnelle:nom_de_personne"),
    (
        "interventions",
        {"Adresse": "Rue de Rome, 13006 Marseille, chez Mme Benali"},
        "donnee_personnelle:nom_de_personne",
    ),
    ("signalements", {"Adresse": "Rue de Rome 06 12 34 56 78, 13006 Marseille"}, "donnee_personnelle:telephone"),
    # forms the old patterns did not know, in the fields they did read
    ("interventions", {"Observations": "Jean Dupont légèrement blessé"}, "donnee_personnelle:nom_de_personne"),
    ("interventions", {"Observations": "rappeler au +33 (0)6 12 34 56 78"}, "donnee_personnelle:telephone"),
    ("alertes_videoprotection", {"Observations": "contact jean(at)mail.fr"}, "donnee_personnelle:email"),
    ("signalements", {"Description": "mon n° de sécu 1 85 03 13 055 123 14"}, "donnee_personnelle:nir"),
]


@pytest.mark.parametrize("source,change,reason", CSV_CASES, ids=[f"{s}-{r.split(':')[1]}" for s, _, r in CSV_CASES])
def test_personal_data_in_any_free_text_field_is_quarantined(landing, source, change, reason):
    good = dict(VALID[source])
    id_col = load_contracts()[source].field("id").header
    bad = {**good, **change, id_col: "BAD-1"}
    outcome, _ = run(landing, source, [good, bad])
    assert outcome.balanced and outcome.n_clean == 1 and outcome.n_quarantined == 1
    q = outcome.quarantine.row(0, named=True)
    assert q["record_id"] == "BAD-1" and reason in q["reasons"], q["reasons"]


@pytest.mark.parametrize(
    "address",
    [
        "Place Victor Hugo, 13003 Marseille",
        "Place Jean Jaurès, 13001 Marseille",
        "Boulevard Michelet, 13008 Marseille",
        "Cours Julien, 13006 Marseille",
        "Avenue du Prado, 13008 Marseille",
    ],
)
def test_street_named_after_a_person_is_not_personal_data(landing, address):
    rows = [{**VALID["signalements"], "N° signalement": "SIG-1", "Adresse": address}]
    outcome, _ = run(landing, "signalements", rows)
    assert outcome.n_quarantined == 0, outcome.quarantine.to_dicts()


def test_public_event_named_after_someone_is_clean(landing):
    row = {**VALID["evenements_publics"], "Intitulé": "Trophée Jean Bouin de natation", "Lieu": "Stade Pierre Delort"}
    outcome, _ = run(landing, "evenements_publics", [row])
    assert outcome.n_quarantined == 0, outcome.quarantine.to_dicts()


@pytest.mark.parametrize(
    "field,value,kind",
    [
        ("adresse_depart", "Quai du Port, 13002 Marseille, organisateur 06 70 11 22 33", "telephone"),
        (
            "adresses_points_passage",
            ["La Canebière, 13001 Marseille", "chez M. Giraud, Rue de Rome"],
            "nom_de_personne",
        ),
        ("objet", "Marche blanche en hommage à Inès Haddad", "nom_de_personne"),
    ],
)
def test_cortege_addresses_and_objet_are_scanned(landing, field, value, kind):
    bad = {**copy.deepcopy(VALID_CORTEGE["manifestation_deambulatoire"]), field: value, "id": "PP-2025-999999"}
    outcome, _ = run(landing, "cortege", [bad])
    assert outcome.balanced
    (reasons,) = outcome.quarantine.get_column("reasons").to_list()
    assert f"donnee_personnelle:{kind}" in reasons


def test_clean_check_uses_the_same_detector(landing):
    """The blocking check `sans_donnee_personnelle` fails on a bare name the old regexes let through."""
    from tranquillite.assets import constants as K
    from tranquillite.assets.clean import contract_checks

    outcome, _ = run(landing, "interventions", [VALID["interventions"]])
    df = outcome.clean["interventions"]
    c = load_contracts()["interventions"]
    ok = {r.check_name: r.passed for r in contract_checks(c, df)}
    assert ok[K.CHECK_NO_PII] is True
    leaked = df.with_columns(pl.lit("Jean Dupont, joignable au +33 (0)6 12 34 56 78").alias("observations"))
    checks = {r.check_name: r for r in contract_checks(c, leaked)}
    assert checks[K.CHECK_NO_PII].passed is False
    assert checks[K.CHECK_NO_PII].metadata["textes_avec_donnee_personnelle"].value == 1
