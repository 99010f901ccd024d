"""Which Apache Kafka Amtsweg talks to, and starting one when none is configured.

Order of choice (DESIGN.md, "Broker"):

1. ``KAFKA_BOOTSTRAP_SERVERS`` when set: an existing cluster; nothing is started.
2. A Kafka container through testcontainers, when a Docker engine really answers.
3. A local single-node KRaft broker from Kafka's own jars (:class:`LocalKafka`).

The application (``amtsweg run``) and the tests use the same chain.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import structlog

from deploy.local_kafka import LocalKafka

BOOTSTRAP_ENV = "KAFKA_BOOTSTRAP_SERVERS"
"""Environment variable naming an existing cluster (comma-separated ``host:port``)."""

KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.0"
"""Container image used when a Docker engine answers (KRaft mode)."""

BrokerKind = Literal["external", "testcontainers", "local"]

_log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class BrokerHandle:
    """Where to reach the broker, and how it came to be.

    ``local`` is the running :class:`LocalKafka` when ``kind == "local"`` (so chaos
    tests can ``restart()`` or ``kill()`` it), otherwise ``None``.
    """

    bootstrap_servers: str
    kind: BrokerKind
    local: LocalKafka | None = field(default=None, compare=False, repr=False)


@contextmanager
def kafka_broker(data_dir: Path, *, port: int | None = None) -> Iterator[BrokerHandle]:
    """Yield a running broker chosen in the documented order; stop what was started.

    ``data_dir`` holds a local broker's files (``<data_dir>/kafka``); ``port`` fixes a
    local broker's client port (a free port when ``None``; ignored for other kinds).
    """
    configured = os.environ.get(BOOTSTRAP_ENV, "").strip()
    if configured:
        _log.info("kafka.broker.external", bootstrap_servers=configured)
        yield BrokerHandle(configured, "external")
    elif docker_engine_answers():
        with _kafka_container() as handle:
            yield handle
    else:
        local = LocalKafka(data_dir, port=port)
        local.start()
        try:
            yield BrokerHandle(local.bootstrap_servers, "local", local)
        finally:
            local.stop()


def docker_engine_answers(timeout: float = 2.0) -> bool:
    """Return whether a Docker engine answers a ping (a docker CLI alone proves nothing)."""
    try:
        docker = importlib.import_module("docker")
    except ImportError:
        return False
    errors = importlib.import_module("docker.errors")
    try:
        client = docker.from_env(timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (errors.DockerException, OSError) as error:
        _log.debug("kafka.broker.no_docker", reason=str(error))
        return False


@contextmanager
def _kafka_container() -> Iterator[BrokerHandle]:
    # Imported here: testcontainers (and the Docker SDK) matter only when Docker answers.
    from testcontainers.community.kafka import KafkaContainer  # noqa: PLC0415

    container = KafkaContainer(KAFKA_IMAGE).with_kraft()
    container.start()
    try:
        handle = BrokerHandle(container.get_bootstrap_server(), "testcontainers")
        _log.info("kafka.broker.container", bootstrap_servers=handle.bootstrap_servers)
        yield handle
    finally:
        container.stop()
