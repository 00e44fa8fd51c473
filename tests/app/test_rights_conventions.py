"""Rights follow conventions, not lists of sources (issue 16): a profile granted a convention sees a
new contract of that convention with no edit, and derived tables do not vanish for it; a source of a
new convention reaches nobody until the City grants that convention; organisations and profiles are
created in the app by the roles entitled to, under the separation of duties, every change logged."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.app.helpers import REPO, both_stores, run_page_as, texts
from tests.partner import CONVENTION, ORGANISATION, SOURCE, contracts_with
from tests.test_sources import FOURRIERE
from tranquillite.app_core import habilitations as H
from tranquillite.app_core import queries, store
from tranquillite.app_core.rights import load_principal
from tranquillite.contracts import load_contracts

SCRIPT = """
import json, sys
from tranquillite.app_core import queries, store
from tranquillite.app_core.rights import load_principal, public_principal
from tranquillite.app_core.seed_demo import seed_demo
if sys.argv[1] == "seed":
    seed_demo()
    print(json.dumps({}))
else:
    with store.connect() as con:
        out = {}
        for login in ("demo.encadrement", "demo.analyste", "demo.admin", "demo.prefecture", "demo.partenaire"):
            s = load_principal(con, login).scope
            out[login] = {"rows": list(s.row_sources), "aggregates": list(s.aggregate_sources),
                          "conventions": list(s.conventions),
                          "derived": queries.complete_conventions(s.conventions, s.row_sources)}
        s = public_principal(con).scope
        out["public"] = {"rows": list(s.row_sources), "aggregates": list(s.aggregate_sources),
                         "conventions": list(s.conventions), "derived": []}
    print(json.dumps(out))
"""


@pytest.fixture
def cat(app_home):
    c = queries.Catalog.open()
    yield c
    c.close()


def _run(home, contracts, step: str) -> dict:
    env = {"PATH": "/usr/bin:/bin", "TRANQUILLITE_HOME": str(home)}
    if contracts is not None:
        env["TRANQUILLITE_CONTRACTS"] = str(contracts)
    out = subprocess.run([sys.executable, "-c", SCRIPT, step], cwd=REPO, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_store_created_before_a_contract_opens_it_to_its_conventions_holders_only(tmp_path):
    """The issue's case: on an existing deployment, `fourriere.yaml` (the City's convention) and a
    partner's contract (a convention of its own) are added; no profile is edited."""
    home = tmp_path / "home"
    _run(home, None, "seed")  # the store of the shipped contracts
    root = contracts_with(tmp_path / "contrats", extra={"fourriere": FOURRIERE})
    got = _run(home, root, "scopes")
    for login in ("demo.encadrement", "demo.analyste", "demo.admin"):
        assert "fourriere" in got[login]["rows"], login  # granted `internal`: sees its new source
        assert "internal" in got[login]["derived"], login  # derived tables of the City's data stay
        assert SOURCE not in got[login]["rows"] + got[login]["aggregates"], login
        assert CONVENTION not in got[login]["conventions"], login
    assert "fourriere" in got["public"]["aggregates"] and got["public"]["rows"] == []
    assert "fourriere" in got["demo.partenaire"]["aggregates"] and got["demo.partenaire"]["rows"] == []
    assert "fourriere" not in got["demo.prefecture"]["rows"] + got["demo.prefecture"]["aggregates"]
    for who in got.values():  # the new convention: nobody until granted
        assert SOURCE not in who["rows"] + who["aggregates"]


def _old_store_from_v1(app_home, missing: tuple[str, str]) -> None:
    """The test store rebuilt as the previous code left it: the frozen DDL of SCHEMA_VERSION 1
    (`tests/fixtures/app_store_v1.sql`, which still has `profile_sources`), the demo accounts'
    rows, and each profile's stored list of sources — one of them missing (a contract added since)."""
    import sqlite3

    from tests.test_app_store import OLD_DDL

    path = app_home / "app" / "platform.sqlite"
    demo = path.with_name("demo.sqlite")
    path.rename(demo)
    old = sqlite3.connect(path, isolation_level=None)
    try:
        old.executescript(OLD_DDL.read_text(encoding="utf-8"))
        old.execute("ATTACH DATABASE ? AS demo", (str(demo),))
        tables = [
            r[0]
            for r in old.execute(
                "SELECT name FROM main.sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name IN "
                "(SELECT name FROM demo.sqlite_master WHERE type = 'table')"
            )
        ]
        for t in tables:
            cols = ", ".join(r[1] for r in old.execute(f"PRAGMA main.table_info({t})"))  # the fixture's own names
            old.execute(f"INSERT INTO main.{t} ({cols}) SELECT {cols} FROM demo.{t}")
        old.execute("DELETE FROM main.meta WHERE key = 'schema_version'")
        old.execute("INSERT INTO main.meta VALUES ('schema_version', '1')")
        sources = sorted({c.source for c in load_contracts().values()} | {c.name for c in load_contracts().values()})
        old.executemany(
            "INSERT INTO profile_sources VALUES (?, ?)",
            [
                (p, s)
                for (p,) in old.execute("SELECT code FROM profiles").fetchall()
                for s in sources
                if (p, s) != missing
            ],
        )
        old.execute("DETACH DATABASE demo")
    finally:
        old.close()
    demo.unlink()


