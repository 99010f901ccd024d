"""Settings of a whole process: every part's settings class, read from the environment once.

Each service has its own pydantic-settings class (prefix ``AMTSWEG_``); an entry point
(a CLI command) builds one :class:`Settings` from the environment and hands it to the
composition root, which passes each part only its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts import topics
from contracts.kafka_security import KafkaSecurity
from contracts.limits import MAX_ENVELOPE_BYTES
from events.blobs import BlobSettings
from events.checkpoint_settings import CheckpointSettings
from events.settings import LedgerSettings
from events.vault import VaultSettings
from services.delivery import dev_keys
from services.delivery.envelope_limits import envelope_bound
from services.delivery.settings import DeliverySettings
from services.fitconnect.settings import FitConnectSettings
from services.intake.settings import IntakeSettings
from services.ops.console.settings import OperatorSettings
from services.ops.readmodels.metrics.settings import MetricsSettings
from services.routing.settings import RoutingSettings
from services.runtime.portals import PortalSettings
from services.runtime.settings import LeaseSettings, StageSettings
from services.validation.settings import ValidationSettings

HOUR = 3600


class RunSettings(BaseSettings):
    """Where data lives, how the broker is reached, and whether this is development."""

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_", extra="ignore")

    data_dir: Path = Path("var")
    topic_partitions: int = 6
    topic_replication_factor: int | None = Field(default=None, ge=1)
    """``AMTSWEG_TOPIC_REPLICATION_FACTOR``: replicas of each topic Amtsweg creates; unset,
    the number of brokers the cluster has at that moment, at most 3 (1 on a single broker).
    Set it (3 on a three-broker cluster) so that a topic created while a broker is away
    still gets all its replicas."""
    topic_min_insync_replicas: int | None = Field(default=None, ge=1)
    """``AMTSWEG_TOPIC_MIN_INSYNC_REPLICAS``: replicas that must have a message before the
    broker acknowledges it (Amtsweg's producers ask ``acks=all``), set on every topic
    Amtsweg creates or finds; unset, the broker's ``min.insync.replicas``."""
    retention_interval_seconds: float = 3600.0
    """How often the retention job looks for content to erase (``AMTSWEG_RETENTION_…``)."""
    log_level: str = "INFO"
    development: bool = False
    """``AMTSWEG_DEVELOPMENT``, a developer's machine (``./dev run`` sets it): a generated
    key-encryption key and portal token where none is configured, development keys for
    authorities without keys, and receipts of an authority without a verification key
    count unsigned. Never on a machine that holds real applications."""
    intake_retention_seconds: int = Field(default=24 * HOUR, gt=0)
    """How long ``amtsweg.intake`` keeps a portal's raw application (``retention.ms``)."""
    intake_dlq_retention_seconds: int = Field(default=72 * HOUR, gt=0)
    """How long ``amtsweg.intake.dlq`` keeps a refused raw application."""
    kafka_max_message_bytes: int = Field(default=1024 * 1024, ge=64 * 1024, le=MAX_ENVELOPE_BYTES)
    """``AMTSWEG_KAFKA_MAX_MESSAGE_BYTES``: the largest message the relay publishes (its
    producer's request limit). Kafka's default ``message.max.bytes`` (1 MiB) allows the
    default; a larger value needs the cluster's (or the delivery topics') limit raised too.
    The intake's and delivery's limits must make envelopes within it (checked at start)."""

    @model_validator(mode="after")
    def _insync_within_replicas(self) -> Self:
        factor, insync = self.topic_replication_factor, self.topic_min_insync_replicas
        if factor is not None and insync is not None and insync > factor:
            msg = (
                f"AMTSWEG_TOPIC_MIN_INSYNC_REPLICAS={insync} exceeds "
                f"AMTSWEG_TOPIC_REPLICATION_FACTOR={factor}: no write could be acknowledged"
            )
            raise ValueError(msg)
        return self

    def broker_file(self) -> Path:
        """Where ``amtsweg run`` records the bootstrap address of the broker it started."""
        return self.data_dir / "broker.json"

    def development_keys_folder(self) -> Path:
        """Where development keys of authorities are kept (``<data dir>/authority-keys``)."""
        return self.data_dir / dev_keys.FOLDER

    def topic_configs(self, portal_topics: Iterable[str] = ()) -> dict[str, dict[str, str]]:
        """Topic configuration Amtsweg sets, at creation and on existing topics.

        The intake topics hold raw applications, so they keep them only briefly. Kafka
        deletes whole log segments only, so a segment is closed at least hourly (at most
        the retention): a message is gone at most about an hour after its retention.
        ``portal_topics``, the portals' own intake topics, are kept as ``amtsweg.intake``.
        """
        intake = _retention(self.intake_retention_seconds)
        return {
            topics.INTAKE: intake,
            **dict.fromkeys(portal_topics, intake),
            topics.INTAKE_DLQ: _retention(self.intake_dlq_retention_seconds),
        }


def _retention(seconds: int) -> dict[str, str]:
    retention_ms = seconds * 1000
    return {
        "cleanup.policy": "delete",
        "retention.ms": str(retention_ms),
        "segment.ms": str(min(retention_ms, HOUR * 1000)),
    }


class MessageLimitError(Exception):
    """The intake's and delivery's limits allow envelopes the relay could not publish."""


@dataclass(frozen=True)
class Settings:
    """Every part's settings, as one process sees them."""

    run: RunSettings
    ledger: LedgerSettings
    blobs: BlobSettings
    vault: VaultSettings
    intake: IntakeSettings
    validation: ValidationSettings
    routing: RoutingSettings
    delivery: DeliverySettings
    metrics: MetricsSettings
    operator: OperatorSettings
    stage: StageSettings
    kafka: KafkaSecurity
    """TLS and SASL of every Kafka client (``KAFKA_SECURITY_PROTOCOL`` …)."""
    checkpoint: CheckpointSettings = field(default_factory=CheckpointSettings)
    """Signed checkpoints: directory, keys, interval (``AMTSWEG_CHECKPOINT_…``)."""
    fitconnect: FitConnectSettings = field(default_factory=FitConnectSettings)
    """The FIT-Connect facade (``AMTSWEG_FITCONNECT_…``)."""
    portals: PortalSettings = field(default_factory=PortalSettings)
    """Where replies reach the portals (``AMTSWEG_PORTALS_…``)."""
    lease: LeaseSettings = field(default_factory=LeaseSettings)
    """The singletons' leases (``AMTSWEG_LEASE_SECONDS``)."""

    def fit_connect_url(self) -> str:
        """The public URL of the FIT-Connect API, or what this process listens on."""
        configured = self.fitconnect.public_url.rstrip("/")
        return configured or f"http://{self.intake.http_host}:{self.intake.http_port}/fit-connect"

    @classmethod
    def from_environment(cls) -> Settings:
        """Read every settings class from the environment (``AMTSWEG_…``, ``KAFKA_…``)."""
        run = RunSettings()
        intake = IntakeSettings()
        if run.development and "kafka_intake_shared_topic" not in intake.model_fields_set:
            intake = intake.model_copy(update={"kafka_intake_shared_topic": True})
        return cls(
            run=run,
            ledger=LedgerSettings(),
            blobs=BlobSettings(data_dir=run.data_dir),
            vault=VaultSettings(data_dir=run.data_dir),
            intake=intake,
            validation=ValidationSettings(),
            routing=RoutingSettings(),
            delivery=DeliverySettings(),
            metrics=MetricsSettings(),
            operator=OperatorSettings(),
            stage=StageSettings(),
            kafka=KafkaSecurity.from_environment(),
            checkpoint=CheckpointSettings(),
            fitconnect=FitConnectSettings(),
            portals=PortalSettings(),
            lease=LeaseSettings(),
        )

    def check_message_limits(self) -> None:
        """Refuse limits under which an accepted submission's envelope could not be published.

        The largest envelope (:func:`services.delivery.envelope_limits.envelope_bound`)
        must fit ``AMTSWEG_KAFKA_MAX_MESSAGE_BYTES``; raises :class:`MessageLimitError`
        saying which settings to change.
        """
        bound = envelope_bound(
            metadata_bytes=self.intake.max_metadata_bytes,
            parts=self.intake.max_attachments + 1,
            inline_total_bytes=self.delivery.inline_total_bytes,
            base_url=self.delivery.public_base_url,
        )
        limit = self.run.kafka_max_message_bytes
        if bound > limit:
            msg = (
                f"a delivery envelope can reach {bound} bytes, more than "
                f"AMTSWEG_KAFKA_MAX_MESSAGE_BYTES={limit}: lower AMTSWEG_MAX_METADATA_BYTES, "
                "AMTSWEG_MAX_ATTACHMENTS or AMTSWEG_DELIVERY_INLINE_TOTAL_BYTES, or raise the "
                "message limit (and the cluster's)"
            )
            raise MessageLimitError(msg)
