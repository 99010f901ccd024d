"""What the AsyncAPI document says about each topic: payload contract, key and headers.

The FastStream handlers take raw messages (so that a malformed one is skipped rather than
retried for ever) and the relay publishes with aiokafka, so neither tells FastStream what
travels on a topic. This table does, from the contracts; a topic the apps use but the
table does not know stops ``amtsweg docs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from contracts import headers, replies, topics
from contracts.messages import DeliveryEnvelope, Receipt, SubmissionEventMessage
from contracts.replies import (
    ReplyEnvelope,
    ReplyMessage,
    RequestOverdueNotice,
    SupplementEnvelope,
)
from contracts.submission import IntakeMessage

DELIVERY_CHANNEL = f"{topics.DELIVERY_PREFIX}{{authorityId}}"
"""The authorities' topics, one channel with the authority id as a parameter."""
PORTAL_CHANNEL = f"{topics.PORTAL_PREFIX}{{portalId}}"
"""The portals' topics (replies, overdue requests), one channel with the portal id."""

RELAY = "amtsweg-relay"
"""The sender of every ledger event and delivery (the transactional outbox)."""

RELAY_HEADERS = {
    "amtsweg-event": "The ledger event's name, e.g. `Validated`.",
    "amtsweg-hash": "The event's chain hash (SHA-256 or HMAC-SHA-256, hex).",
}
DELIVERY_HEADERS = {
    **RELAY_HEADERS,
    "amtsweg-delivery-id": "The delivery id (stable across reminders and redeliveries).",
    "amtsweg-notice": "`0` for the delivery, `n` for its n-th announcement again.",
    "amtsweg-message": "`delivery` (a message without it is one too), `supplement` or"
    " `request-overdue`.",
    "amtsweg-signature": "Amtsweg's detached JWS (ES256, `kid`) over the message value;"
    " the keys are at `GET /v1/keys`. Receivers refuse an envelope without a valid one.",
}

SUPPLEMENT_HEADERS = {
    name: text for name, text in DELIVERY_HEADERS.items() if name != "amtsweg-notice"
}

PORTAL_HEADERS = {
    **RELAY_HEADERS,
    replies.MESSAGE_HEADER: "`reply` (a `ReplyEnvelope`) or `request-overdue` (a"
    " `RequestOverdueNotice`).",
}
REPLY_HEADERS = {
    **PORTAL_HEADERS,
    "amtsweg-signature": "Amtsweg's detached JWS (ES256, `kid`) over the message value;"
    " the keys are at `GET /v1/keys`.",
}


class UndocumentedTopicError(LookupError):
    """An app uses a topic this table does not describe."""


@dataclass(frozen=True)
class ChannelDoc:
    """The documentation of one topic (or of the authorities' topics)."""

    message: str
    """Name of the message in ``components/messages`` (shared by topics alike)."""
    summary: str
    description: str
    payload: type[BaseModel] | Mapping[str, Any]
    key: str
    headers: Mapping[str, str] = field(default_factory=dict)
    required_headers: tuple[str, ...] = ()
    sender: str = RELAY
    models: tuple[type[BaseModel], ...] = ()
    """Models the payload refers to (a model payload is included anyway)."""
    others: tuple[ChannelDoc, ...] = ()
    """Further messages on the same topic (told apart by ``amtsweg-message``)."""

    @property
    def messages(self) -> tuple[ChannelDoc, ...]:
        """Every message of the topic, this one first."""
        return (self, *self.others)


