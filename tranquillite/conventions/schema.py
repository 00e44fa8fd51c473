"""The conventions' tables in the app store (`platform.sqlite`), installed by `store.init_store`.

* `convention_registry`: one row per convention with lifecycle dates (seeded from
  `conventions.yaml`, then administered in the app); `convention_history` keeps every change
  (append-only).
* `convention_purges`: the audit trail of each destruction (who ordered it, who ran it, counts,
  attestation) — it survives the destruction it records. Rows are append-only except the closing
  of a purge in progress.
* `convention_purge_open`: while (and only while) a purge transaction runs, one row per store
  table it may change. The append-only triggers of `cortege_entries` (DELETE) and of
  `access_log` (UPDATE of `filters`/`detail` and the re-chained hashes, never who/when/what) are
  replaced here by the same triggers with ONE exemption: that marker. Nothing else can delete a
  Cortège entry or rewrite a log line.
* `access_log_reanchors`: when a purge redacts access-log lines (their filters or detail named
  the convention's records), the chain is recomputed from the first redacted line and the old and
  new head hashes are recorded here, signed by the platform key (append-only).
* `contract_fingerprints`: the acknowledged fingerprint of each source's contracts (C2);
  `contractor_handovers` / `contractor_events`: the register of temporary hand-overs (C8).
"""

from __future__ import annotations

import sqlite3

SCHEMA_KEY = "conventions_schema_version"
SCHEMA_VERSION = "1"

