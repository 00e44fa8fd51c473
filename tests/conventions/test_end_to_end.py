"""End to end on a small synthetic demo: terminate the Préfecture convention, destroy its data,
and prove it — the real generator, the real pipeline, the real CLI, the real Dagster instance."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from tranquillite import runner
from tranquillite.cli import main as cli
from tranquillite.conventions.lifecycle import add_months

PREF = "prefecture_police_13"
SMALL = {"n_origins": 2, "train_weeks": 2, "lgbm_rounds": 30}


def _city_counts(home: Path) -> dict[str, int]:
    """Row counts of the City's own data, table by table."""
    from tranquillite.contracts import load_contracts

    wh = home / "warehouse"
    out = {}
    for c in load_contracts().values():
        if c.convention != "internal":
            continue
        for layer, name in (("clean", c.name), ("raw", c.source), ("quarantine", c.source)):
            d = wh / layer / name
            if d.exists():
                out[f"{layer}.{name}"] = pl.scan_parquet(str(d / "*.parquet")).select(pl.len()).collect().item()
    ev = pl.read_parquet(wh / "clean" / "events" / "data.parquet")
    out["clean.events[internal]"] = ev.filter(pl.col("convention") == "internal").height
    out["features.observed_counts"] = (
        pl.scan_parquet(str(wh / "features" / "observed_counts" / "*.parquet")).select(pl.len()).collect().item()
    )
    return out


