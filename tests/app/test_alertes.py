"""Alerts followed up (issue 15): their life with separation of rights, the thresholds, the badge, the inbox page.

On a hand-built `indicators.*` catalog (the alerts of test_tension, whose conventions decide who
sees them, and a few `indicators.values` rows), with the demo accounts' store.
"""

from __future__ import annotations

import json
import re
from datetime import date

import polars as pl
import pytest

from tests.app.helpers import both_stores, catalog_home, login_as, run_page_as
from tests.app.test_tension import INTERNAL, PREF, alerts_frame
from tranquillite.app_core import alertes as AL
from tranquillite.app_core import habilitations, queries, store
from tranquillite.app_core.duties import RightsError
from tranquillite.app_core.rights import load_principal

IND = "faits_par_categorie"


def values_frame() -> pl.DataFrame:
    """Monthly values: the 1er's latest month (March) at 40, the 6e's at 12 (the City's data only),
    the whole city's at 90; an older month higher everywhere (only the latest period counts)."""
    rows = []
    for month, (v1, v6, vc) in ((2, (99.0, 99.0, 300.0)), (3, (40.0, 12.0, 90.0))):
        for level, area, v in (
            ("arrondissement", "13201", v1),
            ("arrondissement", "13206", v6),
            ("ville", "ville", vc),
        ):
            rows.append(
                {
                    "indicator_id": IND,
                    "area_level": level,
                    "area": area,
                    "period_level": "mois",
                    "period": f"2025-0{month}",
                    "period_start": date(2025, month, 1),
                    "period_end": date(2025, month, 28),
                    "complete": True,
                    "dimension": "toutes",
                    "value": v,
                    "n": int(v),
                    "conventions": [INTERNAL] if area != "13206" else [INTERNAL, PREF],
                }
            )
    return pl.DataFrame(rows)


TABLES = {
    ("indicators", "alerts"): alerts_frame,
    ("indicators", "values"): values_frame,
    ("indicators", "tension"): lambda: pl.DataFrame({"h3_cell": ["x"], "conventions": [[INTERNAL]]}),
}


@pytest.fixture
def home(app_home, monkeypatch):
    """A catalog of hand-built alerts and values beside `app_home`'s store (SQLite file or PostgreSQL:
    `catalog_home` copies the SQLite file, a PostgreSQL store stays where it is)."""
    tables = {k: f() for k, f in TABLES.items()}
    return catalog_home(app_home, "home_alertes", tables, monkeypatch)


@pytest.fixture
def cat(home):
    c = queries.Catalog.open()
    yield c
    c.close()


def who(con, login):
    return load_principal(con, login)


def log_lines(con, action_prefix: str) -> list[dict]:
    return [r for r in store.access_log(con, page="alertes") if r["action"].startswith(action_prefix)]


# ----------------------------------------------------------------------------- the life of an alert
@both_stores
def test_lifecycle_logged_in_history_and_access_log(cat, con):
    manager, analyst = who(con, "demo.encadrement"), who(con, "demo.analyste")
    assert {r["alert_id"] for r in AL.visible_alerts(cat, manager.scope, con)} == {"A0", "A1", "A2", "A3", "A4", "A7"}
    AL.acknowledge(cat, con, manager, "A0", "vu en réunion")
    assert "demo.analyste" in AL.assignable(cat, con, "A0")
    AL.assign(cat, con, manager, "A0", "demo.analyste")
    AL.add_comment(cat, con, analyst, "A0", "patrouille demandée")
    AL.close(cat, con, analyst, "A0", "Patrouille renforcée samedi soir")
    row = next(r for r in AL.visible_alerts(cat, manager.scope, con) if r["alert_id"] == "A0")
    assert (row["state"], row["assignee"], row["action_taken"]) == (
        "close",
        "demo.analyste",
        "Patrouille renforcée samedi soir",
    )
    h = AL.history(con, "A0")
    assert [(e["login"], e["what"], e["state_before"], e["state_after"]) for e in h] == [
        ("demo.encadrement", "prise_en_compte", "nouvelle", "prise_en_compte"),
        ("demo.encadrement", "assignation", "prise_en_compte", "assignee"),
        ("demo.analyste", "commentaire", "assignee", "assignee"),
        ("demo.analyste", "cloture", "assignee", "close"),
    ]
    assert json.loads(h[1]["detail"])["assignee_apres"] == "demo.analyste"
    assert all(e["at"] for e in h)
    logged = log_lines(con, "alerte_")
    assert [r["action"] for r in reversed(logged)] == [
        "alerte_prise_en_compte",
        "alerte_assignation",
        "alerte_commentaire",
        "alerte_cloture",
    ]
    assert json.loads(logged[0]["detail"]) == {
        "alerte": "A0",
        "avant": "assignee",
        "apres": "close",
        "action": "Patrouille renforcée samedi soir",
    }
    # a closed alert is not closed twice; the history is append-only
    with pytest.raises(RightsError, match="Close"):
        AL.close(cat, con, manager, "A0", "encore")
    with pytest.raises(store.IntegrityError, match="ajout seul"):
        con.execute("UPDATE alert_events SET login = 'quelqu.un'")


