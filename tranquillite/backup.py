"""Backups of a deployment and their restoration (docs/deploiement.md).

A backup is a folder holding:
* `dagster.dump` — the Dagster database (runs, event log, schedules), `pg_dump --format=custom`,
  in production (PostgreSQL); in development the SQLite files of `dagster/` are copied instead;
* the app's store (accounts, rights, access log, Cortège registry, conventions): `application.dump`,
  `pg_dump --format=custom` of its PostgreSQL database (`TRANQUILLITE_APP_DB_URL`, dumped with the
  owner's role when one is given), or `platform.sqlite`, the SQLite file copied with SQLite's online
  backup API (consistent while the app writes);
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
    """Dagster's PostgreSQL URL in production (refused without it: a backup without Dagster's
    history would look complete), None in development (its SQLite files are in the home)."""
    s = settings()
    if not s.is_production:
        return None
    if s.dagster_pg_url is None:
        raise BackupError(
            "TRANQUILLITE_ENV=production sans TRANQUILLITE_DAGSTER_PG_URL: la base de Dagster ne "
            "serait pas sauvegardée (voir docs/deploiement.md)"
        )
    return s.dagster_pg_url.get_secret_value()


def _app_pg_url() -> str | None:
    """The app store's PostgreSQL URL (the owner's role when given), None when it is the SQLite file
    (development; production has no SQLite store, so a backup without the URL would lack it)."""
    s = settings()
    if s.app_db_url is None:
        if s.is_production:
            raise BackupError(
                "TRANQUILLITE_ENV=production sans TRANQUILLITE_APP_DB_URL: le magasin de l'application "
                "ne serait pas sauvegardé (voir docs/deploiement.md)"
            )
        return None
    return (s.app_db_owner_url or s.app_db_url).get_secret_value()


def _pg_dump(url: str, target: Path) -> None:
    out = subprocess.run(
        [pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target), "--dbname", _libpq_url(url)],
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise BackupError(f"pg_dump a échoué: {out.stderr.strip()}")


def _pg_restore(url: str, dump: Path, privileges: bool = True) -> None:
    cmd = [pg_tool("pg_restore"), "--no-owner", "--exit-on-error", "--dbname", _libpq_url(url), str(dump)]
    if not privileges:
        cmd.insert(2, "--no-privileges")
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        raise BackupError(f"pg_restore a échoué: {out.stderr.strip()}")


def _has_tables(url: str) -> bool:
    import psycopg2

    with psycopg2.connect(_libpq_url(url)) as con, con.cursor() as cur:
        cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()")
        n = cur.fetchone()[0]
    con.close()
    return n > 0


def backup(dest: Path, home: Path | None = None) -> dict:
    """Write a backup of `home` (default: this deployment's) into the new folder `dest`."""
    home = (home or paths().home).resolve()
    dest = Path(dest).resolve()
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} n'est pas vide: une sauvegarde va dans un dossier neuf")
    if dest.is_relative_to(home):
        raise BackupError(f"{dest} est dans le dossier sauvegardé {home}")
    url, app_url = _pg_url(), _app_pg_url()
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    if url:
        _pg_dump(url, dest / "dagster.dump")
    store = home / STORE
    if app_url:
        _pg_dump(app_url, dest / "application.dump")
    elif store.exists():
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
    files = {
        str(p.relative_to(dest)): {"octets": p.stat().st_size, "sha256": _sha256(p)}
        for p in sorted(dest.rglob("*"))
        if p.is_file()
    }
    manifest = {
        "cree_le": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "base_dagster": bool(url),
        "base_application": bool(app_url),
        "fichiers": files,
    }
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
        raise BackupError(
            "sauvegarde altérée — "
            + "; ".join(
                part
                for part in (
                    f"manquants: {missing[:5]}" if missing else "",
                    f"en trop: {extra[:5]}" if extra else "",
                    f"modifiés: {bad[:5]}" if bad else "",
                )
                if part
            )
        )
    return manifest


def restore(src: Path, home: Path | None = None) -> dict:
    """Restore the backup `src` into an empty `home` (and, in production, the empty Dagster database)."""
    src, home = Path(src).resolve(), (home or paths().home).resolve()
    manifest = verify(src)
    if home.exists() and any(p.is_file() for p in home.rglob("*")):
        raise BackupError(f"{home} contient déjà des fichiers: restaurer dans un dossier vide")
    url, app_url = _pg_url(), _app_pg_url()
    if manifest["base_dagster"] and not url:
        raise BackupError(
            "cette sauvegarde contient la base Dagster: TRANQUILLITE_ENV=production et "
            "TRANQUILLITE_DAGSTER_PG_URL (base vide) sont nécessaires pour la restaurer"
        )
    if manifest.get("base_application") and not app_url:
        raise BackupError(
            "cette sauvegarde contient la base du magasin de l'application: TRANQUILLITE_APP_DB_URL "
            "(base vide) est nécessaire pour la restaurer"
        )
    if manifest.get("base_application") and _has_tables(app_url):
        raise BackupError(
            "la base du magasin de l'application (TRANQUILLITE_APP_DB_URL) n'est pas vide: "
            "restaurer dans une base neuve"
        )
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
        _pg_restore(url, src / "dagster.dump")
    if manifest.get("base_application"):
        # the privileges are given again to this deployment's app role (its name may differ)
        _pg_restore(app_url, src / "application.dump", privileges=False)
        s = settings()
        app_role = make_url(s.app_db_url.get_secret_value()).username
        if make_url(app_url).username != app_role:
            from tranquillite.app_core import store

            store.grant_app_role(app_role, app_url)
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
    print(
        f"{a.cmd}: {len(m['fichiers'])} fichiers, {size / 1e6:.1f} Mo"
        + (", base Dagster comprise" if m["base_dagster"] else "")
        + (", base du magasin de l'application comprise" if m.get("base_application") else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
