"""A FIT-Connect case's event log, derived from Amtsweg's ledger as Security Event Tokens.

Nothing is stored: each ledger event of the case's submissions that FIT-Connect has an
event for becomes one SET (RFC 8417), signed PS512 by the event token key
(:mod:`set_keys`) with header ``typ: secevent+jwt``:

- ``Received`` → ``submit-submission`` (the received JWEs' authentication tags);
- ``Accepted`` → ``accept-submission`` (the tags);
- ``Rejected`` and ``RefusedByAuthority`` → ``reject-submission`` (the tags and the
  problems as FIT-Connect's reject reasons);
- documents handed in later and picked up over FIT-Connect, a submission of their own
  within the case (``sub`` the follow-up delivery's id): ``SupplementDispatched`` on the
  pickup channel → ``submit-submission``, its ``SupplementAcknowledged`` →
  ``accept-submission`` or ``reject-submission`` (the authority's own SET, if it answered
  with one).

An ``Accepted`` or ``RefusedByAuthority`` whose proof is a SET the authority signed (its
answer on ``POST /v1/cases/{caseId}/events``, :mod:`answers_http`) is that SET as received,
as FIT-Connect shows the subscriber's own token; it verifies with the authority's key.

The claims are stable: ``iat`` is the event's time, ``jti`` a UUID derived from the
submission id and the event's version, ``sub`` ``submission:<id>``, ``txn``
``case:<caseId>``; there is no ``exp`` (an event log never expires). The signature itself
differs from one answer to the next (PSS is randomized); it verifies either way.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError

from contracts.topics import is_pickup_channel
from events.ledger import TrailEntry
from services.fitconnect.set_keys import SET_ALG, SetKeys
from services.fitconnect.submission_table import Announcement, AuthenticationTags

EVENTS = "https://schema.fitko.de/fit-connect/events/"
SUBMIT = EVENTS + "submit-submission"
ACCEPT = EVENTS + "accept-submission"
REJECT = EVENTS + "reject-submission"
PROBLEMS = EVENTS + "problems/"
SET_SCHEMA = "https://schema.fitko.de/fit-connect/set-payload/1.2.0/set-payload.schema.json"
SET_TYPE = "secevent+jwt"
_JTI_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://amtsweg.de/fit-connect/events")

Trail = Callable[[uuid.UUID], list[TrailEntry]]
"""The submission's ledger trail; empty if the ledger knows nothing of it (yet)."""


@dataclass(frozen=True)
class CaseEvent:
    """One event of the case, before it is signed."""

    submission_id: str
    version: int
    timestamp: str
    uri: str
    payload: dict[str, Any]
    original: str | None = None
    """The authority's own SET of this event, shown instead of one Amtsweg signs."""


def case_events(announcements: Iterable[Announcement], trail: Trail) -> list[CaseEvent]:
    """The case's events in the order they happened (oldest first)."""
    found: list[CaseEvent] = []
    for announcement in announcements:
        tags = announcement.authentication_tags
        entries = trail(uuid.UUID(announcement.submission_id))
        found += [
            event
            for entry in entries
            if (event := _event(announcement.submission_id, entry, tags)) is not None
        ]
        picked_up = {
            str(e.data["delivery_id"])
            for e in entries
            if e.event == "SupplementDispatched" and is_pickup_channel(str(e.data.get("topic")))
        }
        found += [
            event for entry in entries if (event := _follow_up_event(entry, picked_up)) is not None
        ]
    return sorted(found, key=lambda e: (datetime.fromisoformat(e.timestamp), e.version))


def signed(event: CaseEvent, case_id: str, issuer: str, keys: SetKeys) -> str:
    """The event as a compact SET signed by the current key (the authority's own SET of an
    answer it sent as one)."""
    if event.original is not None:
        return event.original
    claims = {
        "$schema": SET_SCHEMA,
        "iss": issuer,
        "iat": int(datetime.fromisoformat(event.timestamp).timestamp()),
        "jti": str(uuid.uuid5(_JTI_NAMESPACE, f"{event.submission_id}:{event.version}")),
        "sub": f"submission:{event.submission_id}",
        "txn": f"case:{case_id}",
        "events": {event.uri: event.payload},
    }
    header = {"typ": SET_TYPE, "alg": SET_ALG, "kid": keys.kid}
    return jwt.encode(header, claims, keys.signing, algorithms=[SET_ALG])


def _event(
    submission_id: str, entry: TrailEntry, tags: AuthenticationTags | None
) -> CaseEvent | None:
    tagged: dict[str, Any] = {} if tags is None else {"authenticationTags": tags.as_event()}
    if entry.event == "Received":
        uri, payload = SUBMIT, tagged
    elif entry.event == "Accepted":
        uri, payload = ACCEPT, tagged
    elif entry.event == "Rejected":
        uri, payload = REJECT, tagged | {"problems": _problems(entry, "data-schema-violation")}
    elif entry.event == "RefusedByAuthority":
        uri, payload = REJECT, tagged | {"problems": _problems(entry, "technical-error")}
    else:
        return None
    original = None
    if entry.event in {"Accepted", "RefusedByAuthority"}:
        original = _authority_set(entry.data.get("signed_receipt"))
    return CaseEvent(submission_id, entry.version, entry.timestamp, uri, payload, original)


def _follow_up_event(entry: TrailEntry, picked_up: set[str]) -> CaseEvent | None:
    """A follow-up delivery picked up over FIT-Connect: a submission of its own."""
    delivery_id = str(entry.data.get("delivery_id"))
    if delivery_id not in picked_up:
        return None
    if entry.event == "SupplementDispatched":
        return CaseEvent(delivery_id, entry.version, entry.timestamp, SUBMIT, {})
    if entry.event != "SupplementAcknowledged":
        return None
    original = _authority_set(entry.data.get("signed_receipt"))
    if entry.data.get("outcome") == "accepted":
        uri, payload = ACCEPT, {}
    else:
        uri, payload = REJECT, {"problems": _problems(entry, "technical-error")}
    return CaseEvent(delivery_id, entry.version, entry.timestamp, uri, payload, original)


def _authority_set(proof: Any) -> str | None:
    """The receipt's proof if it is a SET (a native receipt's JWS is not)."""
    if not isinstance(proof, str):
        return None
    try:
        header = jws.extract_compact(proof.encode("ascii")).protected
    except (JoseError, ValueError, UnicodeEncodeError):
        return None
    return proof if header.get("typ") == SET_TYPE else None


def _problems(entry: TrailEntry, kind: str) -> list[dict[str, Any]]:
    """The event's problems as FIT-Connect reject reasons (type, title, detail, instance)."""
    reasons = []
    for problem in entry.data.get("problems") or [{}]:
        reason = {
            "type": PROBLEMS + kind,
            "title": str(problem.get("title") or "Submission rejected"),
            "instance": "data" if kind == "data-schema-violation" else "submission",
        }
        if problem.get("detail"):
            reason["detail"] = str(problem["detail"])
        reasons.append(reason)
    return reasons
