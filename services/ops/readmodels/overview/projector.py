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
from events.shards import shard_name
from events.submission import Submission
from services.ops.readmodels.overview.rows import SubmissionRow, row_for
from services.ops.readmodels.overview.store import PROJECTION, OverviewStore


class OverviewProjector:
    """Follows the notification log (blocking; run it in a thread)."""

    def __init__(self, ledger: Ledger, store: OverviewStore, batch_size: int = 500) -> None:
        self.ledger = ledger
        self.store = store
        self._batch_size = batch_size
        self._lock = threading.Lock()

    def catch_up(self, progress: Callable[[int], None] = lambda _: None) -> int:
        """Apply every event not yet applied; return how many were read.

        Each shard's log is read from its own position (``ops-submissions``,
        ``ops-submissions-shard<k>``); ``progress`` gets the sum of the positions reached
        after each batch (so it runs up to ``head``).
        """
        total = before = 0
        with self._lock:
            for index, shard in enumerate(self.ledger.shards):
                projection = shard_name(PROJECTION, index)
                while True:
                    start = self.store.position(projection)
                    notifications = shard.recorder.select_notifications(
                        start, self._batch_size, inclusive_of_start=False
                    )
                    if not notifications:
                        break
                    rows, counts = self._fold(shard, notifications)
                    end = notifications[-1].id
                    if self.store.save(start, end, rows, counts, projection):
                        total += len(notifications)
                        progress(before + end)
                    # else another projector moved first: read again from where it is now
                before += self.store.position(projection)
        return total

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
        """The sum of the shards' newest positions (0 when empty)."""
        return sum(int(s.recorder.max_notification_id() or 0) for s in self.ledger.shards)

    @staticmethod
    def _fold(
        shard: Ledger, notifications: Sequence[Notification]
    ) -> tuple[list[SubmissionRow], Counter[tuple[int, str]]]:
        counts: Counter[tuple[int, str]] = Counter()
        newest: dict[UUID, tuple[int, str]] = {}
        for notification in notifications:
            event = shard.mapper.to_domain_event(notification)
            assert isinstance(event, Submission.Event)
            name = type(event).__name__
            counts[int(event.timestamp.timestamp() // 60), name] += 1
            newest[UUID(str(event.originator_id))] = (event.originator_version, name)
        rows = []
        for submission_id, (version, name) in newest.items():
            submission: object = shard.repository.get(submission_id, version=version)
            assert isinstance(submission, Submission)
            rows.append(row_for(submission, name))
        return rows, counts