def channel_doc(topic: str) -> ChannelDoc:
    """How ``topic`` is documented."""
    if topic == topics.INTAKE:
        return ChannelDoc(
            "IntakeMessage",
            "A portal's submission over Kafka",
            "Portals produce here instead of posting: the JSON form of `POST /v1/submissions`."
            " Checked exactly as the HTTP intake checks it; refused messages go to"
            f" `{topics.INTAKE_DLQ}`.",
            IntakeMessage,
            "Free (e.g. the portal's own reference).",
            {
                headers.PORTAL_ID: "The producing portal (or `portalId` in the body).",
                headers.IDEMPOTENCY_KEY: "The portal's key (or `idempotencyKey` in the body).",
                headers.CORRELATION_ID: "Optional; recorded with the submission.",
            },
            sender="portal",
        )
    if topic == topics.INTAKE_DLQ:
        return ChannelDoc(
            "IntakeDeadLetter",
            "An intake message that could not become a submission",
            "The original key, value and headers (as UTF-8 text), with the reason.",
            {"description": "The refused message's value as it was sent (any bytes)."},
            "The original message's key.",
            {
                headers.PROBLEM: "Why: an RFC 7807 problem document (JSON).",
                headers.ORIGINAL_TOPIC: "Where the message was: topic,",
                headers.ORIGINAL_PARTITION: "partition",
                headers.ORIGINAL_OFFSET: "and offset.",
                headers.VALUE_OMITTED: "Set to the original size when the value was too large.",
            },
            (headers.PROBLEM, headers.ORIGINAL_TOPIC),
            sender="amtsweg-intake",
        )
    if topic == topics.RECEIPTS:
        return ChannelDoc(
            "Receipt",
            "A receiving authority's receipt",
            "Authorities answer deliveries here: the receipt as JSON, or a JWS compact"
            " serialization whose payload is that JSON (required when the directory holds the"
            " authority's verification key).",
            {
                "oneOf": [
                    {"$ref": "#/components/schemas/Receipt"},
                    {"type": "string", "description": "JWS compact, its payload a Receipt."},
                ]
            },
            "The submission id.",
            sender="authority",
            models=(Receipt,),
            others=(_reply_message(),),
        )
    if topic == DELIVERY_CHANNEL:
        return ChannelDoc(
            "DeliveryEnvelope",
            "A delivery to a receiving authority",
            "One topic per authority. The envelope again on a reminder or redelivery, with the"
            " same delivery id: receivers dedupe on it.",
            DeliveryEnvelope,
            "The submission id.",
            DELIVERY_HEADERS,
            tuple(DELIVERY_HEADERS),
            others=_follow_ups(),
        )
    if topic == PORTAL_CHANNEL:
        return _portal_channel()
    if topic.startswith(topics.SUBMISSION_EVENTS_PREFIX):
        return ChannelDoc(
            "SubmissionEvent",
            "A ledger event, as the relay publishes it",
            f"Every `{topic.removeprefix(topics.SUBMISSION_EVENTS_PREFIX)}` event of the"
            " ledger, in order per submission (never a delivery envelope).",
            SubmissionEventMessage,
            "The submission id (one application's events stay in one partition, in order).",
            RELAY_HEADERS,
            tuple(RELAY_HEADERS),
        )
    raise UndocumentedTopicError(f"document topic {topic!r} in {__name__}")


def _reply_message() -> ChannelDoc:
    return ChannelDoc(
        "ReplyMessage",
        "An authority's reply to the applicant",
        "Beside the receipts: a status message, a request for documents or a decision with"
        " documents, as JSON or a JWS compact serialization whose payload is that JSON (a"
        " signature is required when the directory holds the authority's verification key)."
        " Told from a receipt by the header `amtsweg-message: reply` or its `type`. A Kafka"
        " message is at most 1 MiB unless the cluster allows more: send larger decisions to"
        " `POST /v1/deliveries/{deliveryId}/replies`. A malformed or refused reply is"
        " logged (never its content) and skipped.",
        {
            "oneOf": [
                {"$ref": "#/components/schemas/ReplyMessage"},
                {"type": "string", "description": "JWS compact, its payload a ReplyMessage."},
            ]
        },
        "The submission id.",
        {replies.MESSAGE_HEADER: "`reply` (without it, the `type` of the JSON decides)."},
        sender="authority",
        models=(ReplyMessage,),
    )


def _follow_ups() -> tuple[ChannelDoc, ...]:
    supplement = ChannelDoc(
        "SupplementEnvelope",
        "Documents handed in later: a follow-up delivery",
        "The portal handed in documents for the case (answering a request, or not): its own"
        " `deliveryId` (answer it with a receipt), `refersTo` the delivery it follows up."
        " Encrypted and signed like a delivery.",
        SupplementEnvelope,
        "The submission id.",
        SUPPLEMENT_HEADERS,
        tuple(SUPPLEMENT_HEADERS),
    )
    overdue = ChannelDoc(
        "RequestOverdueNotice",
        "A request's deadline passed without an answer",
        "The authority's request (its `replyId`) is overdue; the portal is told too.",
        RequestOverdueNotice,
        "The submission id.",
        PORTAL_HEADERS,
        tuple(PORTAL_HEADERS),
    )
    return (supplement, overdue)


def _portal_channel() -> ChannelDoc:
    overdue = ChannelDoc(
        "RequestOverdueNotice",
        "A request's deadline passed without an answer",
        "To the portal and to the authority: the request (its `replyId`) is overdue; a"
        " later supplement still answers it.",
        RequestOverdueNotice,
        "The submission id.",
        PORTAL_HEADERS,
        tuple(PORTAL_HEADERS),
    )
    return ChannelDoc(
        "ReplyEnvelope",
        "An authority's reply, for the portal that submitted",
        "One topic per portal (only that portal may read it). The reply's content, or with"
        " the portal's encryption key only its JWE; documents by reference"
        " (`GET /v1/submissions/{id}/replies/{replyId}/parts/{partId}` with the portal's"
        " token). In order per case; dedupe on `replyId`.",
        ReplyEnvelope,
        "The submission id.",
        REPLY_HEADERS,
        tuple(REPLY_HEADERS),
        others=(overdue,),
    )
