"""The port through which a submitted FIT-Connect submission enters Amtsweg's intake.

``services.fitconnect`` does not import the intake: the composition root gives it a
:data:`Intake`, which records ``Received`` exactly as ``POST /v1/submissions`` does (same
metadata checks, same hash checks, same sealing), under the FIT-Connect submission id.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from events.vault import SealedPart


@dataclass(frozen=True)
class Handover:
    """A decrypted submission, ready for the intake."""

    submission_id: uuid.UUID
    """The FIT-Connect submission id; Amtsweg's submission id is the same."""
    portal_id: str
    """The sender (a portal's client id)."""
    metadata: dict[str, Any]
    """The metadata document (``publicServiceType`` filled from the announce if absent)."""
    data: bytes
    attachments: Mapping[str, SealedPart]
    """attachmentId -> its plaintext, decrypted as it streamed into a new sealed vault blob
    of the submission (the intake adopts the blobs, or discards them when it refuses or
    the submission was recorded before)."""
    correlation_id: str
    case_id: str | None = None
    """The case the sender announced the submission in (FIT-Connect's ``caseId``)."""


@dataclass(frozen=True)
class Handed:
    """What the intake answered."""

    status: str
    created: bool
    """False: the intake had recorded this submission before (nothing new)."""


class HandoverRefusedError(Exception):
    """The intake refused the submission (its checks failed); nothing was recorded."""

    def __init__(self, status: int, problems: list[dict[str, Any]]) -> None:
        super().__init__(f"refused ({status})")
        self.status = status
        self.problems = problems


Intake = Callable[[Handover], Awaitable[Handed]]
"""Record the submission as received; ``HandoverRefusedError`` if the intake refuses it."""
