"""The deliveries read model: one row per delivery, derived from the ledger's events only.

It answers "which deliveries wait for a receipt, since when, with which callback due", so
timers survive restarts: the notifier derives due work from these rows, never from
in-memory timers. Rows are a pure function of the event stream (times are the events'
own timestamps), so replaying the log, or two projectors at once, give the same rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from events.submission import Submission

OPEN, ACCEPTED, REFUSED, DECLINED, ERASED = "open", "accepted", "refused", "declined", "erased"
FOLLOW_UP = "follow-up"
"""A follow-up delivery (documents handed in later) not answered yet: found by its id, no
reminders or callbacks (the supplement's own state says where it stands); its receipt
makes it ``accepted`` or ``refused``."""


@dataclass(frozen=True)
class DeliveryRow:
    """Where one delivery stands."""

    delivery_id: str
    submission_id: str
    authority_id: str
    version: int
    """The submission's event version this row reflects."""
    state: str
    dispatched_at: float
    reminders: int = 0
    escalated: bool = False
    notice: int = 0
    callback_attempts: int = 0
    callback_due: float | None = None
    dead_letter: bool = False
    updated_at: float = 0.0

    def label(self) -> str:
        """One word for operations."""
        if self.state != OPEN:
            return self.state
        if self.dead_letter:
            return "dead-letter"
        if self.escalated:
            return "escalated"
        return "reminded" if self.reminders else "dispatched"


def apply(
    row: DeliveryRow | None, event: Submission.Event, has_callback: Callable[[str], bool]
) -> DeliveryRow | None:
    """The row after ``event`` (None: the event concerns no known delivery)."""
    at = event.timestamp.timestamp()
    if isinstance(event, Submission.Dispatched):
        return DeliveryRow(
            delivery_id=event.delivery_id,
            submission_id=str(event.originator_id),
            authority_id=event.authority_id,
            version=event.originator_version,
            state=OPEN,
            dispatched_at=at,
            callback_due=at if has_callback(event.authority_id) else None,
            updated_at=at,
        )
    if isinstance(event, Submission.SupplementDispatched):
        return DeliveryRow(
            delivery_id=event.delivery_id,
            submission_id=str(event.originator_id),
            authority_id=event.authority_id,
            version=event.originator_version,
            state=FOLLOW_UP,
            dispatched_at=at,
            updated_at=at,
        )
    if row is None or event.originator_version <= row.version:
        return row
    row = replace(row, version=event.originator_version, updated_at=at)
    return _change(row, event, at, has_callback)


def _change(
    row: DeliveryRow, event: Submission.Event, at: float, has_callback: Callable[[str], bool]
) -> DeliveryRow:
    changes: dict[str, object] = {}
    match event:
        case Submission.Accepted():
            changes = {"state": ACCEPTED, "callback_due": None}
        case Submission.RefusedByAuthority():
            changes = {"state": REFUSED, "callback_due": None}
        case Submission.Declined():  # "not responsible": forwarded as a new delivery
            changes = {"state": DECLINED, "callback_due": None}
        case Submission.ContentErased():  # nothing left to announce or fetch
            changes = {"state": ERASED, "callback_due": None}
        case Submission.Reminded(stage=stage):
            due = at if has_callback(row.authority_id) else None
            notice = max(row.notice + 1, stage)  # as the aggregate counts notices
            changes = {"reminders": stage, "notice": notice, "callback_attempts": 0}
            changes |= {"callback_due": due, "dead_letter": False}  # a new notice, a new try
        case Submission.Redelivered(notice=notice):  # an operator's new notice, a new try
            due = at if has_callback(row.authority_id) else None
            changes = {"notice": notice, "callback_attempts": 0}
            changes |= {"callback_due": due, "dead_letter": False}
        case Submission.CallbackRequeued():  # an operator's one more attempt after giving up
            due = at if has_callback(row.authority_id) else None
            changes = {"callback_due": due, "dead_letter": False}
        case Submission.SupplementAcknowledged(outcome=outcome):  # a follow-up answered
            changes = {"state": ACCEPTED if outcome == "accepted" else REFUSED}
        case Submission.Escalated():
            changes = {"escalated": True}
        case Submission.CallbackDelivered(attempt=attempt):
            changes = {"callback_attempts": attempt, "callback_due": None, "dead_letter": False}
        case Submission.CallbackFailed(attempt=attempt, retry_at=retry_at):
            due = datetime.fromisoformat(retry_at).timestamp()
            changes = {"callback_attempts": attempt, "callback_due": due}
        case Submission.DeliveryFailed(attempts=attempts):
            changes = {"callback_attempts": attempts, "callback_due": None, "dead_letter": True}
    return replace(row, **changes)  # type: ignore[arg-type]


def delivery_id_of(event: Submission.Event) -> str | None:
    """The delivery an event concerns, if any."""
    value = getattr(event, "delivery_id", None)
    return value if isinstance(value, str) else None
