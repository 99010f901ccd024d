"""What the relay publishes for each ledger event: the one translation to wire messages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from contracts import replies
from contracts.envelope_signature import SIGNATURE_HEADER
from contracts.messages import SubmissionEventMessage
from contracts.topics import is_pickup_channel, submission_event_topic
from events.submission import Submission


@dataclass(frozen=True)
class Outbound:
    """One Kafka message to publish."""

    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


OpenEnvelope = Callable[[UUID, dict[str, Any]], bytes | None]
"""The bytes of a delivery's sealed envelope (from the vault); None once it is erased."""

SignEnvelope = Callable[[bytes], str]
"""Amtsweg's detached JWS over an envelope's bytes (header ``amtsweg-signature``)."""

Announcement = Submission.Dispatched | Submission.Reminded | Submission.Redelivered


def messages_for(
    event: Submission.Event, open_envelope: OpenEnvelope, sign: SignEnvelope | None = None
) -> list[Outbound]:
    """The messages one ledger event becomes, keyed by submission id (order per application).

    Every event becomes a notice on ``amtsweg.submissions.<event>``; a dispatch, reminder
    or redelivery also puts the envelope on the authority's topic (unless the content
    was erased before the relay got to it), signed by ``sign`` when it is given. An
    authority on a FIT-Connect pickup channel fetches its deliveries: nothing goes to a
    topic for it.

    The case's messages follow the same rule: a reply's envelope goes to the portal's
    topic, a supplement's follow-up delivery to the authority's, a request's passed
    deadline as a notice to both (each with header ``amtsweg-message``).
    """
    name = type(event).__name__
    key = str(event.originator_id).encode()
    headers = (("amtsweg-event", name.encode()), ("amtsweg-hash", event.hash.encode()))
    message = SubmissionEventMessage(
        submission_id=str(event.originator_id),
        event=name,
        version=event.originator_version,
        timestamp=event.timestamp.isoformat(),
        hash=event.hash,
    )
    outbound = [
        Outbound(
            submission_event_topic(name),
            key,
            message.model_dump_json(by_alias=True).encode(),
            headers,
        )
    ]
    outbound.extend(_case_messages(event, open_envelope, sign, key, headers))
    if isinstance(event, Announcement) and not is_pickup_channel(event.topic):
        envelope = open_envelope(event.originator_id, event.envelope)
        if envelope is not None:
            signature = ((SIGNATURE_HEADER, sign(envelope).encode()),) if sign else ()
            outbound.append(
                Outbound(
                    event.topic,
                    key,
                    envelope,
                    (
                        *headers,
                        ("amtsweg-delivery-id", event.delivery_id.encode()),
                        ("amtsweg-notice", str(_notice(event)).encode()),
                        (replies.MESSAGE_HEADER, replies.DELIVERY.encode()),
                        *signature,
                    ),
                )
            )
    return outbound


def _notice(event: Announcement) -> int:
    """The ``amtsweg-notice`` header: 0 for the dispatch, then the reminder or redelivery."""
    if isinstance(event, Submission.Reminded):
        return event.stage
    if isinstance(event, Submission.Redelivered):
        return event.notice
    return 0


def _case_messages(
    event: Submission.Event,
    open_envelope: OpenEnvelope,
    sign: SignEnvelope | None,
    key: bytes,
    headers: tuple[tuple[str, bytes], ...],
) -> list[Outbound]:
    """A reply to the portal's topic, a follow-up delivery to the authority's, an overdue
    request's notice to both; nothing for other events (or once the content is erased)."""
    if isinstance(event, Submission.Replied) and event.topic:
        return _sealed(event.topic, replies.REPLY, event, open_envelope, sign, key, headers)
    if isinstance(event, Submission.SupplementDispatched) and not is_pickup_channel(event.topic):
        delivery = (*headers, ("amtsweg-delivery-id", event.delivery_id.encode()))
        return _sealed(event.topic, replies.SUPPLEMENT, event, open_envelope, sign, key, delivery)
    if isinstance(event, Submission.RequestOverdue):
        notice = replies.RequestOverdueNotice(
            reply_id=event.reply_id,
            submission_id=str(event.originator_id),
            case_id=event.case_id,
            due=event.due,
            recorded_at=event.timestamp.isoformat(),
        )
        body = notice.model_dump_json(by_alias=True).encode()
        kind = ((replies.MESSAGE_HEADER, replies.REQUEST_OVERDUE.encode()),)
        return [
            Outbound(topic, key, body, (*headers, *kind))
            for topic in (event.portal_topic, event.authority_topic)
            if topic and not is_pickup_channel(topic)
        ]
    return []


def _sealed(  # noqa: PLR0917 - one private step of _case_messages, called twice
    topic: str,
    kind: str,
    event: Submission.Replied | Submission.SupplementDispatched,
    open_envelope: OpenEnvelope,
    sign: SignEnvelope | None,
    key: bytes,
    headers: tuple[tuple[str, bytes], ...],
) -> list[Outbound]:
    envelope = open_envelope(event.originator_id, event.envelope)
    if envelope is None:
        return []
    signature = ((SIGNATURE_HEADER, sign(envelope).encode()),) if sign else ()
    return [
        Outbound(
            topic, key, envelope, (*headers, (replies.MESSAGE_HEADER, kind.encode()), *signature)
        )
    ]
