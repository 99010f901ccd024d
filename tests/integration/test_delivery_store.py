"""The deliveries read model on SQLite and PostgreSQL: derived from the ledger, never going back."""

from __future__ import annotations

from dataclasses import replace

from events.ledger import Ledger
from services.delivery.projector import DeliveryProjector
from services.delivery.store import delivery_store
from tests.support.factories import new_submission


def _dispatch(ledger: Ledger, delivery_id: str) -> None:
    submission = new_submission()
    ledger.save(submission)
    ledger.execute(submission.id, lambda s: s.validate("cat-1", "urn:x"))
    ledger.execute(submission.id, lambda s: s.route("jc", "053150000000", "05315", "dir-1"))
    ledger.execute(
        submission.id, lambda s: s.dispatch(delivery_id, "jc", "amtsweg.delivery.jc", {})
    )


def test_projection_follows_the_log_and_resumes_from_its_position(ledger: Ledger) -> None:
    store = delivery_store(ledger.settings)
    _dispatch(ledger, "d-1")
    projector = DeliveryProjector(ledger, store, lambda _a: True)
    assert projector.catch_up() == 4
    assert projector.catch_up() == 0
    _dispatch(ledger, "d-2")
    resumed = DeliveryProjector(ledger, delivery_store(ledger.settings), lambda _a: True)
    assert resumed.catch_up() == 4  # only what is new
    rows = store.rows(["d-1", "d-2", "d-3"])
    assert sorted(rows) == ["d-1", "d-2"]
    assert all(r.callback_due == r.dispatched_at for r in rows.values())
    d1, d2 = rows["d-1"], rows["d-2"]
    assert [r.delivery_id for r in store.callbacks_due(d2.dispatched_at, 10)] == ["d-1", "d-2"]
    assert [r.delivery_id for r in store.callbacks_due(d1.dispatched_at, 10)] == ["d-1"]
    assert store.callbacks_due(d1.dispatched_at - 1, 10) == []


def test_deliveries_awaiting_a_deadline_are_read_page_by_page(ledger: Ledger) -> None:
    store = delivery_store(ledger.settings)
    for number in range(5):
        _dispatch(ledger, f"d-{number}")
    DeliveryProjector(ledger, store, lambda _a: False).catch_up()
    newest = max(r.dispatched_at for r in store.recent(10))
    seen: list[str] = []
    after = (-1.0, "")
    while page := store.awaiting_deadline(newest, after, 2):
        assert len(page) <= 2
        seen.extend(r.delivery_id for r in page)
        after = (page[-1].dispatched_at, page[-1].delivery_id)
    assert seen == [f"d-{n}" for n in range(5)]
    oldest = min(r.dispatched_at for r in store.recent(10))
    assert [r.delivery_id for r in store.awaiting_deadline(oldest, (-1.0, ""), 10)] == ["d-0"]


def test_rows_and_position_never_go_back(ledger: Ledger) -> None:
    store = delivery_store(ledger.settings)
    _dispatch(ledger, "d-1")
    DeliveryProjector(ledger, store, lambda _a: False).catch_up()
    row = store.rows(["d-1"])["d-1"]
    newer = replace(row, version=row.version + 1, reminders=1)
    store.save(100, [newer])
    store.save(50, [row])  # a slower projector with older news
    assert store.rows(["d-1"])["d-1"] == newer
    assert store.position() == 100
    assert store.recent(5) == [newer]
