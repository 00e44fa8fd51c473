"""The partner onboarding, end to end (issue 16) — run by `test_partner_onboarding.py` in a process
whose `TRANQUILLITE_CONTRACTS` holds the shipped contracts plus the RTM's convention and contract
(`tests/partner.py`): nothing in the code names the partner.

A new convention (YAML) → its organisation and profile created in the app, the convention notified
and granted there → its landing file ingested → its rows on the map for the profiles granted it and
no others → planned events in the indicators and the forecasts' exposure → in the lineage →
terminated and destroyed like the Préfecture's."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from tests.factories import write_csv
from tests.partner import CONVENTION, ORGANISATION, SOURCE
from tranquillite import runner
from tranquillite.cli import main as cli
from tranquillite.conventions.lifecycle import add_months

SMALL = {"n_origins": 2, "train_weeks": 2, "lgbm_rounds": 30}
START, END = date(2025, 1, 1), date(2025, 1, 21)
# works on the tram line and metro stations, across the ingested weeks and the forecast's days
WORKS = [
    ("RTM-T2-01", "Voie de tramway", "05/01/2025 07:00", "28/02/2025 19:00", 5.3810, 43.2960),
    ("RTM-M1-02", "Station de métro", "12/01/2025 22:00", "25/02/2025 05:00", 5.3790, 43.2930),
    ("RTM-B-03", "Arrêt de bus", "15/01/2025 08:00", "30/01/2025 18:00", 5.3950, 43.3010),
    ("RTM-T3-04", "Voie de tramway", "18/01/2025 06:00", "10/02/2025 20:00", 5.3700, 43.2850),
]


def _land(landing: Path) -> Path:
    rows = [
        {"Référence": i, "Nature": n, "Début": a, "Fin": b, "Longitude": f"{x:.4f}", "Latitude": f"{y:.4f}"}
        for i, n, a, b, x, y in WORKS
    ]
    return write_csv(landing / SOURCE / f"{SOURCE}_2025-01-10.csv", SOURCE, rows)


def _rows_by_source(scope) -> dict[str, int]:
    from tranquillite.app_core import carte, queries

    cat = queries.Catalog.open()
    try:
        return carte.map_data(cat, scope, carte.MapFilters(START, END + timedelta(days=40))).per_source
    finally:
        cat.close()


def _count(scope, table: str) -> int:
    from tranquillite.app_core import queries

    cat = queries.Catalog.open()
    try:
        return int(queries.scoped_query(cat, scope, table, select="count(*) AS n").item())
    finally:
        cat.close()


@pytest.mark.slow
def test_a_partner_is_a_convention_and_a_contract(home: Path):
    from tranquillite.app_core import habilitations as H
    from tranquillite.app_core import store
    from tranquillite.app_core.rights import load_principal
    from tranquillite.app_core.seed_demo import seed_demo
    from tranquillite.assets.destruction import recompute_without_ended
    from tranquillite.contracts import load_conventions
    from tranquillite.conventions import registry
    from tranquillite.definitions import build_defs
    from tranquillite.indicators.config import load_catalogue
    from tranquillite.synthetic import generate

    assert CONVENTION in load_conventions(), "run through test_partner_onboarding.py (TRANQUILLITE_CONTRACTS)"
    generate(home, start=START, days=21, scale=0.2)
    _land(home / "landing")
    seed_demo()
    # ---------------------------------------------------------------- in the app: organisation, profile, rights
    with store.connect() as con:
        gest, admin = load_principal(con, "demo.habilitations"), load_principal(con, "demo.admin")
        assert all(
            CONVENTION not in load_principal(con, u).scope.conventions
            for u in ("demo.analyste", "demo.encadrement", "demo.admin", "demo.dpo")
        )
        H.create_organisation(
            con, gest, code=ORGANISATION, label="Régie des transports métropolitains", kind="partenaire"
        )
        registry.set_notified(con, CONVENTION, date(2024, 12, 15), login=gest.login, profile=gest.profile)
        H.create_profile(
            con,
            admin,
            code="partenaire_rtm",
            label="Agent de la RTM",
            reason="La RTM suit ses chantiers sur la carte.",
            organisation_kind="partenaire",
        )
        H.set_profile_rights(
            con, admin, "partenaire_rtm", pages=["carte", "compte"], actions=[], conventions=[CONVENTION]
        )
        analyst_prof = next(x for x in H.profiles(con) if x["code"] == "analyste")
        H.set_profile_rights(
            con,
            admin,
            "analyste",
            pages=analyst_prof["pages"],
            actions=analyst_prof["actions"],
            conventions=[*analyst_prof["conventions"], CONVENTION],
        )
        H.create_user(
            con,
            gest,
            login="agent.rtm",
            display_name="Agent RTM",
            email=None,
            profile="partenaire_rtm",
            organisation=ORGANISATION,
            activity_nature="partenariat",
            password="Chantier-RTM-2025!x",
        )
        logged = [r["action"] for r in store.access_log(con, page="habilitations")]
        assert {"organisation_creee", "profil_cree", "profil_modifie", "habilitation_creee"} <= set(logged)

    # ---------------------------------------------------------------- the pipeline, as for any source
    defs = build_defs()
    inst = runner.instance()
    outcomes = runner.materialize(defs, START, END, inst, forecast_settings=SMALL)
    assert all(o.success for o in outcomes), outcomes
    wh = home / "warehouse"
    clean = pl.read_parquet(wh / "clean" / SOURCE / "*.parquet")
    assert clean.height == len(WORKS)
    ev = pl.read_parquet(wh / "clean" / "events" / "data.parquet")
    assert ev.filter(pl.col("convention") == CONVENTION)["source"].unique().to_list() == [SOURCE]

    # the map: the profiles granted the convention, and no others
    with store.connect() as con:
        analyst, manager, partner = (load_principal(con, u) for u in ("demo.analyste", "demo.encadrement", "agent.rtm"))
    assert _rows_by_source(analyst.scope).get(SOURCE) == len(WORKS)
    assert _rows_by_source(partner.scope) == {SOURCE: len(WORKS)}  # its own data, nothing of the City's
    assert SOURCE not in _rows_by_source(manager.scope) and _rows_by_source(manager.scope)

    # indicators and the forecasts' exposure use its planned events
    assert SOURCE in load_catalogue().planned_sources
    exposure = pl.read_parquet(wh / "features" / "planned_exposure" / "data.parquet")
    assert SOURCE in set(exposure["source"].unique())
    tension = pl.read_parquet(wh / "indicators" / "tension" / "*.parquet")
    touched = tension.filter(pl.col("conventions").list.contains(CONVENTION)).height
    assert touched > 0
    # derived tables do not vanish for a profile that lacks the new convention: it loses only the
    # rows its data touched
    assert _count(manager.scope, "indicators.tension") == tension.height - touched > 0
    assert _count(analyst.scope, "indicators.tension") == tension.height
    for table in ("models.backtest", "models.backtest_scores", "models.forecast"):  # nor the forecasts' tables
        assert _count(manager.scope, table) > 0, table

    # the lineage per convention
    lineage = pl.read_parquet(wh / "governance" / "convention_lineage" / "*.parquet")
    mine = lineage.filter(pl.col("convention") == CONVENTION)
    assert {f"clean.{SOURCE}", "clean.events"} <= set(mine["table_name"].drop_nulls())

    # ---------------------------------------------------------------- terminated and destroyed
    notice = add_months(date.today(), -2) - timedelta(days=1)
    assert (
        cli(
            [
                "convention",
                "resilier",
                CONVENTION,
                "--date",
                notice.isoformat(),
                "--par",
                "partenaire",
                "--sans-recalcul",
            ]
        )
        == 0
    )
    with store.connect() as con:
        assert load_principal(con, "agent.rtm") is None  # its accounts end with it (C9)
        assert CONVENTION not in load_principal(con, "demo.analyste").scope.conventions
    out = recompute_without_ended(defs, inst, SMALL)
    assert all(o.success for o in out), out
    assert (
        cli(
            [
                "convention",
                "detruire",
                CONVENTION,
                "--ordonne-par",
                "demo.habilitations",
                "--execute-par",
                "exploitant",
                "--sans-recalcul",
            ]
        )
        == 0
    )
    [attestation] = sorted((home / "attestations").glob("*.json"))  # the one destruction ordered
    m = json.loads(attestation.read_text())["manifest"]
    assert CONVENTION in json.dumps(m)
    assert m["verification"]["resultat"]["traces_trouvees"] == 0
    ev = pl.read_parquet(wh / "clean" / "events" / "data.parquet")
    assert CONVENTION not in set(ev["convention"].unique()) and ev.height > 0
    assert not (home / "landing" / SOURCE).exists()
    assert cli(["attestation", "verifier", str(attestation)]) == 0
