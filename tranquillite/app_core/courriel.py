"""E-mail of new alerts (issue 15), when the City's SMTP server is configured.

Each alert visible in the published catalog is mailed once to each recipient — an active person
with an e-mail address, the action `suivre_alertes`, and a scope that shows it (read through the
scoped gateway with that person's scope: one read per distinct scope) — and the sending is
recorded in the append-only `alert_notifications`, so that it is never mailed twice. Alerts
already followed up (taken into account, assigned, closed) are not mailed. Those reads are in the
access log (`log_reads`): the system actor `systeme.courriels_alertes` reading on behalf of each
recipient — for whom, and the tables and conventions read with that person's scope.

The message says the kind, the severity, the place and the time in words and a link to the app;
never the explanation nor the records (an alert drawn from partner data carries no partner
detail, an e-mail leaves the platform), never personal data. Standard library `smtplib`/`email`.
"""

from __future__ import annotations

import json

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from tranquillite.app_core import alertes as AL
from tranquillite.app_core import queries, reads, store
from tranquillite.app_core import tension as T
from tranquillite.app_core.rights import load_principal


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = None
    starttls: bool = True
    app_url: str = "http://localhost:8501"
    timeout: float = 30.0

    @classmethod
    def from_settings(cls) -> SmtpConfig | None:
        """None when no SMTP host is configured (no e-mail)."""
        from tranquillite.settings import settings

        s = settings()
        if s.smtp_host is None:
            return None
        return cls(
            host=s.smtp_host,
            port=s.smtp_port,
            sender=s.smtp_from,
            user=s.smtp_user,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            starttls=s.smtp_starttls,
            app_url=s.app_url,
        )


def _place(r: dict, names: dict[str, str]) -> str:
    if r["area_level"] == "ville" or r["area"] == AL.CITY:
        return "toute la ville"
    arr = r.get("arrondissement")
    return names.get(arr, f"arrondissement {arr}") if arr else "une zone de la ville"


def _when(v) -> str:
    return v.strftime("%d/%m/%Y à %H h %M") if hasattr(v, "strftime") else str(v or "date inconnue")


def message(r: dict, recipient: str, cfg: SmtpConfig, names: dict[str, str]) -> EmailMessage:
    severity = T.SEVERITY_LABELS.get(r["severity"], "non précisée").lower()
    place = _place(r, names)
    m = EmailMessage()
    m["From"], m["To"] = cfg.sender, recipient
    m["Subject"] = f"Nouvelle alerte — {r['kind_label']} — {place}"
    m["Message-ID"] = make_msgid(domain=cfg.sender.split("@", 1)[1])
    m.set_content(
        "Bonjour,\n\n"
        f"Une nouvelle alerte de votre périmètre est à suivre:\n"
        f"  • type: {r['kind_label']}\n  • gravité: {severity}\n  • lieu: {place}\n"
        f"  • à partir du {_when(r['starts_at'])}\n\n"
        f"Le détail, la prise en compte et l'assignation: {cfg.app_url.rstrip('/')}/alertes\n\n"
        "Ce message ne contient aucun détail des données: il ne reprend ni l'explication de l'alerte ni "
        "ses enregistrements.\n— Plateforme de la tranquillité publique, Ville de Marseille\n"
    )
    return m


def pending(cat: queries.Catalog, con) -> list[tuple[str, dict]]:
    """(recipient e-mail, alert) not mailed yet: new alerts in each follower's scope."""
    rules = AL.thresholds(con)
    by_scope: dict[tuple, list[dict]] = {}
    scope_reads: dict[tuple, list[reads.Read]] = {}
    people = []
    for u in con.execute("SELECT login, email FROM users WHERE active = 1 AND email IS NOT NULL ORDER BY login"):
        p = load_principal(con, u["login"])
        if p is None or not p.can(AL.FOLLOW) or not u["email"]:
            continue
        if p.scope.key not in by_scope:
            with reads.collecting() as got:
                by_scope[p.scope.key] = AL.alert_rows(cat, p.scope, rules)
            scope_reads[p.scope.key] = got.reads
        people.append((u["email"], p.scope.key, p))
    log_reads(con, [(p, by_scope[key], scope_reads[key]) for _, key, p in people])
    people = [(email, key) for email, key, _ in people]
    ids = sorted({r["alert_id"] for rows in by_scope.values() for r in rows})
    followed = AL.followups(con, ids)
    # only the current alerts' notifications: the table grows with every alert ever mailed
    sent = {
        (r[0], r[1])
        for r in con.execute(
            "SELECT recipient, alert_id FROM alert_notifications WHERE alert_id IN (SELECT value FROM json_each(?))",
            (json.dumps(ids),),
        )
    }
    out = []
    for email, key in people:
        for r in by_scope[key]:
            if r["alert_id"] not in followed and (email, r["alert_id"]) not in sent:
                out.append((email, r))
    return out


SYSTEM_LOGIN, SYSTEM_PROFILE, PAGE = "systeme.courriels_alertes", "systeme", "courriels_alertes"


def log_reads(con, done: list[tuple]) -> int:
    """The sensor's reads in the access log (T4): it reads as a system actor on behalf of each
    recipient, with that person's scope — one line per recipient saying for whom (`pour`, its
    profile) and what was read (tables, conventions, rows); a line identical to the last one for
    that recipient is not repeated (the sensor runs every few minutes). Returns the lines written."""
    last: dict[str, tuple] = {}
    for line in store.access_log(con, login=SYSTEM_LOGIN, page=PAGE, limit=max(50, 4 * len(done))):
        try:
            who = json.loads(line["detail"] or "{}").get("pour")
        except ValueError:
            continue
        last.setdefault(who, (line["detail"], line["reads"]))
    n = 0
    for p, rows, got in done:
        detail = json.dumps(
            {"pour": p.login, "profil": p.profile, "alertes": len(rows)}, ensure_ascii=False, sort_keys=True
        )
        summary = reads.to_json(got)
        if summary is None or last.get(p.login) == (detail, summary):
            continue
        store.log_access(
            con,
            login=SYSTEM_LOGIN,
            profile=SYSTEM_PROFILE,
            page=PAGE,
            action="lecture_pour_envoi",
            detail=detail,
            reads=summary,
        )
        n += 1
    return n


def send_new_alerts(cat: queries.Catalog, con, cfg: SmtpConfig, names: dict[str, str] | None = None) -> int:
    """Mail every pending (recipient, alert) through one SMTP session; each recorded as it is sent."""
    todo = pending(cat, con)
    if not todo:
        return 0
    if names is None:
        from tranquillite.app_core.carte import arrondissement_names

        names = arrondissement_names()
    with smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout) as smtp:
        if cfg.starttls:
            smtp.starttls()
        if cfg.user:
            smtp.login(cfg.user, cfg.password or "")
        for email, r in todo:
            smtp.send_message(message(r, email, cfg, names))
            with store.transaction(con):
                con.execute(
                    "INSERT INTO alert_notifications VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (email, r["alert_id"], store.iso(store.now_utc())),
                )
    return len(todo)
