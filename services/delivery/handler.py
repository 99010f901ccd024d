"""Delivery worker: Routed → Dispatched (the relay publishes the envelope), receipts → outcome."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import UUID

import structlog
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError

from contracts import topics
from contracts.messages import SubmissionEventMessage
from contracts.receipts import MalformedReceiptError, parse_receipt_message
from events.blobs import BlobStore
from events.ledger import Ledger, SubmissionNotFoundError
from events.submission import Status, Submission
from services.delivery.crypto import JweSealer
from services.delivery.envelope import InlinePolicy, build_envelope, delivery_id_for
from services.delivery.receipts import record_receipt
from services.delivery.recipients import Recipients
from services.delivery.settings import DeliverySettings

log = structlog.get_logger(__name__)

GROUP = "amtsweg-delivery"
RECEIPT_GROUP = "amtsweg-receipts"


def dispatch_submission(
    ledger: Ledger,
    blobs: BlobStore,
    settings: DeliverySettings,
    submission_id: UUID,
    recipients: Recipients | None = None,
) -> bool:
    """Record Dispatched with the envelope; False if it already was (a redelivery)."""
    submission = ledger.get_submission(submission_id)
    structlog.contextvars.bind_contextvars(correlation_id=submission.correlation_id)
    if submission.status is not Status.ROUTED or submission.authority_id is None:
        return False
    authority_id = submission.authority_id
    recipient = (recipients or Recipients()).get(authority_id)
    key = recipient.encryption_key() if recipient else None
    delivery_id = delivery_id_for(submission.id, authority_id, submission.version)
    envelope = build_envelope(
        submission,
        delivery_id,
        blobs.read,
        InlinePolicy(settings.inline_limit_bytes, settings.inline_total_bytes),
        datetime.now(UTC),
        sealer=JweSealer(key) if key else None,
        base_url=settings.public_base_url,
    )

    def record(current: Submission) -> bool:
        return current.dispatch(
            delivery_id,
            authority_id,
            topics.delivery_topic(authority_id),
            envelope.model_dump(by_alias=True, exclude_none=True),
        )

    changed = ledger.execute(submission_id, record)
    log.info(
        "delivery.dispatched",
        authority_id=authority_id,
        delivery_id=delivery_id,
        encrypted=key is not None,
        changed=changed,
    )
    return changed


def register(
    broker: KafkaBroker,
    ledger: Ledger,
    blobs: BlobStore,
    settings: DeliverySettings,
    recipients: Recipients | None = None,
) -> None:
    """Subscribe the delivery worker and the receipt consumer to the broker."""
    known = recipients or Recipients()

    @broker.subscriber(
        topics.ROUTED,
        group_id=GROUP,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def on_routed(raw: KafkaMessage) -> None:
        try:
            message = SubmissionEventMessage.model_validate_json(raw.body)
        except ValidationError as error:  # not from our relay: skip it, never block the topic
            log.warning("delivery.malformed_message", errors=error.error_count())
            return
        with structlog.contextvars.bound_contextvars(
            submission_id=message.submission_id, stage="delivery"
        ):
            try:
                await asyncio.to_thread(
                    dispatch_submission,
                    ledger,
                    blobs,
                    settings,
                    UUID(message.submission_id),
                    known,
                )
            except SubmissionNotFoundError:  # not in this ledger: retrying cannot help
                log.error("delivery.unknown_submission")  # noqa: TRY400 - no trace needed

    @broker.subscriber(
        topics.RECEIPTS,
        group_id=RECEIPT_GROUP,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def on_receipt(raw: KafkaMessage) -> None:
        try:
            message = parse_receipt_message(raw.body)
        except MalformedReceiptError as error:  # an authority's malformed message must not block
            log.warning("receipt.malformed", error=str(error)[:200])
            return
        with structlog.contextvars.bound_contextvars(
            submission_id=message.receipt.submission_id, stage="receipt"
        ):
            await asyncio.to_thread(record_receipt, ledger, known, message)