@pytest.mark.slow
@pytest.mark.parametrize("app_store", ["sqlite", "postgresql"])
def test_terminate_destroy_and_prove(home: Path, tmp_path_factory, monkeypatch, request, app_store):
    from tranquillite.app_core import cortege, store
    from tranquillite.app_core.rights import load_principal
    from tranquillite.app_core.seed_demo import seed_demo
    from tranquillite.assets.destruction import recompute_without_ended
    from tranquillite.definitions import build_defs
    from tranquillite.synthetic import generate

    if app_store == "postgresql":  # the app's store (accounts, Cortège, access log) on a real PostgreSQL server
        from tests.pg import create_database

        monkeypatch.setenv(
            "TRANQUILLITE_APP_DB_URL", create_database(request.getfixturevalue("pg_server"), "e2e_store")
        )
    generate(home, start=date(2025, 1, 1), days=21, scale=0.2)
    defs = build_defs()
    inst = runner.instance()
    outcomes = runner.materialize(defs, date(2025, 1, 1), date(2025, 1, 21), inst, forecast_settings=SMALL)
    assert all(o.success for o in outcomes), outcomes
    seed_demo()
    # a Cortège entry saved in the app today (its landing file stays unread: outside the ingested range)
    entry = cortege.build_entry(
        "visite_officielle",
        {
            "objet": "Visite du ministre de l'Intérieur au port autonome",
            "adresses": ["Quai du Port, 13002 Marseille"],
            "date_debut": "2026-12-24T10:00:00+01:00",
            "date_fin": "2026-12-24T12:00:00+01:00",
        },
        "CTG-2026-000001",
        1,
    )
    with store.connect() as con:
        saved = cortege.save_entry(con, home / "landing", entry, "demo.cortege")
        store.log_access(
            con,
            login="demo.cortege",
            profile="agent_cortege",
            page="cortege",
            action="saisie_enregistree",
            filters={"id": "CTG-2026-000001", "version": 1},
            detail=saved.relative_to(home / "landing").as_posix(),
        )
        pref_event = pl.read_parquet(home / "warehouse" / "clean" / "events" / "data.parquet").filter(
            pl.col("convention") == PREF
        )["event_id"][0]
        store.log_access(
            con,
            login="demo.encadrement",
            profile="encadrement_pm",
            page="carte",
            action="detail",
            filters={"evenement": pref_event},
        )
        assert load_principal(con, "demo.encadrement").scope.conventions == ("internal", PREF)
    before = _city_counts(home)
    keep = tmp_path_factory.mktemp("backup")
    pref_file = sorted((home / "landing" / "cortege").glob("prefecture_*.json"))[3]
    shutil.copy(pref_file, keep / pref_file.name)

    # ---------------------------------------------------------------- termination (notice 2 months ago)
    notice = add_months(date.today(), -2) - timedelta(days=1)
    assert (
        cli(["convention", "resilier", PREF, "--date", notice.isoformat(), "--par", "partenaire", "--sans-recalcul"])
        == 0
    )
    with store.connect() as con:
        assert load_principal(con, "demo.cortege") is None and load_principal(con, "demo.prefecture") is None
        assert PREF not in load_principal(con, "demo.encadrement").scope.conventions
        with pytest.raises(cortege.SaveError, match="fermée"):
            cortege.save_entry(con, home / "landing", {**entry, "id": "CTG-2026-000002"}, "demo.cortege")
    out = recompute_without_ended(defs, inst, SMALL)
    assert all(o.success for o in out), out
    exposure = pl.read_parquet(home / "warehouse" / "features" / "planned_exposure" / "data.parquet")
    assert set(exposure["source"].unique()) <= {"evenements_publics"}

    # ---------------------------------------------------------------- destruction
    assert (
        cli(
            [
                "convention",
                "detruire",
                PREF,
                "--ordonne-par",
                "demo.habilitations",
                "--execute-par",
                "exploitant",
                "--sans-recalcul",
            ]
        )
        == 0
    )
    [json_path] = sorted((home / "attestations").glob("*.json"))
    assert json_path.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
    assert (home / "keys" / "platform_ed25519.pem").stat().st_mode & 0o777 == 0o600  # generated on first use
    m = json.loads(json_path.read_text())["manifest"]
    assert m["verification"]["resultat"]["traces_trouvees"] == 0
    assert m["verification"]["resultat"]["fichiers_total"] > 100
    assert len(m["verification"]["fingerprints"]["identifiants"]) > 20
    assert m["destruction"]["ordonnee_par"] == "demo.habilitations" and m["destruction"]["dans_le_delai"]
    totals = m["totaux"]
    assert totals["zone d'atterrissage"]["fichiers"] >= 22  # 21 daily files + the app's entry
    assert totals["entrepôt"]["lignes"] > 0 and totals["magasin de modèles"]["modeles"] > 0
    assert totals["stockage Dagster"]["entrees_supprimees"] > 0
    items = {(i["magasin"], i["element"]): i for i in m["detruit"]}
    assert items[("magasin de l'application", "registre Cortège (cortege_entries)")]["lignes"] == 1
    assert items[("magasin de l'application", "journal d'accès (access_log)")]["lignes"] == 2
    # nothing of the content in the attestation
    text = json_path.read_text()
    assert "CTG-2026-000001" not in text and pref_event not in text and "ministre" not in text

    # the City's own data are untouched; the Préfecture's are gone from every table
    assert _city_counts(home) == before
    ev = pl.read_parquet(home / "warehouse" / "clean" / "events" / "data.parquet")
    assert PREF not in set(ev["convention"].unique())
    assert not (home / "landing" / "cortege").exists() and not (home / "warehouse" / "raw" / "cortege").exists()
    # forecasts: no model trained on its data remains, every forecast row comes from a remaining model
    metas = [json.loads(p.read_text()) for p in (home / "models").glob("*/*/*/meta.json")]
    assert metas and not [
        mm
        for mm in metas
        if any(f.startswith(("ev_manifestation", "ev_operation", "ev_visite")) for f in mm.get("features", []))
    ]
    fc = pl.read_parquet(home / "warehouse" / "models" / "forecast" / "data.parquet")
    versions = {mm["version"] for mm in metas}
    assert {v for mv in fc["model_version"].drop_nulls().unique() for v in mv.split("+")} <= versions
    if "conventions" in fc.columns:  # after the lineage merge (issue 11)
        assert not fc.filter(pl.col("conventions").list.contains(PREF)).height
    # the accounts, Cortège, the access log (metadata kept, chain verified)
    with store.connect() as con:
        assert (
            con.execute("SELECT count(*) FROM users WHERE organisation = ? AND active = 1", (PREF,)).fetchone()[0] == 0
        )
        assert con.execute("SELECT count(*) FROM cortege_entries").fetchone()[0] == 0
        ok, broken = store.verify_access_log(con)
        assert ok, broken
        line = con.execute(
            "SELECT * FROM access_log WHERE page = 'cortege' AND action = 'saisie_enregistree'"
        ).fetchone()
        assert line["login"] == "demo.cortege" and "CTG-2026-000001" not in (line["filters"] + line["detail"])
        purge = con.execute("SELECT * FROM convention_purges").fetchone()
        assert purge["status"] == "terminee" and purge["ordered_by"] == "demo.habilitations"
        # outside a purge, the append-only rules hold again
        con.execute("INSERT INTO cortege_entries VALUES ('X-1', 1, 'visite_officielle', 'x', 'now', 'p', 's')")
        with pytest.raises(Exception, match="registre Cortège en ajout seul"):
            con.execute("DELETE FROM cortege_entries")
        with pytest.raises(Exception, match="modification interdite"):
            con.execute("UPDATE access_log SET detail = 'x' WHERE id = 1")
        con.execute("DELETE FROM cortege_entries WHERE 0")  # (nothing deleted: the table keeps X-1)
        assert con.execute("SELECT count(*) FROM cortege_entries").fetchone()[0] == 1
    # ---------------------------------------------------------------- the attestation verifies, and fails when…
    assert cli(["attestation", "verifier", str(json_path)]) == 0
    restored = home / "landing" / "interventions" / pref_file.name
    restored.write_bytes((keep / pref_file.name).read_bytes())  # … a Préfecture file is restored
    assert cli(["attestation", "verifier", str(json_path)]) == 1
    restored.write_bytes((keep / pref_file.name).read_bytes()[:300])  # … or only its first bytes
    assert cli(["attestation", "verifier", str(json_path)]) == 1
    restored.unlink()
    assert cli(["attestation", "verifier", str(json_path)]) == 0
    doc = bytearray(json_path.read_bytes())  # … or the attestation is edited
    i = doc.index(b'"traces_trouvees": 0')
    doc[i + len(b'"traces_trouvees": ')] = ord("1")
    json_path.write_bytes(bytes(doc))
    assert cli(["attestation", "verifier", str(json_path)]) == 1