def test_a_profile_without_the_action_is_refused_in_french_and_logged(cat, con):
    tech = who(con, "demo.admin")  # sees Zones de tension, does not plan
    assert not tech.can(AL.FOLLOW) and not tech.can(AL.THRESHOLDS)
    with pytest.raises(RightsError, match="« Prendre en compte, assigner.*non autorisée"):
        AL.acknowledge(cat, con, tech, "A0")
    with pytest.raises(RightsError, match="Fixer les seuils.*non autorisée"):
        AL.set_threshold(con, tech, IND, "13201", 10)
    analyst = who(con, "demo.analyste")  # follows alerts, does not set thresholds
    with pytest.raises(RightsError, match="non autorisée"):
        AL.set_threshold(con, analyst, IND, "13201", 10)
    assert len(log_lines(con, "action_refusee")) == 3
    assert AL.history(con, "A0") == [] and AL.thresholds(con) == []


def test_scope_decides_what_one_may_follow_and_to_whom_it_is_assigned(cat, con):
    tech = who(con, "demo.admin")
    habilitations.set_profile_rights(
        con,
        tech,
        "analyste",
        pages=["accueil_public", "alertes", "compte"],
        actions=["suivre_alertes"],
        conventions=[INTERNAL],
    )
    analyst, manager = who(con, "demo.analyste"), who(con, "demo.encadrement")
    assert {r["alert_id"] for r in AL.visible_alerts(cat, analyst.scope, con)} == {"A0", "A1"}
    with pytest.raises(RightsError, match="introuvable dans votre périmètre"):
        AL.acknowledge(cat, con, analyst, "A4")  # a Préfecture-only alert
    with pytest.raises(RightsError, match="ne peut pas suivre cette alerte"):
        AL.assign(cat, con, manager, "A4", "demo.analyste")
    assert "demo.analyste" not in AL.assignable(cat, con, "A4")
    assert AL.history(con, "A4") == []


# ----------------------------------------------------------------------------- thresholds
@both_stores
def test_a_threshold_crossed_by_the_latest_period_is_an_alert_in_scope(cat, con):
    manager = who(con, "demo.encadrement")
    AL.set_threshold(con, manager, IND, "13201", 30)  # March 40 > 30: crossed
    AL.set_threshold(con, manager, IND, "13206", 50)  # March 12: not crossed (February's 99 does not count)
    AL.set_threshold(con, manager, IND, AL.CITY, 80)  # March 90 > 80
    got = {r["area"]: r for r in AL.visible_alerts(cat, manager.scope, con) if r["kind"] == AL.THRESHOLD_KIND}
    assert set(got) == {"13201", "ville"}
    assert got["13201"]["alert_id"] == AL.threshold_alert_id(IND, "13201", "2025-03")
    assert "40" in got["13201"]["explanation"] and "30" in got["13201"]["explanation"]
    # the 6e row mixes the Préfecture's data: once its threshold is crossed, an internal-only scope does not see it
    AL.set_threshold(con, manager, IND, "13206", 5)
    assert "13206" in {r["area"] for r in AL.visible_alerts(cat, manager.scope, con) if r["kind"] == AL.THRESHOLD_KIND}
    tech = who(con, "demo.admin")
    habilitations.set_profile_rights(
        con,
        tech,
        "analyste",
        pages=["accueil_public", "alertes", "compte"],
        actions=["suivre_alertes"],
        conventions=[INTERNAL],
    )
    analyst = who(con, "demo.analyste")
    seen = {r["area"] for r in AL.visible_alerts(cat, analyst.scope, con) if r["kind"] == AL.THRESHOLD_KIND}
    assert seen == {"13201", "ville"}
    # a threshold alert has a life like the others; lowering a threshold is logged with before/after
    AL.acknowledge(cat, con, manager, got["13201"]["alert_id"])
    assert json.loads(log_lines(con, "seuil_alerte")[0]["detail"]) == {
        "indicateur": IND,
        "zone": "13206",
        "avant": 50.0,
        "apres": 5,
    }
    with pytest.raises(RightsError, match="Indicateur inconnu"):
        AL.set_threshold(con, manager, "pas_un_indicateur", "13201", 1)


