"""Use stops at the end of a convention (C9): the hooks the rest of the platform calls.

Each hook is ONE call from the module it protects, so that the rule lives here:

* `ingestion_refused(source)` — the raw asset of a landing source reads nothing once the
  convention of its contracts has ended (the files stay, unread, until destroyed);
* `in_force_sources(sources)` — the forecasts' planned sources without the ended conventions
  (`StudyArea.spec()`): features and models are recomputed without their data;
* `scope_in_force(con, conventions, sources, organisation)` — the app's scope (`rights._scope`):
  an ended convention's rows reach nobody (the DPO's destruction view reads counts through
  `inventory`, not the gateway), and the accounts of its partner organisation see nothing;
* `refuse_if_closed(con, source, error)` — Cortège refuses entries;
* `apply_end_effects(con, convention)` — at the effective end: the partner's accounts are
  deactivated, the change is logged (idempotent).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date

from tranquillite.contracts import load_contracts, load_conventions
from tranquillite.conventions import registry
from tranquillite.conventions.lifecycle import fr


def ended_conventions(con: sqlite3.Connection | None = None, on: date | None = None) -> set[str]:
    """Conventions whose data may no longer be used on `on` (today by default)."""
    on = on or date.today()
    return {code for code, lc in registry.lifecycles(con).items() if not lc.in_force(on)}


def sources_of(conventions: set[str]) -> set[str]:
    """Landing sources AND contract names carried by these conventions."""
    out: set[str] = set()
    for c in load_contracts().values():
        if c.convention in conventions:
            out |= {c.source, c.name}
    return out


def ingestion_refused(source: str, on: date | None = None) -> bool:
    """True when a landing source's convention has ended: read nothing (files kept until destroyed)."""
    return source in sources_of(ended_conventions(None, on))


def in_force_sources(sources, on: date | None = None) -> list[str]:
    """`sources` (landing sources or contract names) without those of ended conventions."""
    stopped = sources_of(ended_conventions(None, on))
    return [s for s in sources if s not in stopped]


def scope_in_force(
    con: sqlite3.Connection, conventions: set[str], sources: set[str], organisation: str | None
) -> tuple[set[str], set[str]]:
    """A profile's conventions and sources without the ended conventions; nothing at all for an
    account of an ended convention's partner organisation (C9: access stops)."""
    stopped = ended_conventions(con)
    if not stopped:
        return conventions, sources
    orgs = {o for code in stopped for o in (load_conventions().get(code, {}).get("organisations") or [])}
    if organisation in orgs:
        return set(), set()
    return set(conventions) - stopped, set(sources) - sources_of(stopped)


def refuse_if_closed(con: sqlite3.Connection, source: str, error: type[Exception]) -> None:
    """Raise `error` (French message) when the source's convention has ended (Cortège closes)."""
    stopped = ended_conventions(con)
    if source in sources_of(stopped):
        code = next(c for c in stopped if source in sources_of({c}))
        lc = registry.lifecycles(con)[code]
        raise error(
            f"Saisie fermée: la convention « {code} » a pris fin le {fr(lc.end())} (C9). "
            "Aucune nouvelle entrée n'est acceptée."
        )


def apply_end_effects(con: sqlite3.Connection, convention: str, on: date | None = None) -> dict:
    """At (or after) the end: deactivate the partner organisation's accounts; log; idempotent."""
    from tranquillite.app_core import store

    on = on or date.today()
    lc = registry.lifecycles(con)[convention]
    if lc.in_force(on):
        return {}
    orgs = list(load_conventions().get(convention, {}).get("organisations") or [])
    logins = [
        r[0]
        for r in con.execute(
            "SELECT login FROM users WHERE active = 1 AND organisation IN (SELECT value FROM json_each(?))",
            (json.dumps(orgs),),
        )
    ]
    with store.transaction(con):
        con.execute(
            "UPDATE users SET active = 0, updated_at = ? WHERE login IN (SELECT value FROM json_each(?))",
            (store.iso(store.now_utc()), json.dumps(logins)),
        )
    for login in logins:
        store.log_access(
            con,
            login=None,
            profile="public",
            page="conventions",
            action="habilitation_desactivee",
            detail=json.dumps({"login": login, "motif": f"fin de la convention {convention}"}, ensure_ascii=False),
        )
    done = registry.get(con, convention)["effects_applied_at"]
    detail = {"comptes_desactives": len(logins), "fin": lc.end().isoformat()}
    if not done:
        registry.mark_effects_applied(con, convention, detail)
    return detail
