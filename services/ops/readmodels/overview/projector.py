"""Keeps the submissions overview up to date by reading the ledger's notification log.

Each batch: the events after the stored position, counted per minute and name; every
submission they touch is loaded at the newest version in the batch and becomes its row.
Reading only what is new, a list or a counter never scans the ledger.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from uuid import UUID

from eventsourcing.persistence import Notification

from events.ledger import Ledger
from events.submission import Submission
from services.ops.readmodels.overview.rows import SubmissionRow, row_for
from services.ops.readmodels.overview.store import OverviewStore


class OverviewProjector:
    """Follows the notification log (blocking; run it in a thread)."""

    def __init__(self, ledger: Ledger, store: OverviewStore, batch_size: int = 500) -> None:
        self.ledger = ledger
        self.store = store
        self._batch_size = batch_size
        self._lock = threading.Lock()

    def catch_up(self, progress: Callable[[int], None] = lambda _: None) -> int:
        """Apply every event not yet applied; return how many were read.

        ``progress`` gets the position after each batch.
        """
        total = 0
        with self._lock:
            while True:
                start = self.store.position()
                notifications = self.ledger.recorder.select_notifications(
                    start, self._batch_size, inclusive_of_start=False
                )
                if not notifications:
                    return total
                rows, counts = self._fold(notifications)
                if self.store.save(start, notifications[-1].id, rows, counts):
                    total += len(notifications)
                    progress(notifications[-1].id)
                # else another projector moved first: read again from where it is now

    def rebuild(self, progress: Callable[[int], None] = lambda _: None) -> int:
        """Forget the overview and read the whole ledger again."""
        self.store.reset()
        return self.catch_up(progress)

    def settled(
        self, status: str, before: float, limit: int, offset: int = 0
    ) -> list[SubmissionRow]:
        """The store's rows settled in ``status`` before ``before`` (the retention job's)."""
        return self.store.settled(status, before, limit, offset)

    def head(self) -> int:
        """The ledger's newest position (0 when empty)."""
        return int(self.ledger.recorder.max_notification_id() or 0)

    def _fold(
        self, notifications: Sequence[Notification]
    ) -> tuple[list[SubmissionRow], Counter[tuple[int, str]]]:
        counts: Counter[tuple[int, str]] = Counter()
        newest: dict[UUID, tuple[int, str]] = {}
        for notification in notifications:
            event = self.ledger.mapper.to_domain_event(notification)
            assert isinstance(event, Submission.Event)
            name = type(event).__name__
            counts[int(event.timestamp.timestamp() // 60), name] += 1
            newest[UUID(str(event.originator_id))] = (event.originator_version, name)
        rows = []
        for submission_id, (version, name) in newest.items():
            submission: object = self.ledger.repository.get(submission_id, version=version)
            assert isinstance(submission, Submission)
            rows.append(row_for(submission, name))
        return rows, counts
