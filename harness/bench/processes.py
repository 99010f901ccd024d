"""The Amtsweg under test as child processes, and what each process costs (from /proc).

``single`` runs ``amtsweg run`` (every part in one process, as ``./dev run`` does);
``per-service`` runs one process per service (``amtsweg service <name>``), with
``instances`` members of each worker's consumer group and as many HTTP intakes, each on
its own port. Every child gets the fresh data dir (SQLite ledger, blobs), the broker and
the bench's portal token through its environment, and logs to ``<data dir>/logs``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from deploy.net import free_tcp_port

READY_TIMEOUT = 180.0
_TICKS = os.sysconf("SC_CLK_TCK")
_WORKERS = ("validation", "routing", "delivery")


@dataclass(frozen=True)
class Usage:
    """CPU seconds (user + system) since start, peak and current resident memory."""

    cpu_seconds: float
    vm_hwm_mib: float
    vm_rss_mib: float


def usage(pid: int) -> Usage | None:
    """What process ``pid`` has used so far (all its threads); None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    memory = {
        line.split(":")[0]: int(line.split()[1]) / 1024
        for line in status.splitlines()
        if line.startswith(("VmHWM:", "VmRSS:"))
    }
    return Usage(
        cpu_seconds=(int(fields[11]) + int(fields[12])) / _TICKS,
        vm_hwm_mib=memory.get("VmHWM", 0.0),
        vm_rss_mib=memory.get("VmRSS", 0.0),
    )


def machine_busy_seconds() -> float:
    """CPU seconds all processes of the machine spent busy (not idle, not waiting on I/O)."""
    with Path("/proc/stat").open(encoding="ascii") as stat:
        ticks = [int(value) for value in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]
    return (sum(ticks[:8]) - idle) / _TICKS  # user … steal; guest time is inside user


def pids_with(marker: str) -> list[int]:
    """Processes whose command line contains ``marker`` (e.g. a broker's config file)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if marker.encode() in command:
            found.append(int(entry.name))
    return found


class AmtswegProcesses:
    """Amtsweg started by the bench; ``start`` waits until every part is ready."""

    def __init__(
        self,
        data_dir: Path,
        bootstrap_servers: str,
        portal_tokens: dict[str, str],
        *,
        layout: str,
        instances: int,
        log_level: str,
        relays: int = 1,
    ) -> None:
        if layout not in ("single", "per-service"):
            raise ValueError(f"layout is single or per-service, not {layout!r}")
        self.data_dir = data_dir
        self._env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("AMTSWEG_LEDGER_URL", "AMTSWEG_BLOB_URL")  # SQLite, files: here
        }
        self._env.update(
            AMTSWEG_DATA_DIR=str(data_dir),
            KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers,
            AMTSWEG_PORTAL_TOKENS=json.dumps(portal_tokens),
            AMTSWEG_HTTP_HOST="127.0.0.1",
            AMTSWEG_LOG_LEVEL=log_level,
            # a throwaway machine: a generated key-encryption key (unless one is given) and
            # development keys for the authorities it delivers to (never plaintext)
            AMTSWEG_DEVELOPMENT="true",
        )
        self._layout = layout
        self._instances = instances
        self._relays = relays
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.urls: list[str] = []

    def start(self) -> None:
        """Start every process; return once each logged readiness and HTTP answers."""
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        if self._layout == "single":
            self._spawn("amtsweg run", ["run"], http=True)
        else:
            self._spawn("relay", ["service", "relay"])
            for n in range(2, self._relays + 1):  # standbys: one relay leads (lease)
                self._spawn(f"relay#{n}", ["service", "relay"])
            self._spawn("notifier", ["service", "notifier"])
            for n in range(1, self._instances + 1):
                self._spawn(f"intake#{n}", ["service", "intake"], http=True)
                for worker in _WORKERS:
                    self._spawn(f"{worker}#{n}", ["service", worker])
        self._wait_until_ready()

    def _spawn(self, name: str, arguments: list[str], *, http: bool = False) -> None:
        env = dict(self._env)
        if http:
            port = free_tcp_port()
            env["AMTSWEG_HTTP_PORT"] = str(port)
            self.urls.append(f"http://127.0.0.1:{port}")
        with self._log(name).open("ab") as log:
            self.children[name] = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "services.ops.cli", *arguments],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def _log(self, name: str) -> Path:
        return self.data_dir / "logs" / f"{name.replace('#', '-').replace(' ', '-')}.log"

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        waiting = set(self.children)
        while waiting:
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {READY_TIMEOUT:.0f} s: {sorted(waiting)}")
            for name in sorted(waiting):
                if self.children[name].poll() is not None:
                    raise RuntimeError(f"{name} exited early; see {self._log(name)}")
                if b'"amtsweg.ready"' in self._log(name).read_bytes():
                    waiting.discard(name)
            time.sleep(0.2)
        for url in self.urls:
            if httpx.get(f"{url}/healthz", timeout=10).status_code != 200:
                raise RuntimeError(f"{url}/healthz does not answer 200")

    def pids(self) -> dict[str, int]:
        """Each child's name and process id."""
        return {name: child.pid for name, child in self.children.items()}

    def stop(self) -> dict[str, int | None]:
        """SIGTERM each child (workers first, relay last); their exit codes."""
        order = sorted(self.children, key=lambda name: name.startswith(("relay", "amtsweg")))
        for name in order:
            if self.children[name].poll() is None:
                self.children[name].send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for name in order:
            try:
                codes[name] = self.children[name].wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.children[name].kill()
                codes[name] = self.children[name].wait()
        return codes
