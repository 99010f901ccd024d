"""What the relay publishes for each ledger event: the one translation to wire messages."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from contracts.messages import SubmissionEventMessage
from contracts.topics import submission_event_topic
from events.submission import Submission


@dataclass(frozen=True)
class Outbound:
    """One Kafka message to publish."""

    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


_OMIT = {"originator_id", "originator_version", "originator_topic", "timestamp", "prev_hash"}


def _payload(event: Submission.Event) -> dict[str, Any]:
    data = {k: v for k, v in event.__dict__.items() if k not in _OMIT and k != "hash"}
    data.pop("envelope", None)  # delivered on the authority's topic, not repeated here
    return data


def messages_for(event: Submission.Event) -> list[Outbound]:
    """The messages one ledger event becomes, keyed by submission id (order per application)."""
    name = type(event).__name__
    key = str(event.originator_id).encode()
    headers = (("amtsweg-event", name.encode()), ("amtsweg-hash", event.hash.encode()))
    message = SubmissionEventMessage(
        submission_id=str(event.originator_id),
        event=name,
        version=event.originator_version,
        timestamp=event.timestamp.isoformat(),
        hash=event.hash,
        data=_payload(event),
    )
    outbound = [
        Outbound(
            submission_event_topic(name),
            key,
            message.model_dump_json(by_alias=True).encode(),
            headers,
        )
    ]
    if isinstance(event, Submission.Dispatched | Submission.Reminded | Submission.Redelivered):
        notice = _notice(event)
        outbound.append(
            Outbound(
                event.topic,
                key,
                json.dumps(event.envelope, separators=(",", ":")).encode(),
                (
                    *headers,
                    ("amtsweg-delivery-id", event.delivery_id.encode()),
                    ("amtsweg-notice", str(notice).encode()),
                ),
            )
        )
    return outbound


def _notice(event: Submission.Dispatched | Submission.Reminded | Submission.Redelivered) -> int:
    """The ``amtsweg-notice`` header: 0 for the dispatch, then the reminder or redelivery."""
    if isinstance(event, Submission.Reminded):
        return event.stage
    if isinstance(event, Submission.Redelivered):
        return event.notice
    return 0
