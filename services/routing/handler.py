"""Routing worker: Validated → Routed | Unroutable; Declined → Forwarded | Unroutable."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from uuid import UUID

import structlog
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError

from contracts import topics
from contracts.messages import SubmissionEventMessage
from events.ledger import Ledger, SubmissionNotFoundError
from events.submission import Status, Submission
from services.routing.archive import DirectoryArchive
from services.routing.context import RoutingContext, Sources, build_context
from services.routing.decision import Decision, decide
from services.routing.resolve import Routed
from services.routing.settings import RoutingSettings

log = structlog.get_logger(__name__)

GROUP = "amtsweg-routing"


def load(settings: RoutingSettings, archive: DirectoryArchive | None = None) -> RoutingContext:
    """Load and check the key lists and the directory (once per process); keep the version.

    With an archive, the files behind the version are kept there, so that a replay can
    decide against this version later.
    """
    sources = Sources.read(settings.directory, settings.regions, settings.postcodes)
    context = build_context(sources)
    if archive is not None:
        archive.keep(context, sources)
    log.info("routing.directory_loaded", directory_version=context.version)
    return context


def route_submission(ledger: Ledger, context: RoutingContext, submission_id: UUID) -> bool:
    """Route one submission; False if it was already routed (a redelivery)."""
    submission = ledger.get_submission(submission_id)
    structlog.contextvars.bind_contextvars(correlation_id=submission.correlation_id)
    if submission.status is not Status.VALIDATED:
        return False
    decision = decide(
        context, submission.leika_key, submission.routing_hint, submission.routing_keys
    )

    def record(current: Submission) -> bool:
        outcome = decision.outcome
        if isinstance(outcome, Routed):
            return current.route(
                outcome.authority_id,
                decision.region,
                outcome.area,
                outcome.directory_version,
                competence=outcome.competence,
                resolution=decision.resolution(),
            )
        return _unroutable(current, decision)

    return _record(ledger, submission_id, record, decision, "routing.decided")


def forward_submission(ledger: Ledger, context: RoutingContext, submission_id: UUID) -> bool:
    """Route a declined submission anew without the authorities that declined it."""
    submission = ledger.get_submission(submission_id)
    structlog.contextvars.bind_contextvars(correlation_id=submission.correlation_id)
    if submission.status is not Status.DECLINED:
        return False
    decision = decide(
        context,
        submission.leika_key,
        submission.routing_hint,
        submission.routing_keys,
        exclude=frozenset(submission.declined_by),
    )

    def record(current: Submission) -> bool:
        outcome = decision.outcome
        if isinstance(outcome, Routed):
            return current.forward(
                outcome.authority_id,
                decision.region,
                outcome.area,
                outcome.directory_version,
                competence=outcome.competence,
                resolution=decision.resolution(),
            )
        return current.status is Status.DECLINED and _unroutable(current, decision)

    return _record(ledger, submission_id, record, decision, "routing.forwarded")


def _unroutable(current: Submission, decision: Decision) -> bool:
    outcome = decision.outcome
    assert not isinstance(outcome, Routed)
    return current.mark_unroutable(
        outcome.reason_code, outcome.detail, outcome.directory_version, decision.resolution()
    )


def _record(
    ledger: Ledger,
    submission_id: UUID,
    record: Callable[[Submission], bool],
    decision: Decision,
    name: str,
) -> bool:
    changed = ledger.execute(submission_id, record)
    outcome = decision.outcome
    log.info(
        name,
        outcome="routed" if isinstance(outcome, Routed) else "unroutable",
        authority_id=getattr(outcome, "authority_id", None),
        reason=getattr(outcome, "reason_code", None),
        directory_version=outcome.directory_version,
        changed=changed,
    )
    return changed


def register(broker: KafkaBroker, ledger: Ledger, context: RoutingContext) -> None:
    """Subscribe the routing worker: decisions on Validated, forwarding on Declined."""
    steps = {"Validated": route_submission, "Declined": forward_submission}

    @broker.subscriber(
        topics.VALIDATED,
        topics.DECLINED,
        group_id=GROUP,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def on_event(raw: KafkaMessage) -> None:
        try:
            message = SubmissionEventMessage.model_validate_json(raw.body)
        except ValidationError as error:  # not from our relay: skip it, never block the topic
            log.warning("routing.malformed_message", errors=error.error_count())
            return
        step = steps.get(message.event)
        if step is None:
            log.warning("routing.unexpected_event", event_name=message.event)
            return
        with structlog.contextvars.bound_contextvars(
            submission_id=message.submission_id, causation_id=message.hash, stage="routing"
        ):
            try:
                await asyncio.to_thread(step, ledger, context, UUID(message.submission_id))
            except SubmissionNotFoundError:  # not in this ledger: retrying cannot help
                log.error("routing.unknown_submission")  # noqa: TRY400 - no trace needed
