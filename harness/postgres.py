"""A local PostgreSQL server in a folder of its own: the cluster's ledger, the tests' and
the failover harness's throwaway database.

``initdb`` into ``<root>/data`` (password authentication, 127.0.0.1 on a free port, the
unix socket inside the folder), one role and one database for Amtsweg. It can be stopped
at once (``pg_ctl stop -m immediate``: no checkpoint, as a crash would leave it) and
started again on the same port and data, which then recovers from its write-ahead log.
A throwaway server (:func:`throwaway_postgres`) skips fsync: its data is deleted after.
PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` OS user.
Server binaries from ``/usr/lib/postgresql/<version>/bin`` (the newest) or the ``PATH``.
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

DATABASE = "amtsweg"
ROLE = "amtsweg"
SUPERUSER = "postgres"
OS_USER = "postgres"


class LocalPostgresError(RuntimeError):
    """The server could not be created, started or stopped."""


class PostgresUnavailableError(LocalPostgresError):
    """PostgreSQL's server binaries (initdb, pg_ctl) are not installed."""


def find_bindir() -> Path:
    """The folder with ``initdb`` and ``pg_ctl`` (the newest Debian-style install first)."""
    installed = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda pg_ctl: (
            int(pg_ctl.parent.parent.name) if pg_ctl.parent.parent.name.isdigit() else 0
        ),
        reverse=True,
    )
    on_path = shutil.which("pg_ctl")
    for pg_ctl in [*installed, *([Path(on_path).resolve()] if on_path else [])]:
        if (pg_ctl.parent / "initdb").is_file():
            return pg_ctl.parent
    msg = "PostgreSQL server binaries (initdb, pg_ctl) not found"
    raise PostgresUnavailableError(msg)


class LocalPostgres:
    """One PostgreSQL server under ``root``; port and password fixed at construction."""

    def __init__(self, root: Path, *, durable: bool = True) -> None:
        """Describe the server; nothing runs before :meth:`start`. Not ``durable``: no
        fsync (for data thrown away after)."""
        self.root = root.resolve()
        self.durable = durable
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_tcp_port()
        self._bindir = find_bindir()
        self._run_as = _run_as_prefix()
        self._superuser_password = secrets.token_urlsafe(16)
        self._password = secrets.token_urlsafe(16)

    @property
    def dsn(self) -> str:
        """``postgresql://`` URL of Amtsweg's database (``AMTSWEG_LEDGER_URL``)."""
        return f"postgresql://{ROLE}:{self._password}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def address(self) -> str:
        """``host:port`` (no credentials), for printing."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        """Create the server at the first call, then start it; return once it accepts."""
        fresh = not (self.data / "PG_VERSION").is_file()
        if fresh:
            self._create()
        self._pg_ctl("-l", str(self.log), "-w", "-t", "60", "start")
        if fresh:
            self._create_database()

    def stop(self) -> None:
        """Stop cleanly (fast shutdown); immediate when that does not finish."""
        if not self.running:
            return
        try:
            self._pg_ctl("-m", "fast", "-w", "-t", "30", "stop")
        except LocalPostgresError:
            self.crash()

    def crash(self) -> None:
        """Stop at once, as a crash would (``-m immediate``: recovery at the next start)."""
        self._pg_ctl("-m", "immediate", "-w", "stop")

    @property
    def running(self) -> bool:
        """Whether the server's postmaster runs."""
        command = [*self._run_as, str(self._bindir / "pg_ctl"), f"--pgdata={self.data}", "status"]
        done = subprocess.run(command, capture_output=True, check=False)  # noqa: S603 - pg_ctl
        return done.returncode == 0

    def _create(self) -> None:
        sockets = self.root / "run"
        sockets.mkdir(parents=True, exist_ok=True)
        password_file = self.root / "pwfile"
        password_file.write_text(self._superuser_password + "\n", encoding="utf-8")
        if self._run_as:
            _hand_to_os_user(self.root, sockets, password_file)
        self._run(
            "initdb",
            f"--pgdata={self.data}",
            f"--username={SUPERUSER}",
            f"--pwfile={password_file}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            *([] if self.durable else ["--no-sync"]),
        )
        password_file.unlink()
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{sockets}'",
            "max_connections": "200",
        }
        if not self.durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def _create_database(self) -> None:
        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=SUPERUSER,
            password=self._superuser_password,
            dbname="postgres",
            autocommit=True,
        ) as connection:
            connection.execute(  # CREATEDB: the backup-and-restore test restores into a new one
                sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                    sql.Identifier(ROLE), sql.Literal(self._password)
                )
            )
            connection.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(DATABASE), sql.Identifier(ROLE)
                )
            )

    def _pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", f"--pgdata={self.data}", *args)

    def _run(self, program: str, *args: str) -> None:
        command = [*self._run_as, str(self._bindir / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - PostgreSQL's own programs
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.is_file() else ""
            msg = f"{program} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}{log}"
            raise LocalPostgresError(msg)


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Run a fresh server in a temporary folder; yield the DSN of its Amtsweg database."""
    root = Path(tempfile.mkdtemp(prefix="amtsweg-pg-"))  # its own: the server's user enters it
    try:
        server = LocalPostgres(root, durable=False)
        server.start()
        try:
            yield server.dsn
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _hand_to_os_user(root: Path, *paths: Path) -> None:
    """Make ``root`` and ``paths`` the ``postgres`` user's, and ``root``'s parent passable."""
    owner = pwd.getpwnam(OS_USER)
    for path in (root, *paths):
        os.chown(path, owner.pw_uid, owner.pw_gid)
    parent = root.parent
    parent.chmod(parent.stat().st_mode | 0o001)  # traverse only: nothing in it is listed


def _run_as_prefix() -> list[str]:
    """``runuser -u postgres --`` when running as root (creating that user if needed)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(OS_USER)
    except KeyError:
        subprocess.run(  # noqa: S603 - a fixed command
            ["useradd", "--system", "--user-group", "--no-create-home", OS_USER],  # noqa: S607
            check=True,
        )
    return ["runuser", "-u", OS_USER, "--"]