DDL = """
CREATE TABLE IF NOT EXISTS convention_registry (
    convention TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    initial_term_months INTEGER NOT NULL,
    renewal TEXT NOT NULL,
    max_total_years INTEGER NOT NULL,
    notice_months INTEGER NOT NULL,
    destruction_days INTEGER NOT NULL,
    notified_on TEXT,
    notice_on TEXT,
    notice_by TEXT CHECK (notice_by IS NULL OR notice_by IN ('ville', 'partenaire')),
    notice_reference TEXT,
    effects_applied_at TEXT,
    destruction_ordered_by TEXT,
    destruction_ordered_at TEXT,
    destroyed_on TEXT,
    attestation TEXT,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS convention_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    convention TEXT NOT NULL,
    login TEXT NOT NULL,
    change TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE TRIGGER IF NOT EXISTS convention_history_no_update BEFORE UPDATE ON convention_history
BEGIN SELECT RAISE(ABORT, 'historique des conventions en ajout seul'); END;
CREATE TRIGGER IF NOT EXISTS convention_history_no_delete BEFORE DELETE ON convention_history
BEGIN SELECT RAISE(ABORT, 'historique des conventions en ajout seul'); END;

CREATE TABLE IF NOT EXISTS convention_purges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    convention TEXT NOT NULL,
    ordered_by TEXT NOT NULL,
    run_by TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL CHECK (status IN ('en_cours', 'terminee', 'echec')),
    summary TEXT NOT NULL DEFAULT '{}'
);
CREATE TRIGGER IF NOT EXISTS convention_purges_no_delete BEFORE DELETE ON convention_purges
BEGIN SELECT RAISE(ABORT, 'registre des destructions en ajout seul'); END;
CREATE TRIGGER IF NOT EXISTS convention_purges_close_only BEFORE UPDATE ON convention_purges
WHEN OLD.status <> 'en_cours' OR NEW.id IS NOT OLD.id OR NEW.convention IS NOT OLD.convention
     OR NEW.ordered_by IS NOT OLD.ordered_by OR NEW.run_by IS NOT OLD.run_by OR NEW.started_at IS NOT OLD.started_at
BEGIN SELECT RAISE(ABORT, 'registre des destructions: seule la clôture d''une destruction en cours est permise'); END;

CREATE TABLE IF NOT EXISTS convention_purge_open (
    table_name TEXT PRIMARY KEY,
    purge_id INTEGER NOT NULL REFERENCES convention_purges(id)
);
CREATE TRIGGER IF NOT EXISTS convention_purge_open_needs_purge BEFORE INSERT ON convention_purge_open
WHEN NOT EXISTS (SELECT 1 FROM convention_purges WHERE id = NEW.purge_id AND status = 'en_cours')
BEGIN SELECT RAISE(ABORT, 'aucune destruction en cours: purge refusée'); END;

DROP TRIGGER IF EXISTS cortege_entries_no_delete;
CREATE TRIGGER cortege_entries_no_delete BEFORE DELETE ON cortege_entries
WHEN NOT EXISTS (SELECT 1 FROM convention_purge_open WHERE table_name = 'cortege_entries')
BEGIN SELECT RAISE(ABORT, 'registre Cortège en ajout seul'); END;

DROP TRIGGER IF EXISTS access_log_no_update;
CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
WHEN NOT EXISTS (SELECT 1 FROM convention_purge_open WHERE table_name = 'access_log')
     OR NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at OR NEW.login IS NOT OLD.login
     OR NEW.profile IS NOT OLD.profile OR NEW.page IS NOT OLD.page OR NEW.action IS NOT OLD.action
     OR NEW.export IS NOT OLD.export
BEGIN SELECT RAISE(ABORT, 'journal d''accès en ajout seul: modification interdite'); END;

CREATE TABLE IF NOT EXISTS access_log_reanchors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    purge_id INTEGER NOT NULL REFERENCES convention_purges(id),
    at TEXT NOT NULL,
    first_id INTEGER NOT NULL,
    lines_redacted INTEGER NOT NULL,
    old_head TEXT NOT NULL,
    new_head TEXT NOT NULL,
    redacted_ids TEXT NOT NULL,
    signature TEXT NOT NULL,
    mac TEXT NOT NULL DEFAULT ''    -- HMAC with the access log's key (`audit.reanchor_mac`)
);
CREATE TRIGGER IF NOT EXISTS access_log_reanchors_no_update BEFORE UPDATE ON access_log_reanchors
BEGIN SELECT RAISE(ABORT, 'réancrages du journal en ajout seul'); END;
CREATE TRIGGER IF NOT EXISTS access_log_reanchors_no_delete BEFORE DELETE ON access_log_reanchors
BEGIN SELECT RAISE(ABORT, 'réancrages du journal en ajout seul'); END;

CREATE TABLE IF NOT EXISTS contract_fingerprints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    convention TEXT NOT NULL,
    source TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    description TEXT NOT NULL,
    acknowledged_by TEXT NOT NULL,
    acknowledged_at TEXT NOT NULL,
    dpo_informed_on TEXT,
    impact_study_ref TEXT
);
CREATE TRIGGER IF NOT EXISTS contract_fingerprints_no_update BEFORE UPDATE ON contract_fingerprints
BEGIN SELECT RAISE(ABORT, 'empreintes des contrats en ajout seul'); END;
CREATE TRIGGER IF NOT EXISTS contract_fingerprints_no_delete BEFORE DELETE ON contract_fingerprints
BEGIN SELECT RAISE(ABORT, 'empreintes des contrats en ajout seul'); END;

CREATE TABLE IF NOT EXISTS contractor_handovers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    contractor TEXT NOT NULL,
    work TEXT NOT NULL,
    tables TEXT NOT NULL,
    conventions TEXT NOT NULL,
    due_on TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('enregistree', 'extraite', 'justifiee', 'justificatif_refuse')),
    extract_dir TEXT,
    manifest_sha256 TEXT,
    manifest TEXT,
    proof_name TEXT,
    proof_sha256 TEXT,
    proof_checked_at TEXT,
    proof_problems TEXT
);
CREATE TABLE IF NOT EXISTS contractor_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    handover_id INTEGER NOT NULL REFERENCES contractor_handovers(id),
    at TEXT NOT NULL,
    login TEXT NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE TRIGGER IF NOT EXISTS contractor_events_no_update BEFORE UPDATE ON contractor_events
BEGIN SELECT RAISE(ABORT, 'historique des remises en ajout seul'); END;
CREATE TRIGGER IF NOT EXISTS contractor_events_no_delete BEFORE DELETE ON contractor_events
BEGIN SELECT RAISE(ABORT, 'historique des remises en ajout seul'); END;
CREATE TRIGGER IF NOT EXISTS contractor_handovers_no_delete BEFORE DELETE ON contractor_handovers
BEGIN SELECT RAISE(ABORT, 'registre des remises: suppression interdite'); END;
"""


def install(con: sqlite3.Connection) -> None:
    """Create the tables and triggers (once per schema version) and seed the registry."""
    row = con.execute("SELECT value FROM meta WHERE key = ?", (SCHEMA_KEY,)).fetchone()
    if row is None or row[0] != SCHEMA_VERSION:
        con.executescript(DDL)
        con.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (SCHEMA_KEY, SCHEMA_VERSION))
    from tranquillite.conventions import registry
    registry.seed(con)
