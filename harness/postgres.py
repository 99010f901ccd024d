"""A throwaway PostgreSQL cluster for the harness: ``initdb`` in a scratch folder, one role.

Listens on 127.0.0.1 on a free port with password authentication, fsync off (the data is
thrown away). As root, the server runs as the ``postgres`` OS user (PostgreSQL refuses
root). Server binaries from ``/usr/lib/postgresql/<version>/bin`` or the ``PATH``.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from deploy.net import free_tcp_port

ROLE = "amtsweg"


def _bindir() -> Path:
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    initdb = installed[0] if installed else Path(shutil.which("initdb") or "initdb")
    if not initdb.is_file():
        msg = "PostgreSQL server binaries (initdb, pg_ctl) not found"
        raise RuntimeError(msg)
    return initdb.parent


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Run a fresh cluster in a temporary folder; yield a DSN of role ``amtsweg``."""
    root = Path(tempfile.mkdtemp(prefix="amtsweg-pg-"))  # its own: the server's user enters it
    try:
        yield from _cluster(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _cluster(root: Path) -> Iterator[str]:
    bindir, port = _bindir(), free_tcp_port()
    run_as: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    superuser = secrets.token_urlsafe(16)
    password_file = root / "pwfile"
    password_file.write_text(superuser + "\n", encoding="utf-8")
    if run_as:
        os.chown(password_file, owner.pw_uid, owner.pw_gid)
    data = root / "data"

    def run(program: str, *args: str) -> None:
        subprocess.run([*run_as, str(bindir / program), *args], check=True, capture_output=True)  # noqa: S603 - PostgreSQL's own programs

    run("initdb", f"--pgdata={data}", "--username=postgres", f"--pwfile={password_file}",
        "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync")  # fmt: skip
    password_file.unlink()
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root}"
    options += " -c fsync=off -c synchronous_commit=off"
    run(
        "pg_ctl", f"--pgdata={data}", f"--log={root / 'postgres.log'}", "-o", options, "-w", "start"
    )
    try:
        password = secrets.token_urlsafe(16)
        admin = f"postgresql://postgres:{superuser}@127.0.0.1:{port}/postgres"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(ROLE), sql.Literal(password)
                )
            )
            connection.execute(
                sql.SQL("CREATE DATABASE {0} OWNER {0}").format(sql.Identifier(ROLE))
            )
        yield f"postgresql://{ROLE}:{password}@127.0.0.1:{port}/{ROLE}"
    finally:
        run("pg_ctl", f"--pgdata={data}", "-m", "fast", "-w", "stop")
