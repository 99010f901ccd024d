"""Delivery worker: Routed → Dispatched (the relay publishes the envelope), receipts → outcome."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import structlog
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from contracts import replies, topics
from contracts.receipts import MalformedReceiptError, parse_receipt_message
from contracts.reply_wire import MalformedReplyError, is_reply, parse_reply
from events.dossier import Dossier
from events.ledger import Ledger
from events.lifecycle import Status
from events.submission import Submission
from events.vault import Vault
from services.delivery.crypto import JweSealer
from services.delivery.envelope import InlinePolicy, build_envelope, delivery_id_for
from services.delivery.follow_up import register_follow_up
from services.delivery.handover import (
    HandoverUnavailableError,
    hand_over_submission,
    handover_client,
)
from services.delivery.pickup import pickup_document
from services.delivery.receipts import record_receipt
from services.delivery.recipients import Recipients
from services.delivery.replies import ReplyPorts, take_reply
from services.delivery.settings import DeliverySettings
from services.runtime.batch import Outcome, Step, perform_one
from services.runtime.portals import Portals
from services.runtime.settings import StageSettings
from services.runtime.worker import BatchWorker, subscription

log = structlog.get_logger(__name__)

GROUP = "amtsweg-delivery"
RECEIPT_GROUP = "amtsweg-receipts"


def dispatch_submission(
    ledger: Ledger,
    vault: Vault,
    settings: DeliverySettings,
    submission_id: UUID,
    recipients: Recipients | None = None,
) -> bool:
    """Record Dispatched with the envelope; False if it already was (a repeated message)."""
    step = dispatch_step(vault, settings, recipients or Recipients())
    outcome = perform_one(ledger, submission_id, step)
    return outcome is not None and outcome.changed


def dispatch_step(vault: Vault, settings: DeliverySettings, recipients: Recipients) -> Step:
    """Dispatched (or Withheld) for a routed submission; None once it is delivered."""

    def step(submission: Submission) -> Outcome | None:
        if (
            submission.status is not Status.ROUTED
            or submission.authority_id is None
            or submission.content_erased
        ):
            return None
        dispatch = prepare_dispatch(submission, vault, settings, recipients)
        if isinstance(dispatch, Withhold):
            fields = {"authority_id": dispatch.authority_id, "reason": dispatch.reason}
            return Outcome("delivery.withheld", dispatch.record(submission), fields)
        return Outcome(
            "delivery.dispatched",
            dispatch.record(submission),
            {"authority_id": dispatch.authority_id, "delivery_id": dispatch.delivery_id},
        )

    return step


@dataclass(frozen=True)
class Dispatch:
    """The delivery of a routed submission, ready to be recorded (its envelope sealed)."""

    delivery_id: str
    authority_id: str
    envelope: dict[str, Any]
    """The reference to the sealed envelope (``Vault.put_envelope``), or to the pickup
    document of an authority on FIT-Connect."""
    channel: str
    """The authority's topic, or its FIT-Connect pickup channel (no topic)."""

    def record(self, submission: Submission) -> bool:
        """Record it on the submission (False if it was dispatched already)."""
        return submission.dispatch(self.delivery_id, self.authority_id, self.channel, self.envelope)


NO_ENCRYPTION_KEY = "no-encryption-key"


@dataclass(frozen=True)
class Withhold:
    """No delivery: the authority has no encryption key, and nothing goes out in plaintext."""

    authority_id: str
    reason: str = NO_ENCRYPTION_KEY

    def record(self, submission: Submission) -> bool:
        """Record it on the submission (False if it was withheld already)."""
        return submission.withhold(self.authority_id, self.reason)


def prepare_dispatch(
    submission: Submission,
    vault: Vault,
    settings: DeliverySettings,
    recipients: Recipients | None = None,
) -> Dispatch | Withhold:
    """The delivery of a routed submission, its envelope sealed in the vault (or Withhold)."""
    authority_id = submission.authority_id
    assert authority_id is not None
    recipient = (recipients or Recipients()).get(authority_id)
    key = recipient.encryption_key() if recipient else None
    if key is None:
        return Withhold(authority_id)
    delivery_id = delivery_id_for(submission.id, authority_id, submission.version)
    if recipient is not None and recipient.fit_connect:
        document = pickup_document(
            submission,
            Dossier.of(vault, submission),
            delivery_id,
            lambda blob: vault.read(submission.id, blob),
            JweSealer(key),
        )
        sealed = document.model_dump_json(by_alias=True).encode()
        return Dispatch(
            delivery_id,
            authority_id,
            vault.put_envelope(submission.id, sealed),
            topics.pickup_channel(authority_id),
        )
    envelope = build_envelope(
        submission,
        Dossier.of(vault, submission),
        delivery_id,
        lambda blob: vault.read(submission.id, blob),
        inline=InlinePolicy(settings.inline_limit_bytes, settings.inline_total_bytes),
        now=datetime.now(UTC),
        sealer=JweSealer(key),
        base_url=settings.public_base_url,
    )
    published = envelope.model_dump_json(by_alias=True, exclude_none=True).encode()
    return Dispatch(
        delivery_id,
        authority_id,
        vault.put_envelope(submission.id, published),
        topics.delivery_topic(authority_id),
    )


