"""A throwaway PostgreSQL cluster for the integration tests.

``initdb`` into a fresh temporary folder, password authentication, listening on
127.0.0.1 on a free port (unix socket inside the folder), one database and one role.
When the tests run as root the server runs as the ``postgres`` OS user, since
PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import os
import pwd
import re
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

DATABASE = "amtsweg"
ROLE = "amtsweg"
_SUPERUSER = "postgres"
_OS_USER = "postgres"


class PostgresUnavailableError(RuntimeError):
    """PostgreSQL server binaries (initdb, pg_ctl) are not installed."""


def find_bindir() -> Path:
    """Return the folder with ``initdb`` and ``pg_ctl`` (newest Debian-style install first)."""
    candidates = sorted(
        (Path(initdb).parent for initdb in Path("/usr/lib/postgresql").glob("*/bin/initdb")),
        key=lambda bindir: _version_key(bindir.parent.name),
        reverse=True,
    )
    on_path = shutil.which("initdb")
    if on_path is not None:
        candidates.append(Path(on_path).resolve().parent)
    for bindir in candidates:
        if (bindir / "pg_ctl").is_file():
            return bindir
    msg = "PostgreSQL server binaries (initdb, pg_ctl) not found"
    raise PostgresUnavailableError(msg)


class PostgresClusterError(RuntimeError):
    """The throwaway cluster could not be created, started or stopped."""


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Run a fresh PostgreSQL cluster and yield a ``postgresql://`` DSN for its database."""
    bindir = find_bindir()
    run_as = _run_as_prefix()
    root = Path(tempfile.mkdtemp(prefix="amtsweg-pg-"))
    try:
        cluster = _Cluster(bindir, root, run_as)
        cluster.create()
        cluster.start()
        try:
            password = secrets.token_urlsafe(16)
            cluster.create_database(password)
            yield f"postgresql://{ROLE}:{password}@127.0.0.1:{cluster.port}/{DATABASE}"
        finally:
            cluster.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


class _Cluster:
    def __init__(self, bindir: Path, root: Path, run_as: list[str]) -> None:
        self.bindir = bindir
        self.root = root
        self.run_as = run_as
        self.data = root / "data"
        self.sockets = root / "run"
        self.log = root / "postgres.log"
        self.port = free_tcp_port()
        self.superuser_password = secrets.token_urlsafe(16)

    def create(self) -> None:
        self.sockets.mkdir()
        password_file = self.root / "pwfile"
        password_file.write_text(self.superuser_password + "\n", encoding="utf-8")
        if self.run_as:
            owner = pwd.getpwnam(_OS_USER)
            for path in (self.root, self.sockets, password_file):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        self._run(
            "initdb",
            f"--pgdata={self.data}",
            f"--username={_SUPERUSER}",
            f"--pwfile={password_file}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        password_file.unlink()
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.sockets}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def start(self) -> None:
        self._run("pg_ctl", f"--pgdata={self.data}", f"--log={self.log}", "-w", "-t", "60", "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", f"--pgdata={self.data}", "-m", "fast", "-w", "-t", "30", "stop")
        except PostgresClusterError:
            self._run("pg_ctl", f"--pgdata={self.data}", "-m", "immediate", "-w", "stop")

    def create_database(self, password: str) -> None:
        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=_SUPERUSER,
            password=self.superuser_password,
            dbname="postgres",
            autocommit=True,
        ) as connection:
            connection.execute(
                sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                    sql.Identifier(ROLE), sql.Literal(password)
                )
            )
            connection.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(DATABASE), sql.Identifier(ROLE)
                )
            )

    def _run(self, program: str, *args: str) -> None:
        command = [*self.run_as, str(self.bindir / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.is_file() else ""
            msg = f"{program} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}{log}"
            raise PostgresClusterError(msg)


def _run_as_prefix() -> list[str]:
    """Return ``runuser -u postgres --`` when running as root (creating the user if needed)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(_OS_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home", _OS_USER],
            check=True,
        )
    return ["runuser", "-u", _OS_USER, "--"]


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name))
