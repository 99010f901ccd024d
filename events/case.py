"""What a case holds beside its submission: the authority's replies and later documents.

A case (Vorgang) is the submission's trail, continued: the authority replies to the
applicant (a status message, a request for documents with a deadline, a decision with
documents), and the applicant's portal hands in documents later (Nachreichung), each
answering a request or not. These are the states ``events.submission`` keeps of them;
the events that change them stand beside their commands there.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ReplyKind(StrEnum):
    """What an authority's reply is."""

    STATUS = "status"
    """A status message ("in Bearbeitung")."""
    REQUEST = "request"
    """A request for documents: what is missing, by when."""
    DECISION = "decision"
    """The decision (Bescheid), usually with documents."""


class RequestState(StrEnum):
    """Where a request for documents stands."""

    OPEN = "open"
    ANSWERED = "answered"
    OVERDUE = "overdue"
    """Its deadline passed without an answer (a later answer still counts)."""


@dataclass
class Reply:
    """One reply as the case knows it (its content is sealed in the vault)."""

    reply_id: str
    kind: ReplyKind
    request_digest: str
    """SHA-256 of the reply as the authority sent it: the same reply id again must match."""
    delivery_id: str
    due: str | None = None
    """A request's deadline (ISO 8601), None for the other kinds."""
    state: RequestState | None = None
    """A request's state, None for the other kinds."""
    answered_by: str | None = None
    """The supplement that answered a request."""


@dataclass
class Supplement:
    """Documents handed in later, as the case knows them (content sealed in the vault)."""

    supplement_id: str
    request_digest: str
    answers: str | None
    """The request (reply id) it answers, if any."""
    parts: list[dict[str, object]]
    delivery_id: str | None = None
    """Its follow-up delivery to the authority, once dispatched."""
    outcome: str | None = None
    """The authority's receipt of the follow-up delivery, once it answered."""


class ReplyConflictError(Exception):
    """A reply or supplement id was used before for different content."""
