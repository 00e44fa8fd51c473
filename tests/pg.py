"""A real PostgreSQL server for the tests, from Debian's `postgresql` package (installed by `make
postgres`, part of `make test`): `initdb` in a temporary folder, `pg_ctl start` on a free loopback
port, trust authentication for the one test role, stopped at the end. As root (CI), the server runs
as the `postgres` system user, which PostgreSQL requires."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tests.system import missing
from tranquillite.backup import BackupError, pg_tool

ROLE = "tranquillite"


def pg_bin() -> Path | None:
    """The folder of the server's programs (the one `tranquillite.backup` finds its tools in)."""
    try:
        return Path(pg_tool("initdb")).resolve().parent
    except BackupError:
        return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_server() -> Iterator[str]:
    """A running server; yields the URL of its `postgres` database for the role `tranquillite`."""
    bindir = pg_bin()
    if bindir is None:
        missing("PostgreSQL", "paquet Debian postgresql: `make postgres`")
    prefix: list[str] = []
    root = tempfile.mkdtemp(prefix="tq-pg-")
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            missing("l'utilisateur système postgres", "paquet Debian postgresql: `make postgres`")
        os.chown(root, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, log = Path(root) / "data", Path(root) / "server.log"
    port = _free_port()

    def run(*cmd: str) -> None:
        out = subprocess.run([*prefix, *cmd], capture_output=True, text=True)
        if out.returncode:
            raise RuntimeError(f"{' '.join(cmd)}: {out.stdout}{out.stderr}{log.read_text() if log.exists() else ''}")

    run(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        ROLE,
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-sync",
        "--no-instructions",
    )
    run(
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(log),
        "-w",
        "-t",
        "60",
        "-o",
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
        "start",
    )
    try:
        yield f"postgresql://{ROLE}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


def create_database(url: str, name: str, template: str | None = None) -> str:
    """A new database on the server of `url` (a copy of `template` if given); returns its URL."""
    import psycopg2
    from psycopg2 import sql

    con = psycopg2.connect(url)
    con.autocommit = True
    with con.cursor() as cur:
        if template:
            cur.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
            )
        else:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    con.close()
    return url.rsplit("/", 1)[0] + "/" + name
