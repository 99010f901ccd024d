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
from contracts.messages import Receipt, SubmissionEventMessage
from events.blobs import BlobStore
from events.ledger import Ledger, SubmissionNotFoundError
from events.submission import InvalidTransitionError, Status, Submission
from services.delivery.envelope import build_envelope, delivery_id_for
from services.delivery.settings import DeliverySettings

log = structlog.get_logger(__name__)

GROUP = "amtsweg-delivery"
RECEIPT_GROUP = "amtsweg-receipts"


def dispatch_submission(
    ledger: Ledger, blobs: BlobStore, settings: DeliverySettings, submission_id: UUID
) -> bool:
    """Record Dispatched with the envelope; False if it already was (a redelivery)."""
    submission = ledger.get_submission(submission_id)
    structlog.contextvars.bind_contextvars(correlation_id=submission.correlation_id)
    if submission.status is not Status.ROUTED or submission.authority_id is None:
        return False
    authority_id = submission.authority_id
    delivery_id = delivery_id_for(submission.id, authority_id, submission.version)
    envelope = build_envelope(
        submission, delivery_id, blobs.read, settings.inline_limit_bytes, datetime.now(UTC)
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
        "delivery.dispatched", authority_id=authority_id, delivery_id=delivery_id, changed=changed
    )
    return changed


def record_receipt(ledger: Ledger, receipt: Receipt) -> bool:
    """Record an authority's receipt; False if it changes nothing or is not acceptable."""
    try:
        submission = ledger.get_submission(UUID(receipt.submission_id))
    except (SubmissionNotFoundError, ValueError):
        log.warning("receipt.unknown_submission", delivery_id=receipt.delivery_id)
        return False
    structlog.contextvars.bind_contextvars(correlation_id=submission.correlation_id)
    if submission.authority_id != receipt.authority_id:
        log.warning("receipt.wrong_authority", delivery_id=receipt.delivery_id)
        return False

    def record(current: Submission) -> bool:
        if receipt.outcome == "accepted":
            return current.accept(receipt.delivery_id, receipt.reference)
        problems = [p.model_dump(exclude_none=True) for p in receipt.problems]
        return current.refuse(receipt.delivery_id, receipt.outcome, problems)

    try:
        changed = ledger.execute(submission.id, record)
    except InvalidTransitionError as error:
        log.warning("receipt.refused", delivery_id=receipt.delivery_id, reason=str(error))
        return False
    log.info("receipt.recorded", outcome=receipt.outcome, changed=changed)
    return changed


def register(
    broker: KafkaBroker, ledger: Ledger, blobs: BlobStore, settings: DeliverySettings
) -> None:
    """Subscribe the delivery worker and the receipt consumer to the broker."""

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
                    dispatch_submission, ledger, blobs, settings, UUID(message.submission_id)
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
            receipt = Receipt.model_validate_json(raw.body)
        except ValidationError as error:  # an authority's malformed message must not block
            log.warning("receipt.malformed", errors=error.error_count())
            return
        with structlog.contextvars.bound_contextvars(
            submission_id=receipt.submission_id, stage="receipt"
        ):
            await asyncio.to_thread(record_receipt, ledger, receipt)
