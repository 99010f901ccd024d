"""The submissions overview and the dead-letter actions on SQLite and PostgreSQL."""

from __future__ import annotations

from events.ledger import Ledger
from services.ops.actions.dead_letter_store import dead_letter_actions
from services.ops.readmodels.overview.projector import OverviewProjector
from services.ops.readmodels.overview.rows import Filters
from services.ops.readmodels.overview.store import overview_store
from tests.support.factories import new_submission


def _submissions(ledger: Ledger, count: int) -> None:
    for number in range(count):
        submission = new_submission(portal_id=f"portal-{number % 2}")
        if number % 3 == 0:
            submission.validate("cat-1", "urn:x")
        ledger.save(submission)


def test_two_projectors_count_every_event_once(ledger: Ledger) -> None:
    _submissions(ledger, 7)
    first = OverviewProjector(ledger, overview_store(ledger.settings), batch_size=2)
    second = OverviewProjector(ledger, overview_store(ledger.settings), batch_size=3)
    assert first.catch_up() + second.catch_up() == 10  # 7 Received, 3 Validated
    _submissions(ledger, 2)
    second.catch_up()
    first.catch_up()
    store = first.store
    assert store.status_counts() == {"received": 5, "validated": 4}
    assert sum(count for _, _, count in store.throughput(0)) == 13
    assert store.count(Filters(portal="portal-1")) == 4
    assert [r.status for r in store.select(Filters(status="validated"))] == ["validated"] * 4

    assert first.rebuild() == 13
    assert store.status_counts() == {"received": 5, "validated": 4}
    assert sum(count for _, _, count in store.throughput(0)) == 13


def test_the_first_action_on_a_dead_letter_wins(ledger: Ledger) -> None:
    actions = dead_letter_actions(ledger.settings)
    assert actions.record("intake-0-1", "dropped", actor="erika", reason="spam")
    assert not actions.record("intake-0-1", "retried", actor="max", reason="late")
    assert actions.record("delivery-d-0-8", "retried", actor="max", reason="fixed")
    intake = actions.handled("intake-")
    assert list(intake) == ["intake-0-1"]
    assert (intake["intake-0-1"].action, intake["intake-0-1"].actor) == ("dropped", "erika")
    assert set(actions.handled("")) == {"intake-0-1", "delivery-d-0-8"}


def test_pages_after_a_submission_continue_where_the_last_ended(ledger: Ledger) -> None:
    _submissions(ledger, 9)
    projector = OverviewProjector(ledger, overview_store(ledger.settings))
    projector.catch_up()
    store = projector.store
    every = [r.submission_id for r in store.select(Filters(), limit=100)]
    pages: list[str] = []
    after = None
    while page := store.select(Filters(), limit=4, after=after):
        pages += [r.submission_id for r in page]
        after = page[-1].submission_id
    assert pages == every
    portal = [r.submission_id for r in store.select(Filters(portal="portal-1"))]
    assert [r.submission_id for r in store.select(Filters(portal="portal-1"), after=portal[0])] == (
        portal[1:]
    )
    assert store.select(Filters(), after=every[2], offset=1)[0].submission_id == every[4]
    assert store.select(Filters(), after="no-such-submission") == []
