"""Wiring of the delivery side: recipients from the directory, read model, notifier, routes.

The routing directory is translated into delivery's own ``Recipients`` here, so delivery
never imports routing.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import httpx
from fastapi import APIRouter
from pydantic import SecretStr

from contracts.topics import submission_event_topic
from events.blobs import BlobStore
from events.ledger import Ledger
from events.submission import Submission
from services.delivery.callbacks import HttpCallbackSender
from services.delivery.http import create_router
from services.delivery.notifier import Notifier
from services.delivery.projector import DeliveryProjector
from services.delivery.recipients import Recipient, Recipients
from services.delivery.settings import DeliverySettings
from services.delivery.store import delivery_store
from services.routing.directory import Directory
from services.routing.directory_file import load_directory
from services.routing.settings import RoutingSettings


@dataclass(frozen=True)
class DeliveryContext:
    """What the delivery side needs besides the ledger and the blob store."""

    settings: DeliverySettings
    recipients: Recipients


def recipients_from(directory: Directory, settings: DeliverySettings) -> Recipients:
    """Delivery's view of the directory, with callback secrets and handover tokens from
    the environment."""

    def secret(values: dict[str, SecretStr], authority_id: str) -> str | None:
        found = values.get(authority_id)
        return found.get_secret_value() if found else None

    recipients = Recipients(
        Recipient(
            authority_id=authority.id,
            encryption_jwk=authority.keys.encryption,
            verification_jwk=authority.keys.verification,
            callback_url=authority.channel.callback_url,
            callback_secret=secret(settings.callback_secrets, authority.id),
            handover_url=handover.url if (handover := authority.channel.handover) else None,
            handover_portal=handover.portal_id if handover else None,
            handover_token=secret(settings.handover_tokens, authority.id),
        )
        for authority in directory.authorities
    )
    recipients.check()
    return recipients


def delivery_context() -> DeliveryContext:
    """Settings and recipients from the environment and the configured directory."""
    settings = DeliverySettings()
    directory = load_directory(RoutingSettings().directory)
    return DeliveryContext(settings, recipients_from(directory, settings))


def submission_event_topics() -> list[str]:
    """``amtsweg.submissions.<event>`` for every event of the Submission aggregate."""
    return [
        submission_event_topic(name)
        for name, value in vars(Submission).items()
        if isinstance(value, type)
        and issubclass(value, Submission.Event)
        and name not in {"Event", "Created"}  # the base, and eventsourcing's generated class
    ]


def projector_for(ledger: Ledger, context: DeliveryContext) -> DeliveryProjector:
    """The deliveries read model next to the ledger."""
    store = delivery_store(ledger.settings)
    return DeliveryProjector(ledger, store, context.recipients.has_callback)


def delivery_router(ledger: Ledger, blobs: BlobStore, context: DeliveryContext) -> APIRouter:
    """The authorities' routes (``/v1/deliveries``) for the HTTP API."""
    projector = projector_for(ledger, context)
    return create_router(ledger, blobs, projector, context.recipients, context.settings)


async def start_notifier(
    stack: contextlib.AsyncExitStack, ledger: Ledger, context: DeliveryContext, stop: asyncio.Event
) -> asyncio.Task[None]:
    """Run the notifier (callbacks, reminders, escalations) until ``stop``."""
    projector = await asyncio.to_thread(projector_for, ledger, context)
    timeout = httpx.Timeout(context.settings.callback_timeout_seconds)
    client = await stack.enter_async_context(
        httpx.AsyncClient(timeout=timeout, follow_redirects=False)
    )
    notifier = Notifier(projector, context.recipients, context.settings, HttpCallbackSender(client))
    return asyncio.create_task(notifier.run(stop), name="notifier")
