"""The registry of conventions in the app store: lifecycle dates, changes, effects of the end.

The YAML (`data_contracts/conventions.yaml`) seeds the registry once (a convention with a
`start_date`, i.e. under a lifecycle; `internal` has none and is always in force). From then on
the store is the source of truth, administered in the app (page *Conventions*) or on the command
line; every change is written to `convention_history` and to the access log.

Readers that must not create the store (the pipeline's guard on a fresh home) get the YAML's
lifecycle through `lifecycles()` when `platform.sqlite` does not exist yet.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

from tranquillite.contracts import load_conventions
from tranquillite.conventions.lifecycle import PARTIES, Lifecycle, LifecycleError, Terms, fr

SYSTEM = "plateforme"


def _store():
    from tranquillite.app_core import store

    return store


def managed(conventions: dict[str, dict] | None = None) -> dict[str, dict]:
    """Conventions under a lifecycle (those with a `start_date` key)."""
    conventions = conventions if conventions is not None else load_conventions()
    return {k: v for k, v in conventions.items() if "start_date" in v}


def _d(v: Any) -> date | None:
    if v is None or v == "":
        return None
    return v if isinstance(v, date) else date.fromisoformat(str(v))


def seed(con: sqlite3.Connection) -> None:
    """Insert the conventions of the YAML that the registry does not hold yet (never overwrites)."""
    store = _store()
    now = store.iso(store.now_utc())
    for code, c in managed().items():
        t = Terms.from_yaml(c)
        cur = con.execute(
            "INSERT OR IGNORE INTO convention_registry (convention, title, initial_term_months, renewal, "
            "max_total_years, notice_months, destruction_days, notified_on, updated_at, updated_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                code,
                c.get("title", code),
                t.initial_term_months,
                t.renewal,
                t.max_total_years,
                t.notice_months,
                t.destruction_days,
                _d(c.get("start_date")).isoformat() if c.get("start_date") else None,
                now,
                SYSTEM,
            ),
        )
        if cur.rowcount:
            con.execute(
                "INSERT INTO convention_history (at, convention, login, change, detail) VALUES (?, ?, ?, ?, ?)",
                (now, code, SYSTEM, "amorcage", json.dumps({"notified_on": str(c.get("start_date"))})),
            )
    from tranquillite.conventions import nature

    nature.seed(con)


def _lifecycle(row: sqlite3.Row | dict) -> Lifecycle:
    t = Terms(
        initial_term_months=row["initial_term_months"],
        renewal=row["renewal"],
        max_total_years=row["max_total_years"],
        notice_months=row["notice_months"],
        destruction_days=row["destruction_days"],
    )
    return Lifecycle(
        row["convention"], t, _d(row["notified_on"]), _d(row["notice_on"]), row["notice_by"], _d(row["destroyed_on"])
    )


def lifecycles_from_yaml() -> dict[str, Lifecycle]:
    return {code: Lifecycle(code, Terms.from_yaml(c), _d(c.get("start_date"))) for code, c in managed().items()}


def rows(con: sqlite3.Connection) -> list[dict]:
    return [dict(r) for r in con.execute("SELECT * FROM convention_registry ORDER BY convention")]


def lifecycles(con: sqlite3.Connection | None = None) -> dict[str, Lifecycle]:
    """Every managed convention's lifecycle: from the store (or the YAML when there is no store)."""
    if con is None:
        store = _store()
        if not store.exists():
            return lifecycles_from_yaml()
        with store.connect() as c:
            return lifecycles(c)
    if not con.has_table("convention_registry"):
        return lifecycles_from_yaml()
    out = {r["convention"]: _lifecycle(r) for r in con.execute("SELECT * FROM convention_registry")}
    return out or lifecycles_from_yaml()


def get(con: sqlite3.Connection, convention: str) -> dict:
    r = con.execute("SELECT * FROM convention_registry WHERE convention = ?", (convention,)).fetchone()
    if r is None:
        raise LookupError(f"convention inconnue du registre: {convention}")
    return dict(r)


def history(con: sqlite3.Connection, convention: str | None = None) -> list[dict]:
    sql = "SELECT * FROM convention_history" + (" WHERE convention = ?" if convention else "") + " ORDER BY id DESC"
    return [dict(r) for r in con.execute(sql, (convention,) if convention else ())]


