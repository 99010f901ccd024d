"""Wiring: builds the ledger, blob store, catalog and directory, and registers workers.

The one place that knows every service; services never import each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from faststream.kafka import KafkaBroker

from contracts import topics
from events.blobs import BlobStore
from events.ledger import Ledger
from events.settings import LedgerSettings
from services.delivery import handler as delivery
from services.delivery.settings import DeliverySettings
from services.routing import handler as routing
from services.routing.settings import RoutingSettings
from services.validation import handler as validation
from services.validation.catalog import load_catalog
from services.validation.settings import ValidationSettings

WORKERS = ("validation", "routing", "delivery")
SERVICES = ("intake", *WORKERS, "relay")


@dataclass
class Core:
    """What every process needs: the ledger and the blob store."""

    ledger: Ledger
    blobs: BlobStore
    data_dir: Path


def bootstrap_core(data_dir: Path) -> Core:
    """Open the ledger and blob store under the configured locations."""
    ledger = Ledger(LedgerSettings())
    return Core(ledger=ledger, blobs=BlobStore(data_dir / "blobs"), data_dir=data_dir)


def register_workers(broker: KafkaBroker, core: Core, names: set[str]) -> list[str]:
    """Subscribe the named workers; return the topics they and their outputs need."""
    needed: list[str] = [topics.INTAKE, topics.RECEIPTS, *topics.INTERNAL_TOPICS]
    if "validation" in names:
        settings = ValidationSettings()
        catalog = load_catalog(settings.catalog)
        validation.register(broker, core.ledger, core.blobs, catalog, settings.max_findings)
    if "routing" in names or "delivery" in names:
        directory = routing.load(RoutingSettings())
        needed.extend(topics.delivery_topic(a) for a in directory.authority_ids())
        if "routing" in names:
            routing.register(broker, core.ledger, directory)
    if "delivery" in names:
        delivery.register(broker, core.ledger, core.blobs, DeliverySettings())
    return needed
