"""Kafka topic names: the part of the external surface that lives on the broker."""

from __future__ import annotations

from contracts import linear_regex

PREFIX = "amtsweg"

INTAKE = f"{PREFIX}.intake"
"""Portals that post over Kafka produce here."""

INTAKE_DLQ = f"{INTAKE}.dlq"
"""Intake messages that cannot become a submission, with the reason (dead letters)."""

PORTAL_INTAKE_PREFIX = f"{INTAKE}."
"""One intake topic per portal on a secured cluster: ``amtsweg.intake.<portal-id>``; the
topic, which only that portal may write (an ACL), says which portal sent a message."""

RECEIPTS = f"{PREFIX}.delivery.receipts"
"""Receiving authorities answer deliveries here."""

DELIVERY_PREFIX = f"{PREFIX}.delivery."
"""One topic per receiving authority: ``amtsweg.delivery.<authority-id>``."""

SUBMISSION_EVENTS_PREFIX = f"{PREFIX}.submissions."
"""The relay publishes every ledger event to ``amtsweg.submissions.<event>``."""

_AUTHORITY_ID = linear_regex.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_PORTAL_ID = linear_regex.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")


def delivery_topic(authority_id: str) -> str:
    """The delivery topic of one receiving authority."""
    if not _AUTHORITY_ID.fullmatch(authority_id) or authority_id == "receipts":
        msg = f"not a valid authority id for a topic name: {authority_id!r}"
        raise ValueError(msg)
    return DELIVERY_PREFIX + authority_id


PICKUP_PREFIX = "fit-connect:"
"""The delivery channel of an authority that picks up over FIT-Connect: ``fit-connect:<id>``.

Recorded where a delivery names its topic; the colon makes it no Kafka topic name, and
the relay publishes no envelope for it (the authority fetches the delivery itself)."""


def pickup_channel(authority_id: str) -> str:
    """The FIT-Connect pickup channel of one receiving authority."""
    return PICKUP_PREFIX + delivery_topic(authority_id).removeprefix(DELIVERY_PREFIX)


def is_pickup_channel(channel: str) -> bool:
    """True if a delivery's recorded channel is a FIT-Connect pickup, not a Kafka topic."""
    return channel.startswith(PICKUP_PREFIX)


def portal_intake_topic(portal_id: str) -> str:
    """The intake topic of one portal (letters, digits, ``-`` and ``_``; not ``dlq``)."""
    if not _PORTAL_ID.fullmatch(portal_id) or portal_id == "dlq":
        msg = f"not a valid portal id for a topic name: {portal_id!r}"
        raise ValueError(msg)
    return PORTAL_INTAKE_PREFIX + portal_id


def portal_of_intake_topic(topic: str) -> str | None:
    """The portal whose own intake topic ``topic`` is; None for ``amtsweg.intake`` and others."""
    if not topic.startswith(PORTAL_INTAKE_PREFIX):
        return None
    portal_id = topic.removeprefix(PORTAL_INTAKE_PREFIX)
    return portal_id if _PORTAL_ID.fullmatch(portal_id) and portal_id != "dlq" else None


PORTAL_PREFIX = f"{PREFIX}.portal."
"""One topic per portal for what comes back to it: ``amtsweg.portal.<portal-id>`` (replies,
overdue requests; only that portal may read it)."""


def portal_topic(portal_id: str) -> str:
    """The topic replies go to for one portal (the portal id as in its intake topic)."""
    return PORTAL_PREFIX + portal_intake_topic(portal_id).removeprefix(PORTAL_INTAKE_PREFIX)


def submission_event_topic(event_name: str) -> str:
    """The topic for a ledger event (``Received`` → ``amtsweg.submissions.received``)."""
    return SUBMISSION_EVENTS_PREFIX + event_name.lower()


RECEIVED = submission_event_topic("Received")
VALIDATED = submission_event_topic("Validated")
REJECTED = submission_event_topic("Rejected")
ROUTED = submission_event_topic("Routed")
UNROUTABLE = submission_event_topic("Unroutable")
DISPATCHED = submission_event_topic("Dispatched")
ACCEPTED = submission_event_topic("Accepted")
REFUSED_BY_AUTHORITY = submission_event_topic("RefusedByAuthority")
DECLINED = submission_event_topic("Declined")
"""An authority said "not responsible": routing forwards."""
FORWARDED = submission_event_topic("Forwarded")
ASSIGNED = submission_event_topic("Assigned")
"""Triage: an operator assigned an authority."""
HANDED_OVER = submission_event_topic("HandedOver")
HANDOVER_REFUSED = submission_event_topic("HandoverRefused")

INTERNAL_TOPICS = (
    RECEIVED,
    VALIDATED,
    REJECTED,
    ROUTED,
    UNROUTABLE,
    DISPATCHED,
    ACCEPTED,
    REFUSED_BY_AUTHORITY,
)
"""Topics Amtsweg owns; created at start-up with the intake, dead-letter and receipt topics."""
