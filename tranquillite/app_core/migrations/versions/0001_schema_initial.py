"""Schéma initial du magasin de l'application (SCHEMA_VERSION 1 d'avant Alembic).

Revision ID: 0001
Revises:
Create Date: 2026-12-02

What the hand-written store of `SCHEMA_VERSION = 1` produced, exactly: the store's tables, the DPO's
retention (`retention.py`) and the conventions' tables (`conventions/schema.py`, issue 12), with
their append-only rules.

* SQLite: the DDL of that version verbatim (`CREATE … IF NOT EXISTS`), preceded by the steps its
  `_migrate` applied to older files (the `own_entries_only` and `reads` columns): on an empty file
  it creates everything, on a store created by the previous code (no `alembic_version`) it adds
  what is missing — `store.init_store` then stamps it at this revision.
* PostgreSQL: the same tables and columns (same names, TEXT and INTEGER as in SQLite so that the
  SQL of the call sites is the same; AUTOINCREMENT ids are identity columns); each SQLite trigger
  becomes a PL/pgSQL trigger of the same name (`RAISE EXCEPTION … ERRCODE 23000`, an integrity
  error as SQLite's `RAISE(ABORT)`), plus `BEFORE TRUNCATE` on the append-only tables. Two SQLite
  features the code relies on are emulated: the hidden `rowid` (insertion order) of `profiles`,
  `activity_natures` and `organisations`, and `sqlite_sequence` for the access log (the highest id
  ever given, so that `audit.verify` still detects lines removed at the end).
  Privileges: nothing for PUBLIC; the app's role is granted by `store.grant_app_role`.
`profile_sources` and `organisation_sources` are part of that schema, though no longer read nor
written since rights follow conventions (issue 16): a later revision may drop them.
"""

from __future__ import annotations

