"""Keeps the deliveries read model up to date by reading the ledger's notification log."""

from __future__ import annotations

from collections.abc import Callable

from events.ledger import Ledger
from events.shards import shard_name
from events.submission import Submission
from services.delivery.projection import DeliveryRow, apply, delivery_id_of
from services.delivery.store import PROJECTION, DeliveryStore


class DeliveryProjector:
    """Follows the notification log from the stored position (blocking; run in a thread)."""

    def __init__(
        self,
        ledger: Ledger,
        store: DeliveryStore,
        has_callback: Callable[[str], bool],
        batch_size: int = 500,
    ) -> None:
        self.ledger = ledger
        self.store = store
        self._has_callback = has_callback
        self._batch_size = batch_size

    def catch_up(self) -> int:
        """Apply every event not yet applied, shard after shard (each with its own position:
        ``deliveries``, ``deliveries-shard<k>``); return how many notifications were read."""
        total = 0
        for index, shard in enumerate(self.ledger.shards):
            projection = shard_name(PROJECTION, index)
            while count := self._next_batch(shard, projection, self.store.position(projection))[0]:
                total += count
        return total

    def rebuild(self, progress: Callable[[int], None] = lambda _: None) -> int:
        """Forget the rows and apply every shard's whole log again; ``progress`` gets the
        sum of the positions reached.

        It reads from the start whatever position a concurrent projector stores meanwhile:
        rows only move to newer versions, so both end with the same rows.
        """
        self.store.reset()
        total = before = 0
        for index, shard in enumerate(self.ledger.shards):
            projection = shard_name(PROJECTION, index)
            position = 0
            while True:
                count, position = self._next_batch(shard, projection, position)
                if not count:
                    break
                total += count
                progress(before + position)
            before += position
        return total

    def _next_batch(self, shard: Ledger, projection: str, start: int) -> tuple[int, int]:
        notifications = shard.recorder.select_notifications(
            start, self._batch_size, inclusive_of_start=False
        )
        if not notifications:
            return 0, start
        events = []
        for notification in notifications:
            event = shard.mapper.to_domain_event(notification)
            assert isinstance(event, Submission.Event)
            if delivery_id_of(event) is not None:
                events.append(event)
        rows = self.store.rows(d for e in events if (d := delivery_id_of(e)) is not None)
        changed: dict[str, DeliveryRow] = {}
        for event in events:
            delivery_id = delivery_id_of(event)
            assert delivery_id is not None
            row = apply(rows.get(delivery_id), event, self._has_callback)
            if row is not None and row != rows.get(delivery_id):
                rows[delivery_id] = changed[delivery_id] = row
        self.store.save(notifications[-1].id, changed.values(), projection)
        return len(notifications), notifications[-1].id
