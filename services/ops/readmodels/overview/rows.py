"""The submissions overview: one row per submission, for lists, filters and counters.

A row is what operations filter on (status, service, authority, portal, time of receipt,
case) and nothing personal: no metadata, no data, no applicant. It is read from the aggregate
itself, so events added later (triage, forwarding …) show their effect without changes
here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from events.submission import Submission
from services.ops.tenants.among import Among


@dataclass(frozen=True)
class SubmissionRow:
    """Where one submission stands."""

    submission_id: str
    portal_id: str
    leika_key: str
    status: str
    authority_id: str | None
    delivery_id: str | None
    received_at: float
    updated_at: float
    version: int
    last_event: str
    problem: str | None
    """The first problem's type (its slug) or the unroutable reason, if any."""
    escalated: bool
    dead_letter: bool
    content_erased: bool = False
    case_id: str | None = None
    """The case the submission belongs to (``Submission.case_id``)."""


@dataclass(frozen=True)
class Filters:
    """A selection of submissions; None means "any"."""

    status: str | None = None
    service: str | None = None
    """A LeiKa key, or the full ``urn:de:fim:leika:leistung:…`` identifier."""
    authority: str | None = None
    portal: str | None = None
    since: float | None = None
    until: float | None = None
    case_id: str | None = None
    """The submissions of one case."""
    among: Among | None = None
    """Only the submissions of an operator's tenants (None: every tenant's)."""

    @property
    def leika_key(self) -> str | None:
        """The LeiKa key of ``service`` (the last part of a URN)."""
        return self.service.rsplit(":", 1)[-1] if self.service else None


def row_for(submission: Submission, last_event: str) -> SubmissionRow:
    """The overview row of a submission as loaded from the ledger."""
    return SubmissionRow(
        submission_id=str(submission.id),
        portal_id=submission.portal_id,
        leika_key=submission.leika_key,
        status=str(submission.status),
        authority_id=submission.authority_id,
        delivery_id=submission.delivery_id,
        received_at=submission.created_on.timestamp(),
        updated_at=_epoch(submission.updated_at_iso) or submission.created_on.timestamp(),
        version=submission.version,
        last_event=last_event,
        problem=_first_problem(submission.problems),
        escalated=bool(submission.escalated),
        dead_letter=bool(submission.delivery_failed),
        content_erased=bool(submission.content_erased),
        case_id=submission.case_id,
    )


def _epoch(iso: str) -> float | None:
    return datetime.fromisoformat(iso).timestamp() if iso else None


def _first_problem(problems: list[dict[str, object]]) -> str | None:
    if not problems:
        return None
    first = problems[0]
    value = first.get("type") or first.get("reason")
    return str(value).rsplit("/", 1)[-1] if value else None
