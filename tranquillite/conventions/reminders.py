"""Reminders of the conventions' deadlines (C8, C9, C2), as rows for the published alerts table.

Pure: `lifecycle_reminders(lifecycles, on)` from the registry's dates, plus the contractors'
(`contractors.due_reminders`) and the change-of-nature gate's (`nature_reminders`). Levels, from
the mildest: `information`, `avertissement`, `urgent`, `depasse`. Windows:

* a term end (tacit renewal) within 90 days → information (within 30: avertissement);
* the maximum duration within 180 days → avertissement (within 60: urgent); past it without
  notice → depasse (the convention is expired: its data are no longer used);
* a notice running → information, with the effective end;
* the destruction deadline: from the end → avertissement; D-5 → urgent; D-1 → urgent « demain »;
  past it → depasse; none once destroyed.
"""

from __future__ import annotations

from datetime import date

from tranquillite.conventions.lifecycle import DESTROYED, EXPIRED, IN_FORCE, NOTICE, NOT_NOTIFIED, Lifecycle, fr

LEVELS = ("information", "avertissement", "urgent", "depasse")
LEVEL_LABELS = {
    "information": "Information",
    "avertissement": "À préparer",
    "urgent": "Urgent",
    "depasse": "Échéance dépassée",
}
AUDIENCE = "gestionnaire_habilitations,auditeur_dpo"
TERM_DAYS, TERM_WARN_DAYS = 90, 30
MAX_DAYS, MAX_URGENT_DAYS = 180, 60


def _r(kind: str, level: str, convention: str, due: date | None, on: date, label: str, subject: str = "") -> dict:
    return {
        "kind": kind,
        "level": level,
        "level_label": LEVEL_LABELS[level],
        "label": label,
        "convention_id": convention,
        "subject": subject or convention,
        "due_on": due,
        "days_left": (due - on).days if due else None,
        "audience": AUDIENCE,
    }


def lifecycle_reminders(lifecycles: dict[str, Lifecycle], on: date) -> list[dict]:
    out: list[dict] = []
    for code, lc in sorted(lifecycles.items()):
        st = lc.state(on)
        if st == NOT_NOTIFIED and lc.notified_on is None:
            out.append(
                _r(
                    "notification_a_saisir",
                    "avertissement",
                    code,
                    None,
                    on,
                    "Date de notification non saisie: le cycle de vie ne peut pas être suivi",
                )
            )
            continue
        if st in (IN_FORCE, NOTICE):
            end = lc.end()
            term = lc.current_term_end(on)
            left = (term - on).days
            if st == IN_FORCE and term < lc.last_possible_end and left <= TERM_DAYS:
                out.append(
                    _r(
                        "echeance_annuelle",
                        "avertissement" if left <= TERM_WARN_DAYS else "information",
                        code,
                        term,
                        on,
                        f"Fin de la période en cours le {fr(term)}: reconduction tacite sauf "
                        f"dénonciation (préavis de {lc.terms.notice_months} mois)",
                    )
                )
            max_left = (lc.last_possible_end - on).days
            if st == IN_FORCE and max_left <= MAX_DAYS:
                out.append(
                    _r(
                        "duree_maximale",
                        "urgent" if max_left <= MAX_URGENT_DAYS else "avertissement",
                        code,
                        lc.last_possible_end,
                        on,
                        f"Durée maximale de {lc.terms.max_total_years} ans atteinte le {fr(lc.last_possible_end)}: "
                        "une nouvelle convention est nécessaire pour continuer",
                    )
                )
            if st == NOTICE:
                out.append(
                    _r(
                        "preavis_en_cours",
                        "information",
                        code,
                        end,
                        on,
                        f"Dénoncée le {fr(lc.notice_on)}: fin effective le {fr(end)}, puis destruction des "
                        f"données sous {lc.terms.destruction_days} jours",
                    )
                )
            continue
        if st == DESTROYED:
            continue
        deadline = lc.destruction_deadline
        left = (deadline - on).days
        cause = "Durée maximale dépassée" if st == EXPIRED else "Convention résiliée"
        if st == EXPIRED:
            out.append(
                _r(
                    "duree_maximale",
                    "depasse",
                    code,
                    lc.last_possible_end,
                    on,
                    f"Durée maximale dépassée depuis le {fr(lc.last_possible_end)}: données plus utilisées",
                )
            )
        if left < 0:
            level, when = "depasse", f"en retard de {-left} jour(s)"
        elif left <= 1:
            level, when = "urgent", "aujourd'hui" if left == 0 else "demain (J-1)"
        elif left <= 5:
            level, when = "urgent", f"dans {left} jours (J-5)"
        else:
            level, when = "avertissement", f"dans {left} jours"
        out.append(
            _r(
                "destruction",
                level,
                code,
                deadline,
                on,
                f"{cause} le {fr(lc.end())}: destruction des données au plus tard le {fr(deadline)} — {when}",
            )
        )
    return out


def nature_reminders(statuses: dict[str, dict]) -> list[dict]:
    """One urgent reminder per source whose contracts changed without the DPO's acknowledgement."""
    out = []
    for source, st in sorted(statuses.items()):
        if not st["ok"]:
            out.append(
                {
                    **_r(
                        "changement_nature",
                        "urgent",
                        st.get("convention") or "",
                        None,
                        date.today(),
                        f"Contrats de la source « {source} » modifiés: ingestion bloquée jusqu'à l'information "
                        f"des DPO et l'étude d'impact ({'; '.join(st['changes'][:3])})",
                        source,
                    )
                }
            )
    return out


def contractor_rows(items: list[dict]) -> list[dict]:
    return [
        {
            **_r(i["kind"], i["level"], "", i["due_on"], date.today(), i["label"], i["subject"]),
            "days_left": i["days_left"],
        }
        for i in items
    ]


def all_reminders(con, on: date | None = None) -> list[dict]:
    """Every reminder now, from the store (registry, hand-overs, fingerprints)."""
    from tranquillite.conventions import contractors, nature, registry

    on = on or date.today()
    rows = lifecycle_reminders(registry.lifecycles(con), on)
    rows += contractor_rows(contractors.due_reminders(con, on))
    rows += nature_reminders({s: nature.status(con, s) for s in nature.fingerprinted_sources()})
    order = {lv: i for i, lv in enumerate(reversed(LEVELS))}
    return sorted(rows, key=lambda r: (order[r["level"]], r["due_on"] or date.max, r["kind"]))
