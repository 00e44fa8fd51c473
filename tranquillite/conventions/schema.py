"""The conventions' tables in the app store, created by its migrations (`store.init_store`).

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

# the tables and triggers are created by the store's migrations (`app_core/migrations`, revision
# 0001, which holds the DDL this module used to run); a store made before Alembic still holds
# `conventions_schema_version` = 1 in `meta`, which nothing reads any more


def install(con) -> None:
    """Seed the registry from conventions.yaml (the tables exist: `store.init_store` migrated them)."""
    from tranquillite.conventions import registry

    registry.seed(con)
