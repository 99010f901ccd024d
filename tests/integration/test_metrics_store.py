"""The metrics read model on SQLite and PostgreSQL: every event counted once, by one projector."""

from __future__ import annotations

from collections import Counter

from events.ledger import Ledger
from services.delivery.projector import DeliveryProjector
from services.delivery.store import delivery_store
from services.ops.readmodels.metrics.projector import StageProjector
from services.ops.readmodels.metrics.stages import Changes
from services.ops.readmodels.metrics.store import metrics_store
from tests.support.factories import new_submission


def _dispatched(ledger: Ledger, delivery_id: str) -> None:
    submission = new_submission()
    ledger.save(submission)
    ledger.execute(submission.id, lambda s: s.validate("cat-1", "urn:x"))
    ledger.execute(submission.id, lambda s: s.route("jc", "053150000000", "05315", "dir-1"))
    ledger.execute(
        submission.id, lambda s: s.dispatch(delivery_id, "jc", "amtsweg.delivery.jc", {})
    )


def _rejected(ledger: Ledger) -> None:
    submission = new_submission()
    ledger.save(submission)
    problem = {"type": "https://amtsweg.de/problems/schema-violation", "title": "x"}
    ledger.execute(submission.id, lambda s: s.reject("cat-1", [problem]))


def test_two_projectors_observe_every_event_exactly_once(ledger: Ledger) -> None:
    seen: list[list[Changes]] = [[], []]
    first, second = (
        StageProjector(ledger, metrics_store(ledger.settings), seen[n].append, batch_size=3)
        for n in range(2)
    )
    for number in range(3):
        _dispatched(ledger, f"d-{number}")
    _rejected(ledger)
    while first._next_batch() is not None:  # interleaved, as two processes would
        second._next_batch()
    assert first.catch_up() == second.catch_up() == 0
    changes = [c for run in seen for c in run]
    assert seen[0], "the first took part"
    assert seen[1], "the second took part"
    latencies = sorted((x.stage, x.outcome) for c in changes for x in c.latencies)
    assert latencies == sorted(
        [("validation", "validated"), ("routing", "routed"), ("delivery", "dispatched")] * 3
        + [("validation", "rejected")]
    )
    rejections: Counter[str] = Counter()
    for change in changes:
        rejections.update(change.rejections)
    assert rejections == {"schema-violation": 1}
    counts = first.store.status_counts()
    assert {k: v for k, v in counts.items() if v} == {"dispatched": 3, "rejected": 1}
    assert counts == metrics_store(ledger.settings).status_counts()  # as any process sees it


def test_a_restarted_projector_resumes_and_a_rebuild_ends_with_the_same_counts(
    ledger: Ledger,
) -> None:
    _dispatched(ledger, "d-1")
    StageProjector(ledger, metrics_store(ledger.settings), lambda _: None).catch_up()
    _rejected(ledger)
    observed: list[Changes] = []
    resumed = StageProjector(ledger, metrics_store(ledger.settings), observed.append)
    assert resumed.catch_up() == 2  # only what is new: Received, Rejected
    assert [x.outcome for c in observed for x in c.latencies] == ["rejected"]
    before = resumed.store.status_counts()
    assert resumed.rebuild() == 6
    assert resumed.store.status_counts() == before


def test_open_deliveries_are_counted_by_age(ledger: Ledger) -> None:
    store = delivery_store(ledger.settings)
    for number in range(3):
        _dispatched(ledger, f"d-{number}")
    DeliveryProjector(ledger, store, lambda _a: False).catch_up()
    times = sorted(row.dispatched_at for row in store.recent(10))
    summary = store.open_deliveries([times[0] - 1, times[1], times[2] + 1])
    assert summary.dispatched_before == (0, 2, 3)
    assert (summary.total, summary.oldest_dispatched_at, summary.dead_letters) == (3, times[0], 0)
    assert delivery_store(ledger.settings).open_deliveries([]).total == 3
