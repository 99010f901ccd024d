"""The usage figures of one month: a pure fold over a ledger's events, in log order.

Every event whose timestamp falls in the month counts once for its submission: received
(``Received``), delivered (``Dispatched``, ``HandedOver``), accepted (``Accepted``),
rejected (``Rejected`` by validation, ``RefusedByAuthority``), unroutable (``Unroutable``,
``HandoverRefused``), supplements (``SupplementReceived``), replies (``Replied``) and the
bytes received (plaintext sizes of the data, attachments and supplement parts). A
submission's figures go to the groups it has at the month's end: its portal, its service
(LeiKa key), and the authority it was last routed to by then (``Routed``, ``Forwarded``,
``Assigned``). Later events never change a past month: the report is reproducible.

Memory: the facts of each submission (three shared strings) and the figures of the
submissions active in the month; time: linear in the events read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from uuid import UUID

from events.submission import Submission
from services.ops.readmodels.usage.month import Month

FIGURES = (
    "received",
    "delivered",
    "accepted",
    "rejected",
    "unroutable",
    "supplements",
    "replies",
    "bytes_received",
)
_S = Submission
COUNTS: dict[type[Submission.Event], int] = {
    _S.Received: 0,
    _S.Dispatched: 1,
    _S.HandedOver: 1,
    _S.Accepted: 2,
    _S.Rejected: 3,
    _S.RefusedByAuthority: 3,
    _S.Unroutable: 4,
    _S.HandoverRefused: 4,
    _S.SupplementReceived: 5,
    _S.Replied: 6,
}
"""The figure (index into ``FIGURES``) each counted event adds one to."""
ROUTING: tuple[type[Submission.Event], ...] = (_S.Routed, _S.Forwarded, _S.Assigned)
"""The events that give a submission its authority."""
EVENTS = (*COUNTS, *ROUTING)
"""Every event the fold reads (the report asks the ledger for these only)."""
BYTES = FIGURES.index("bytes_received")


@dataclass(frozen=True)
class Facts:
    """What a submission's figures are grouped by."""

    portal_id: str
    leika_key: str
    authority_id: str | None = None


@dataclass
class MonthFold:
    """The figures of ``month`` so far, per submission."""

    month: Month
    facts: dict[UUID, Facts] = field(default_factory=dict)
    figures: dict[UUID, list[int]] = field(default_factory=dict)
    events_read: int = 0

    def add(self, events: Iterable[Submission.Event]) -> None:
        """Fold ``events`` (one ledger's, in log order) in."""
        end = self.month.end
        for event in events:
            self.events_read += 1
            if event.timestamp >= end:
                continue  # after the month: it changes neither figures nor facts
            self._learn(event)
            index = COUNTS.get(type(event))
            if index is None or not self.month.holds(event.timestamp):
                continue
            row = self.figures.setdefault(event.originator_id, [0] * len(FIGURES))
            row[index] += 1
            row[BYTES] += _bytes(event)

    def _learn(self, event: Submission.Event) -> None:
        submission_id = event.originator_id
        if isinstance(event, Submission.Received):
            self.facts[submission_id] = Facts(_shared(event.portal_id), _shared(event.leika_key))
        elif isinstance(event, (*ROUTING, Submission.Dispatched)):
            known = self.facts.get(submission_id)
            if known is not None:
                authority = _shared(event.authority_id)  # type: ignore[attr-defined]
                self.facts[submission_id] = Facts(known.portal_id, known.leika_key, authority)


def _bytes(event: Submission.Event) -> int:
    if isinstance(event, Submission.Received):
        parts = [event.data, *event.attachments]
    elif isinstance(event, Submission.SupplementReceived):
        parts = list(event.parts)
    else:
        return 0
    return sum(int(part.get("size") or 0) for part in parts)


_STRINGS: dict[str, str] = {}


def _shared(text: str) -> str:
    """One string object per distinct portal, service and authority id."""
    return _STRINGS.setdefault(text, text)