def _change(
    con: sqlite3.Connection,
    convention: str,
    login: str,
    profile: str,
    change: str,
    sets: dict[str, Any],
    detail: dict[str, Any],
) -> None:
    """Update the registry row, append the history and the access log (one logical change)."""
    store = _store()
    now = store.iso(store.now_utc())
    cols = ", ".join(f"{k} = ?" for k in sets)  # keys from this module's fixed lists
    with store.transaction(con):
        con.execute(
            f"UPDATE convention_registry SET {cols}, updated_at = ?, updated_by = ? WHERE convention = ?",
            (*sets.values(), now, login, convention),
        )
        con.execute(
            "INSERT INTO convention_history (at, convention, login, change, detail) VALUES (?, ?, ?, ?, ?)",
            (now, convention, login, change, json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)),
        )
    store.log_access(
        con,
        login=login if login != SYSTEM else None,
        profile=profile,
        page="conventions",
        action=f"convention_{change}",
        detail=json.dumps({"convention": convention, **detail}, ensure_ascii=False, sort_keys=True, default=str),
    )


def set_notified(con: sqlite3.Connection, convention: str, notified_on: date, *, login: str, profile: str) -> Lifecycle:
    """Record the date of notification (the start of the first year)."""
    row = get(con, convention)
    if row["notice_on"]:
        raise LifecycleError("la convention est dénoncée: sa date de notification ne change plus")
    _change(
        con,
        convention,
        login,
        profile,
        "notification",
        {"notified_on": notified_on.isoformat()},
        {"avant": row["notified_on"], "apres": notified_on.isoformat()},
    )
    return _lifecycle(get(con, convention))


def give_notice(
    con: sqlite3.Connection,
    convention: str,
    notice_on: date,
    by: str,
    *,
    login: str,
    profile: str,
    reference: str | None = None,
) -> Lifecycle:
    """Record a notice (LRAR received on `notice_on`) by `by`; returns the new lifecycle."""
    if by not in PARTIES:
        raise LifecycleError(f"partie inconnue: {by!r}")
    lc = _lifecycle(get(con, convention)).with_notice(notice_on, by)
    _change(
        con,
        convention,
        login,
        profile,
        "denonciation",
        {"notice_on": notice_on.isoformat(), "notice_by": by, "notice_reference": reference},
        {
            "notice_on": notice_on.isoformat(),
            "par": by,
            "reference": reference,
            "fin_effective": lc.effective_end.isoformat(),
            "destruction_avant": lc.destruction_deadline.isoformat(),
        },
    )
    return lc


def order_destruction(
    con: sqlite3.Connection, convention: str, *, login: str, profile: str, today: date | None = None
) -> None:
    """The City's order to destroy (after the end): who ordered it goes to the attestation."""
    today = today or date.today()
    lc = _lifecycle(get(con, convention))
    if not lc.ended(today):
        raise LifecycleError(f"la convention est encore en vigueur (fin le {fr(lc.end())}): destruction refusée")
    _change(
        con,
        convention,
        login,
        profile,
        "destruction_ordonnee",
        {"destruction_ordered_by": login, "destruction_ordered_at": _store().iso(_store().now_utc())},
        {},
    )


def confirm_outside(con: sqlite3.Connection, convention: str, element: int, *, login: str, profile: str) -> None:
    """Who confirmed that a copy outside the platform (`outside_platform[element]`) was destroyed."""
    items = load_conventions()[convention].get("outside_platform") or []
    if not 0 <= element < len(items):
        raise LookupError(f"élément hors plateforme inconnu: {element} (0 à {len(items) - 1})")
    _change(
        con,
        convention,
        login,
        profile,
        "confirmation_hors_plateforme",
        {},
        {"element": element, "quoi": items[element]["what"]},
    )


def mark_effects_applied(con: sqlite3.Connection, convention: str, detail: dict) -> None:
    _change(
        con,
        convention,
        SYSTEM,
        "public",
        "fin_appliquee",
        {"effects_applied_at": _store().iso(_store().now_utc())},
        detail,
    )


def mark_destroyed(con: sqlite3.Connection, convention: str, on: date, attestation: str, *, login: str) -> None:
    _change(
        con,
        convention,
        login,
        "public",
        "detruite",
        {"destroyed_on": on.isoformat(), "attestation": attestation},
        {"attestation": Path(attestation).name},
    )
