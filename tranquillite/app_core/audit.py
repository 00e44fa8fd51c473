"""Integrity of the access log (T4, issue #10): a keyed chain, published heads, a full verification.

* Each line's `row_hash` is HMAC-SHA256, with a key kept OUTSIDE the database, of the line's id,
  the previous line's hash and every field: editing a line and recomputing the chain needs the
  key; copying a line elsewhere (a replay) breaks it, since the id is part of it. The key is
  `TRANQUILLITE_ACCESS_LOG_KEY` (settings, from a secret manager), else a 0600 file
  (`TRANQUILLITE_ACCESS_LOG_KEY_FILE`, default `$TRANQUILLITE_HOME/secrets/access_log.key`),
  created with the first keyed line. Lines written before the key existed (unkeyed SHA-256
  chain of the first version) stay verifiable: the first keyed line covers the last of them.
* The chain head (last id, its hash, the count) is published periodically by Dagster, not by
  the app: a sensor appends it, HMAC-signed, to an append-only file
  (`$TRANQUILLITE_HOME/audit/access_log_heads.jsonl`) and records it as an observation of the
  asset `app_access_log` in Dagster's event log — places the app's process does not rewrite.
* A destruction (C9) may redact the `filters`/`detail` of lines that named the convention's
  records: it recomputes the chain from the first redacted line (`rechain`) and records a
  re-anchor (first line, old and new head, the redacted ids) MACed with the log's key in
  `access_log_reanchors`. A head published before it, at or after its first line, is superseded:
  it must still be in the log (no truncation), its hash is no longer compared.
* `verify` checks the triggers (a dropped trigger is reported), the ids (no gap: a deletion),
  the chain (edits, replays), the table's sequence (lines removed at the end) and every
  published head (truncation, or the restore of an older copy of the store).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from tranquillite.app_core.db import Connection
from tranquillite.settings import paths, settings

Row = tuple  # a store row (`db.Connection` rows: by name, by position)

GENESIS = "0" * 64
KEY_ID_LABEL = b"tranquillite access log key id"
# the append-only triggers the store must hold (name → table)
TRIGGERS = {
    "access_log_no_update": "access_log",
    "access_log_no_delete": "access_log",
    "access_log_no_replace": "access_log",
    "habilitation_requests_no_update": "habilitation_requests",
    "habilitation_requests_no_delete": "habilitation_requests",
    "habilitation_requests_no_replace": "habilitation_requests",
    "habilitation_events_no_update": "habilitation_request_events",
    "habilitation_events_no_delete": "habilitation_request_events",
    "habilitation_events_no_replace": "habilitation_request_events",
    "cortege_entries_no_update": "cortege_entries",
    "cortege_entries_no_delete": "cortege_entries",
    "cortege_entries_no_replace": "cortege_entries",
    # the history of the alerts followed up and their e-mails (issue 15, migration 0002)
    "alert_events_no_update": "alert_events",
    "alert_events_no_delete": "alert_events",
    "alert_events_no_replace": "alert_events",
    "alert_notifications_no_update": "alert_notifications",
    "alert_notifications_no_delete": "alert_notifications",
}


class AuditKeyError(RuntimeError):
    """The key of the access log cannot be found (French message)."""


def key_file() -> Path:
    return settings().access_log_key_file or paths().home / "secrets" / "access_log.key"


def heads_file() -> Path:
    return settings().access_log_heads_file or paths().home / "audit" / "access_log_heads.jsonl"


def _create_key_file(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key.encode()


def load_key(create: bool = False) -> bytes | None:
    """The HMAC key: the setting, else the key file (created if `create`); None if there is none."""
    s = settings()
    if s.access_log_key is not None:
        return s.access_log_key.get_secret_value().strip().encode()
    path = key_file()
    if path.exists():
        return path.read_text(encoding="utf-8").strip().encode()
    if create:
        try:
            return _create_key_file(path)
        except FileExistsError:  # another process created it first
            return path.read_text(encoding="utf-8").strip().encode()
    return None


def key_id(key: bytes) -> str:
    return hmac.new(key, KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def _payload(
    line_id: int | None,
    prev: str,
    at: str,
    login: str | None,
    profile: str,
    page: str,
    action: str,
    filters: str,
    export: int,
    detail: str | None,
    reads: str | None = None,
) -> bytes:
    fields = [prev, at, login, profile, page, action, filters, export, detail]
    if reads is not None:  # what was read (issue 11): MACed only on the lines that carry it, so the
        fields.append(reads)  # lines written before the field existed verify as they were written
    if line_id is not None:
        fields = [line_id, *fields]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def line_fields(r: Row) -> tuple:
    """The MACed fields of a stored line (after `prev`), `reads` included when the store has it."""
    reads = r["reads"] if "reads" in r.keys() else None
    return (r["at"], r["login"], r["profile"], r["page"], r["action"], r["filters"], r["export"], r["detail"], reads)


def legacy_hash(
    prev: str,
    at: str,
    login: str | None,
    profile: str,
    page: str,
    action: str,
    filters: str,
    export: int,
    detail: str | None,
    reads: str | None = None,
) -> str:
    """The unkeyed SHA-256 chain of the first version (lines written before the key existed)."""
    return hashlib.sha256(
        _payload(None, prev, at, login, profile, page, action, filters, export, detail, reads)
    ).hexdigest()


def line_mac(
    key: bytes,
    line_id: int,
    prev: str,
    at: str,
    login: str | None,
    profile: str,
    page: str,
    action: str,
    filters: str,
    export: int,
    detail: str | None,
    reads: str | None = None,
) -> str:
    return hmac.new(
        key, _payload(line_id, prev, at, login, profile, page, action, filters, export, detail, reads), hashlib.sha256
    ).hexdigest()


def meta(con: Connection, key: str) -> str | None:
    r = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return r[0] if r else None


def writing_key(con: Connection) -> bytes:
    """The key to write the next line with (inside the caller's write transaction).

    The first keyed line records where keyed lines start and the key's fingerprint; a store
    already sealed with a key refuses to go on without that same key."""
    sealed = meta(con, "access_log_key_id")
    key = load_key(create=sealed is None)
    if key is None:
        raise AuditKeyError(
            "Clé du journal d'accès introuvable (TRANQUILLITE_ACCESS_LOG_KEY ou "
            f"{key_file()}): le journal ne peut pas être écrit."
        )
    if sealed is None:
        first = (
            max(
                con.execute("SELECT coalesce(max(id), 0) FROM access_log").fetchone()[0],
                con.sequence("access_log") or 0,
            )
            + 1
        )
        con.execute("INSERT INTO meta VALUES ('access_log_key_id', ?)", (key_id(key),))
        con.execute("INSERT INTO meta VALUES ('access_log_keyed_from', ?)", (str(first),))
    elif sealed != key_id(key):
        raise AuditKeyError(
            "La clé du journal d'accès n'est pas celle qui l'a scellé: le journal ne peut pas être écrit."
        )
    return key


# --------------------------------------------------------------------------- re-anchoring (C9)
def rechain(con: Connection, first_id: int) -> str:
    """Recompute `prev_hash`/`row_hash` from line `first_id` on, by the same rules as `verify`
    (inside the caller's write transaction, under the destruction's exemption); the new head."""
    sealed = meta(con, "access_log_key_id")
    key = load_key(create=False)
    if sealed and (key is None or key_id(key) != sealed):
        raise AuditKeyError("Clé du journal d'accès absente ou différente: la chaîne ne peut pas être réancrée.")
    keyed_from = int(meta(con, "access_log_keyed_from") or 0) if sealed else None
    r = con.execute("SELECT row_hash FROM access_log WHERE id < ? ORDER BY id DESC LIMIT 1", (first_id,)).fetchone()
    prev = r[0] if r else GENESIS
    for r in con.execute("SELECT * FROM access_log WHERE id >= ? ORDER BY id", (first_id,)).fetchall():
        fields = line_fields(r)
        h = (
            line_mac(key, int(r["id"]), prev, *fields)
            if keyed_from is not None and int(r["id"]) >= keyed_from
            else legacy_hash(prev, *fields)
        )
        con.execute("UPDATE access_log SET prev_hash = ?, row_hash = ? WHERE id = ?", (prev, h, r["id"]))
        prev = h
    return prev


def reanchor_mac(
    key: bytes, purge_id: int, at: str, first_id: int, old_head: str, new_head: str, redacted_ids: str
) -> str:
    msg = json.dumps([purge_id, at, first_id, old_head, new_head, redacted_ids], separators=(",", ":")).encode()
    return hmac.new(key, b"reanchor|" + msg, hashlib.sha256).hexdigest()


def _reanchors(con: Connection, key: bytes | None, problems: list[str]) -> list[tuple[str, int]]:
    """The valid re-anchors (at, first line); an unsigned or altered one is a problem."""
    if not con.has_table("access_log_reanchors"):
        return []
    out = []
    for r in con.execute("SELECT * FROM access_log_reanchors ORDER BY id"):
        ok = key is not None and hmac.compare_digest(
            str(r["mac"] or ""),
            reanchor_mac(
                key, int(r["purge_id"]), r["at"], int(r["first_id"]), r["old_head"], r["new_head"], r["redacted_ids"]
            ),
        )
        if ok:
            out.append((r["at"], int(r["first_id"])))
        else:
            problems.append(f"réancrage du journal non signé par sa clé (destruction {r['purge_id']}, {r['at']})")
    return out


# --------------------------------------------------------------------------- heads
def head(con: Connection) -> dict:
    r = con.execute("SELECT id, row_hash FROM access_log ORDER BY id DESC LIMIT 1").fetchone()
    n = con.execute("SELECT count(*) FROM access_log").fetchone()[0]
    return {"id": int(r[0]) if r else 0, "row_hash": r[1] if r else GENESIS, "count": int(n)}


def _head_mac(key: bytes, h: dict) -> str:
    msg = json.dumps([h["at"], h["id"], h["row_hash"], h["count"]], separators=(",", ":")).encode()
    return hmac.new(key, b"head|" + msg, hashlib.sha256).hexdigest()


def publish_head(con: Connection, at: str, path: Path | None = None) -> dict:
    """Append the current head, signed, to the heads file (O_APPEND: earlier lines are never rewritten).

    Called by the Dagster sensor `access_log_heads`, which also records it in Dagster's event log."""
    key = load_key(create=False)
    if key is None:
        raise AuditKeyError("Clé du journal d'accès introuvable: tête non publiée.")
    h = {"at": at, **head(con)}
    h["mac"] = _head_mac(key, h)
    path = path or heads_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(h, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return h


def published_heads(path: Path | None = None) -> list[dict]:
    path = path or heads_file()
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                out.append({"illisible": line[:80]})
    return out


# --------------------------------------------------------------------------- verification
@dataclass
class Verification:
    intact: bool
    first_broken: int | None = None
    problems: list[str] = field(default_factory=list)
    lines: int = 0
    heads_checked: int = 0


def verify(con: Connection, heads: list[dict] | None = None) -> Verification:
    """Every check of the access log's integrity, with French reasons."""
    problems: list[str] = []
    first_broken: int | None = None

    def broken(line_id: int, why: str) -> None:
        nonlocal first_broken
        if first_broken is None:
            first_broken = line_id
        problems.append(f"ligne {line_id}: {why}")

    present = con.triggers()
    for name, table in TRIGGERS.items():
        sql = present.get(name, "")
        if table == "access_log" or con.has_table(table):
            if "RAISE" not in sql.upper():
                problems.append(f"déclencheur d'ajout seul absent ou modifié: {name} ({table})")
    key = load_key(create=False)
    sealed = meta(con, "access_log_key_id")
    keyed_from = int(meta(con, "access_log_keyed_from") or 0) if sealed else None
    if sealed and (key is None or key_id(key) != sealed):
        problems.append("clé du journal absente ou différente de celle qui l'a scellé: vérification impossible")
        return Verification(False, None, problems)
    prev, expected_id, n = GENESIS, None, 0
    for r in con.execute("SELECT * FROM access_log ORDER BY id"):
        n += 1
        line_id = int(r["id"])
        if expected_id is not None and line_id != expected_id:
            broken(expected_id, f"lignes {expected_id} à {line_id - 1} absentes (suppression)")
        expected_id = line_id + 1
        fields = line_fields(r)
        if keyed_from is not None and line_id >= keyed_from:
            expect = line_mac(key, line_id, prev, *fields)
        else:
            expect = legacy_hash(prev, *fields)
        if r["prev_hash"] != prev or not hmac.compare_digest(r["row_hash"], expect):
            broken(line_id, "empreinte invalide (ligne modifiée, déplacée ou rejouée)")
        prev = r["row_hash"]
    last = expected_id - 1 if expected_id else 0
    if n and con.execute("SELECT 1 FROM access_log WHERE id = 1").fetchone() is None:
        broken(1, "premières lignes absentes (suppression)")
    seq = con.sequence("access_log")
    if seq is not None and seq > last:
        problems.append(f"lignes {last + 1} à {seq} absentes en fin de journal (troncature)")
    anchors = _reanchors(con, key, problems)
    checked = 0
    for h in published_heads() if heads is None else heads:
        checked += 1
        if "illisible" in h or key is None or not hmac.compare_digest(str(h.get("mac", "")), _head_mac(key, h)):
            problems.append(f"tête publiée illisible ou non signée par la clé du journal ({h.get('at', '?')})")
            continue
        if h["id"] == 0:
            continue
        row = con.execute("SELECT row_hash FROM access_log WHERE id = ?", (h["id"],)).fetchone()
        if row is None:
            problems.append(
                f"la tête publiée le {h['at']} (ligne {h['id']}) n'est plus dans le journal "
                "(troncature ou retour à une copie antérieure)"
            )
        elif row[0] != h["row_hash"] and not any(first <= int(h["id"]) and str(h["at"]) < at for at, first in anchors):
            broken(int(h["id"]), f"diffère de la tête publiée le {h['at']}")
    return Verification(not problems, first_broken, problems, n, checked)
