"""Checks of an XÖV message header (Nachrichtenkopf), as small pure functions.

XÖV messages start with a header that identifies the message: in the XÖV Basisnachricht
(``nachrichtenkopf.g2g``) a message UUID, the message type as a code from the standard's
code list, the creation time, and the author (``autor``) and reader (``leser``)
authorities; xdomea's ``Kopf`` carries the same facts as ``ProzessID``,
``Nachrichtentyp``, ``Erstellungszeitpunkt``, ``Absender`` and ``Empfaenger``. A catalog
manifest says where each is found; these functions check them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from lxml import etree

from contracts import linear_regex
from services.validation.fields import Value, XPathField
from services.validation.findings import Finding

GERMAN_TIME = ZoneInfo("Europe/Berlin")
"""XÖV times without an offset are read as German local time."""

CLOCK_SKEW = timedelta(minutes=5)
"""A sender's clock may run this much ahead of ours."""

_UUID = linear_regex.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


@dataclass(frozen=True)
class HeaderSpec:
    """Where a schema's messages keep their header facts, and the allowed message types."""

    message_id: XPathField
    message_type: XPathField
    created_at: XPathField
    author: XPathField
    reader: XPathField
    message_types: frozenset[str]
    type_matches_root: bool = False
    """XÖV message names end in their type code (``….0503``); check that they agree."""


def check_header(spec: HeaderSpec, root: etree._Element, received_at: datetime) -> list[Finding]:
    """Every header finding; ``received_at`` is when the submission arrived (tz-aware)."""
    return [
        *_message_id(spec, root),
        *_message_type(spec, root),
        *_created_at(spec, root, received_at),
        *_present(spec.author, root, "header-author", "the message author"),
        *_present(spec.reader, root, "header-reader", "the message reader"),
    ]


def _first(field: XPathField, root: etree._Element) -> Value | None:
    values = field.values(root)
    return values[0] if values else None


def _missing(code: str, what: str, field: XPathField) -> Finding:
    return Finding(code, f"{what} is missing (expected at {field.expression})", None, None)


def _message_id(spec: HeaderSpec, root: etree._Element) -> list[Finding]:
    value = _first(spec.message_id, root)
    if value is None:
        return [_missing("header-message-id", "the message id", spec.message_id)]
    if not _UUID.fullmatch(value.text):
        return [
            Finding("header-message-id", "the message id is not a UUID", value.line, value.path)
        ]
    return []


def _message_type(spec: HeaderSpec, root: etree._Element) -> list[Finding]:
    value = _first(spec.message_type, root)
    if value is None:
        return [_missing("header-message-type", "the message type", spec.message_type)]
    if value.text not in spec.message_types:
        allowed = ", ".join(sorted(spec.message_types))
        detail = f"the message type is not one accepted for this service ({allowed})"
        return [Finding("header-message-type", detail, value.line, value.path)]
    name = etree.QName(root).localname
    if spec.type_matches_root and not name.endswith(f".{value.text}"):
        detail = f"the message type code does not match the message {name!r}"
        return [Finding("header-message-type", detail, value.line, value.path)]
    return []


def _created_at(spec: HeaderSpec, root: etree._Element, received_at: datetime) -> list[Finding]:
    value = _first(spec.created_at, root)
    if value is None:
        return [_missing("header-created-at", "the creation time", spec.created_at)]
    created = parse_datetime(value.text)
    if created is None:
        detail = "the creation time is not an xs:dateTime"
        return [Finding("header-created-at", detail, value.line, value.path)]
    if created > received_at + CLOCK_SKEW:
        detail = "the creation time lies after the time the submission was received"
        return [Finding("header-created-at", detail, value.line, value.path)]
    return []


def _present(field: XPathField, root: etree._Element, code: str, what: str) -> list[Finding]:
    return [] if _first(field, root) is not None else [_missing(code, what, field)]


def parse_datetime(text: str) -> datetime | None:
    """An xs:dateTime as an aware datetime (no offset: German local time); None if invalid."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if "T" not in text:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=GERMAN_TIME)
