"""A case (Vorgang) on one timeline: its submissions, deliveries, replies and supplements.

A case is its submissions' trails, continued: the authority's replies (a status, a request
for documents with its deadline, a decision), requests that went overdue, documents handed
in later and their follow-up deliveries, callbacks to the portal, erasure. FIT-Connect
follow-up submissions may add more submissions to a case later, so a case holds a list of
them; :func:`case_view` merges their trails into one list ordered by time (ties: the
older submission first, then the trail's order).

Like the submission's timeline (:mod:`services.ops.readmodels.timeline`) it shows ids,
kinds, states and deadlines, never content: the events hold none.
:func:`case_view` is pure; :func:`load_case` finds a case's submissions in the ledger and
the overview read model (by case id, or by the id of one of its submissions).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from events.case import ReplyKind
from events.ledger import Ledger, SubmissionNotFoundError, TrailEntry
from events.submission import Submission
from services.ops.readmodels.overview.projector import OverviewProjector
from services.ops.readmodels.overview.rows import Filters
from services.ops.readmodels.timeline import timeline

MAX_SUBMISSIONS = 100
"""Submissions shown of one case (a case has one, or a few follow-ups)."""


@dataclass(frozen=True)
class CaseEntry:
    """One line of a case's timeline: an event of one of its submissions."""

    time: str
    submission_id: str
    version: int
    event: str
    actor: str
    details: str
    hash: str


@dataclass(frozen=True)
class CaseRequest:
    """A request for documents of the case, where it stands."""

    submission_id: str
    reply_id: str
    delivery_id: str
    due: str | None
    state: str
    answered_by: str | None


@dataclass(frozen=True)
class CaseSubmission:
    """One submission of the case, where it stands."""

    submission_id: str
    status: str
    portal_id: str
    service_identifier: str
    authority_id: str | None
    delivery_id: str | None
    deliveries: list[str]
    """Its deliveries: the current one and the follow-up deliveries of its supplements."""
    replies: dict[str, str]
    """Reply id -> kind."""
    supplements: list[str]
    received_at: str
    updated_at: str
    content_erased: bool


@dataclass(frozen=True)
class CaseView:
    """A case: its submissions, its requests and one merged timeline."""

    case_id: str
    submissions: list[CaseSubmission]
    requests: list[CaseRequest]
    timeline: list[CaseEntry]

    @property
    def open_requests(self) -> list[CaseRequest]:
        """The requests not answered yet (overdue ones included)."""
        return [request for request in self.requests if request.state != "answered"]

    def as_json(self) -> dict[str, Any]:
        """The case as the ops API answers it (camelCase)."""
        return {
            "caseId": self.case_id,
            "submissions": [_camel(dataclasses.asdict(s)) for s in self.submissions],
            "openRequests": [_camel(dataclasses.asdict(r)) for r in self.open_requests],
            "requests": [_camel(dataclasses.asdict(r)) for r in self.requests],
            "timeline": [_camel(dataclasses.asdict(e)) for e in self.timeline],
        }


def _camel(fields: dict[str, Any]) -> dict[str, Any]:
    def name(key: str) -> str:
        first, *rest = key.split("_")
        return first + "".join(part.title() for part in rest)

    return {name(key): value for key, value in fields.items()}


def _submission(submission: Submission) -> CaseSubmission:
    return CaseSubmission(
        submission_id=str(submission.id),
        status=str(submission.status),
        portal_id=submission.portal_id,
        service_identifier=submission.service_identifier,
        authority_id=submission.authority_id,
        delivery_id=submission.delivery_id,
        deliveries=submission.deliveries_of_case(),
        replies={reply.reply_id: str(reply.kind) for reply in submission.replies.values()},
        supplements=list(submission.supplements),
        received_at=submission.created_on.isoformat(),
        updated_at=submission.updated_at_iso,
        content_erased=bool(submission.content_erased),
    )


def _requests(submission: Submission) -> list[CaseRequest]:
    return [
        CaseRequest(
            submission_id=str(submission.id),
            reply_id=reply.reply_id,
            delivery_id=reply.delivery_id,
            due=reply.due,
            state=str(reply.state),
            answered_by=reply.answered_by,
        )
        for reply in submission.replies.values()
        if reply.kind is ReplyKind.REQUEST
    ]


def _moment(entry: TrailEntry) -> datetime:
    return datetime.fromisoformat(entry.timestamp)


def case_view(case_id: str, loaded: list[tuple[Submission, list[TrailEntry]]]) -> CaseView:
    """The case of these submissions (each with its trail), merged into one timeline.

    Submissions are listed in the order they were received; the timeline is ordered by
    time, a tie going to the older submission and then to the trail's own order.
    """
    ordered = sorted(loaded, key=lambda pair: (pair[0].created_on, str(pair[0].id)))
    keyed: list[tuple[datetime, int, int, CaseEntry]] = []
    for rank, (submission, trail) in enumerate(ordered):
        for entry, line in zip(trail, timeline(trail), strict=True):
            keyed.append(
                (
                    _moment(entry),
                    rank,
                    entry.version,
                    CaseEntry(
                        time=line.time,
                        submission_id=str(submission.id),
                        version=line.version,
                        event=line.event,
                        actor=line.actor,
                        details=line.details,
                        hash=line.hash,
                    ),
                )
            )
    keyed.sort(key=lambda item: item[:3])
    return CaseView(
        case_id=case_id,
        submissions=[_submission(submission) for submission, _ in ordered],
        requests=[request for submission, _ in ordered for request in _requests(submission)],
        timeline=[entry for *_, entry in keyed],
    )


class CaseNotFoundError(LookupError):
    """Neither a case nor a submission of that id."""


def case_submission_ids(
    ledger: Ledger, overview: OverviewProjector, reference: UUID
) -> tuple[str, list[UUID]]:
    """The case ``reference`` names (a case id, or the id of one of its submissions) and
    the ids of its submissions.

    The overview read model is caught up first: it knows which submissions a case has.
    ``CaseNotFoundError`` when the id names neither.
    """
    overview.catch_up()
    try:
        named: Submission | None = ledger.get_submission(reference)
    except SubmissionNotFoundError:
        named = None
    case_id = named.case_id if named is not None else str(reference)
    rows = overview.store.select(Filters(case_id=case_id), MAX_SUBMISSIONS)
    ids = [UUID(row.submission_id) for row in rows]
    if named is not None and named.id not in ids:  # the overview lags behind, or is rebuilt
        ids.append(named.id)
    if not ids:
        raise CaseNotFoundError(str(reference))
    return case_id, ids


def load_case(
    ledger: Ledger,
    overview: OverviewProjector,
    reference: UUID,
    keep: Callable[[Submission], bool] | None = None,
) -> CaseView:
    """The case ``reference`` names (see :func:`case_submission_ids`), from the ledger;
    ``keep``: only the submissions it keeps (an operator's tenants), none kept: not found."""
    case_id, ids = case_submission_ids(ledger, overview, reference)
    loaded = []
    for submission_id in ids:
        try:
            submission = ledger.get_submission(submission_id)
        except SubmissionNotFoundError:  # the overview names what the ledger no longer has
            continue
        if keep is None or keep(submission):
            loaded.append((submission, ledger.trail(submission_id)))
    if not loaded:
        raise CaseNotFoundError(str(reference))
    return case_view(case_id, loaded)
