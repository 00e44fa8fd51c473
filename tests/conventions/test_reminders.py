"""Each reminder of the conventions, at the dates that trigger it, and the sensors' decisions."""

from __future__ import annotations

import json
from datetime import date, timedelta

import dagster as dg

from tranquillite.conventions.lifecycle import Lifecycle, Terms
from tranquillite.conventions.reminders import lifecycle_reminders
from tranquillite.sensors.conventions import ALERTS_JOB, RECOMPUTE_JOB, due_destructions, evaluate

START = date(2024, 12, 2)


def kinds(lc: Lifecycle, on: date) -> dict[str, str]:
    return {r["kind"]: r["level"] for r in lifecycle_reminders({"p": lc}, on)}


def lc(**kw) -> Lifecycle:
    return Lifecycle("p", Terms(), START, **kw)


def test_term_end_approaching_then_renewed():
    assert kinds(lc(), date(2025, 8, 1)) == {}  # 123 days before
    assert kinds(lc(), date(2025, 9, 10)) == {"echeance_annuelle": "information"}  # 83 days
    assert kinds(lc(), date(2025, 11, 10)) == {"echeance_annuelle": "avertissement"}  # 22 days
    assert kinds(lc(), date(2025, 12, 3)) == {}  # renewed tacitly


def test_maximum_duration_approaching_then_expired():
    assert kinds(lc(), date(2028, 7, 1))["duree_maximale"] == "avertissement"  # 154 days
    assert kinds(lc(), date(2028, 11, 1))["duree_maximale"] == "urgent"  # 31 days
    assert "echeance_annuelle" not in kinds(lc(), date(2028, 11, 1))  # no renewal after the last year
    k = kinds(lc(), date(2028, 12, 5))
    assert k == {"duree_maximale": "depasse", "destruction": "avertissement"}  # deadline 17/12: 12 days left


def test_notice_running_shows_the_effective_end():
    c = lc().with_notice(date(2026, 3, 10), "ville")
    rows = lifecycle_reminders({"p": c}, date(2026, 4, 1))
    assert [(r["kind"], r["level"], r["due_on"]) for r in rows] == [
        ("preavis_en_cours", "information", date(2026, 5, 10))
    ]


def test_destruction_deadline_at_d5_d1_and_overdue():
    c = lc().with_notice(date(2026, 3, 10), "ville")  # end 10/05, deadline 25/05
    assert c.destruction_deadline == date(2026, 5, 25)
    levels = {d: kinds(c, c.destruction_deadline - timedelta(days=d)).get("destruction") for d in (10, 5, 1, 0, -1)}
    assert levels == {10: "avertissement", 5: "urgent", 1: "urgent", 0: "urgent", -1: "depasse"}
    labels = {
        d: lifecycle_reminders({"p": c}, c.destruction_deadline - timedelta(days=d))[0]["label"] for d in (5, 1, -3)
    }
    assert "J-5" in labels[5] and "J-1" in labels[1] and "en retard de 3 jour(s)" in labels[-3]
    done = Lifecycle("p", Terms(), START, c.notice_on, "ville", destroyed_on=date(2026, 5, 20))
    assert kinds(done, date(2026, 5, 30)) == {}


def test_missing_notification_date_is_flagged():
    assert kinds(Lifecycle("p", Terms()), date(2025, 1, 1)) == {"notification_a_saisir": "avertissement"}


def test_conventions_sensor_requests_alerts_on_change_and_recompute_once_on_end():
    rows = lifecycle_reminders({"p": lc().with_notice(date(2026, 3, 10), "ville")}, date(2026, 4, 1))
    req, cur = evaluate({}, rows, set(), ["2025-01-01", "2025-12-31"], date(2026, 4, 1))
    assert [r.job_name for r in req] == [ALERTS_JOB]
    req2, cur2 = evaluate(cur, rows, set(), ["2025-01-01", "2025-12-31"], date(2026, 4, 1))
    assert req2 == []  # nothing changed: nothing asked
    req3, cur3 = evaluate(cur2, rows, {"p"}, ["2025-01-01", "2025-12-31"], date(2026, 5, 11))
    assert [r.job_name for r in req3] == [RECOMPUTE_JOB]
    assert req3[0].tags["dagster/asset_partition_range_start"] == "2025-01-01"
    req4, _ = evaluate(cur3, rows, {"p"}, ["2025-01-01", "2025-12-31"], date(2026, 5, 12))
    assert req4 == []  # recomputed once per ended convention


def test_destruction_due_sensor_fires_the_day_before_the_deadline_when_ordered():
    c = lc().with_notice(date(2026, 3, 10), "ville")
    ordered = {"p": {"destruction_ordered_by": "dga", "destroyed_on": None}}
    assert due_destructions({"p": c}, ordered, date(2026, 5, 23)) == []
    assert due_destructions({"p": c}, ordered, date(2026, 5, 24)) == ["p"]
    assert due_destructions({"p": c}, {"p": {}}, date(2026, 5, 24)) == []  # not ordered
    assert due_destructions({"p": c}, {"p": {**ordered["p"], "destroyed_on": "2026-05-20"}}, date(2026, 5, 24)) == []


def test_conventions_sensor_runs_on_a_real_home(home):
    from tranquillite.app_core import store
    from tranquillite.conventions import registry
    from tranquillite.sensors.conventions import conventions_sensor

    store.init_store()
    with store.connect() as con:
        registry.give_notice(
            con, "prefecture_police_13", date.today() - timedelta(days=3), "partenaire", login="t", profile="console"
        )
    ctx = dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral())
    res = conventions_sensor(ctx)
    assert [r.job_name for r in res.run_requests] == [ALERTS_JOB]
    assert json.loads(res.cursor)["ended"] == []


def test_the_alerts_asset_publishes_the_reminders_and_applies_due_end_effects(home):
    import polars as pl

    from tranquillite.app_core import store
    from tranquillite.app_core.rights import load_principal
    from tranquillite.app_core.seed_demo import seed_demo
    from tranquillite.assets.convention_lifecycle import convention_alerts
    from tranquillite.conventions import registry
    from tranquillite.conventions.lifecycle import add_months
    from tranquillite.resources import Warehouse

    seed_demo()
    with store.connect() as con:
        registry.give_notice(
            con,
            "prefecture_police_13",
            add_months(date.today(), -2) - timedelta(days=12),
            "partenaire",
            login="t",
            profile="console",
        )  # ended ~12 days ago: D-3 or so
        left = registry.lifecycles(con)["prefecture_police_13"].days_to_deadline(date.today())
        assert load_principal(con, "demo.prefecture") is not None  # nothing applied yet
    res = dg.materialize([convention_alerts], resources={"warehouse": Warehouse(root=str(home / "warehouse"))})
    assert res.success
    df = pl.read_parquet(home / "warehouse" / "governance" / "convention_alerts" / "data.parquet")
    row = df.filter(pl.col("kind") == "destruction").row(0, named=True)
    assert 1 < left <= 5 and row["level"] == "urgent" and row["days_left"] == left and "J-5" in row["label"]
    with store.connect() as con:
        assert load_principal(con, "demo.prefecture") is None and load_principal(con, "demo.cortege") is None
        assert registry.get(con, "prefecture_police_13")["effects_applied_at"]