import sqlite3

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None
STORE = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS pages (code TEXT PRIMARY KEY, title TEXT NOT NULL, description TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS actions (code TEXT PRIMARY KEY, label TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS profiles (
    code TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    reason TEXT NOT NULL,
    organisation_kind TEXT NOT NULL CHECK (organisation_kind IN ('ville','prefecture','partenaire','public')),
    aggregated_only INTEGER NOT NULL DEFAULT 0,
    own_data_only INTEGER NOT NULL DEFAULT 0,
    requires_login INTEGER NOT NULL DEFAULT 1,
    own_entries_only INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS profile_pages (
    profile TEXT NOT NULL REFERENCES profiles(code), page TEXT NOT NULL REFERENCES pages(code),
    PRIMARY KEY (profile, page));
CREATE TABLE IF NOT EXISTS profile_actions (
    profile TEXT NOT NULL REFERENCES profiles(code), action TEXT NOT NULL REFERENCES actions(code),
    PRIMARY KEY (profile, action));
CREATE TABLE IF NOT EXISTS profile_sources (
    profile TEXT NOT NULL REFERENCES profiles(code), source TEXT NOT NULL, PRIMARY KEY (profile, source));
CREATE TABLE IF NOT EXISTS profile_conventions (
    profile TEXT NOT NULL REFERENCES profiles(code), convention TEXT NOT NULL,
    PRIMARY KEY (profile, convention));

CREATE TABLE IF NOT EXISTS activity_natures (code TEXT PRIMARY KEY, label TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS activity_nature_sources (
    nature TEXT NOT NULL REFERENCES activity_natures(code), source TEXT NOT NULL, PRIMARY KEY (nature, source));

CREATE TABLE IF NOT EXISTS organisations (
    code TEXT PRIMARY KEY, label TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('ville','prefecture','partenaire','public')));
CREATE TABLE IF NOT EXISTS organisation_sources (
    organisation TEXT NOT NULL REFERENCES organisations(code), source TEXT NOT NULL,
    PRIMARY KEY (organisation, source));

CREATE TABLE IF NOT EXISTS users (
    login TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    email TEXT UNIQUE,
    profile TEXT NOT NULL REFERENCES profiles(code),
    activity_nature TEXT REFERENCES activity_natures(code),
    organisation TEXT NOT NULL REFERENCES organisations(code),
    active INTEGER NOT NULL DEFAULT 1,
    password_hash TEXT,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    demo INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS user_actions (
    login TEXT NOT NULL REFERENCES users(login), action TEXT NOT NULL REFERENCES actions(code),
    PRIMARY KEY (login, action));

CREATE TABLE IF NOT EXISTS auth_throttle (
    key TEXT PRIMARY KEY,            -- 'login:' or 'client:' + SHA-256 of the value (never a typed secret)
    window_start TEXT NOT NULL,
    attempts INTEGER NOT NULL
);

-- server-side sessions of local accounts (app_core.sessions): the only mutable security table
CREATE TABLE IF NOT EXISTS sessions (
    ref TEXT PRIMARY KEY,             -- not secret: names the session for the tab that opened it
    login TEXT NOT NULL REFERENCES users(login),
    method TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    bind_hash TEXT UNIQUE,            -- SHA-256 of the one-time binding code (cleared once used)
    bind_expires TEXT,
    token_hash TEXT UNIQUE,           -- SHA-256 of the cookie's token
    revoked_at TEXT,
    revoked_why TEXT
);
CREATE INDEX IF NOT EXISTS sessions_login ON sessions (login);

CREATE TABLE IF NOT EXISTS access_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    login TEXT,
    profile TEXT NOT NULL,
    page TEXT NOT NULL,
    action TEXT NOT NULL,
    filters TEXT NOT NULL DEFAULT '{}',
    export INTEGER NOT NULL DEFAULT 0,
    detail TEXT,
    prev_hash TEXT NOT NULL,
    row_hash TEXT NOT NULL,
    reads TEXT                -- what was read (issue 11): JSON [{table, conventions, rows, lectures}], never rows
);
CREATE INDEX IF NOT EXISTS access_log_at ON access_log (at);
CREATE TRIGGER IF NOT EXISTS access_log_no_update BEFORE UPDATE ON access_log
BEGIN SELECT RAISE(ABORT, 'journal d''accès en ajout seul: modification interdite'); END;
CREATE TRIGGER IF NOT EXISTS access_log_no_delete BEFORE DELETE ON access_log
BEGIN SELECT RAISE(ABORT, 'journal d''accès en ajout seul: suppression interdite'); END;
-- INSERT OR REPLACE deletes the old row without firing the DELETE trigger: refuse an existing id
CREATE TRIGGER IF NOT EXISTS access_log_no_replace BEFORE INSERT ON access_log
WHEN EXISTS (SELECT 1 FROM access_log WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'journal d''accès en ajout seul: réécriture interdite'); END;

CREATE TABLE IF NOT EXISTS habilitation_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('ajout','modification','retrait')),
    login TEXT NOT NULL,
    display_name TEXT,
    email TEXT,
    organisation TEXT NOT NULL REFERENCES organisations(code),
    profile TEXT REFERENCES profiles(code),
    activity_nature TEXT REFERENCES activity_natures(code),
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    comment TEXT
);
CREATE TABLE IF NOT EXISTS habilitation_request_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL REFERENCES habilitation_requests(id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('demandee','validee_prefecture','rejetee_prefecture',
                                            'habilitee','refusee')),
    comment TEXT
);
CREATE TRIGGER IF NOT EXISTS habilitation_requests_no_update BEFORE UPDATE ON habilitation_requests
BEGIN SELECT RAISE(ABORT, 'demande d''habilitation: historique en ajout seul'); END;
CREATE TRIGGER IF NOT EXISTS habilitation_requests_no_delete BEFORE DELETE ON habilitation_requests
BEGIN SELECT RAISE(ABORT, 'demande d''habilitation: historique en ajout seul'); END;
CREATE TRIGGER IF NOT EXISTS habilitation_events_no_update BEFORE UPDATE ON habilitation_request_events
BEGIN SELECT RAISE(ABORT, 'demande d''habilitation: historique en ajout seul'); END;
CREATE TRIGGER IF NOT EXISTS habilitation_events_no_delete BEFORE DELETE ON habilitation_request_events
BEGIN SELECT RAISE(ABORT, 'demande d''habilitation: historique en ajout seul'); END;
CREATE TRIGGER IF NOT EXISTS habilitation_requests_no_replace BEFORE INSERT ON habilitation_requests
WHEN EXISTS (SELECT 1 FROM habilitation_requests WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'demande d''habilitation: historique en ajout seul'); END;
CREATE TRIGGER IF NOT EXISTS habilitation_events_no_replace BEFORE INSERT ON habilitation_request_events
WHEN EXISTS (SELECT 1 FROM habilitation_request_events WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'demande d''habilitation: historique en ajout seul'); END;

