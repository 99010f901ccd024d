"""A local single-node KRaft broker, run from Apache Kafka's own jars.

This is the last choice of :func:`deploy.broker.kafka_broker`: no existing cluster is
configured and no Docker engine answers. The broker is a real Apache Kafka (combined
broker and controller) listening on 127.0.0.1 only, with all its files under
``<data_dir>/kafka``. ``python -m deploy.local_kafka --prefetch`` fills the jar cache
ahead of time. With :class:`~deploy.kafka_config.SecureListeners` it also listens with
``SASL_SSL`` (and ``SSL`` for mTLS) and enforces ACLs (see :mod:`deploy.kafka_config`).
"""

from __future__ import annotations

import argparse
import atexit
import base64
import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import structlog

from contracts.kafka_security import KafkaSecurity
from deploy.kafka_artifacts import resolve_artifacts
from deploy.kafka_config import KafkaLayout, SecureListeners, log4j2_properties, server_properties
from deploy.kafka_probe import broker_answers
from deploy.net import free_tcp_port

_log = structlog.get_logger(__name__)

_ERROR_LINE = re.compile(r"\b(ERROR|FATAL)\b|^Caused by:")


class LocalKafkaError(RuntimeError):
    """The local broker could not be prepared, started or made ready."""


class LocalKafka:
    """One local Apache Kafka process; ports and storage survive :meth:`restart`."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        partitions: int = 3,
        cache_dir: Path | None = None,
        ready_timeout: float = 90.0,
        stop_timeout: float = 30.0,
        secure: SecureListeners | None = None,
    ) -> None:
        """Describe a broker under ``data_dir``; nothing runs before :meth:`start`.

        ``port`` is the client port (a free one when ``None``); ``partitions`` is the
        default for auto-created topics; ``cache_dir`` overrides the jar cache; ``secure``
        adds the secured listeners (their users are created when the storage is formatted).
        """
        self.layout = KafkaLayout.under(data_dir)
        self._port = port
        self._controller_port: int | None = None
        self._secure = secure
        self._sasl_ssl_port: int | None = None
        self._ssl_port: int | None = None
        self._partitions = partitions
        self._cache_dir = cache_dir
        self._ready_timeout = ready_timeout
        self._stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._console: IO[bytes] | None = None
        self._log_offsets: dict[Path, int] = {}

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` for clients; the port is fixed at the first :meth:`start`."""
        if self._port is None:
            msg = "the local broker has no port before its first start()"
            raise LocalKafkaError(msg)
        return f"127.0.0.1:{self._port}"

    @property
    def sasl_ssl_bootstrap_servers(self) -> str:
        """``host:port`` of the ``SASL_SSL`` listener (with ``secure``, after :meth:`start`)."""
        return self._secured_address(self._sasl_ssl_port, "SASL_SSL")

    @property
    def ssl_bootstrap_servers(self) -> str:
        """``host:port`` of the mTLS ``SSL`` listener (with ``secure.mtls``)."""
        return self._secured_address(self._ssl_port, "SSL")

    def _secured_address(self, port: int | None, name: str) -> str:
        if port is None:
            msg = f"the local broker has no {name} listener (give secure=, then start())"
            raise LocalKafkaError(msg)
        return f"127.0.0.1:{port}"

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs."""
        return self._process.pid if self._process is not None and self.running else None

    def start(self) -> None:
        """Start the broker and return once it answers a metadata request."""
        if self.running:
            return
        java = shutil.which("java")
        if java is None:
            msg = "java (17 or newer) is needed to run the local Kafka broker"
            raise LocalKafkaError(msg)
        lib = resolve_artifacts(self._cache_dir)
        self._port = self._port or free_tcp_port()
        self._controller_port = self._controller_port or free_tcp_port()
        if self._secure is not None:
            self._sasl_ssl_port = self._sasl_ssl_port or free_tcp_port()
            if self._secure.mtls:
                self._ssl_port = self._ssl_port or free_tcp_port()
        self._write_config()
        classpath = ["-cp", f"{lib}/*", f"-Dlog4j2.configurationFile={self.layout.log4j_config}"]
        if not self.layout.is_formatted:
            self._format_storage(java, classpath)
        _log.info("kafka.local.starting", bootstrap_servers=self.bootstrap_servers)
        self._log_offsets = {path: _size(path) for path in self._log_files()}
        self._console = self.layout.console_log.open("ab")
        self._process = subprocess.Popen(
            [java, "-Xmx512m", *classpath, "kafka.Kafka", str(self.layout.server_properties)],
            cwd=self.layout.root,
            stdin=subprocess.DEVNULL,
            stdout=self._console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        atexit.register(self.stop)
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        _log.info("kafka.local.ready", bootstrap_servers=self.bootstrap_servers)

    def stop(self) -> None:
        """Stop the broker: SIGTERM to its process group, then SIGKILL after a timeout."""
        atexit.unregister(self.stop)
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            _log.info("kafka.local.stopping", pid=process.pid)
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=self._stop_timeout)
            except subprocess.TimeoutExpired:
                _log.warning("kafka.local.killing", pid=process.pid)
                _signal_group(process, signal.SIGKILL)
                process.wait()
        if self._console is not None:
            self._console.close()
            self._console = None

    def kill(self) -> None:
        """Crash the broker at once (SIGKILL), as a chaos test would."""
        if self._process is not None:
            _signal_group(self._process, signal.SIGKILL)
            self._process.wait()
        self.stop()

    def restart(self) -> None:
        """Stop and start again on the same ports and the same (formatted) storage."""
        self.stop()
        self.start()

    def _write_config(self) -> None:
        if self._port is None or self._controller_port is None:
            msg = "ports must be chosen before writing the configuration"
            raise LocalKafkaError(msg)
        self.layout.root.mkdir(parents=True, exist_ok=True)
        self.layout.server_properties.write_text(
            server_properties(
                self.layout,
                port=self._port,
                controller_port=self._controller_port,
                partitions=self._partitions,
                secure=self._secure,
                sasl_ssl_port=self._sasl_ssl_port,
                ssl_port=self._ssl_port,
            ),
            encoding="utf-8",
        )
        self.layout.log4j_config.write_text(log4j2_properties(self.layout), encoding="utf-8")

    def _cluster_id(self) -> str:
        path = self.layout.cluster_id_file
        if not path.is_file():
            fresh = "-"
            while fresh.startswith("-"):  # a leading "-" reads as an option (as Kafka's Uuid)
                fresh = base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode()
            path.write_text(fresh + "\n", encoding="utf-8")
        return path.read_text(encoding="utf-8").strip()

    def _format_storage(self, java: str, classpath: list[str]) -> None:
        command = [
            java,
            *classpath,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            self._cluster_id(),
            "-c",
            str(self.layout.server_properties),
            *(self._secure.scram_arguments() if self._secure is not None else []),
        ]
        _log.info("kafka.local.formatting", log_dir=str(self.layout.log_dir))
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            output = (done.stdout + done.stderr).strip()[-4000:]
            msg = f"formatting Kafka storage failed (exit {done.returncode}):\n{output}"
            raise LocalKafkaError(msg)

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self._ready_timeout
        while time.monotonic() < deadline:
            if not self.running:
                code = self._process.returncode if self._process is not None else None
                self._fail(f"the local Kafka broker exited with code {code} while starting")
            plaintext = KafkaSecurity.plaintext()  # its own listener, whatever KAFKA_… says
            if broker_answers(self.bootstrap_servers, timeout=2.0, security=plaintext):
                return
            time.sleep(0.25)
        self._fail(
            f"the local Kafka broker did not answer on {self.bootstrap_servers} "
            f"within {self._ready_timeout:.0f} s"
        )

    def _fail(self, reason: str) -> None:
        details = [reason]
        for log_file in self._log_files():
            tail = _tail(log_file, since=self._log_offsets.get(log_file, 0))
            if tail:
                details.append(f"--- last lines of {log_file} ---\n{tail}")
        raise LocalKafkaError("\n".join(details))

    def _log_files(self) -> tuple[Path, Path]:
        return (self.layout.broker_log, self.layout.console_log)


def _signal_group(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _tail(path: Path, *, since: int = 0, lines: int = 30) -> str:
    """Return the last ``lines`` lines written after byte ``since``, after a few error lines."""
    try:
        with path.open("rb") as log:
            log.seek(since)
            text = log.read().decode("utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return ""
    errors = [line for line in text[:-lines] if _ERROR_LINE.search(line)][-5:]
    return "\n".join([*errors, *(["..."] if errors else []), *text[-lines:]])


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--prefetch`` resolves Kafka's jars into the cache and exits."""
    parser = argparse.ArgumentParser(prog="python -m deploy.local_kafka", description=__doc__)
    parser.add_argument(
        "--prefetch",
        action="store_true",
        help="download Apache Kafka's jars into the cache (no-op when already cached)",
    )
    args = parser.parse_args(argv)
    if not args.prefetch:
        parser.print_help()
        return 2
    sys.stdout.write(f"{resolve_artifacts()}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
