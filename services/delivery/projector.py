"""Keeps the deliveries read model up to date by reading the ledger's notification log."""

from __future__ import annotations

from collections.abc import Callable

from events.ledger import Ledger
from events.submission import Submission
from services.delivery.projection import DeliveryRow, apply, delivery_id_of
from services.delivery.store import DeliveryStore


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
        """Apply every event not yet applied; return how many notifications were read."""
        total = 0
        while count := self._next_batch(self.store.position())[0]:
            total += count
        return total

    def rebuild(self, progress: Callable[[int], None] = lambda _: None) -> int:
        """Forget the rows and apply the whole log again; ``progress`` gets each position.

        It reads from the start whatever position a concurrent projector stores meanwhile:
        rows only move to newer versions, so both end with the same rows.
        """
        self.store.reset()
        position = total = 0
        while True:
            count, position = self._next_batch(position)
            if not count:
                return total
            total += count
            progress(position)

    def _next_batch(self, start: int) -> tuple[int, int]:
        notifications = self.ledger.recorder.select_notifications(
            start, self._batch_size, inclusive_of_start=False
        )
        if not notifications:
            return 0, start
        events = []
        for notification in notifications:
            event = self.ledger.mapper.to_domain_event(notification)
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
        self.store.save(notifications[-1].id, changed.values())
        return len(notifications), notifications[-1].id