CREATE TABLE IF NOT EXISTS cortege_entries (
    entry_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    record_type TEXT NOT NULL,
    login TEXT NOT NULL,
    saved_at TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (entry_id, version)
);
CREATE TRIGGER IF NOT EXISTS cortege_entries_no_update BEFORE UPDATE ON cortege_entries
BEGIN SELECT RAISE(ABORT, 'registre Cortège en ajout seul'); END;
CREATE TRIGGER IF NOT EXISTS cortege_entries_no_delete BEFORE DELETE ON cortege_entries
BEGIN SELECT RAISE(ABORT, 'registre Cortège en ajout seul'); END;
CREATE TRIGGER IF NOT EXISTS cortege_entries_no_replace BEFORE INSERT ON cortege_entries
WHEN EXISTS (SELECT 1 FROM cortege_entries WHERE entry_id = NEW.entry_id AND version = NEW.version)
BEGIN SELECT RAISE(ABORT, 'registre Cortège en ajout seul'); END;
"""

RETENTION = """
CREATE TABLE IF NOT EXISTS quarantine_retention (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    days INTEGER NOT NULL CHECK (days BETWEEN 1 AND 3650),
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS quarantine_retention_no_update BEFORE UPDATE ON quarantine_retention
BEGIN SELECT RAISE(ABORT, 'durée de conservation: historique en ajout seul'); END;
CREATE TRIGGER IF NOT EXISTS quarantine_retention_no_delete BEFORE DELETE ON quarantine_retention
BEGIN SELECT RAISE(ABORT, 'durée de conservation: historique en ajout seul'); END;
"""

CONVENTIONS = """
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

# --------------------------------------------------------------------------- PostgreSQL
PG_TABLES = r"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE pages (code TEXT PRIMARY KEY, title TEXT NOT NULL, description TEXT NOT NULL);
CREATE TABLE actions (code TEXT PRIMARY KEY, label TEXT NOT NULL);
CREATE TABLE profiles (
    code TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    reason TEXT NOT NULL,
    organisation_kind TEXT NOT NULL CHECK (organisation_kind IN ('ville','prefecture','partenaire','public')),
    aggregated_only INTEGER NOT NULL DEFAULT 0,
    own_data_only INTEGER NOT NULL DEFAULT 0,
    requires_login INTEGER NOT NULL DEFAULT 1,
    own_entries_only INTEGER NOT NULL DEFAULT 0,
    rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE
);
CREATE TABLE profile_pages (
    profile TEXT NOT NULL REFERENCES profiles(code), page TEXT NOT NULL REFERENCES pages(code),
    PRIMARY KEY (profile, page));
CREATE TABLE profile_actions (
    profile TEXT NOT NULL REFERENCES profiles(code), action TEXT NOT NULL REFERENCES actions(code),
    PRIMARY KEY (profile, action));
CREATE TABLE profile_sources (
    profile TEXT NOT NULL REFERENCES profiles(code), source TEXT NOT NULL, PRIMARY KEY (profile, source));
CREATE TABLE profile_conventions (
    profile TEXT NOT NULL REFERENCES profiles(code), convention TEXT NOT NULL,
    PRIMARY KEY (profile, convention));
CREATE TABLE activity_natures (code TEXT PRIMARY KEY, label TEXT NOT NULL,
    rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE);
CREATE TABLE activity_nature_sources (
    nature TEXT NOT NULL REFERENCES activity_natures(code), source TEXT NOT NULL, PRIMARY KEY (nature, source));
CREATE TABLE organisations (
    code TEXT PRIMARY KEY, label TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('ville','prefecture','partenaire','public')),
    rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE);
