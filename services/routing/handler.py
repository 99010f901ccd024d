"""Routing worker: ``amtsweg.submissions.validated`` → Routed | Unroutable."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
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
from services.routing.directory import Directory, load_directory
from services.routing.regions import RegionIndex
from services.routing.resolve import (
    INVALID_REGION,
    NO_REGION,
    InvalidRegionError,
    Routed,
    Unroutable,
    normalise_region,
    route,
)
from services.routing.settings import RoutingSettings

log = structlog.get_logger(__name__)

GROUP = "amtsweg-routing"


@dataclass(frozen=True)
class RoutingContext:
    """The directory and the official regional key list routing decides with."""

    directory: Directory
    regions: RegionIndex

    def authority_ids(self) -> list[str]:
        """Every authority in the directory (each has a delivery topic)."""
        return [authority.id for authority in self.directory.authorities]


def load(settings: RoutingSettings) -> RoutingContext:
    """Load and check the key list and the directory (once per process)."""
    regions = RegionIndex.from_file(settings.regions)
    return RoutingContext(load_directory(settings.directory, regions), regions)


def decide(
    context: RoutingContext,
    leika_key: str,
    hint: dict[str, Any] | None,
    data_keys: dict[str, str] | None = None,
) -> tuple[str, Routed | Unroutable]:
    """The region (ARS) and the routing outcome for a submission; pure.

    The portal's routing hint wins; without one, the keys validation found in the data.
    """
    version = context.directory.version
    raw = _region_key(hint) or _region_key(data_keys)
    if not raw:
        detail = "neither the routing hint nor the data give an ARS or AGS"
        return "", Unroutable(NO_REGION, detail, version)
    try:
        ars = normalise_region(raw, context.regions)
    except InvalidRegionError as error:
        return raw, Unroutable(INVALID_REGION, str(error), version)
    return ars, route(context.directory, leika_key, ars)


def _region_key(keys: Mapping[str, Any] | None) -> str | None:
    value = (keys or {}).get("ars") or (keys or {}).get("ags")
    return str(value) if value else None


def route_submission(ledger: Ledger, context: RoutingContext, submission_id: UUID) -> bool:
    """Route one submission; False if it was already routed (a redelivery)."""
    submission = ledger.get_submission(submission_id)
    structlog.contextvars.bind_contextvars(correlation_id=submission.correlation_id)
    if submission.status is not Status.VALIDATED:
        return False
    region, outcome = decide(
        context, submission.leika_key, submission.routing_hint, submission.routing_keys
    )

    def record(current: Submission) -> bool:
        if isinstance(outcome, Routed):
            return current.route(
                outcome.authority_id, region, outcome.area, outcome.directory_version
            )
        return current.mark_unroutable(
            outcome.reason_code, outcome.detail, outcome.directory_version
        )

    changed = ledger.execute(submission_id, record)
    log.info(
        "routing.decided",
        outcome="routed" if isinstance(outcome, Routed) else "unroutable",
        authority_id=getattr(outcome, "authority_id", None),
        directory_version=outcome.directory_version,
        changed=changed,
    )
    return changed


def register(broker: KafkaBroker, ledger: Ledger, context: RoutingContext) -> None:
    """Subscribe the routing worker to the broker."""

    @broker.subscriber(
        topics.VALIDATED,
        group_id=GROUP,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def on_validated(raw: KafkaMessage) -> None:
        try:
            message = SubmissionEventMessage.model_validate_json(raw.body)
        except ValidationError as error:  # not from our relay: skip it, never block the topic
            log.warning("routing.malformed_message", errors=error.error_count())
            return
        with structlog.contextvars.bound_contextvars(
            submission_id=message.submission_id, stage="routing"
        ):
            try:
                await asyncio.to_thread(
                    route_submission, ledger, context, UUID(message.submission_id)
                )
            except SubmissionNotFoundError:  # not in this ledger: retrying cannot help
                log.error("routing.unknown_submission")  # noqa: TRY400 - no trace needed
