"""A convention's destruction and the alerts followed up (issue 15 × C9): the append-only history of
the alerts (`alert_events`) and their e-mails (`alert_notifications`) do not stop the destruction, and
keep nothing of its records — on the SQLite store and on a real PostgreSQL one.

* a comment naming one of its records (on any alert) is redacted, who/when/what/states kept;
* an alert drawn from its data (its row of `indicators.alerts` carries the convention) keeps the
  who/when/what of its follow-up, its texts redacted; its e-mail records, reads and follow-up state
  are erased (the alert no longer exists: recomputed without the data, it is a new one);
* outside the destruction, the append-only rules hold again; `audit.verify` stays intact.
"""

from __future__ import annotations

import json

import polars as pl
import pytest

from tests.app.helpers import both_stores
from tests.app.test_alertes import cat, home, who  # noqa: F401 - the fixtures of the alerts' catalog
from tests.factories import VALID_CORTEGE, write_json
from tranquillite.app_core import alertes as AL
from tranquillite.app_core import audit, store
from tranquillite.conventions import destruction as D
from tranquillite.conventions import keys

PREF = "prefecture_police_13"
RECORD = VALID_CORTEGE["manifestation_deambulatoire"]  # PP-2025-000001
OBJET = RECORD["objet"]  # « Manifestation intersyndicale … »
ALERT_TABLES = ("alert_events", "alert_notifications", "alert_followups", "alert_reads")


def _dump(con, table: str) -> str:
    return json.dumps([dict(r) for r in con.execute(f"SELECT * FROM {table}")], ensure_ascii=False, default=str)


def _destroy(root) -> D.Report:
    """The destruction's steps on the warehouse and the app store, as `detruire_convention` runs them."""
    target = D.Target.of(PREF)
    rep = D.Report()
    with store.connect(owner=True) as con:
        collected = D.collect(root, target, con)
        assert RECORD["id"] in collected.ids and OBJET in collected.values
        assert collected.alert_ids == {"A2", "A3", "A4", "A7"}
        red = D.Redactor(collected, PREF)
        pid = D.open_purge(con, PREF, "demo.habilitations", "exploitant")
        D.purge_landing(root, target, collected, rep)
        D.purge_parquet(root, target, collected, rep)
        D.purge_app_store(
            con, store.store_path(), target, red, pid, lambda b: keys.sign(root, b), rep, alert_ids=collected.alert_ids
        )
        D.close_purge(con, pid, "terminee", {"magasins": rep.totals()})
    return rep


@both_stores
def test_destruction_redacts_the_alerts_history_and_erases_what_its_alerts_left(home, cat, con):  # noqa: F811
    write_json(home / "landing" / "cortege" / "prefecture_2025-03-08.json", [RECORD])
    manager = who(con, "demo.encadrement")
    # a City alert (A0) whose comment names the Préfecture's record, another comment that does not
    AL.acknowledge(cat, con, manager, "A0", f"vu: lié à {RECORD['id']} ({OBJET})")
    AL.add_comment(cat, con, manager, "A0", "patrouille demandée")
    # an alert drawn from the Préfecture's data only (A4): followed up, read, mailed
    AL.acknowledge(cat, con, manager, "A4", "renfort demandé")
    AL.close(cat, con, manager, "A4", "Patrouille pendant le cortège")
    AL.mark_read(con, "demo.encadrement", "A4")
    AL.mark_read(con, "demo.encadrement", "A0")
    with store.transaction(con):
        for alert_id in ("A0", "A4"):
            con.execute(
                "INSERT INTO alert_notifications VALUES (?, ?, ?)",
                ("encadrement@ville-marseille.fr", alert_id, "2025-03-08T10:00:00+00:00"),
            )
    events_before = [
        dict(r)
        for r in con.execute(
            "SELECT id, alert_id, at, login, what, state_before, state_after FROM alert_events ORDER BY id"
        )
    ]
    alerts = pl.read_parquet(home / "warehouse" / "indicators" / "alerts" / "*.parquet")
    assert "A4" in alerts["alert_id"].to_list()

    rep = _destroy(home)

    # the history keeps who, when, what and the states, every line of it (no id missing)
    events = [dict(r) for r in con.execute("SELECT * FROM alert_events ORDER BY id")]
    assert [{k: e[k] for k in events_before[0]} for e in events] == events_before
    by = {(e["alert_id"], e["what"]): e for e in events}
    marker = D.REDACTED.format(convention=PREF)
    assert by[("A0", "prise_en_compte")]["comment"] == marker
    assert by[("A0", "commentaire")]["comment"] == "patrouille demandée"  # the City's own words stay
    assert by[("A4", "prise_en_compte")]["comment"] == marker  # an alert of its data: all its texts
    assert by[("A4", "cloture")]["comment"] == marker and marker in by[("A4", "cloture")]["detail"]
    # its e-mails, reads and follow-up are gone; the City alert's stay
    assert [r["alert_id"] for r in con.execute("SELECT alert_id FROM alert_notifications")] == ["A0"]
    assert [r["alert_id"] for r in con.execute("SELECT alert_id FROM alert_reads")] == ["A0"]
    assert [r["alert_id"] for r in con.execute("SELECT alert_id FROM alert_followups")] == ["A0"]
    for t in ALERT_TABLES:
        text = _dump(con, t)
        assert RECORD["id"] not in text and "intersyndicale" not in text and "cortège" not in text, t
    items = {i["element"]: i for i in rep.items if i["magasin"] == "magasin de l'application"}
    alerts_item = items["suivi des alertes (alert_events, alert_notifications, alert_followups, alert_reads)"]
    # the alerts whose lineage holds the convention (A2, A3 mix it with the City's data: removed too)
    assert alerts_item["alertes"] == 4 and alerts_item["evenements_expurges"] == 3
    assert alerts_item["envois_effaces"] == 1
    # the access log's line of the closing keeps who/when/action, not the text of the action taken
    closing = next(r for r in store.access_log(con, page="alertes") if r["action"] == "alerte_cloture")
    assert closing["login"] == "demo.encadrement" and json.loads(closing["detail"])["action"] == marker
    assert audit.verify(con).intact
    # outside the destruction the append-only rules hold again
    with pytest.raises(store.IntegrityError, match="ajout seul"):
        con.execute("UPDATE alert_events SET comment = 'x'")
    with pytest.raises(store.IntegrityError, match="ajout seul"):
        con.execute("DELETE FROM alert_notifications")
    with pytest.raises(store.IntegrityError, match="ajout seul"):
        con.execute("DELETE FROM alert_events")