CREATE TABLE organisation_sources (
    organisation TEXT NOT NULL REFERENCES organisations(code), source TEXT NOT NULL,
    PRIMARY KEY (organisation, source));
CREATE TABLE users (
    login TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    email TEXT UNIQUE,
    profile TEXT NOT NULL REFERENCES profiles(code),
    activity_nature TEXT REFERENCES activity_natures(code),
    organisation TEXT NOT NULL REFERENCES organisations(code),
    active INTEGER NOT NULL DEFAULT 1,
    password_hash TEXT,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    demo INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE user_actions (
    login TEXT NOT NULL REFERENCES users(login), action TEXT NOT NULL REFERENCES actions(code),
    PRIMARY KEY (login, action));
CREATE TABLE auth_throttle (key TEXT PRIMARY KEY, window_start TEXT NOT NULL, attempts INTEGER NOT NULL);
CREATE TABLE sessions (
    ref TEXT PRIMARY KEY,
    login TEXT NOT NULL REFERENCES users(login),
    method TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    bind_hash TEXT UNIQUE,
    bind_expires TEXT,
    token_hash TEXT UNIQUE,
    revoked_at TEXT,
    revoked_why TEXT
);
CREATE INDEX sessions_login ON sessions (login);
CREATE TABLE access_log (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at TEXT NOT NULL,
    login TEXT,
    profile TEXT NOT NULL,
    page TEXT NOT NULL,
    action TEXT NOT NULL,
    filters TEXT NOT NULL DEFAULT '{}',
    export INTEGER NOT NULL DEFAULT 0,
    detail TEXT,
    prev_hash TEXT NOT NULL,
    row_hash TEXT NOT NULL,
    reads TEXT
);
CREATE INDEX access_log_at ON access_log (at);
CREATE TABLE habilitation_requests (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('ajout','modification','retrait')),
    login TEXT NOT NULL,
    display_name TEXT,
    email TEXT,
    organisation TEXT NOT NULL REFERENCES organisations(code),
    profile TEXT REFERENCES profiles(code),
    activity_nature TEXT REFERENCES activity_natures(code),
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    comment TEXT
);
CREATE TABLE habilitation_request_events (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    request_id BIGINT NOT NULL REFERENCES habilitation_requests(id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('demandee','validee_prefecture','rejetee_prefecture',
                                            'habilitee','refusee')),
    comment TEXT
);
CREATE TABLE cortege_entries (
    entry_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    record_type TEXT NOT NULL,
    login TEXT NOT NULL,
    saved_at TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (entry_id, version)
);
CREATE TABLE quarantine_retention (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    days INTEGER NOT NULL CHECK (days BETWEEN 1 AND 3650),
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL
);
CREATE TABLE convention_registry (
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
CREATE TABLE convention_history (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at TEXT NOT NULL,
    convention TEXT NOT NULL,
    login TEXT NOT NULL,
    change TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE convention_purges (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    convention TEXT NOT NULL,
    ordered_by TEXT NOT NULL,
    run_by TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL CHECK (status IN ('en_cours', 'terminee', 'echec')),
    summary TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE convention_purge_open (
    table_name TEXT PRIMARY KEY,
    purge_id BIGINT NOT NULL REFERENCES convention_purges(id)
);
CREATE TABLE access_log_reanchors (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    purge_id BIGINT NOT NULL REFERENCES convention_purges(id),
    at TEXT NOT NULL,
    first_id BIGINT NOT NULL,
    lines_redacted INTEGER NOT NULL,
    old_head TEXT NOT NULL,
    new_head TEXT NOT NULL,
    redacted_ids TEXT NOT NULL,
    signature TEXT NOT NULL,
    mac TEXT NOT NULL DEFAULT ''
);
CREATE TABLE contract_fingerprints (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    convention TEXT NOT NULL,
    source TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    description TEXT NOT NULL,
    acknowledged_by TEXT NOT NULL,
    acknowledged_at TEXT NOT NULL,
    dpo_informed_on TEXT,
    impact_study_ref TEXT
);
CREATE TABLE contractor_handovers (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
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
CREATE TABLE contractor_events (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    handover_id BIGINT NOT NULL REFERENCES contractor_handovers(id),
    at TEXT NOT NULL,
    login TEXT NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
-- SQLite's sqlite_sequence for the access log: the highest id ever given (kept by a trigger that
-- runs with the owner's rights, so the app's role cannot lower it)
CREATE TABLE autoincrement_sequences (name TEXT PRIMARY KEY, seq BIGINT NOT NULL);
"""

PG_FUNCTIONS = [
    # a refusal whose message is the trigger's argument (an integrity error, as SQLite's RAISE(ABORT))
    r"""CREATE FUNCTION tq_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = TG_ARGV[0], ERRCODE = 'integrity_constraint_violation';
END $$""",
    # INSERT of a key that exists (SQLite's no_replace; on PostgreSQL the primary key refuses it too)
    r"""CREATE FUNCTION tq_refuse_existing() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cond TEXT := 'true';
    found BOOLEAN;
    i INTEGER;
BEGIN
    FOR i IN 1 .. TG_NARGS - 1 LOOP
        cond := cond || format(' AND t.%I IS NOT DISTINCT FROM ($1).%I', TG_ARGV[i], TG_ARGV[i]);
    END LOOP;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.%I t WHERE %s)', TG_TABLE_SCHEMA, TG_TABLE_NAME, cond)
        INTO found USING NEW;
    IF found THEN
        RAISE EXCEPTION USING MESSAGE = TG_ARGV[0], ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$""",
    # the access log's lines may only be redacted (filters, detail, re-chained hashes) under a purge
    r"""CREATE FUNCTION tq_access_log_no_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM convention_purge_open WHERE table_name = 'access_log')
       OR NEW.id IS DISTINCT FROM OLD.id OR NEW.at IS DISTINCT FROM OLD.at OR NEW.login IS DISTINCT FROM OLD.login
       OR NEW.profile IS DISTINCT FROM OLD.profile OR NEW.page IS DISTINCT FROM OLD.page
       OR NEW.action IS DISTINCT FROM OLD.action OR NEW.export IS DISTINCT FROM OLD.export THEN
        RAISE EXCEPTION USING MESSAGE = 'journal d''accès en ajout seul: modification interdite',
                              ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$""",
    r"""CREATE FUNCTION tq_cortege_entries_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM convention_purge_open WHERE table_name = 'cortege_entries') THEN
        RAISE EXCEPTION USING MESSAGE = 'registre Cortège en ajout seul', ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN OLD;
END $$""",
    r"""CREATE FUNCTION tq_convention_purges_close_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'en_cours' OR NEW.id IS DISTINCT FROM OLD.id OR NEW.convention IS DISTINCT FROM OLD.convention
       OR NEW.ordered_by IS DISTINCT FROM OLD.ordered_by OR NEW.run_by IS DISTINCT FROM OLD.run_by
       OR NEW.started_at IS DISTINCT FROM OLD.started_at THEN
        RAISE EXCEPTION USING MESSAGE = 'registre des destructions: seule la clôture d''une destruction en cours est permise',
                              ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$""",
    r"""CREATE FUNCTION tq_convention_purge_open_needs_purge() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM convention_purges WHERE id = NEW.purge_id AND status = 'en_cours') THEN
        RAISE EXCEPTION USING MESSAGE = 'aucune destruction en cours: purge refusée',
                              ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$""",
    # SQLite's json_valid: the text as jsonb, NULL when it is not JSON (the Traçabilité reads)
    r"""CREATE FUNCTION tq_jsonb(t TEXT) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN t::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$""",
    r"""CREATE FUNCTION tq_autoincrement() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('INSERT INTO %I.autoincrement_sequences AS s VALUES ($1, $2) ON CONFLICT (name) '
                   'DO UPDATE SET seq = greatest(s.seq, excluded.seq)', TG_TABLE_SCHEMA)
        USING TG_TABLE_NAME, NEW.id;
    RETURN NEW;
