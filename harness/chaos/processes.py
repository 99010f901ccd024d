"""Amtsweg's processes for ``amtsweg chaos``: killed with SIGKILL, started again alike.

:class:`ChaosProcesses` is the bench's :class:`AmtswegProcesses` (one process per service)
that also remembers how each child was started, so a killed child comes back with the same
command, environment and HTTP port (the portal keeps its URL), and tells when it is ready
again (a new ``amtsweg.ready`` line in its log). The broker is the chaos command's own
:class:`LocalKafka` (stopped and started on its ports and storage), an external cluster
with a restart command of the operator's, or none that can be restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from deploy.kafka_probe import broker_answers
from deploy.local_kafka import LocalKafka
from harness.bench.processes import AmtswegProcesses

READY_MARKER = b'"amtsweg.ready"'


class ChildExitedError(RuntimeError):
    """A child exited before it was ready."""


class ChaosProcesses(AmtswegProcesses):
    """One process per service that can be killed and started again."""

    def __init__(
        self,
        data_dir: Path,
        bootstrap_servers: str,
        portal_tokens: dict[str, str],
        *,
        log_level: str,
        env: Mapping[str, str] | None = None,
        relays: int = 1,
    ) -> None:
        """``env``: more of every child's environment (e.g. a PostgreSQL ledger's URL);
        ``relays``: how many relay processes (more than one: standbys)."""
        self.bootstrap_servers = bootstrap_servers
        self._arguments: dict[str, list[str]] = {}
        self._ports: dict[str, str] = {}
        super().__init__(
            data_dir,
            bootstrap_servers,
            portal_tokens,
            layout="per-service",
            instances=1,
            log_level=log_level,
            relays=relays,
        )
        self._env.update(env or {})
        # Any free port for /metrics: with 9464 as the first choice, children starting
        # together can all bind it (SO_REUSEADDR) and all but one then fail to listen.
        self._env["AMTSWEG_METRICS_PORT"] = "0"

    def _spawn(self, name: str, arguments: list[str], *, http: bool = False) -> None:
        super()._spawn(name, arguments, http=http)
        self._arguments[name] = arguments
        if http:
            self._ports[name] = self.urls[-1].rsplit(":", 1)[1]

    def kill(self, name: str) -> None:
        """SIGKILL the child ``name`` and reap it."""
        child = self.children[name]
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)

    def exited(self, name: str) -> int | None:
        """The exit code of child ``name``, or None while it runs."""
        return self.children[name].poll()

    def respawn(self, name: str) -> int:
        """Start child ``name`` again as before; the log offset its readiness comes after."""
        env = dict(self._env)
        if name in self._ports:
            env["AMTSWEG_HTTP_PORT"] = self._ports[name]
        log_file = self._log(name)
        offset = log_file.stat().st_size if log_file.exists() else 0
        with log_file.open("ab") as log:
            self.children[name] = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "services.ops.cli", *self._arguments[name]],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return offset

    async def ready(self, name: str, offset: int, limit_s: float) -> None:
        """Return once child ``name`` logged readiness after ``offset``.

        ``ChildExitedError`` if it exits first, ``TimeoutError`` after ``limit_s`` seconds.
        """
        deadline = time.monotonic() + limit_s
        log_file = self._log(name)
        while time.monotonic() < deadline:
            with log_file.open("rb") as log:
                log.seek(offset)
                if READY_MARKER in log.read():
                    return
            if (code := self.exited(name)) is not None:
                raise ChildExitedError(f"{name} exited with {code} while starting")
            await asyncio.sleep(0.2)
        raise TimeoutError(f"{name} not ready after {limit_s:.0f} s")

    def log_file(self, name: str) -> Path:
        """Where child ``name`` logs."""
        return self._log(name)


@dataclass
class BrokerControl:
    """How the chaos command can restart the broker, or why it cannot."""

    bootstrap_servers: str
    local: LocalKafka | None = None
    command: str | None = None
    crash: bool = False
    """SIGKILL the local broker instead of stopping it (SIGTERM)."""

    def why_not(self) -> str | None:
        """Why the broker cannot be restarted here; None when it can."""
        if self.local is not None or self.command:
            return None
        return (
            "the broker is an external cluster (KAFKA_BOOTSTRAP_SERVERS) that this command "
            "did not start; give --broker-restart-command, or --own-broker"
        )

    def restart(self, ready_timeout: float = 180.0) -> None:
        """Stop and start the broker; return once it answers again (blocking)."""
        if self.local is not None:
            if self.crash:
                self.local.kill()
            else:
                self.local.stop()
            self.local.start()
            return
        if not self.command:
            raise RuntimeError(self.why_not())
        subprocess.run(shlex.split(self.command), check=True, timeout=ready_timeout)  # noqa: S603 - the operator's own command
        deadline = time.monotonic() + ready_timeout
        while not broker_answers(self.bootstrap_servers, timeout=2.0):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the broker did not answer within {ready_timeout:.0f} s")
            time.sleep(0.5)
