"""Keeps the metrics read model up to date from the ledger's notification log."""

from __future__ import annotations

from collections.abc import Callable

from events.ledger import Ledger
from events.shards import shard_name
from events.submission import Submission
from services.ops.readmodels.metrics.stages import Changes, fold
from services.ops.readmodels.metrics.store import PROJECTION, MetricsStore


class StageProjector:
    """Follows the notification log; hands each batch it applied to ``observe``.

    Blocking (run it in a thread). A batch another projector applied first is skipped
    here and read again from the new position, so nothing is observed twice.
    """

    def __init__(
        self,
        ledger: Ledger,
        store: MetricsStore,
        observe: Callable[[Changes], None],
        batch_size: int = 500,
    ) -> None:
        self._ledger = ledger
        self.store = store
        self._observe = observe
        self._batch_size = batch_size

    def catch_up(self) -> int:
        """Apply every event not yet applied; return how many notifications this one applied."""
        total = 0
        for index, shard in enumerate(self._ledger.shards):  # each with its own position
            projection = shard_name(PROJECTION, index)
            while (applied := self._next_batch(shard, projection)) is not None:
                total += applied
        return total

    def rebuild(self) -> int:
        """Forget the read model and apply the whole log again.

        A metrics service running meanwhile may apply (and observe) some batches a second
        time: its counters jump once; the status counts end right.
        """
        self.store.reset()
        return self.catch_up()

    def _next_batch(self, shard: Ledger | None = None, projection: str = PROJECTION) -> int | None:
        shard = shard or self._ledger
        read_at = self.store.position(projection)
        notifications = shard.recorder.select_notifications(
            read_at, self._batch_size, inclusive_of_start=False
        )
        if not notifications:
            return None
        events = []
        for notification in notifications:
            event = shard.mapper.to_domain_event(notification)
            assert isinstance(event, Submission.Event)
            events.append(event)
        known = self.store.rows(str(e.originator_id) for e in events)
        changes = fold(known, events)
        if not self.store.apply(read_at, notifications[-1].id, changes, projection):
            return 0  # another projector applied it; continue from where it got
        self._observe(changes)
        return len(notifications)
