"""An operator's tenants as a filter of the submissions overview, on SQLite and PostgreSQL."""

from __future__ import annotations

from events.ledger import Ledger
from services.ops.readmodels.overview.projector import OverviewProjector
from services.ops.readmodels.overview.rows import Filters
from services.ops.readmodels.overview.store import overview_store
from services.ops.tenants.among import Among
from tests.support.factories import new_submission


def _save(ledger: Ledger, portal: str, authority: str | None) -> str:
    submission = new_submission(portal_id=portal)
    submission.validate("cat-1", "urn:x")
    if authority is not None:
        submission.route(authority, "053150000000", "05315", "dir-1")
    ledger.save(submission)
    return str(submission.id)


def test_rows_among_portals_authorities_and_the_unclaimed(ledger: Ledger) -> None:
    ours = _save(ledger, "portal-b", None)
    routed_to_us = _save(ledger, "portal-a", "jobcenter-dessau-rosslau")
    unclaimed = _save(ledger, "portal-x", None)
    foreign = _save(ledger, "portal-a", "jobcenter-koeln")
    projector = OverviewProjector(ledger, overview_store(ledger.settings))
    projector.catch_up()
    store = projector.store

    def selected(among: Among) -> set[str]:
        rows = store.select(Filters(among=among), 100)
        assert store.count(Filters(among=among)) == len(rows)
        return {row.submission_id for row in rows}

    st = Among(frozenset({"portal-b"}), frozenset({"jobcenter-dessau-rosslau"}))
    assert selected(st) == {ours, routed_to_us}
    assert store.status_counts(st) == {"validated": 1, "routed": 1}
    operator = Among(
        claimed_portals=frozenset({"portal-a", "portal-b"}),
        claimed_authorities=frozenset({"jobcenter-dessau-rosslau", "jobcenter-koeln"}),
    )
    assert selected(operator) == {unclaimed}
    assert selected(Among()) == set()
    assert foreign in {row.submission_id for row in store.select(Filters(), 100)}
