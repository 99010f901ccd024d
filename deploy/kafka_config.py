"""Configuration files for the local single-node KRaft broker, rendered as text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class KafkaLayout:
    """Where one local broker keeps its files: everything under ``<data_dir>/kafka``."""

    root: Path

    @classmethod
    def under(cls, data_dir: Path) -> KafkaLayout:
        """Return the layout for the data directory ``data_dir``."""
        return cls(data_dir.resolve() / "kafka")

    @property
    def server_properties(self) -> Path:
        """The broker's ``server.properties``."""
        return self.root / "server.properties"

    @property
    def log4j_config(self) -> Path:
        """The log4j2 configuration that sends the broker's log to :attr:`broker_log`."""
        return self.root / "log4j2.properties"

    @property
    def broker_log(self) -> Path:
        """The broker's own log."""
        return self.root / "broker.log"

    @property
    def console_log(self) -> Path:
        """Whatever the JVM prints to stdout/stderr (crashes before logging starts)."""
        return self.root / "console.log"

    @property
    def cluster_id_file(self) -> Path:
        """The KRaft cluster id, kept so that a restart reuses the formatted storage."""
        return self.root / "cluster.id"

    @property
    def log_dir(self) -> Path:
        """Kafka's ``log.dirs``: the partitions and the KRaft metadata log."""
        return self.root / "data"

    @property
    def is_formatted(self) -> bool:
        """Whether ``kafka-storage format`` already ran on :attr:`log_dir`."""
        return (self.log_dir / "meta.properties").is_file()


def server_properties(
    layout: KafkaLayout,
    *,
    port: int,
    controller_port: int,
    partitions: int = 3,
) -> str:
    """Render ``server.properties`` for a combined broker+controller on 127.0.0.1."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(layout.log_dir),
        "num.partitions": str(partitions),
        "default.replication.factor": "1",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "true",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def log4j2_properties(layout: KafkaLayout) -> str:
    """Render a log4j2 configuration that appends everything to ``broker.log``."""
    return (
        "status = warn\n"
        "appender.file.type = File\n"
        "appender.file.name = BrokerLog\n"
        f"appender.file.fileName = {layout.broker_log}\n"
        "appender.file.append = true\n"
        "appender.file.layout.type = PatternLayout\n"
        "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
        "rootLogger.level = INFO\n"
        "rootLogger.appenderRef.file.ref = BrokerLog\n"
    )