END $$""",
]

# (trigger, table, timing and event, function call); the names are SQLite's (audit.TRIGGERS)
_LOG = "journal d''accès en ajout seul"
_HAB = "demande d''habilitation: historique en ajout seul"
PG_TRIGGERS = [
    ("access_log_no_update", "access_log", "BEFORE UPDATE", "tq_access_log_no_update()"),
    ("access_log_no_delete", "access_log", "BEFORE DELETE", f"tq_refuse('{_LOG}: suppression interdite')"),
    (
        "access_log_no_replace",
        "access_log",
        "BEFORE INSERT",
        f"tq_refuse_existing('{_LOG}: réécriture interdite', 'id')",
    ),
    ("access_log_sequence", "access_log", "AFTER INSERT", "tq_autoincrement()"),
    ("habilitation_requests_no_update", "habilitation_requests", "BEFORE UPDATE", f"tq_refuse('{_HAB}')"),
    ("habilitation_requests_no_delete", "habilitation_requests", "BEFORE DELETE", f"tq_refuse('{_HAB}')"),
    (
        "habilitation_requests_no_replace",
        "habilitation_requests",
        "BEFORE INSERT",
        f"tq_refuse_existing('{_HAB}', 'id')",
    ),
    ("habilitation_events_no_update", "habilitation_request_events", "BEFORE UPDATE", f"tq_refuse('{_HAB}')"),
    ("habilitation_events_no_delete", "habilitation_request_events", "BEFORE DELETE", f"tq_refuse('{_HAB}')"),
    (
        "habilitation_events_no_replace",
        "habilitation_request_events",
        "BEFORE INSERT",
        f"tq_refuse_existing('{_HAB}', 'id')",
    ),
    ("cortege_entries_no_update", "cortege_entries", "BEFORE UPDATE", "tq_refuse('registre Cortège en ajout seul')"),
    ("cortege_entries_no_delete", "cortege_entries", "BEFORE DELETE", "tq_cortege_entries_no_delete()"),
    (
        "cortege_entries_no_replace",
        "cortege_entries",
        "BEFORE INSERT",
        "tq_refuse_existing('registre Cortège en ajout seul', 'entry_id', 'version')",
    ),
    (
        "quarantine_retention_no_update",
        "quarantine_retention",
        "BEFORE UPDATE",
        "tq_refuse('durée de conservation: historique en ajout seul')",
    ),
    (
        "quarantine_retention_no_delete",
        "quarantine_retention",
        "BEFORE DELETE",
        "tq_refuse('durée de conservation: historique en ajout seul')",
    ),
    (
        "convention_history_no_update",
        "convention_history",
        "BEFORE UPDATE",
        "tq_refuse('historique des conventions en ajout seul')",
    ),
    (
        "convention_history_no_delete",
        "convention_history",
        "BEFORE DELETE",
        "tq_refuse('historique des conventions en ajout seul')",
    ),
    (
        "convention_purges_no_delete",
        "convention_purges",
        "BEFORE DELETE",
        "tq_refuse('registre des destructions en ajout seul')",
    ),
    ("convention_purges_close_only", "convention_purges", "BEFORE UPDATE", "tq_convention_purges_close_only()"),
    (
        "convention_purge_open_needs_purge",
        "convention_purge_open",
        "BEFORE INSERT",
        "tq_convention_purge_open_needs_purge()",
    ),
    (
        "access_log_reanchors_no_update",
        "access_log_reanchors",
        "BEFORE UPDATE",
        "tq_refuse('réancrages du journal en ajout seul')",
    ),
    (
        "access_log_reanchors_no_delete",
        "access_log_reanchors",
        "BEFORE DELETE",
        "tq_refuse('réancrages du journal en ajout seul')",
    ),
    (
        "contract_fingerprints_no_update",
        "contract_fingerprints",
        "BEFORE UPDATE",
        "tq_refuse('empreintes des contrats en ajout seul')",
    ),
    (
        "contract_fingerprints_no_delete",
        "contract_fingerprints",
        "BEFORE DELETE",
        "tq_refuse('empreintes des contrats en ajout seul')",
    ),
    (
        "contractor_events_no_update",
        "contractor_events",
        "BEFORE UPDATE",
        "tq_refuse('historique des remises en ajout seul')",
    ),
    (
        "contractor_events_no_delete",
        "contractor_events",
        "BEFORE DELETE",
        "tq_refuse('historique des remises en ajout seul')",
    ),
    (
        "contractor_handovers_no_delete",
        "contractor_handovers",
        "BEFORE DELETE",
        "tq_refuse('registre des remises: suppression interdite')",
    ),
]
# TRUNCATE skips row triggers: refused on every table a row trigger protects
PG_NO_TRUNCATE = sorted({table for _, table, _, _ in PG_TRIGGERS})


def sqlite_statements(script: str) -> list[str]:
    """A SQLite script cut into its statements (triggers hold `;` in their BEGIN … END)."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        raise ValueError(f"instruction SQL incomplète: {buf[:80]}")
    return out