async def deliver(
    ledger: Ledger,
    vault: Vault,
    settings: DeliverySettings,
    submission_id: UUID,
    recipients: Recipients,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> bool:
    """Dispatch to the routed authority's topic, or hand over to another Amtsweg instance.

    Raises ``HandoverUnavailableError`` when the other instance does not answer.
    """
    step = delivery_step(ledger, vault, settings, recipients, transport)
    outcome = await asyncio.to_thread(perform_one, ledger, submission_id, step)
    if outcome is not None and outcome.then is not None:
        return bool(await outcome.then())
    return outcome is not None and outcome.changed


def delivery_step(
    ledger: Ledger,
    vault: Vault,
    settings: DeliverySettings,
    recipients: Recipients,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Step:
    """Dispatch a routed submission, or (after the batch) hand it over to another instance."""
    dispatch = dispatch_step(vault, settings, recipients)

    def step(submission: Submission) -> Outcome | None:
        authority_id = submission.authority_id
        recipient = recipients.get(authority_id) if authority_id is not None else None
        if (
            submission.status is not Status.ROUTED
            or recipient is None
            or not recipient.handover_url
        ):
            return dispatch(submission)
        submission_id, correlation_id = submission.id, submission.correlation_id

        async def hand_over() -> bool:
            with structlog.contextvars.bound_contextvars(correlation_id=correlation_id):
                current = await asyncio.to_thread(ledger.get_submission, submission_id)
                try:
                    async with handover_client(settings, transport) as client:
                        return await hand_over_submission(ledger, vault, current, recipient, client)
                except HandoverUnavailableError as error:  # the batch comes again: retry
                    pause = settings.handover_retry_seconds
                    log.warning("delivery.handover_unavailable", error=str(error), retry_in=pause)
                    await asyncio.sleep(pause)
                    raise

        fields = {"authority_id": authority_id}
        return Outcome("delivery.handing_over", changed=False, fields=fields, then=hand_over)

    return step


def register(
    broker: KafkaBroker,
    ledger: Ledger,
    vault: Vault,
    settings: DeliverySettings,
    recipients: Recipients | None = None,
    *,
    stage_settings: StageSettings,
    handover_transport: httpx.AsyncBaseTransport | None = None,
    portals: Portals | None = None,
) -> None:
    """Subscribe the delivery worker, the follow-up delivery worker (documents handed in
    later, ``services.delivery.follow_up``) and the receipt consumer to the broker.

    The worker delivers on every routing decision: Routed, Forwarded (after a decline)
    and Assigned (triage). The receipt consumer takes the authorities' replies on the
    same topic too (``portals``: where they reach the portals). ``handover_transport``
    is for tests (an app in-process).
    """
    known = recipients or Recipients()

    step = delivery_step(ledger, vault, settings, known, handover_transport)
    sealing = stage_settings.sealing_pool("delivery-sealing")  # each envelope is synced
    broker.subscriber(
        topics.ROUTED,
        topics.FORWARDED,
        topics.ASSIGNED,
        group_id=GROUP,
        auto_offset_reset="earliest",
        **subscription(stage_settings),
    )(BatchWorker(ledger, "delivery", lambda _message: step, steps=sealing).handle)
    register_follow_up(broker, ledger, vault, settings, known, stage_settings=stage_settings)

    @broker.subscriber(
        topics.RECEIPTS,
        group_id=RECEIPT_GROUP,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def on_receipt(raw: KafkaMessage) -> None:
        if is_reply(raw.body, _header(raw, replies.MESSAGE_HEADER)):
            await on_reply(raw)
            return
        try:
            message = parse_receipt_message(raw.body)
        except MalformedReceiptError as error:  # an authority's malformed message must not block
            log.warning("receipt.malformed", error=str(error)[:200])
            return
        record = raw.raw_message
        assert not isinstance(record, tuple)  # a single-message subscriber
        with structlog.contextvars.bound_contextvars(
            submission_id=message.receipt.submission_id,
            causation_id=f"kafka:{record.topic}/{record.partition}/{record.offset}",
            stage="receipt",
        ):
            await asyncio.to_thread(record_receipt, ledger, known, message)

    reply_ports = ReplyPorts(ledger, vault, known, portals or Portals({}), settings)

    async def on_reply(raw: KafkaMessage) -> None:
        """A reply on the receipts topic; a malformed or refused one is logged and skipped."""
        record = raw.raw_message
        assert not isinstance(record, tuple)  # a single-message subscriber
        try:
            arrived = parse_reply(raw.body, settings.reply_max_bytes)
        except MalformedReplyError as error:
            log.warning("reply.malformed", error=str(error)[:200], offset=record.offset)
            return
        with structlog.contextvars.bound_contextvars(
            submission_id=arrived.message.submission_id,
            causation_id=f"kafka:{record.topic}/{record.partition}/{record.offset}",
            stage="reply",
        ):
            await asyncio.to_thread(take_reply, reply_ports, arrived)


def _header(raw: KafkaMessage, name: str) -> str | None:
    """A header's value (FastStream decodes them as text), or None."""
    value = raw.headers.get(name)
    return value if isinstance(value, str) else None
