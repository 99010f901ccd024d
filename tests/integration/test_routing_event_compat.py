"""Routing events stored without their optional members still load, verify and go on.

Stored ``Routed`` events may lack ``competence`` and ``resolution``, ``Unroutable`` events
``resolution``; a stored "not responsible" receipt may be a terminal ``RefusedByAuthority``
rather than a ``Declined``. Each stored event is rewritten here into such an event
(without those members, hashed over the rest), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from events.chain import ChainLink
from events.ledger import Ledger
from events.lifecycle import Status
from events.settings import LedgerSettings
from services.routing.handler import forward_submission
from tests.support.factories import new_submission
from tests.support.ledgers import RawDatabase
from tests.support.routing import national_context

KOELN = "053150000000"


def _stored_without(
    ledger: Ledger, settings: LedgerSettings, submission_id: UUID, version: int, *drop: str
) -> None:
    raw = RawDatabase(settings)
    where = "WHERE originator_id = ? AND originator_version = ?"
    key = (raw.key(submission_id), version)
    ((state,),) = raw.execute(f"SELECT state FROM {raw.table} {where}", key)
    document: dict[str, Any] = json.loads(bytes(state))
    stored = ledger.trail(submission_id)[version - 1]
    for name in drop:
        document.pop(name)
    data = {k: v for k, v in stored.data.items() if k not in drop}
    link = ChainLink(
        str(submission_id),
        version,
        stored.event,
        datetime.fromisoformat(stored.timestamp),
        stored.prev_hash,
        data,
    )
    document["hash"] = link.digest(settings.chain_key())
    raw.execute(f"UPDATE {raw.table} SET state = ? {where}", (json.dumps(document).encode(), *key))


def test_an_old_routed_event_loads_verifies_and_the_chain_goes_on(
    ledger: Ledger, ledger_settings: LedgerSettings
) -> None:
    submission = new_submission()
    ledger.save(submission)
    ledger.execute(submission.id, lambda s: s.validate("cat-1", "urn:x", {}))
    ledger.execute(submission.id, lambda s: s.route("jc", KOELN, "05315", "dir-1"))
    _stored_without(ledger, ledger_settings, submission.id, 3, "competence", "resolution")

    routed = ledger.trail(submission.id)[2]
    assert "competence" not in routed.data
    assert ledger.verify(submission.id) is None
    loaded = ledger.get_submission(submission.id)
    assert (loaded.status, loaded.authority_id, loaded.region) == (Status.ROUTED, "jc", KOELN)

    ledger.execute(submission.id, lambda s: s.dispatch("d-1", "jc", "amtsweg.delivery.jc", {}))
    ledger.execute(submission.id, lambda s: s.decline("d-1", []))
    assert ledger.verify(submission.id) is None
    assert ledger.get_submission(submission.id).status is Status.DECLINED


def test_an_old_unroutable_event_loads_and_can_be_assigned(
    ledger: Ledger, ledger_settings: LedgerSettings
) -> None:
    submission = new_submission()
    ledger.save(submission)
    ledger.execute(submission.id, lambda s: s.validate("cat-1", "urn:x", {}))
    ledger.execute(submission.id, lambda s: s.mark_unroutable("no-competence", "x", "dir-1"))
    _stored_without(ledger, ledger_settings, submission.id, 3, "resolution")

    assert ledger.verify(submission.id) is None
    assert ledger.get_submission(submission.id).status is Status.UNROUTABLE
    ledger.execute(submission.id, lambda s: s.assign("jc", "dir-2", "erika", "geprüft"))
    assert ledger.get_submission(submission.id).status is Status.ROUTED
    assert ledger.verify(submission.id) is None


def test_an_old_not_responsible_refusal_stays_a_refusal(
    ledger: Ledger, ledger_settings: LedgerSettings
) -> None:
    """A "not responsible" stored as ``RefusedByAuthority`` ends the trail: not reopened."""
    submission = new_submission()
    ledger.save(submission)
    ledger.execute(submission.id, lambda s: s.validate("cat-1", "urn:x", {}))
    ledger.execute(submission.id, lambda s: s.route("jobcenter-koeln", KOELN, "05315", "d"))
    ledger.execute(submission.id, lambda s: s.dispatch("d-1", "jobcenter-koeln", "t", {}))
    ledger.execute(submission.id, lambda s: s.refuse("d-1", "not-responsible", []))

    assert ledger.get_submission(submission.id).status is Status.REFUSED
    assert forward_submission(ledger, national_context(), submission.id) is False
    assert [e.event for e in ledger.trail(submission.id)][-1] == "RefusedByAuthority"
    assert ledger.verify(submission.id) is None
