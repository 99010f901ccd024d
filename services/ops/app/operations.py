"""Wiring of the operations side: replays, dead letters, the overview (CLI and ops API)."""

from __future__ import annotations

from events.blobs import BlobSettings, open_blob_store
from events.ledger import Ledger
from events.relay_store import relay_store
from services.ops.actions.dead_letter_store import dead_letter_actions
from services.ops.actions.dead_letters import DeadLetters
from services.ops.actions.replay_stages import ReplayContext
from services.ops.app.deliveries import DeliveryContext, delivery_context, projector_for
from services.ops.app.settings import RunSettings
from services.ops.console.api import OpsDependencies
from services.ops.console.settings import OperatorSettings
from services.ops.console.triage import triage_queue
from services.ops.readmodels.overview.projector import OverviewProjector
from services.ops.readmodels.overview.store import overview_store
from services.routing import handler as routing
from services.routing.archive import DirectoryArchive
from services.routing.settings import RoutingSettings
from services.validation.catalog import load_catalog
from services.validation.settings import ValidationSettings


def replay_context(delivery: DeliveryContext | None = None) -> ReplayContext:
    """What replays decide with: the configured catalog, directory, blobs and recipients."""
    validation = ValidationSettings()
    delivery = delivery or delivery_context()
    blobs = open_blob_store(BlobSettings(data_dir=RunSettings().data_dir))
    return ReplayContext(
        blobs,
        lambda: load_catalog(validation.catalog, validation.regions),
        validation.limits(),
        lambda: routing.load(RoutingSettings()),
        lambda version: routing_archive().load(version),
        delivery.settings,
        delivery.recipients,
    )


def routing_archive() -> DirectoryArchive:
    """Routing's archive of directory versions (for replays against a recorded one)."""
    return DirectoryArchive(RoutingSettings().archive_folder(RunSettings().data_dir))


def dead_letters(
    ledger: Ledger, bootstrap_servers: str | None, delivery: DeliveryContext | None = None
) -> DeadLetters:
    """Both kinds of dead letters, and what operations did with them."""
    return DeadLetters(
        dead_letter_actions(ledger.settings),
        projector_for(ledger, delivery or delivery_context()),
        bootstrap_servers,
    )


def overview(ledger: Ledger) -> OverviewProjector:
    """The submissions overview next to the ledger."""
    return OverviewProjector(ledger, overview_store(ledger.settings))


def ops_dependencies(
    ledger: Ledger, bootstrap_servers: str | None, delivery: DeliveryContext | None = None
) -> OpsDependencies:
    """What the ops API needs, beside the given ledger."""
    delivery = delivery or delivery_context()
    replays = replay_context(delivery)
    return OpsDependencies(
        ledger=ledger,
        overview=overview(ledger),
        dead_letters=dead_letters(ledger, bootstrap_servers, delivery),
        relay_store=relay_store(ledger.settings),
        replay_context=replays,
        settings=OperatorSettings(),
        triage=triage_queue(ledger, lambda: replays.routing.directory),
    )
