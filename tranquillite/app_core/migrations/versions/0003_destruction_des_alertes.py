"""Destruction and the alerts' append-only tables; the lists of sources dropped.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

* The purge exemption of the access log and the Cortège registry (`convention_purge_open`, a row
  per table only while a destruction runs, `conventions/destruction.py`) now covers the alerts'
  append-only tables of revision 0002:
  - `alert_events`: under the exemption a line may be redacted — its `comment` and `detail` only;
    who, when, what, the alert and the states never change, and no line is ever deleted;
  - `alert_notifications`: under the exemption the record of an e-mail of an alert drawn from the
    destroyed convention's data may be deleted (never updated).
  Outside a destruction both tables stay append-only, as before (same trigger names: `audit.verify`).
* `profile_sources` and `organisation_sources` are dropped: no longer read nor written since the
  rights follow the conventions (issue 16, `app_core/rights.py`).
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_EV = "historique des alertes en ajout seul"
_NOTIF = "envois des alertes en ajout seul"
# the columns of an alert event that a destruction may not change
KEPT = ("id", "alert_id", "at", "login", "what", "state_before", "state_after")
DROPPED = ("profile_sources", "organisation_sources")


def _purge(table: str) -> str:
    return f"SELECT 1 FROM convention_purge_open WHERE table_name = '{table}'"


SQLITE = [
    "DROP TRIGGER IF EXISTS alert_events_no_update",
    "CREATE TRIGGER alert_events_no_update BEFORE UPDATE ON alert_events "
    f"WHEN NOT EXISTS ({_purge('alert_events')}) OR "
    + " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in KEPT)
    + f" BEGIN SELECT RAISE(ABORT, '{_EV}'); END",
    "DROP TRIGGER IF EXISTS alert_notifications_no_delete",
    "CREATE TRIGGER alert_notifications_no_delete BEFORE DELETE ON alert_notifications "
    f"WHEN NOT EXISTS ({_purge('alert_notifications')}) BEGIN SELECT RAISE(ABORT, '{_NOTIF}'); END",
]

PG_FUNCTIONS = [
    r"""CREATE FUNCTION tq_alert_events_no_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS ("""
    + _purge("alert_events")
    + ") OR "
    + " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in KEPT)
    + f""" THEN
        RAISE EXCEPTION USING MESSAGE = '{_EV}', ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$""",
    r"""CREATE FUNCTION tq_alert_notifications_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS ("""
    + _purge("alert_notifications")
    + f""") THEN
        RAISE EXCEPTION USING MESSAGE = '{_NOTIF}', ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN OLD;
END $$""",
]
PG_TRIGGERS = [
    ("alert_events_no_update", "alert_events", "BEFORE UPDATE", "tq_alert_events_no_update()"),
    ("alert_notifications_no_delete", "alert_notifications", "BEFORE DELETE", "tq_alert_notifications_no_delete()"),
]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for stmt in SQLITE:
            bind.exec_driver_sql(stmt)
    else:
        for fn in PG_FUNCTIONS:
            bind.exec_driver_sql(fn)
        for name, table, when, call in PG_TRIGGERS:
            bind.exec_driver_sql(f"DROP TRIGGER {name} ON {table}")
            bind.exec_driver_sql(f"CREATE TRIGGER {name} {when} ON {table} FOR EACH ROW EXECUTE FUNCTION {call}")
    for table in DROPPED:
        bind.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")


def downgrade() -> None:
    raise NotImplementedError("le magasin ne redescend pas de version: restaurer une sauvegarde")