# ----------------------------------------------------------------------------- badge
@both_stores
def test_badge_counts_visible_alerts_neither_read_nor_closed(cat, con):
    manager, analyst = who(con, "demo.encadrement"), who(con, "demo.analyste")
    ids = [r["alert_id"] for r in AL.visible_alerts(cat, manager.scope, con)]
    assert AL.unread_count(con, "demo.encadrement", ids) == 6
    AL.mark_read(con, "demo.encadrement", "A1")
    AL.mark_read(con, "demo.encadrement", "A1")
    AL.close(cat, con, analyst, "A2", "Rien à signaler après passage")
    assert AL.unread_count(con, "demo.encadrement", ids) == 4
    assert AL.unread_count(con, "demo.analyste", ids) == 5  # reads are per person


# ----------------------------------------------------------------------------- the page
def test_the_navigation_title_carries_the_badge(home):
    at = login_as("encadrement_pm")
    assert not at.exception, at.exception
    assert at.session_state["tq_alert_badge"] == 6
    at.switch_page("views/alertes.py").run()  # opening the page reads its first alert
    assert not at.exception, at.exception
    at.run()
    assert at.session_state["tq_alert_badge"] == 5
    assert "tq_alert_badge" not in login_as("partenaire").session_state  # no page, no badge


def test_the_badge_reads_are_in_the_access_log_line_of_the_page(home):
    """The badge reads indicators.alerts (and indicators.values for the thresholds) through the gateway
    on every page run, with the person's scope: those reads are in the page's line — the conventions
    of the alerts counted — on the first run and when the badge is served from the cache."""
    with store.connect() as con:
        AL.set_threshold(con, who(con, "demo.encadrement"), IND, "13201", 30)
    at = login_as("encadrement_pm")
    for _ in range(2):  # computed, then served from the cache
        at.switch_page("views/compte.py").run()
        assert not at.exception, at.exception
        assert at.session_state["tq_alert_badge"] == 7
        with store.connect() as con:
            line = store.access_log(con, login="demo.encadrement", page="compte")[0]
        got = {r["table"]: r for r in json.loads(line["reads"])}
        assert got["indicators.alerts"]["rows"] == 6
        assert got["indicators.alerts"]["conventions"] == [INTERNAL, PREF]
        assert "indicators.values" in got
        at.switch_page("views/carte.py").run()  # another page between: a new line each time


def test_inbox_page_acknowledges_and_shows_history(home):
    at = run_page_as("demo.encadrement", "alertes.py")
    assert not at.exception, at.exception
    assert at.title[0].value == "Alertes"
    inbox = at.dataframe[0].value
    assert len(inbox) == 6 and set(inbox["État"]) == {"Nouvelle"}
    box = at.selectbox(key="alerte_choisie")
    box.select_index(next(i for i, o in enumerate(box.options) if o.endswith("(A0)"))).run()
    at.button(key="prendre_en_compte").click().run()
    assert not at.exception, at.exception
    with store.connect() as con:
        assert [e["what"] for e in AL.history(con, "A0")] == ["prise_en_compte"]
    history = at.dataframe[1].value  # the chosen alert's history, shown after the rerun
    assert list(history["Étape"]) == ["Prise en compte"] and list(history["Qui"]) == ["demo.encadrement"]
    assert "Prise en compte" in set(at.dataframe[0].value["État"])


