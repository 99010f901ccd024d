"""Kafka intake: a message on ``amtsweg.intake`` becomes a submission, as a JSON POST would.

The value is the JSON form of ``POST /v1/submissions`` (:class:`contracts.submission.
IntakeMessage`); the idempotency key comes in a header or in the body.

Who sent a message: a Kafka consumer never sees the producer's principal, so the portal
is known from the topic. Each portal writes its own topic ``amtsweg.intake.<portal-id>``,
which a Kafka ACL lets only that portal's principal write; a portal id in a header or the
body must then agree with the topic's. On the shared ``amtsweg.intake`` only a header or
the body names the portal, which anyone allowed to write there could forge: accepted only
with ``kafka_intake_shared_topic`` (development), otherwise a dead letter.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from contracts import headers, topics
from contracts.submission import IntakeMessage
from services.intake import identifiers
from services.intake.errors import ProblemError, malformed
from services.intake.json_form import (
    JsonForm,
    load_json_body,
    parse_json_form,
)
from services.intake.settings import IntakeSettings

MAX_HEADER_VALUE = 255


@dataclass(frozen=True)
class IntakeRecord:
    """A message taken from the intake topic, as Kafka delivered it."""

    value: bytes
    key: bytes | None
    headers: Sequence[tuple[str, bytes | None]]
    topic: str
    partition: int
    offset: int
    timestamp: int

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (UTF-8); a 400 problem if it is not text."""
        values = [value for key, value in self.headers if key == name]
        if not values or values[-1] is None:
            return None
        try:
            return values[-1].decode("utf-8")
        except UnicodeDecodeError:
            raise malformed(f"header {name} is not UTF-8") from None

    def position_key(self) -> str:
        """An idempotency key from the message's place in the log (the same when it comes again)."""
        return f"kafka:{self.topic}/{self.partition}/{self.offset}@{self.timestamp}"


@dataclass(frozen=True)
class IntakeRequest:
    """A message read and checked, its parts decoded but not yet stored."""

    form: JsonForm
    portal_id: str
    idempotency_key: str
    correlation_id: str


def read_message(record: IntakeRecord, settings: IntakeSettings) -> IntakeRequest:
    """Check a message as the HTTP intake checks a JSON request; a problem if it is refused."""
    document = load_json_body(record.value, settings)  # within max_json_body_bytes
    portal_id = _portal(
        record, _identity(record, document, headers.PORTAL_ID, "portalId"), settings
    )
    _check_portal(portal_id, settings.portal_tokens.keys())
    key = _identity(record, document, headers.IDEMPOTENCY_KEY, "idempotencyKey")
    correlation_id = identifiers.correlation_id(
        record.header(headers.CORRELATION_ID), name=f"header {headers.CORRELATION_ID}"
    )
    form = parse_json_form(document, settings, IntakeMessage)
    return IntakeRequest(form, portal_id, key or record.position_key(), correlation_id)


def _identity(
    record: IntakeRecord, document: dict[str, Any], header: str, member: str
) -> str | None:
    """A value that may come in a header or in the body; both must agree when both come."""
    in_header = record.header(header)
    in_body = document.get(member)
    if in_body is not None and not isinstance(in_body, str):
        raise malformed(f"{member} must be a string")
    if in_header is not None and in_body is not None and in_header != in_body:
        raise malformed(f"header {header} and {member} in the body differ")
    value = in_header if in_header is not None else in_body
    if value is not None and not 0 < len(value) <= MAX_HEADER_VALUE:
        raise malformed(f"{member} must have 1 to {MAX_HEADER_VALUE} characters")
    if value is not None and not (value.isascii() and value.isprintable()):
        raise malformed(f"{member} must be printable ASCII (no control characters)")
    return value


def _portal(record: IntakeRecord, named: str | None, settings: IntakeSettings) -> str:
    """The sending portal: the topic's own, or (shared topic, if accepted) the one named."""
    own = topics.portal_of_intake_topic(record.topic)
    if own is not None:
        if named is not None and named != own:
            raise ProblemError.single(
                403,
                "portal-mismatch",
                "Portal does not match the topic",
                f"The message names another portal than the one whose topic it is on ({own}).",
            )
        return own
    if not settings.kafka_intake_shared_topic:
        raise ProblemError.single(
            403,
            "portal-not-authenticated",
            "Portal not authenticated",
            f"{record.topic} does not say who produced a message: a portal produces to its own"
            f" topic {topics.PORTAL_INTAKE_PREFIX}<portal-id>, which only it may write.",
        )
    if named is None:
        raise malformed(f"no portal id: set header {headers.PORTAL_ID} or portalId in the body")
    return named


def _check_portal(portal_id: str, portals: Collection[str]) -> None:
    if portal_id not in portals:
        raise ProblemError.single(
            403,
            "unknown-portal",
            "Unknown portal",
            "The portal id is not one of the configured portals (AMTSWEG_PORTAL_TOKENS).",
        )
