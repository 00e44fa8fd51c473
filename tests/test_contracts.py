"""The contracts carry every Annexe I field, verbatim, and the T8 description of every source."""

from __future__ import annotations

import pytest

from tranquillite.contracts import load_contracts, load_conventions

# Annexe I of the convention (seeds/003_…), field labels as listed ("Dateetheuredefin" is the
# PDF extraction of "Date et heure de fin")
ANNEXE_I = {
    "manifestation_deambulatoire": [
        "Objet",
        "Description / observations",
        "Adresse de départ",
        "Adresses des points de passage",
        "Adresse d’arrivée",
        "Date et heure de début",
        "Date et heure de fin",
        "Nombre de personnes attendues",
        "Nombre de personnes déclarées",
        "Nombre de voitures attendues",
        "Nombre de voitures déclarées",
        "Statut de l’organisateur",
        "Tracé du parcours de la manifestation",
    ],
    "manifestation_statique": [
        "Objet",
        "Description / observations",
        "Adresse",
        "Date et heure de début",
        "Date et heure de fin",
        "Nombre de personnes attendues",
        "Nombre de personnes déclarées",
        "Nombre de voitures attendues",
        "Nombre de voitures déclarées",
        "Statut de l’organisateur",
        "Emprise de la manifestation",
    ],
    "operation_programmee": [
        "Objet",
        "Description / observations",
        "Adresses",
        "Date et heure de début",
        "Date et heure de fin",
        "Thème",
    ],
    "visite_officielle": [
        "Objet",
        "Description / observations",
        "Adresses",
        "Date et heure de début",
        "Date et heure de fin",
    ],
}


@pytest.mark.parametrize("name", sorted(ANNEXE_I))
def test_every_annexe_field_is_in_the_contract_verbatim_and_in_order(name):
    c = load_contracts()[name]
    assert [f.label for f in c.fields] == ANNEXE_I[name]
    assert c.convention == "prefecture_police_13" and c.format == "json" and c.source == "cortege"


def test_enumerations_are_exactly_those_of_annexe_i():
    cs = load_contracts()
    for name in ("manifestation_deambulatoire", "manifestation_statique"):
        assert cs[name].field("statut_organisateur").values == ("Syndicat", "association", "Parti Politique", "Autres")
    assert cs["operation_programmee"].field("theme").values == (
        "PSQ Transports",
        "PSQ QRR",
        "Sécurité Routière",
        "CODAF",
        "Marché aux Puces",
        "MIN",
    )


def test_geometry_types_follow_the_convention():
    cs = load_contracts()
    assert cs["manifestation_deambulatoire"].field("trace_parcours").geometry_type == "LineString"
    assert cs["manifestation_statique"].field("emprise").geometry_type == "Polygon"
    assert cs["operation_programmee"].field("adresses").type == "address_list"


@pytest.mark.parametrize("name", sorted(load_contracts()))
def test_every_contract_describes_its_data_t8(name):
    c = load_contracts()[name]
    for key in ("provider", "owner", "personal_data", "volume", "timeliness", "retention", "reliability"):
        assert c.meta.get(key), f"{name}: {key} manquant"
    assert c.convention in load_conventions()
    names = [f.name for f in c.all_fields]
    assert len(names) == len(set(names)) and all(n.isidentifier() and n.islower() for n in names)


def test_prefecture_convention_terms_c5_c9():
    conv = load_conventions()["prefecture_police_13"]
    assert conv["initial_term_months"] == 12 and conv["max_total_years"] == 4
    assert conv["notice_months"] == 2 and conv["destruction_days_after_termination"] == 15
    assert "lecteur_prefecture" in conv["access"]


def test_internal_sources_have_french_headers():
    cs = load_contracts()
    assert cs["interventions"].headers[:4] == ["N° intervention", "Catégorie", "Début", "Fin"]
    assert "Canal" in cs["signalements"].headers
    assert "Fréquentation attendue" in cs["evenements_publics"].headers
