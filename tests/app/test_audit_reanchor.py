"""A destruction redacts access-log lines that named the convention's records (C9): the keyed chain
is recomputed and re-anchored, earlier published heads are superseded, and the verification of
issue #10 stays intact — while a re-anchor that is not MACed with the log's key is a problem."""

from __future__ import annotations

import json

from tranquillite.app_core import audit, store

PII_ID = "PP-2025-000042"


def _open_purge(con) -> int:
    with store.transaction(con):
        cur = con.execute(
            "INSERT INTO convention_purges (convention, ordered_by, run_by, started_at, status) "
            "VALUES ('prefecture_police_13', 'x', 'y', ?, 'en_cours')",
            (store.iso(store.now_utc()),),
        )
    return int(cur.lastrowid)


def _redact(con, purge_id: int, forge: bool = False) -> None:
    lines = [r["id"] for r in con.execute("SELECT id FROM access_log WHERE detail LIKE ?", (f"%{PII_ID}%",))]
    old = audit.head(con)["row_hash"]
    with store.transaction(con):
        con.execute("INSERT INTO convention_purge_open VALUES ('access_log', ?)", (purge_id,))
        for i in lines:
            con.execute("UPDATE access_log SET detail = ? WHERE id = ?", (json.dumps({"entree": "[détruit]"}), i))
        new = audit.rechain(con, min(lines))
        at, ids = store.iso(store.now_utc()), json.dumps(lines)
        mac = "0" * 64 if forge else audit.reanchor_mac(audit.load_key(), purge_id, at, min(lines), old, new, ids)
        con.execute(
            "INSERT INTO access_log_reanchors (purge_id, at, first_id, lines_redacted, old_head, new_head, "
            "redacted_ids, signature, mac) VALUES (?, ?, ?, ?, ?, ?, ?, 'sig', ?)",
            (purge_id, at, min(lines), len(lines), old, new, ids, mac),
        )
        con.execute("DELETE FROM convention_purge_open WHERE purge_id = ?", (purge_id,))


def _history(con) -> None:
    for i in range(6):
        store.log_access(
            con,
            login="demo.cortege",
            profile="agent_cortege",
            page="cortege",
            action="saisie",
            detail=json.dumps({"entree": PII_ID if i in (2, 4) else f"PP-2025-00000{i}"}),
        )
    audit.publish_head(con, at=store.iso(store.now_utc()))
    store.log_access(con, login="demo.analyste", profile="analyste", page="carte")


def test_redacted_lines_are_re_anchored_and_the_log_verifies(app_home, con):
    _history(con)
    _redact(con, _open_purge(con))
    v = audit.verify(con)
    assert v.intact, v.problems
    assert v.heads_checked == 1
    assert not con.execute("SELECT 1 FROM access_log WHERE detail LIKE ?", (f"%{PII_ID}%",)).fetchone()
    audit.publish_head(con, at=store.iso(store.now_utc()))
    assert audit.verify(con).intact


def test_a_re_anchor_not_signed_with_the_log_key_is_reported(app_home, con):
    _history(con)
    _redact(con, _open_purge(con), forge=True)
    v = audit.verify(con)
    assert not v.intact
    assert any("réancrage" in p for p in v.problems) and any("tête publiée" in p for p in v.problems)


def test_a_rewrite_without_re_anchor_still_breaks_the_published_head(app_home, con):
    _history(con)
    pid = _open_purge(con)
    first = con.execute("SELECT min(id) FROM access_log WHERE detail LIKE ?", (f"%{PII_ID}%",)).fetchone()[0]
    with store.transaction(con):  # what an intruder holding the key could do: rewrite and re-chain, silently
        con.execute("INSERT INTO convention_purge_open VALUES ('access_log', ?)", (pid,))
        con.execute("UPDATE access_log SET detail = '{}' WHERE id = ?", (first,))
        audit.rechain(con, first)
        con.execute("DELETE FROM convention_purge_open WHERE purge_id = ?", (pid,))
    v = audit.verify(con)
    assert not v.intact and any("tête publiée" in p for p in v.problems)
