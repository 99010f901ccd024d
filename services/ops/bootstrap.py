"""Wiring: builds the ledger, blob store, catalog and directory, and registers workers.

The one place that knows every service; services never import each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from faststream.kafka import KafkaBroker

from contracts import topics
from events.blobs import BlobSettings, BlobStore, open_blob_store
from events.ledger import Ledger
from events.settings import LedgerSettings
from services.delivery import handler as delivery
from services.intake import handler as intake
from services.intake.settings import IntakeSettings
from services.ops.deliveries import delivery_context, submission_event_topics
from services.routing import handler as routing
from services.routing.archive import DirectoryArchive
from services.routing.settings import RoutingSettings
from services.runtime.settings import StageSettings
from services.validation import handler as validation
from services.validation.catalog import load_catalog
from services.validation.settings import ValidationSettings

WORKERS = ("validation", "routing", "delivery")
SERVICES = ("intake", *WORKERS, "relay", "notifier", "metrics")
"""What `amtsweg service <name>` runs; `metrics` is the ledger- and broker-wide figures."""


@dataclass
class Core:
    """What every process needs: the ledger and the blob store."""

    ledger: Ledger
    blobs: BlobStore
    data_dir: Path


def bootstrap_core(data_dir: Path) -> Core:
    """Open the ledger and the blob store (``AMTSWEG_BLOB_URL``: data dir or S3) as configured."""
    ledger = Ledger(LedgerSettings())
    blobs = open_blob_store(BlobSettings(data_dir=data_dir))
    return Core(ledger=ledger, blobs=blobs, data_dir=data_dir)


def register_workers(
    broker: KafkaBroker, core: Core, names: set[str], *, stage_settings: StageSettings
) -> list[str]:
    """Subscribe the named workers; return the topics they and their outputs need."""
    needed: list[str] = [
        topics.INTAKE,
        topics.INTAKE_DLQ,
        topics.RECEIPTS,
        *topics.INTERNAL_TOPICS,
    ]
    needed.extend(submission_event_topics())  # reminders, callbacks, refused receipts …
    if "validation" in names:
        settings = ValidationSettings()
        catalog = load_catalog(settings.catalog, settings.regions)
        validation.register(
            broker,
            core.ledger,
            core.blobs,
            catalog,
            settings.limits(),
            stage_settings=stage_settings,
        )
    if "routing" in names:  # delivery topics: created by the relay on first delivery
        routing_settings = RoutingSettings()
        archive = DirectoryArchive(routing_settings.archive_folder(core.data_dir))
        routing.register(
            broker,
            core.ledger,
            routing.load(routing_settings, archive),
            stage_settings=stage_settings,
        )
    if "delivery" in names:
        context = delivery_context()
        delivery.register(
            broker,
            core.ledger,
            core.blobs,
            context.settings,
            context.recipients,
            stage_settings=stage_settings,
        )
    return needed


def register_intake(
    broker: KafkaBroker, core: Core, settings: IntakeSettings, *, stage_settings: StageSettings
) -> None:
    """Subscribe the Kafka intake (``amtsweg.intake``); the runner serves the HTTP intake."""
    intake.register(broker, core.ledger, core.blobs, settings, stage_settings=stage_settings)
