"""The portals' follow-up read model on SQLite and PostgreSQL: notices and open requests
follow the ledger, in order per case, and survive a new store object (a restart)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from contracts import topics
from events.case import ReplyKind
from events.ledger import Ledger
from events.vault import Vault
from services.delivery.overdue import OverdueRequests
from services.delivery.portal_store import DELIVERED, PENDING, PortalProjector, PortalStore
from services.runtime.portals import Portal, Portals
from tests.support.portal_replies import delivered_case, record_reply

PORTALS = Portals(
    {"portal-a": Portal("portal-a", topics.portal_topic("portal-a"), "https://a.example", "s")}
)


def _projector(ledger: Ledger) -> PortalProjector:
    store = PortalStore.beside(ledger.settings)
    return PortalProjector(ledger, store, lambda p: bool(PORTALS.get(p).callback_url))


def test_notices_follow_the_ledger_in_order_per_case(ledger: Ledger, vault: Vault) -> None:
    case = delivered_case(ledger, vault)
    due = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    record_reply(ledger, vault, case.id, "r-1", kind=ReplyKind.REQUEST, due=due)
    record_reply(ledger, vault, case.id, "r-2")
    projector = _projector(ledger)
    assert projector.catch_up() > 0
    later = time.time() + 120
    [first] = projector.store.callbacks_due(later, 10)
    assert (first.notice, first.state) == ("reply:r-1", PENDING)
    ledger.execute(case.id, lambda s: s.record_portal_callback("reply:r-1", 1, status_code=204))
    reopened = _projector(ledger)
    reopened.catch_up()
    assert [(n.notice, n.state) for n in reopened.store.notices_of(str(case.id))] == [
        ("reply:r-1", DELIVERED),
        ("reply:r-2", PENDING),
    ]
    assert [n.notice for n in reopened.store.callbacks_due(later, 10)] == ["reply:r-2"]
    assert reopened.store.requests_due(time.time(), 10) == []
    assert reopened.store.requests_due(later, 10) == [(str(case.id), "r-1")]


def test_a_passed_deadline_is_marked_once(ledger: Ledger, vault: Vault) -> None:
    case = delivered_case(ledger, vault)
    due = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    record_reply(ledger, vault, case.id, "r-1", kind=ReplyKind.REQUEST, due=due)
    projector = _projector(ledger)
    projector.catch_up()
    later = time.time() + 120
    assert OverdueRequests(ledger, projector.store, PORTALS).mark_due(later) == 1
    again = _projector(ledger)
    again.catch_up()
    assert OverdueRequests(ledger, again.store, PORTALS).mark_due(later) == 0
    assert [n.notice for n in again.store.notices_of(str(case.id))] == [
        "reply:r-1",
        "overdue:r-1",
    ]
