"""Alerts followed up (issue 15): the life of an alert, the managers' thresholds, the inbox and its badge.

* An alert is a row of `indicators.alerts` (the pipeline's, stable `alert_id`) or a **threshold
  alert** (`seuil_indicateur`): a manager (action `fixer_seuils`) sets a threshold per indicator
  of `data_contracts/indicators.yaml` and zone (an arrondissement code or `ville`, the whole
  city); when the published value of the latest period (`indicators.values`, read through the
  scoped gateway) exceeds it, it is an alert whose id is stable from (indicator, zone, period).
* Its life, by the profiles that plan (action `suivre_alertes`): nouvelle → prise_en_compte →
  assignee (to a person who may see it and follow alerts) → close (with the action taken);
  comments at any step. Each step is one row of the append-only `alert_events` (who, when,
  before/after) AND one line of the access log (page `alertes`), as the other admin actions.
* Rights: every read goes through `queries.scoped_query` with the principal's scope — a person
  only sees, follows or is assigned the alerts of data their scope allows; a step on an alert
  outside it is refused as if it did not exist. Refusals are French `RightsError`s, logged too.
* Badge: the count of the principal's visible alerts neither read (`alert_reads`) nor closed —
  the visible ids come from the cached inbox read; the count is one indexed store query.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import polars as pl

from tranquillite.app_core import queries, store
from tranquillite.app_core import tension as T
from tranquillite.app_core.duties import RightsError
from tranquillite.app_core.rights import ACTIONS, Principal, Scope, load_principal

PAGE = "alertes"
FOLLOW, THRESHOLDS = "suivre_alertes", "fixer_seuils"
CITY = "ville"
THRESHOLD_KIND = "seuil_indicateur"
THRESHOLD_LABEL = "Seuil d'indicateur dépassé"
VALUES = "indicators.values"
STATE_LABELS = {"nouvelle": "Nouvelle", "prise_en_compte": "Prise en compte", "assignee": "Assignée", "close": "Close"}
WHAT_LABELS = {
    "prise_en_compte": "Prise en compte",
    "assignation": "Assignation",
    "commentaire": "Commentaire",
    "cloture": "Clôture",
}
PERIOD_PREFERENCE = ("mois", "semaine", "jour")
COLUMNS = (
    "alert_id",
    "kind",
    "kind_label",
    "severity",
    "area_level",
    "area",
    "h3_cell",
    "arrondissement",
    "starts_at",
    "ends_at",
    "explanation",
    "n_records",
)


def threshold_alert_id(indicator_id: str, zone: str, period: str) -> str:
    return hashlib.sha256(f"{THRESHOLD_KIND}|{indicator_id}|{zone}|{period}".encode()).hexdigest()[:16]


def _require(actor: Principal, action: str, con=None, alert_id: str | None = None) -> None:
    if not actor.can(action):
        if con is not None:
            _audit(con, actor, "action_refusee", {"alerte": alert_id, "demande": action})
        raise RightsError(f"Action « {ACTIONS.get(action, action)} » non autorisée pour votre profil.")


def _audit(con, actor: Principal, action: str, detail: dict[str, Any]) -> None:
    store.log_access(
        con,
        login=actor.login,
        profile=actor.profile,
        page=PAGE,
        action=action,
        detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
    )


# --------------------------------------------------------------------------- thresholds
def thresholds(con) -> list[dict]:
    return [
        dict(r)
        for r in con.execute(
            "SELECT indicator_id, zone, threshold, set_by, set_at FROM alert_thresholds ORDER BY indicator_id, zone"
        )
    ]


def set_threshold(con, actor: Principal, indicator_id: str, zone: str, threshold: float | None) -> None:
    """Set (or, with None, remove) the threshold of an indicator in a zone; logged with before/after."""
    from tranquillite.indicators.config import load_catalogue

    _require(actor, THRESHOLDS, con)
    ids = {i.id for i in load_catalogue().indicators}
    if indicator_id not in ids:
        raise RightsError(f"Indicateur inconnu du catalogue: {indicator_id}.")
    if zone != CITY and not (zone.isdigit() and len(zone) == 5):
        raise RightsError("Zone attendue: un arrondissement (code INSEE) ou « toute la ville ».")
    if threshold is not None and threshold < 0:
        raise RightsError("Le seuil doit être positif ou nul.")
    with store.transaction(con):
        old = con.execute(
            "SELECT threshold FROM alert_thresholds WHERE indicator_id = ? AND zone = ?", (indicator_id, zone)
        ).fetchone()
        if threshold is None:
            con.execute("DELETE FROM alert_thresholds WHERE indicator_id = ? AND zone = ?", (indicator_id, zone))
        else:
            con.execute(
                "INSERT INTO alert_thresholds VALUES (?, ?, ?, ?, ?) ON CONFLICT (indicator_id, zone) "
                "DO UPDATE SET threshold = excluded.threshold, set_by = excluded.set_by, "
                "set_at = excluded.set_at",
                (indicator_id, zone, float(threshold), actor.login, store.iso(store.now_utc())),
            )
    _audit(
        con,
        actor,
        "seuil_alerte",
        {"indicateur": indicator_id, "zone": zone, "avant": old[0] if old else None, "apres": threshold},
    )


def threshold_alerts(cat: queries.Catalog, scope: Scope, rules: list[dict]) -> pl.DataFrame:
    """The thresholds crossed by the latest published period, in the scope (one scoped read per indicator)."""
    from tranquillite.app_core.indicateurs import _dimension

    from tranquillite.app_core import formats as F
    from tranquillite.indicators.config import load_catalogue

    labels = {i.id: i.name for i in load_catalogue().indicators}
    out = []
    by_indicator: dict[str, list[dict]] = {}
    for r in rules:
        by_indicator.setdefault(r["indicator_id"], []).append(r)
    for ind, rs in by_indicator.items():
        if scope.indicators is not None and ind not in scope.indicators:
            continue
        try:
            dim_where, dim_params, _ = _dimension(cat, scope, ind)
            rows = queries.scoped_query(
                cat,
                scope,
                VALUES,
                select="area_level, area, period_level, period, period_start, period_end, value, n",
                where=f"indicator_id = ? AND complete AND {dim_where} AND area_level IN ('ville', 'arrondissement')",
                params=[ind, *dim_params],
                level="aggregate",
            )
        except (queries.Forbidden, queries.NotAvailable):
            continue
        if rows.height == 0:
            continue
        level = next((p for p in PERIOD_PREFERENCE if p in set(rows.get_column("period_level").to_list())), None)
        rows = rows.filter(pl.col("period_level") == level)
        latest = rows.filter(pl.col("period_start") == pl.col("period_start").max())
        for r in rs:
            zone_rows = (
                latest.filter(pl.col("area_level") == CITY)
                if r["zone"] == CITY
                else latest.filter((pl.col("area_level") == "arrondissement") & (pl.col("area") == r["zone"]))
            )
            for v in zone_rows.filter(pl.col("value") > r["threshold"]).iter_rows(named=True):
                out.append(
                    {
                        "alert_id": threshold_alert_id(ind, r["zone"], v["period"]),
                        "kind": THRESHOLD_KIND,
                        "kind_label": THRESHOLD_LABEL,
                        "severity": "moyenne",
                        "area_level": "ville" if r["zone"] == CITY else "arrondissement",
                        "area": r["zone"],
                        "arrondissement": None if r["zone"] == CITY else r["zone"],
                        "starts_at": v["period_start"],
                        "ends_at": v["period_end"],
                        "explanation": f"{labels.get(ind, ind)}: {F.compact(v['value'])} sur la période {v['period']}, "
                        f"au-dessus du seuil de {F.compact(r['threshold'])}",
                        "n_records": v["n"],
                        "indicator_id": ind,
                        "value": v["value"],
                        "threshold": r["threshold"],
                    }
                )
    return pl.DataFrame(out, infer_schema_length=None) if out else pl.DataFrame()


# --------------------------------------------------------------------------- the inbox
def _as_rows(df: pl.DataFrame) -> list[dict]:
    if df.height == 0:
        return []
    keep = [c for c in COLUMNS if c in df.columns]
    return [
        {k: r.get(k) for k in COLUMNS} | {"source": "seuil" if r.get("kind") == THRESHOLD_KIND else "pipeline"}
        for r in df.select(keep).iter_rows(named=True)
    ]


def rules_key(con) -> tuple:
    """The thresholds as a hashable value (a cache key of the badge's read)."""
    return tuple((r["indicator_id"], r["zone"], r["threshold"], r["set_by"]) for r in thresholds(con))


def alert_rows(cat: queries.Catalog, scope: Scope, rules: list[dict] | tuple) -> list[dict]:
    """Every alert the scope allows, without follow-up: the pipeline's and the thresholds crossed."""
    rules = [
        dict(zip(("indicator_id", "zone", "threshold", "set_by"), r)) if isinstance(r, tuple) else r for r in rules
    ]
    rows: list[dict] = []
    try:
        rows += _as_rows(T.alerts(cat, scope, limit=500))
    except (queries.Forbidden, queries.NotAvailable):
        pass
    return rows + _as_rows(threshold_alerts(cat, scope, rules))


def visible_alerts(cat: queries.Catalog, scope: Scope, con) -> list[dict]:
    """Every alert the scope allows, with its follow-up (state, assignee, action taken)."""
    rows = alert_rows(cat, scope, thresholds(con))
    if not rows:
        return []
    states = followups(con, [r["alert_id"] for r in rows])
    for r in rows:
        f = states.get(r["alert_id"], {})
        r["state"] = f.get("state", "nouvelle")
        r["assignee"] = f.get("assignee")
        r["action_taken"] = f.get("action_taken")
    return rows


def followups(con, ids: list[str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = ", ".join("?" * len(chunk))
        for r in con.execute(
            f"SELECT alert_id, state, assignee, action_taken, updated_by, updated_at FROM "
            f"alert_followups WHERE alert_id IN ({marks})",
            chunk,
        ):
            out[r["alert_id"]] = dict(r)
    return out


def history(con, alert_id: str) -> list[dict]:
    return [
        dict(r)
        for r in con.execute(
            "SELECT at, login, what, comment, state_before, state_after, detail FROM alert_events "
            "WHERE alert_id = ? ORDER BY id",
            (alert_id,),
        )
    ]


def unread_count(con, login: str, visible_ids: list[str]) -> int:
    """The badge: visible alerts that this person has not opened and that are not closed."""
    if not visible_ids:
        return 0
    seen: set[str] = set()
    for i in range(0, len(visible_ids), 500):
        chunk = visible_ids[i : i + 500]
        marks = ", ".join("?" * len(chunk))
        seen |= {
            r[0]
            for r in con.execute(
                f"SELECT alert_id FROM alert_reads WHERE login = ? AND alert_id IN ({marks}) UNION "
                f"SELECT alert_id FROM alert_followups WHERE state = 'close' AND alert_id IN ({marks})",
                [login, *chunk, *chunk],
            )
        }
    return len(set(visible_ids) - seen)


def mark_read(con, login: str, alert_id: str) -> None:
    with store.transaction(con):
        con.execute(
            "INSERT INTO alert_reads VALUES (?, ?, ?) ON CONFLICT (login, alert_id) DO NOTHING",
            (login, alert_id, store.iso(store.now_utc())),
        )


# --------------------------------------------------------------------------- the life of an alert
@dataclass(frozen=True)
class Step:
    what: str
    state_after: str | None  # None: the state does not change (a comment)
    allowed_from: tuple[str, ...]


STEPS = {
    "prise_en_compte": Step("prise_en_compte", "prise_en_compte", ("nouvelle",)),
    "assignation": Step("assignation", "assignee", ("nouvelle", "prise_en_compte", "assignee")),
    "commentaire": Step("commentaire", None, ("nouvelle", "prise_en_compte", "assignee", "close")),
    "cloture": Step("cloture", "close", ("nouvelle", "prise_en_compte", "assignee")),
}


def _visible(cat: queries.Catalog, scope: Scope, con, alert_id: str) -> dict | None:
    return next((r for r in visible_alerts(cat, scope, con) if r["alert_id"] == alert_id), None)


def _step(
    cat,
    con,
    actor: Principal,
    alert_id: str,
    what: str,
    *,
    comment: str | None = None,
    assignee: str | None = None,
    action_taken: str | None = None,
) -> dict:
    _require(actor, FOLLOW, con, alert_id)
    alert = _visible(cat, actor.scope, con, alert_id)
    if alert is None:
        _audit(con, actor, "action_refusee", {"alerte": alert_id, "demande": what, "motif": "hors périmètre"})
        raise RightsError("Alerte introuvable dans votre périmètre.")
    step = STEPS[what]
    before = alert["state"]
    if before not in step.allowed_from:
        raise RightsError(f"Impossible: l'alerte est « {STATE_LABELS[before]} ».")
    after = step.state_after or before
    now = store.iso(store.now_utc())
    new_assignee = assignee if what == "assignation" else alert["assignee"]
    taken = action_taken if what == "cloture" else alert["action_taken"]
    with store.transaction(con):
        con.execute(
            "INSERT INTO alert_followups VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (alert_id) DO UPDATE SET "
            "state = excluded.state, assignee = excluded.assignee, action_taken = excluded.action_taken, "
            "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            (alert_id, after, new_assignee, taken, actor.login, now),
        )
        detail = (
            {"assignee_avant": alert["assignee"], "assignee_apres": new_assignee}
            if what == "assignation"
            else ({"action": taken} if what == "cloture" else {})
        )
        con.execute(
            "INSERT INTO alert_events (alert_id, at, login, what, comment, state_before, state_after, "
            "detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                alert_id,
                now,
                actor.login,
                what,
                comment or action_taken,
                before,
                after,
                json.dumps(detail, ensure_ascii=False, sort_keys=True),
            ),
        )
    _audit(con, actor, f"alerte_{what}", {"alerte": alert_id, "avant": before, "apres": after, **detail})
    return {**alert, "state": after, "assignee": new_assignee, "action_taken": taken}


def acknowledge(cat, con, actor: Principal, alert_id: str, comment: str | None = None) -> dict:
    return _step(cat, con, actor, alert_id, "prise_en_compte", comment=comment)


def add_comment(cat, con, actor: Principal, alert_id: str, comment: str) -> dict:
    if not (comment or "").strip():
        raise RightsError("Le commentaire est vide.")
    return _step(cat, con, actor, alert_id, "commentaire", comment=comment.strip())


def close(cat, con, actor: Principal, alert_id: str, action_taken: str) -> dict:
    if not (action_taken or "").strip():
        raise RightsError("Indiquer l'action menée pour clôturer l'alerte.")
    return _step(cat, con, actor, alert_id, "cloture", action_taken=action_taken.strip())


def assign(cat, con, actor: Principal, alert_id: str, assignee: str, comment: str | None = None) -> dict:
    """Assign to a person who follows alerts and whose own scope shows this alert."""
    _require(actor, FOLLOW, con, alert_id)
    person = load_principal(con, assignee)
    if person is None or not person.can(FOLLOW) or _visible(cat, person.scope, con, alert_id) is None:
        _audit(
            con,
            actor,
            "action_refusee",
            {
                "alerte": alert_id,
                "demande": "assignation",
                "pour": assignee,
                "motif": "personne sans accès à cette alerte",
            },
        )
        raise RightsError(f"{assignee} ne peut pas suivre cette alerte (droits ou périmètre).")
    return _step(cat, con, actor, alert_id, "assignation", assignee=assignee, comment=comment)


def followers(con) -> list[str]:
    """The active persons who follow alerts (the assignment form's choices: read from the store only;
    whether the chosen one's scope shows the alert is checked by `assign`, at the assignment)."""
    out = []
    for (login,) in con.execute("SELECT login FROM users WHERE active = 1 ORDER BY login"):
        p = load_principal(con, login)
        if p is not None and p.can(FOLLOW):
            out.append(login)
    return out


def assignable(cat, con, alert_id: str) -> list[str]:
    """The followers whose own scope shows this alert (reads with each one's scope: a rights check, not
    for a page)."""
    return [
        login for login in followers(con) if _visible(cat, load_principal(con, login).scope, con, alert_id) is not None
    ]


__all__ = [
    "acknowledge",
    "assign",
    "add_comment",
    "close",
    "set_threshold",
    "thresholds",
    "threshold_alerts",
    "visible_alerts",
    "history",
    "unread_count",
    "mark_read",
    "assignable",
    "followers",
    "threshold_alert_id",
    "STATE_LABELS",
    "WHAT_LABELS",
    "CITY",
]
