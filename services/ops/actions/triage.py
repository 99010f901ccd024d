"""Triage: the submissions no authority could be found for, and assigning one by hand.

The queue is read from the ledger itself: the notification log, filtered to the events
that make a submission unroutable (``Unroutable``, ``HandoverRefused``), gives the
candidates; each one's current state says whether it still waits. No second store can
drift from the ledger. (The filter is a scan of the notification log; for a ledger of
many millions of events a read model would be the next step.)

An assignment is an ``Assigned`` event (who, why, against which directory version); the
relay publishes it and delivery dispatches to the assigned authority as to a routed one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.utils import get_topic

from events.ledger import Ledger
from events.lifecycle import Status
from events.submission import Submission
from services.routing.directory import Directory

PAGE = 500


class UnknownAuthorityError(LookupError):
    """The directory has no authority with this id."""


@dataclass(frozen=True)
class TriageItem:
    """One submission waiting for an operator."""

    submission_id: str
    since: str
    leika_key: str
    reason: str
    detail: str
    declined_by: tuple[str, ...]
    portal_id: str = ""
    authority_id: str | None = None
    """The authority it was routed to before (one that declined it), if any."""


def _unroutable_ids(ledger: Ledger) -> Iterator[UUID]:
    """Submissions that were ever unroutable or refused for handover, in every shard."""
    wanted = [get_topic(Submission.Unroutable), get_topic(Submission.HandoverRefused)]
    seen: set[UUID] = set()
    for shard in ledger.shards:
        position = 0
        while page := shard.recorder.select_notifications(
            position, PAGE, topics=wanted, inclusive_of_start=False
        ):
            for notification in page:
                submission_id = UUID(str(notification.originator_id))
                if submission_id not in seen:
                    seen.add(submission_id)
                    yield submission_id
            position = page[-1].id


def triage_queue(ledger: Ledger) -> list[TriageItem]:
    """Every submission that is unroutable now, oldest first."""
    items = []
    for submission_id in _unroutable_ids(ledger):
        submission = ledger.get_submission(submission_id)
        if submission.status is not Status.UNROUTABLE:
            continue  # assigned since, or decided anew
        problem = submission.problems[0] if submission.problems else {}
        items.append(
            TriageItem(
                submission_id=str(submission_id),
                since=submission.updated_at_iso,
                leika_key=submission.leika_key,
                reason=str(problem.get("reason", "")),
                detail=str(problem.get("detail", "")),
                declined_by=tuple(submission.declined_by),
                portal_id=submission.portal_id,
                authority_id=submission.authority_id,
            )
        )
    return sorted(items, key=lambda item: item.since)


def assign(
    ledger: Ledger,
    directory: Directory,
    submission_id: UUID,
    authority_id: str,
    *,
    by: str,
    reason: str,
) -> bool:
    """Record an operator's assignment; False if it was recorded before (a repeat).

    ``UnknownAuthorityError`` for an authority not in the directory,
    ``SubmissionNotFoundError`` and ``InvalidTransitionError`` (not unroutable) from the
    ledger.
    """
    if directory.authority(authority_id) is None:
        msg = f"no authority {authority_id!r} in directory {directory.version}"
        raise UnknownAuthorityError(msg)
    return ledger.execute(
        submission_id, lambda s: s.assign(authority_id, directory.version, by, reason)
    )
