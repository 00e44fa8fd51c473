"""Integrity of the append-only records (issue #10, T4): no rewrite by INSERT OR REPLACE, a keyed chain,
published heads, and a verification that finds edits, truncations, replays and dropped triggers."""

from __future__ import annotations

import sqlite3

import dagster as dg
import pytest

from tests.app.helpers import both_stores
from tranquillite.app_core import audit, store


def _lines(con, n=12):
    for i in range(n):
        store.log_access(con, login="demo.analyste", profile="analyste", page="carte", filters={"i": i})


REPLACES = {
    "access_log": "INSERT OR REPLACE INTO access_log (id, at, login, profile, page, action, filters, export, detail, "
    "prev_hash, row_hash) SELECT id, at, 'quelqu.un', profile, page, action, filters, export, detail, "
    "prev_hash, row_hash FROM access_log WHERE id = 2",
    "cortege_entries": "REPLACE INTO cortege_entries VALUES ('CTG-2025-000001', 1, 'visite_officielle', 'autre', "
    "'2025-01-01', 'cortege/x.json', 'x')",
    "habilitation_requests": "INSERT OR REPLACE INTO habilitation_requests (id, kind, login, organisation, "
    "requested_by, requested_at) VALUES (1, 'retrait', 'demo.cortege', "
    "'prefecture_police_13', 'quelqu.un', '2025-01-01')",
    "habilitation_request_events": "INSERT OR REPLACE INTO habilitation_request_events (id, request_id, at, actor, "
    "status) VALUES (1, 1, '2025-01-01', 'quelqu.un', 'refusee')",
}


@pytest.mark.parametrize("table", list(REPLACES))
def test_insert_or_replace_cannot_rewrite_append_only_tables(con, table):
    _lines(con, 3)
    with store.transaction(con):
        con.execute(
            "INSERT INTO cortege_entries VALUES ('CTG-2025-000001', 1, 'visite_officielle', 'demo.cortege', "
            "'2025-01-01', 'cortege/2025-01-01/CTG-2025-000001_v1.json', 'abc')"
        )
    before = [tuple(r) for r in con.execute(f"SELECT * FROM {table}")]
    with pytest.raises(sqlite3.DatabaseError, match="ajout seul"):
        con.execute(REPLACES[table])
    assert [tuple(r) for r in con.execute(f"SELECT * FROM {table}")] == before
    # ON CONFLICT DO UPDATE is an update: refused as well
    if table == "access_log":
        with pytest.raises(sqlite3.DatabaseError, match="ajout seul"):
            con.execute(
                "INSERT INTO access_log (id, at, profile, page, action, prev_hash, row_hash) "
                "VALUES (2, 'x', 'x', 'x', 'x', 'x', 'x') ON CONFLICT (id) DO UPDATE SET login = 'x'"
            )


def test_the_chain_is_keyed_with_a_key_outside_the_database(app_home, con):
    _lines(con)
    assert audit.verify(con).intact
    key_path = app_home / "secrets" / "access_log.key"
    assert key_path.exists() and oct(key_path.stat().st_mode & 0o777) == "0o600"
    key = key_path.read_text().strip()
    assert not any(key in str(v) for r in con.execute("SELECT * FROM meta") for v in tuple(r))
    # edit a line and recompute the UNKEYED chain from there, as the issue did: detected
    con.execute("DROP TRIGGER access_log_no_update")
    rows = con.execute("SELECT * FROM access_log WHERE id >= 5 ORDER BY id").fetchall()
    prev = con.execute("SELECT row_hash FROM access_log WHERE id = 4").fetchone()[0]
    for r in rows:
        login = "quelqu.un" if r["id"] == 5 else r["login"]
        h = audit.legacy_hash(
            prev, r["at"], login, r["profile"], r["page"], r["action"], r["filters"], r["export"], r["detail"]
        )
        con.execute(
            "UPDATE access_log SET login = ?, prev_hash = ?, row_hash = ? WHERE id = ?", (login, prev, h, r["id"])
        )
        prev = h
    v = audit.verify(con)
    assert not v.intact and v.first_broken == 5
    assert any("access_log_no_update" in p for p in v.problems)  # and the dropped trigger is named


def test_truncation_of_the_last_lines_is_detected(con):
    _lines(con)
    n = con.execute("SELECT max(id) FROM access_log").fetchone()[0]
    con.execute("DROP TRIGGER access_log_no_delete")
    con.execute("DELETE FROM access_log WHERE id > ?", (n - 10,))
    v = audit.verify(con)
    assert not v.intact and any("fin de journal" in p for p in v.problems)
    # even if the intruder also rewinds SQLite's sequence, the published head still says where the log was
    con.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'access_log'", (n - 10,))
    assert not audit.verify(con, heads=[]).intact  # the dropped trigger still shows


