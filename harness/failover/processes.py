"""The singletons under test: two processes each of ``amtsweg service relay`` and
``amtsweg service notifier`` on one ledger, killed with SIGKILL and started again alike."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
from pathlib import Path

READY = b'"amtsweg.ready"'
STANDBY = b'"leader.standby"'
ACQUIRED = b'"leader.acquired"'


class SingletonProcesses:
    """``<service>-a`` and ``<service>-b`` for each service, each logging to its own file."""

    def __init__(self, logs: Path, env: dict[str, str], services: tuple[str, ...]) -> None:
        self._logs = logs
        self._env = env
        self._services = services
        self.children: dict[str, subprocess.Popen[bytes]] = {}

    async def start(self, limit_s: float) -> None:
        """Start the first process of every service, once they are ready the second ones
        (a fresh database's tables are created by the first, not by two at once)."""
        self._logs.mkdir(parents=True, exist_ok=True)
        for side in ("a", "b"):
            names = [f"{service}-{side}" for service in self._services]
            for name in names:
                self.spawn(name)
            for name in names:
                await self.logged(name, READY, 0, limit_s)

    def spawn(self, name: str) -> int:
        """Start child ``name`` (again); the log offset its new lines come after."""
        log_file = self.log(name)
        offset = log_file.stat().st_size if log_file.exists() else 0
        service = name.rsplit("-", 1)[0]
        with log_file.open("ab") as log:
            self.children[name] = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "services.ops.cli", "service", service],
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return offset

    def log(self, name: str) -> Path:
        """Where child ``name`` logs."""
        return self._logs / f"{name}.log"

    def named(self, pid: int) -> str | None:
        """The child with process id ``pid``."""
        return next((n for n, c in self.children.items() if c.pid == pid), None)

    def kill(self, name: str) -> float:
        """SIGKILL child ``name``; when (``time.time()``) the signal was sent."""
        child = self.children[name]
        killed_at = time.time()
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        return killed_at

    async def logged(self, name: str, marker: bytes, offset: int, limit_s: float) -> None:
        """Return once child ``name`` logged ``marker`` after ``offset``."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            with self.log(name).open("rb") as log:
                log.seek(offset)
                if marker in log.read():
                    return
            if (code := self.children[name].poll()) is not None:
                raise RuntimeError(f"{name} exited with {code}; see {self.log(name)}")
            await asyncio.sleep(0.1)
        raise TimeoutError(f"{name} logged no {marker.decode()} within {limit_s:.0f} s")

    def stop(self) -> dict[str, int | None]:
        """SIGTERM every child; their exit codes."""
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for name, child in self.children.items():
            try:
                codes[name] = child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
                codes[name] = child.wait()
        return codes
