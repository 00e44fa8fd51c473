"""Data sheet per source (T8, issue 15): stated by the contract, measured from the ledger and the clean data."""

from __future__ import annotations

import statistics

import pytest

from tests.app.helpers import login_as, texts
from tranquillite.app_core import fiches, queries, store
from tranquillite.app_core.rights import load_principal
from tranquillite.contracts import load_contracts


def direct(sql: str, params=()) -> list[tuple]:
    cat = queries.Catalog.open()
    try:
        return cat.cursor().execute(sql, list(params)).fetchall()
    finally:
        cat.close()


def sheet(at, key: str) -> dict[str, str]:
    """The page's « déclaré » (Rubrique, Contenu) or « mesuré » (Mesure, Valeur) table, as a dict."""
    columns = {"declare": ["Rubrique", "Contenu"], "mesure": ["Mesure", "Valeur"]}[key]
    t = next(d.value for d in at.dataframe if list(d.value.columns) == columns)
    return dict(zip(t[columns[0]], t[columns[1]]))


def test_the_sheet_states_the_contract_and_measures_the_data(app_home):
    at = login_as("analyste")
    at.switch_page("views/qualite.py").run()
    assert not at.exception, at.exception
    box = at.selectbox(key="fiche_source")
    contract = load_contracts()["interventions"]
    assert contract.title in box.options and box.value == "interventions"  # the contracts' titles, first source first
    box.set_value("interventions").run()
    stated = sheet(at, "declare")
    assert stated["Provenance"].startswith(contract.meta["provider"])
    assert stated["Propriétaire"] == contract.meta["owner"]
    assert stated["Fraîcheur annoncée"] == contract.meta["timeliness"]
    assert stated["Fiabilité annoncée"] == contract.meta["reliability"]
    assert stated["Volume annoncé"].startswith("110\u202f000 par an")
    assert "convention" in stated["Confidentialité"] and contract.meta["personal_data"] in stated["Confidentialité"]
    measured = sheet(at, "mesure")
    n = direct("SELECT count(*) FROM clean.events WHERE source = 'interventions'")[0][0]
    days, read, quarantined = direct(
        "SELECT count(*), sum(read), sum(quarantined) FROM governance.ingestion_ledger WHERE source = 'interventions'"
    )[0]
    assert measured["Volume"].startswith(f"{n} enregistrements valides, du 07/03/2025 au 08/03/2025")
    per_day = f"{n / days:.1f}".replace(".", ",")
    assert measured["Enregistrements par jour"].startswith(f"{per_day} en moyenne par jour d'export reçu")
    assert measured["Complétude"].startswith(f"{days} jour(s) d'export reçus sur 2 (100\u202f%)")
    assert measured["Part en quarantaine"].startswith(
        f"{100 * quarantined / read:.1f}".replace(".", ",") + f"\u202f% ({quarantined} sur {read}"
    )
    assert "Délai d'arrivée" in measured and measured["Délai d'arrivée"].startswith("médiane ")
    # no file name reaches the page (the landing files stay in the warehouse)
    assert "tests_interventions_" not in texts(at) + " ".join(
        " ".join(map(str, d.value.to_numpy().ravel())) for d in at.dataframe
    )


def test_the_arrival_delay_is_measured_from_the_files_first_arrival(app_home):
    with store.connect() as con:
        analyst = load_principal(con, "demo.analyste")
    cat = queries.Catalog.open()
    try:
        m = fiches.measure(cat, analyst.scope)["interventions"]
    finally:
        cat.close()
    rows = direct(
        "SELECT epoch(timezone('Europe/Paris', f.first_seen)::TIMESTAMP - e.start) / 3600.0 "
        "FROM clean.events e JOIN (SELECT source, partition, min(first_seen) AS first_seen "
        "FROM governance.landing_files WHERE current GROUP BY ALL) f "
        "ON f.source = 'interventions' AND f.partition = e._partition WHERE e.source = 'interventions'"
    )
    delays = [r[0] for r in rows]
    assert m.delay_records == len(delays) > 0
    assert m.delay_median_h == pytest.approx(statistics.median(delays), abs=1.0)  # at the hour
    assert m.delay_p90_h >= m.delay_median_h


def test_a_cortege_contract_says_its_ledger_is_shared(app_home):
    with store.connect() as con:
        analyst = load_principal(con, "demo.analyste")
    cat = queries.Catalog.open()
    try:
        m = fiches.measure(cat, analyst.scope)["manifestation_deambulatoire"]
    finally:
        cat.close()
    assert "manifestation_statique" in m.shared_with
    assert "dépôt commun" in fiches.measured(m)["Part en quarantaine"]
    assert m.delay_median_h is not None and "avant l'événement" in fiches.duration(-30) and m.records > 0


def test_the_ledger_reads_follow_the_scope(app_home):
    with store.connect() as con:
        reader = load_principal(con, "demo.prefecture")
    cat = queries.Catalog.open()
    try:  # governance tables derive from the City's processing (convention internal): nothing for this scope
        assert queries.ledger_by_day(cat, reader.scope).height == 0
        assert queries.arrivals_by_day(cat, reader.scope).height == 0
        assert "file" not in queries.arrivals_by_day(cat, reader.scope).columns
    finally:
        cat.close()
