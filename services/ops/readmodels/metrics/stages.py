"""Where each submission stands, for metrics: a pure fold over the ledger's events.

A status-changing event moves one submission from its status to the next. When the
previous status is known, the step yields the stage's latency, measured between the two
events' own timestamps (so a replay of the log gives the same figures). Rows are kept for
every submission, also in a terminal status: triage or an operator may move it on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from events.submission import Submission

STATUS_OF: Mapping[str, str] = {
    "Received": "received",
    "Validated": "validated",
    "Rejected": "rejected",
    "Routed": "routed",
    "Unroutable": "unroutable",
    "Dispatched": "dispatched",
    "Accepted": "accepted",
    "RefusedByAuthority": "refused",
    "Declined": "declined",
    "Forwarded": "routed",
    "Assigned": "routed",
    "HandedOver": "handed-over",
    "HandoverRefused": "unroutable",
    "Withheld": "withheld",
}
"""The status each status-changing event sets (``Submission.Event.change``; a unit test
holds the two together). Events not named here (reminders, callbacks …) keep the status."""

TRANSIENT: frozenset[str] = frozenset({"Replayed"})
"""Events that may set a status only until the event that follows them (a replay goes
back to a stage's input, and the stage's decision is recorded right after)."""

STAGE_OF: Mapping[str, str] = {
    "Validated": "validation",
    "Rejected": "validation",
    "Routed": "routing",
    "Unroutable": "routing",
    "Forwarded": "routing",
    "Dispatched": "delivery",
    "Withheld": "delivery",
    "Accepted": "receipt",
    "RefusedByAuthority": "receipt",
    "Declined": "receipt",
    "Assigned": "triage",
}
"""The stage an event ends: validation (received→validated or rejected), routing
(validated or declined→routed, unroutable or forwarded), delivery (routed→dispatched or withheld),
receipt (dispatched→accepted, refused or declined), triage (unroutable→assigned)."""


@dataclass(frozen=True)
class StatusRow:
    """Where one submission stands."""

    submission_id: str
    status: str
    since: float
    """Unix time of the event that set ``status``."""
    version: int


@dataclass(frozen=True)
class Latency:
    """How long one stage took for one submission."""

    stage: str
    outcome: str
    seconds: float


@dataclass
class Changes:
    """What a run of events changes: rows, count deltas, observations."""

    rows: dict[str, StatusRow] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    latencies: list[Latency] = field(default_factory=list)
    rejections: Counter[str] = field(default_factory=Counter)
    """Problem type slug → submissions rejected with at least one problem of that type."""
    unroutable: Counter[str] = field(default_factory=Counter)
    """Reason → submissions found unroutable."""


def problem_slug(problem: Mapping[str, object]) -> str:
    """``https://amtsweg.de/problems/schema-violation`` → ``schema-violation``."""
    return str(problem.get("type") or "about:blank").rstrip("/").rsplit("/", 1)[-1]


def fold(known: Mapping[str, StatusRow], events: Iterable[Submission.Event]) -> Changes:
    """The changes ``events`` (in log order) make, given the rows of their submissions."""
    current: dict[str, StatusRow] = dict(known)
    changes = Changes()
    for event in events:
        name = type(event).__name__
        status = STATUS_OF.get(name)
        if status is None:
            continue
        submission_id = str(event.originator_id)
        before = current.get(submission_id)
        if before is not None and event.originator_version <= before.version:
            continue  # already applied
        at = event.timestamp.timestamp()
        if before is not None:
            changes.counts[before.status] -= 1
            if name in STAGE_OF:
                seconds = max(0.0, at - before.since)
                outcome = name.lower() if name in {"Forwarded", "Assigned"} else status
                changes.latencies.append(Latency(STAGE_OF[name], outcome, seconds))
        changes.counts[status] += 1
        row = StatusRow(submission_id, status, at, event.originator_version)
        current[submission_id] = changes.rows[submission_id] = row
        if isinstance(event, Submission.Rejected):
            changes.rejections.update({problem_slug(p) for p in event.problems})
        elif isinstance(event, Submission.Unroutable):
            changes.unroutable[event.reason] += 1
    return changes