def test_published_heads_catch_truncation_and_restores(app_home, con):
    _lines(con, 5)
    h = audit.publish_head(con, at="2025-03-08T10:00:00+00:00")
    assert audit.verify(con).intact and audit.verify(con).heads_checked == 1
    # restore an older copy of the store (every trigger in place, chain valid, sequence coherent)
    older = app_home / "older.sqlite"
    src = sqlite3.connect(app_home / "app" / "platform.sqlite")
    with sqlite3.connect(older) as dst:
        src.backup(dst)
    src.close()
    _lines(con, 3)
    audit.publish_head(con, at="2025-03-08T10:05:00+00:00")
    with store.connect(older) as old:
        v = audit.verify(old)
        assert not v.intact and any("n'est plus dans le journal" in p for p in v.problems), v.problems
    # a forged head line (not signed with the key) is reported, not trusted
    forged = {**h, "row_hash": "0" * 64, "mac": "0" * 64}
    v = audit.verify(con, heads=[forged])
    assert not v.intact and any("non signée" in p for p in v.problems)


@both_stores
def test_a_replayed_line_is_detected(con):
    """An old line copied at the end (with a new id and the chain recomputed unkeyed) does not verify."""
    _lines(con, 4)
    r = con.execute("SELECT * FROM access_log WHERE id = 2").fetchone()
    last = con.execute("SELECT id, row_hash FROM access_log ORDER BY id DESC LIMIT 1").fetchone()
    con.execute(
        "INSERT INTO access_log (id, at, login, profile, page, action, filters, export, detail, prev_hash, "
        "row_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            last[0] + 1,
            r["at"],
            r["login"],
            r["profile"],
            r["page"],
            r["action"],
            r["filters"],
            r["export"],
            r["detail"],
            last[1],
            r["row_hash"],
        ),
    )
    v = audit.verify(con)
    assert not v.intact and v.first_broken == last[0] + 1


def test_a_lost_key_stops_the_writing_instead_of_a_silent_new_chain(app_home, con):
    _lines(con, 2)
    (app_home / "secrets" / "access_log.key").unlink()
    with pytest.raises(audit.AuditKeyError, match="introuvable"):
        store.log_access(con, login=None, profile="public", page="accueil_public")
    v = audit.verify(con)
    assert not v.intact and "clé" in v.problems[0]


def test_the_key_from_the_settings(app_home, con, monkeypatch, tmp_path):
    monkeypatch.setenv("TRANQUILLITE_HOME", str(tmp_path))
    monkeypatch.setenv("TRANQUILLITE_ACCESS_LOG_KEY", "k" * 40)
    with store.connect() as c:
        _lines(c, 3)
        assert audit.verify(c).intact
    assert not (tmp_path / "secrets").exists()
    monkeypatch.setenv("TRANQUILLITE_ACCESS_LOG_KEY", "z" * 40)  # another key: refused, and said
    with store.connect() as c:
        with pytest.raises(audit.AuditKeyError, match="pas celle"):
            store.log_access(c, login=None, profile="public", page="accueil_public")


def test_dagster_publishes_the_head_as_an_observation(app_home, con):
    from tranquillite.sensors.access_log import access_log_heads_sensor

    _lines(con, 3)
    instance = dg.DagsterInstance.ephemeral()
    result = access_log_heads_sensor(dg.build_sensor_context(instance=instance))
    (event,) = result.asset_events
    assert event.asset_key == dg.AssetKey(["governance", "app_access_log"])
    md = {k: v.value for k, v in event.metadata.items()}
    last = con.execute("SELECT id, row_hash FROM access_log ORDER BY id DESC LIMIT 1").fetchone()
    assert md["derniere_ligne"] == last[0] and md["tete"] == last[1] and md["integre"] is True
    (line,) = audit.published_heads()
    assert line["id"] == last[0] and line["row_hash"] == last[1]
    from tranquillite.definitions import build_defs

    defs = build_defs()
    assert "access_log_heads" in {s.name for s in defs.sensors}
    assert dg.AssetKey(["governance", "app_access_log"]) in {s.key for s in defs.resolve_all_asset_specs()}


def test_the_journal_page_shows_the_problems(app_home, con):
    from tests.app.helpers import login_as, texts

    at = login_as("auditeur_dpo")
    at.switch_page("views/journal.py").run()
    assert "Intégrité du journal vérifiée" in texts(at)
    con.execute("DROP TRIGGER access_log_no_replace")
    at.run()
    assert any("access_log_no_replace" in e.value for e in at.error)
