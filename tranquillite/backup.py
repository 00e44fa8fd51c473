"""Backups of a deployment and their restoration (docs/deploiement.md).

A backup is a folder holding:
* `dagster.dump` — the Dagster database (runs, event log, schedules), `pg_dump --format=custom`,
  in production (PostgreSQL); in development the SQLite files of `dagster/` are copied instead;
* `platform.sqlite` — the app's store (accounts, rights, access log, Cortège registry), copied with
  SQLite's online backup API (consistent while the app writes);
* `home/` — the warehouse (Parquet, DuckDB catalog, models), the landing files, the quarantine,
  the access-log key and its published heads: every file of `$TRANQUILLITE_HOME` but the store
  and the instance's own files;
* `manifest.json` — every file with its size and SHA-256, checked before anything is restored.

`python -m tranquillite.backup sauvegarder DEST` and `python -m tranquillite.backup restaurer SRC`
(into an empty home and, in production, an empty database). Run the backup when no run writes
(after the nightly chain, or with the daemon paused): Parquet files are replaced atomically, so
each file is whole, but a run in progress may have written only part of its tables.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.engine import make_url

from tranquillite.settings import SettingsError, check, paths, settings

STORE = Path("app") / "platform.sqlite"
DAGSTER = Path("dagster")
MANIFEST = "manifest.json"


class BackupError(RuntimeError):
    """A backup that cannot be made or restored, with the reason in French."""


def _libpq_url(url: str) -> str:
    """The URL for pg_dump/pg_restore (libpq knows no SQLAlchemy driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def pg_tool(name: str) -> str:
    """A PostgreSQL program: on the PATH, else the newest of Debian's /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not versions:
        raise BackupError(f"{name} introuvable (paquet Debian postgresql-client)")
    return str(versions[-1])


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _pg_url() -> str | None:
    s = settings()
    return s.dagster_pg_url.get_secret_value() if s.is_production and s.dagster_pg_url else None


def backup(dest: Path, home: Path | None = None) -> dict:
    """Write a backup of `home` (default: this deployment's) into the new folder `dest`."""
    home = (home or paths().home).resolve()
    dest = Path(dest).resolve()
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} n'est pas vide: une sauvegarde va dans un dossier neuf")
    if dest.is_relative_to(home):
        raise BackupError(f"{dest} est dans le dossier sauvegardé {home}")
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    url = _pg_url()
    if url:
        out = subprocess.run([pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file",
                              str(dest / "dagster.dump"), "--dbname", _libpq_url(url)], capture_output=True, text=True)
        if out.returncode:
            raise BackupError(f"pg_dump a échoué: {out.stderr.strip()}")
    store = home / STORE
    if store.exists():
        src, dst = sqlite3.connect(store), sqlite3.connect(dest / "platform.sqlite")
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
    skipped = {home / STORE, home / STORE.with_name(STORE.name + "-wal"), home / STORE.with_name(STORE.name + "-shm")}
    for path in sorted(p for p in home.rglob("*") if p.is_file()):
        rel = path.relative_to(home)
        if path in skipped or (url and rel.parts[0] == DAGSTER.name and path.name != "dagster.yaml"):
            continue
        target = dest / "home" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    files = {str(p.relative_to(dest)): {"octets": p.stat().st_size, "sha256": _sha256(p)}
             for p in sorted(dest.rglob("*")) if p.is_file()}
    manifest = {"cree_le": datetime.now(timezone.utc).isoformat(timespec="seconds"), "base_dagster": bool(url),
                "fichiers": files}
    (dest / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


def verify(src: Path) -> dict:
    """The backup's manifest, after checking every file's size and digest (`BackupError` otherwise)."""
    src = Path(src)
    try:
        manifest = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{src / MANIFEST} illisible: {exc}") from None
    present = {str(p.relative_to(src)) for p in src.rglob("*") if p.is_file()} - {MANIFEST}
    missing = sorted(set(manifest["fichiers"]) - present)
    extra = sorted(present - set(manifest["fichiers"]))
    bad = sorted(f for f, m in manifest["fichiers"].items() if f in present and _sha256(src / f) != m["sha256"])
    if missing or extra or bad:
        raise BackupError("sauvegarde altérée — " + "; ".join(
            part for part in (f"manquants: {missing[:5]}" if missing else "", f"en trop: {extra[:5]}" if extra else "",
                              f"modifiés: {bad[:5]}" if bad else "") if part))
    return manifest


def restore(src: Path, home: Path | None = None) -> dict:
    """Restore the backup `src` into an empty `home` (and, in production, the empty Dagster database)."""
    src, home = Path(src).resolve(), (home or paths().home).resolve()
    manifest = verify(src)
    if home.exists() and any(p.is_file() for p in home.rglob("*")):
        raise BackupError(f"{home} contient déjà des fichiers: restaurer dans un dossier vide")
    url = _pg_url()
    if manifest["base_dagster"] and not url:
        raise BackupError("cette sauvegarde contient la base Dagster: TRANQUILLITE_ENV=production et "
                          "TRANQUILLITE_DAGSTER_PG_URL (base vide) sont nécessaires pour la restaurer")
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    for path in sorted((src / "home").rglob("*")) if (src / "home").exists() else []:
        if path.is_file():
            target = home / path.relative_to(src / "home")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    if (src / "platform.sqlite").exists():
        (home / STORE).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / "platform.sqlite", home / STORE)
    if manifest["base_dagster"]:
        out = subprocess.run([pg_tool("pg_restore"), "--no-owner", "--exit-on-error", "--dbname", _libpq_url(url),
                              str(src / "dagster.dump")], capture_output=True, text=True)
        if out.returncode:
            raise BackupError(f"pg_restore a échoué: {out.stderr.strip()}")
    return manifest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tranquillite.backup", description="Sauvegarde et restauration")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("sauvegarder", help="sauvegarde dans un dossier neuf").add_argument("dossier", type=Path)
    sub.add_parser("restaurer", help="restaure dans un home vide").add_argument("dossier", type=Path)
    sub.add_parser("verifier", help="vérifie les empreintes d'une sauvegarde").add_argument("dossier", type=Path)
    a = p.parse_args(argv)
    try:
        check()
        os.umask(0o077)
        if a.cmd == "sauvegarder":
            m = backup(a.dossier)
        elif a.cmd == "restaurer":
            m = restore(a.dossier)
        else:
            m = verify(a.dossier)
    except (BackupError, SettingsError) as exc:
        print(f"erreur: {exc}", file=sys.stderr)
        return 2
    size = sum(f["octets"] for f in m["fichiers"].values())
    print(f"{a.cmd}: {len(m['fichiers'])} fichiers, {size / 1e6:.1f} Mo"
          + (", base Dagster comprise" if m["base_dagster"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
