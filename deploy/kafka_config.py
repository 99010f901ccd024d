"""Configuration files for the local single-node KRaft broker, rendered as text.

By default the broker has one plaintext client listener and no authorizer. Given
:class:`SecureListeners` it has two more: ``SASL_SSL`` (SCRAM-SHA-512, SCRAM-SHA-256 and
PLAIN, over TLS) and, with ``mtls``, ``SSL`` with client certificates; and Kafka's
``StandardAuthorizer`` decides every request by ACLs. The plaintext listener stays: it is
the broker's own (loopback only), and its principal ``User:ANONYMOUS`` is a super user,
like the controller's, so the broker's internals and its readiness probe work unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
BROKER_PRINCIPAL = "User:ANONYMOUS"
"""The principal of the plaintext listeners (controller, readiness probe, local admin)."""
SCRAM_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256")
CERTIFICATE_PRINCIPAL_RULES = "RULE:^(.*,)?CN=([^,]+)(,.*)?$/$2/,DEFAULT"
"""An mTLS client is ``User:<common name of its certificate>``."""


@dataclass(frozen=True)
class SecureListeners:
    """The TLS material and users of a local broker's secured listeners.

    ``keystore`` is one PEM file with the broker's private key (unencrypted PKCS#8) and its
    certificate chain; ``truststore`` the PEM CA certificates clients' certificates must
    chain to (mTLS). ``users`` (name → password) get SCRAM credentials when the storage is
    formatted and may log in with PLAIN; ``super_users`` are principals (``User:…``) that
    ACLs do not restrict, besides the broker's own.
    """

    keystore: Path
    truststore: Path
    users: Mapping[str, str] = field(default_factory=dict)
    super_users: tuple[str, ...] = ()
    mtls: bool = False

    def scram_arguments(self) -> list[str]:
        """``kafka-storage format`` arguments that create every user's SCRAM credentials."""
        return [
            argument
            for name, password in sorted(self.users.items())
            for mechanism in SCRAM_MECHANISMS
            for argument in ("--add-scram", f"{mechanism}=[name={name},password={password}]")
        ]

    def properties(self) -> dict[str, str]:
        """The broker settings of these listeners (the listener names themselves apart)."""
        plain_users = "".join(
            f' user_{name}="{password}"' for name, password in sorted(self.users.items())
        )
        settings = {
            "sasl.enabled.mechanisms": ",".join((*SCRAM_MECHANISMS, "PLAIN")),
            **{
                f"listener.name.sasl_ssl.{mechanism.lower()}.sasl.jaas.config": (
                    "org.apache.kafka.common.security.scram.ScramLoginModule required;"
                )
                for mechanism in SCRAM_MECHANISMS
            },
            "listener.name.sasl_ssl.plain.sasl.jaas.config": (
                f"org.apache.kafka.common.security.plain.PlainLoginModule required{plain_users};"
            ),
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.keystore),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.truststore),
            "authorizer.class.name": AUTHORIZER,
            "super.users": ";".join((BROKER_PRINCIPAL, *self.super_users)),
            "allow.everyone.if.no.acl.found": "false",
        }
        if self.mtls:
            settings |= {
                "listener.name.ssl.ssl.client.auth": "required",
                "ssl.principal.mapping.rules": CERTIFICATE_PRINCIPAL_RULES,
            }
        return settings


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
    secure: SecureListeners | None = None,
    sasl_ssl_port: int | None = None,
    ssl_port: int | None = None,
) -> str:
    """Render ``server.properties`` for a combined broker+controller on 127.0.0.1.

    With ``secure``, ``sasl_ssl_port`` (and ``ssl_port`` for mTLS) add those listeners.
    """
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
    if secure is not None:
        settings |= _secured(settings, secure, sasl_ssl_port, ssl_port)
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def _secured(
    plain: Mapping[str, str],
    secure: SecureListeners,
    sasl_ssl_port: int | None,
    ssl_port: int | None,
) -> dict[str, str]:
    if sasl_ssl_port is None or (secure.mtls and ssl_port is None):
        msg = "secured listeners need their ports"
        raise ValueError(msg)
    extra = {"SASL_SSL": sasl_ssl_port, **({"SSL": ssl_port} if secure.mtls else {})}
    listeners = ",".join(f"{name}://127.0.0.1:{port}" for name, port in extra.items())
    protocols = ",".join(f"{name}:{name}" for name in extra)
    return {
        "listeners": f"{plain['listeners']},{listeners}",
        "advertised.listeners": f"{plain['advertised.listeners']},{listeners}",
        "listener.security.protocol.map": f"{plain['listener.security.protocol.map']},{protocols}",
        **secure.properties(),
    }


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
