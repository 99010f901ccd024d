"""Validation worker: ``amtsweg.submissions.received`` → Validated | Rejected."""

from __future__ import annotations

import asyncio
from uuid import UUID

import structlog
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError

from contracts import topics
from contracts.messages import SubmissionEventMessage
from events.blobs import BlobStore
from events.ledger import Ledger, SubmissionNotFoundError
from events.submission import Status, Submission
from services.validation.catalog import SchemaCatalog
from services.validation.decide import Declared, Limits, Valid, decide

log = structlog.get_logger(__name__)

GROUP = "amtsweg-validation"


def validate_submission(
    ledger: Ledger, blobs: BlobStore, catalog: SchemaCatalog, submission_id: UUID, limits: Limits
) -> bool:
    """Validate one submission; False if it was already decided (a redelivery)."""
    submission = ledger.get_submission(submission_id)
    structlog.contextvars.bind_contextvars(correlation_id=submission.correlation_id)
    if submission.status is not Status.RECEIVED:
        return False
    declared = Declared(
        leika_key=submission.leika_key,
        schema_uri=submission.data["schema_uri"],
        mime_type=submission.data["mime_type"],
        received_at=submission.created_on,
    )
    outcome = decide(catalog, declared, blobs.read(submission.data["sha512"]), limits)

    def record(current: Submission) -> bool:
        if isinstance(outcome, Valid):
            return current.validate(
                outcome.catalog_version, outcome.schema_uri, outcome.routing_keys
            )
        problems = [p.model_dump(exclude_none=True) for p in outcome.problems]
        return current.reject(outcome.catalog_version, problems)

    changed = ledger.execute(submission_id, record)
    log.info(
        "validation.decided",
        outcome="validated" if isinstance(outcome, Valid) else "rejected",
        catalog_version=outcome.catalog_version,
        changed=changed,
    )
    return changed


def register(
    broker: KafkaBroker, ledger: Ledger, blobs: BlobStore, catalog: SchemaCatalog, limits: Limits
) -> None:
    """Subscribe the validation worker to the broker."""

    @broker.subscriber(
        topics.RECEIVED,
        group_id=GROUP,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def on_received(raw: KafkaMessage) -> None:
        try:
            message = SubmissionEventMessage.model_validate_json(raw.body)
        except ValidationError as error:  # not from our relay: skip it, never block the topic
            log.warning("validation.malformed_message", errors=error.error_count())
            return
        with structlog.contextvars.bound_contextvars(
            submission_id=message.submission_id, causation_id=message.hash, stage="validation"
        ):
            try:
                await asyncio.to_thread(
                    validate_submission,
                    ledger,
                    blobs,
                    catalog,
                    UUID(message.submission_id),
                    limits,
                )
            except SubmissionNotFoundError:  # not in this ledger: retrying cannot help
                log.error("validation.unknown_submission")  # noqa: TRY400 - no trace needed
