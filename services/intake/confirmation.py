"""The proof of receipt for a portal (``contracts.confirmation``): its claims, its ports.

The claims come from the submission's ``Received`` event as stored, nothing else, so a
confirmation says the same every time it is asked for. Intake does not hold Amtsweg's
signing keys nor know FIT-Connect's cases: both come in as :class:`ConfirmationPorts`,
wired in the composition root.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from contracts.confirmation import Confirmation, ReceivedEvent, ReceivedPart
from events.ledger import TrailEntry

SignConfirmation = Callable[[Confirmation], str]
"""Confirmation → its compact JWS, signed with Amtsweg's active signing key."""

CaseOf = Callable[[UUID], str]
"""Submission id → the id of its case."""


@dataclass(frozen=True)
class ConfirmationPorts:
    """What ``GET /v1/submissions/{id}/confirmation`` needs from outside intake."""

    sign: SignConfirmation
    case_of: CaseOf
    issuer: str = "amtsweg"


class NotReceivedError(Exception):
    """The trail does not begin with a ``Received`` event (nothing to confirm)."""


def confirmation_of(
    submission_id: UUID, received: TrailEntry, case_id: str, issuer: str
) -> Confirmation:
    """The confirmation of the submission whose first event is ``received``."""
    if received.event != "Received" or received.version != 1:
        raise NotReceivedError(str(submission_id))
    data = received.data
    received_at = datetime.fromisoformat(received.timestamp)
    return Confirmation(
        issuer=issuer,
        issued_at=int(received_at.timestamp()),
        received_at=received_at,
        submission_id=str(submission_id),
        case_id=case_id,
        portal_id=str(data["portal_id"]),
        service_identifier=str(data["service_identifier"]),
        leika_key=str(data["leika_key"]),
        data=_part(data["data"]),
        attachments=[_part(attachment) for attachment in data["attachments"]],
        received=ReceivedEvent(version=received.version, hash=received.hash),
    )


def _part(part: dict[str, Any]) -> ReceivedPart:
    return ReceivedPart(sha512=str(part["sha512"]), size=int(part["size"]))


def supplement_confirmation_of(
    submission_id: UUID, received: TrailEntry, handed_in: TrailEntry, case_id: str, issuer: str
) -> Confirmation:
    """The confirmation of the supplement whose ``SupplementReceived`` event is ``handed_in``
    (portal and service from the submission's ``received``)."""
    submission = confirmation_of(submission_id, received, case_id, issuer)
    if handed_in.event != "SupplementReceived":
        raise NotReceivedError(str(submission_id))
    data = handed_in.data
    received_at = datetime.fromisoformat(handed_in.timestamp)
    answers = data.get("answers")
    return Confirmation.model_validate(
        submission.model_dump()
        | {
            "issued_at": int(received_at.timestamp()),
            "received_at": received_at,
            "data": None,
            "attachments": [_part(part) for part in data["parts"]],
            "received": ReceivedEvent(version=handed_in.version, hash=handed_in.hash),
            "supplement_id": str(data["supplement_id"]),
            "answers": str(answers) if answers is not None else None,
        }
    )