def _columns(bind, table: str) -> set[str]:
    return {r[1] for r in bind.exec_driver_sql(f"PRAGMA table_info({table})")}  # our own table names


def _upgrade_sqlite() -> None:
    bind = op.get_bind()
    tables = {r[0] for r in bind.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")}
    # the steps `_migrate` applied to stores older than SCHEMA_VERSION 1's last form
    if "profiles" in tables and "own_entries_only" not in _columns(bind, "profiles"):
        # Cortège agents read only their own entries, in the gateway too (issue #10)
        op.execute("ALTER TABLE profiles ADD COLUMN own_entries_only INTEGER NOT NULL DEFAULT 0")
        op.execute("UPDATE profiles SET own_entries_only = 1 WHERE code = 'agent_cortege'")
    if "access_log" in tables and "reads" not in _columns(bind, "access_log"):
        # what each line read (issue 11); earlier lines keep NULL, and their MAC without it
        op.execute("ALTER TABLE access_log ADD COLUMN reads TEXT")
    for script in (STORE, RETENTION, CONVENTIONS):
        for stmt in sqlite_statements(script):
            bind.exec_driver_sql(stmt)


def _upgrade_postgresql() -> None:
    bind = op.get_bind()

    def run(stmt: str) -> None:
        bind.exec_driver_sql(stmt.replace("%", "%%"))  # psycopg2 reads % as its placeholders

    for stmt in sqlite_statements(PG_TABLES):  # plain statements: the same cutting applies
        run(stmt)
    for fn in PG_FUNCTIONS:
        run(fn)
    for name, table, when, call in PG_TRIGGERS:
        run(f"CREATE TRIGGER {name} {when} ON {table} FOR EACH ROW EXECUTE FUNCTION {call}")
    for table in PG_NO_TRUNCATE:
        run(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION tq_refuse('{table}: vidage interdit')"
        )
    # nothing for PUBLIC: the app's role is granted what it may do by `store.grant_app_role`
    run("REVOKE ALL ON ALL TABLES IN SCHEMA current_schema FROM PUBLIC".replace("current_schema", _schema(bind)))
    run("REVOKE ALL ON ALL SEQUENCES IN SCHEMA current_schema FROM PUBLIC".replace("current_schema", _schema(bind)))
    run("REVOKE ALL ON FUNCTION tq_autoincrement() FROM PUBLIC")


def _schema(bind) -> str:
    name = bind.exec_driver_sql("SELECT current_schema()").scalar()
    return '"' + name.replace('"', '""') + '"'


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _upgrade_sqlite()
    else:
        _upgrade_postgresql()


def downgrade() -> None:
    raise NotImplementedError("le magasin ne redescend pas de version: restaurer une sauvegarde")