def test_inbox_page_without_the_action_shows_no_forms(home):
    with store.connect() as con:
        tech = load_principal(con, "demo.admin")
        habilitations.set_profile_rights(
            con,
            tech,
            "analyste",
            pages=["accueil_public", "alertes", "compte"],
            actions=[],
            conventions=[INTERNAL, PREF],
        )
    at = run_page_as("demo.analyste", "alertes.py")
    assert not at.exception, at.exception
    assert not [b for b in at.button if b.key == "prendre_en_compte"]
    assert any("ne permet pas de suivre" in str(i.value) for i in at.info)


# ----------------------------------------------------------------------------- e-mail
@pytest.fixture
def smtp_server():
    """A real SMTP server on the loopback (aiosmtpd), collecting what it receives."""
    from aiosmtpd.controller import Controller

    class Collect:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append((tuple(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace")))
            return "250 OK"

    import socket

    with socket.socket() as s:  # a free port of the loopback
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = Collect()
    ctl = Controller(handler, hostname="127.0.0.1", port=port)
    ctl.start()
    yield ctl, handler
    ctl.stop()


def test_new_alerts_mailed_once_per_recipient_without_partner_detail(home, smtp_server, monkeypatch):
    import email
    from email.policy import default

    import dagster as dg
    from tranquillite.sensors.alert_mail import SmtpResource, alert_mail_sensor

    ctl, got = smtp_server
    port = ctl.port
    with store.connect() as con:
        tech = load_principal(con, "demo.admin")  # the analyst sees the City's alerts only (A0, A1)
        habilitations.set_profile_rights(
            con,
            tech,
            "analyste",
            pages=["accueil_public", "alertes", "compte"],
            actions=["suivre_alertes"],
            conventions=[INTERNAL],
        )
    smtp = SmtpResource(
        host="127.0.0.1",
        port=port,
        sender="alertes@ville.invalid",
        starttls=False,
        app_url="https://tranquillite.ville.invalid",
    )
    ctx = dg.build_sensor_context(resources={"smtp": smtp})
    first = alert_mail_sensor(ctx)
    assert "8 courriel(s) d'alerte envoyé(s)" in str(first)
    by_rcpt: dict[str, list] = {}
    for rcpts, raw in got.messages:
        msg = email.message_from_string(raw, policy=default)
        for r in rcpts:
            by_rcpt.setdefault(r, []).append(msg)
    # the manager sees six alerts (both conventions), the internal-only analyst two; nobody else follows alerts
    assert {r: len(m) for r, m in by_rcpt.items()} == {
        "demo.encadrement@demo.invalid": 6,
        "demo.analyste@demo.invalid": 2,
    }
    for msgs in by_rcpt.values():
        for m in msgs:
            body = m.get_content()
            assert m["Subject"].startswith("Nouvelle alerte — Nouveau point chaud significatif — 1er arrondissement")
            assert "gravité:" in body and "https://tranquillite.ville.invalid/alertes" in body
            assert not re.search(r"alerte \d", body)  # never the explanation ("alerte 4"…)
            assert "demo." not in body  # nor a person
    with store.connect() as con:
        assert con.execute("SELECT count(*) FROM alert_notifications").fetchone()[0] == 8

    # its reads are in the access log: a system actor reading on behalf of each recipient, with the
    # recipient's scope — for whom, and the conventions of what it read (T4)
    def sensor_lines():
        with store.connect() as con:
            return {json.loads(r["detail"])["pour"]: r for r in store.access_log(con, page="courriels_alertes")}

    lines = sensor_lines()
    assert set(lines) == {"demo.encadrement", "demo.analyste"}
    for who_, conventions in (("demo.encadrement", [INTERNAL, PREF]), ("demo.analyste", [INTERNAL])):
        line = lines[who_]
        assert (line["login"], line["profile"], line["action"]) == (
            "systeme.courriels_alertes",
            "systeme",
            "lecture_pour_envoi",
        )
        got_reads = {r["table"]: r for r in json.loads(line["reads"])}
        assert got_reads["indicators.alerts"]["conventions"] == conventions
    # the second tick sends nothing (and reads the same: no new line)
    second = alert_mail_sensor(dg.build_sensor_context(resources={"smtp": smtp}))
    assert len(got.messages) == 8 and "aucune nouvelle alerte" in str(second)
    with store.connect() as con:
        assert len(store.access_log(con, page="courriels_alertes")) == 2
    # without a host, no e-mail and a clear reason
    off = alert_mail_sensor(dg.build_sensor_context(resources={"smtp": SmtpResource()}))
    assert "non configuré" in str(off)


def test_smtp_settings_are_validated_and_the_password_never_shown():
    from tranquillite.settings import SettingsError, settings

    assert settings({"TRANQUILLITE_SMTP_HOST": " "}).smtp_host is None  # empty host: no e-mail
    ok = settings(
        {
            "TRANQUILLITE_SMTP_HOST": "smtp.ville.invalid",
            "TRANQUILLITE_SMTP_FROM": "a@ville.invalid",
            "TRANQUILLITE_SMTP_USER": "u",
            "TRANQUILLITE_SMTP_PASSWORD": "s3cret-smtp",
            "TRANQUILLITE_SMTP_STARTTLS": "false",
            "TRANQUILLITE_SMTP_PORT": "25",
        }
    )
    assert (ok.smtp_port, ok.smtp_starttls, ok.smtp_password.get_secret_value()) == (25, False, "s3cret-smtp")
    with pytest.raises(SettingsError, match="TRANQUILLITE_SMTP_FROM"):
        settings({"TRANQUILLITE_SMTP_HOST": "smtp.ville.invalid"})
    with pytest.raises(SettingsError, match="TRANQUILLITE_SMTP_PORT") as e:
        settings({"TRANQUILLITE_SMTP_PORT": "70000", "TRANQUILLITE_SMTP_PASSWORD": "s3cret-smtp"})
    assert "s3cret" not in str(e.value)


def test_inbox_page_assigns_and_closes_with_the_action_taken(home):
    at = run_page_as("demo.encadrement", "alertes.py")
    box = at.selectbox(key="alerte_choisie")
    box.select_index(next(i for i, o in enumerate(box.options) if o.endswith("(A1)"))).run()
    at.selectbox(key="alerte_assignee").set_value("demo.analyste")  # in a form: sent with its button
    at.button(key="FormSubmitter:assigner-Assigner").click().run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    at.text_area(key="alerte_action").input("Médiation avec les commerçants")
    at.button(key="FormSubmitter:clore-Clôturer l'alerte").click().run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    with store.connect() as con:
        assert [(e["what"], e["state_after"]) for e in AL.history(con, "A1")] == [
            ("assignation", "assignee"),
            ("cloture", "close"),
        ]
    inbox = at.dataframe[0].value
    row = inbox[inbox["Identifiant"] == "A1"]
    assert list(row["État"]) == ["Close"] and list(row["Action menée"]) == ["Médiation avec les commerçants"]
    assert list(row["Assignée à"]) == ["demo.analyste"]


def test_a_store_seeded_before_the_page_gets_it_and_its_actions_once(app_home, con):
    # as a store seeded by the previous code: no Alertes page nor follow-up actions, no grant recorded
    with store.transaction(con):
        con.execute("DELETE FROM profile_pages WHERE page = 'alertes'")
        con.execute("DELETE FROM profile_actions WHERE action IN ('suivre_alertes', 'fixer_seuils')")
        con.execute("DELETE FROM meta WHERE key = 'granted_alertes'")
    assert not load_principal(con, "demo.encadrement").may_open("alertes")
    store.init_store()
    manager, analyst = load_principal(con, "demo.encadrement"), load_principal(con, "demo.analyste")
    assert manager.may_open("alertes") and manager.can("suivre_alertes") and manager.can("fixer_seuils")
    assert analyst.may_open("alertes") and analyst.can("suivre_alertes") and not analyst.can("fixer_seuils")
    # once: the City may then withdraw it, a later start does not grant it again
    with store.transaction(con):
        con.execute("DELETE FROM profile_pages WHERE page = 'alertes' AND profile = 'analyste'")
    store.init_store()
    assert not load_principal(con, "demo.analyste").may_open("alertes")