def test_derived_tables_do_not_vanish_for_a_profile_whose_stored_sources_lack_one(app_home, cat):
    """A store written by an earlier version listed each profile's sources; one missing (a contract
    added since) made every derived row of its convention vanish (tension rows of encadrement_pm:
    44,919 → 0). The sources now follow the conventions: that store, brought up to the head, loses
    its lists (revision 0003) and the profile sees its derived rows."""
    with store.connect() as con:
        before = queries.scoped_query(
            cat, load_principal(con, "demo.encadrement").scope, "indicators.tension", select="count(*) AS n"
        ).item()
    assert before > 0
    _old_store_from_v1(app_home, missing=("encadrement_pm", "interventions"))
    assert store.revision() is None
    assert store.migrate()["apres"] == store.head_revision()
    with store.connect() as con:
        assert not con.has_table("profile_sources") and not con.has_table("organisation_sources")
        manager = load_principal(con, "demo.encadrement")
        assert "interventions" in manager.scope.row_sources
        assert queries.scoped_query(cat, manager.scope, "indicators.tension", select="count(*) AS n").item() == before
        # an activity nature still narrows the sources (and with them the derived rows)
        H.update_user(
            con,
            load_principal(con, "demo.habilitations"),
            "demo.encadrement",
            activity_nature="supervision_videoprotection",
        )
        csu = load_principal(con, "demo.encadrement")
        assert set(csu.scope.row_sources) == {"alertes_videoprotection", "interventions"}


def _last(con, login: str) -> dict:
    line = store.access_log(con, login=login, page="habilitations")[0]
    return {"action": line["action"], **json.loads(line["detail"])}


@both_stores
def test_organisations_and_profiles_are_created_in_the_app_with_separation_of_duties(con):
    admin, gest = load_principal(con, "demo.admin"), load_principal(con, "demo.habilitations")
    with pytest.raises(H.RightsError):  # the technical administrator configures, it does not habilitate
        H.create_organisation(con, admin, code=ORGANISATION, label="RTM", kind="partenaire")
    assert ORGANISATION not in {o["code"] for o in H.organisations(con)}
    H.create_organisation(con, gest, code="RTM ", label="Régie des transports métropolitains", kind="partenaire")
    assert _last(con, "demo.habilitations") == {
        "action": "organisation_creee",
        "qui": "demo.habilitations",
        "pour": f"organisation:{ORGANISATION}",
        "avant": None,
        "apres": {"libelle": "Régie des transports métropolitains", "kind": "partenaire"},
    }
    with pytest.raises(H.RightsError, match="existe déjà"):
        H.create_organisation(con, gest, code=ORGANISATION, label="Autre", kind="partenaire")
    assert _last(con, "demo.habilitations")["action"] == "modification_refusee"
    with pytest.raises(ValueError):
        H.create_organisation(con, gest, code="x", label="Le public", kind="public")

    with pytest.raises(H.RightsError):  # the gestionnaire habilitates, it does not configure profiles
        H.create_profile(con, gest, code="partenaire_rtm", label="RTM", reason="r", organisation_kind="partenaire")
    H.create_profile(
        con,
        admin,
        code="partenaire_rtm",
        label="Agent de la RTM",
        reason="La RTM suit ses chantiers sur la carte.",
        organisation_kind="partenaire",
    )
    prof = next(x for x in H.profiles(con) if x["code"] == "partenaire_rtm")
    assert prof["pages"] == ["compte"] and prof["conventions"] == [] and prof["own_data_only"] == 1
    assert _last(con, "demo.admin")["action"] == "profil_cree"
    # its rights are then administered like any profile's, under the same rules
    with pytest.raises(H.RightsError):
        H.set_profile_rights(
            con,
            admin,
            "partenaire_rtm",
            pages=["carte", "compte"],
            actions=["administrer", "habiliter"],
            conventions=[],
        )
    with pytest.raises(ValueError, match="inconnue"):
        H.set_profile_rights(
            con,
            admin,
            "partenaire_rtm",
            pages=["carte", "compte"],
            actions=[],
            conventions=["une_convention_qui_n_existe_pas"],
        )
    H.set_profile_rights(con, admin, "partenaire_rtm", pages=["carte", "compte"], actions=[], conventions=["internal"])
    # and a person of the new organisation is habilitated with it
    temp = H.create_user(
        con,
        gest,
        login="agent.rtm",
        display_name="Agent RTM",
        email=None,
        profile="partenaire_rtm",
        organisation=ORGANISATION,
        activity_nature="partenariat",
    )
    p = load_principal(con, "agent.rtm")
    assert temp and p.organisation == ORGANISATION and p.pages == {"compte"}  # provisional password first
    assert p.scope.conventions == () or "internal" in p.scope.conventions


@both_stores
def test_the_habilitations_page_creates_an_organisation_and_a_profile(con):
    at = run_page_as("demo.habilitations", "habilitations.py")
    assert not at.exception, at.exception
    inputs = {t.label: t for t in at.text_input}
    inputs["Code (ex. rtm_travaux)"].input(ORGANISATION)
    inputs["Nom de l'organisation"].input("Régie des transports métropolitains")
    next(b for b in at.button if b.label == "Créer l'organisation").click()
    at.run()
    assert not at.exception, at.exception
    assert ORGANISATION in {o["code"] for o in H.organisations(con)}
    at = run_page_as("demo.admin", "habilitations.py")
    assert "Nouveau profil" in texts(at) and "Nouvelle organisation" not in texts(at)
    inputs = {t.label: t for t in at.text_input}
    inputs["Code (ex. partenaire_rtm)"].input("partenaire_rtm")
    inputs["Libellé du profil"].input("Agent de la RTM")
    next(t for t in at.text_area if t.label.startswith("Raison d'être")).input("La RTM suit ses chantiers.")
    next(s for s in at.selectbox if s.label == "Personnes de").set_value("partenaire")
    next(b for b in at.button if b.label == "Créer le profil").click()
    at.run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    assert "partenaire_rtm" in {x["code"] for x in H.profiles(con)}
