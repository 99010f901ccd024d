"""The portal's trail names no operator and shows no operator's reason; the ledger keeps both."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx

from events.ledger import Ledger
from tests.support.factories import dispatched_submission, new_submission
from tests.support.pipeline import auth

OPERATOR_FIELDS = {"actor", "by", "reason", "request_id"}


async def _portal_trail(client: httpx.AsyncClient, submission_id: UUID) -> list[dict[str, Any]]:
    answer = await client.get(f"/v1/submissions/{submission_id}/events", headers=auth())
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


async def test_operator_events_reach_the_portal_without_who_and_why(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    dispatched = dispatched_submission(delivery="d-7")
    ledger.save(dispatched)
    ledger.execute(
        dispatched.id, lambda s: s.redeliver("q-1", actor="erika", reason="Frau M. rief an")
    )
    unroutable = new_submission()
    unroutable.validate("cat-1", "urn:x")
    unroutable.mark_unroutable("no-competence", "nobody then", "dir-1")
    ledger.save(unroutable)
    ledger.execute(
        unroutable.id, lambda s: s.assign("jc-koeln", "dir-1", by="max", reason="telefoniert")
    )

    redelivered = (await _portal_trail(client, dispatched.id))[-1]
    assert redelivered["event"] == "Redelivered"
    assert not OPERATOR_FIELDS & set(redelivered["data"])
    assert (redelivered["data"]["delivery_id"], redelivered["data"]["notice"]) == ("d-7", 1)

    *_, marked, assigned = await _portal_trail(client, unroutable.id)
    assert assigned["event"] == "Assigned"
    assert not OPERATOR_FIELDS & set(assigned["data"])
    assert assigned["data"]["authority_id"] == "jc-koeln"
    assert marked["event"] == "Unroutable"
    assert marked["data"]["reason"] == "no-competence"  # a stage's code, not an operator's text

    erased = new_submission()
    ledger.save(erased)
    ledger.execute(
        erased.id,
        lambda s: s.erase(
            by="erika", rule=None, legal_basis="SGB X § 84", reason="Antrag", destroyed={}
        ),
    )
    shredded = (await _portal_trail(client, erased.id))[-1]
    assert shredded["event"] == "ContentErased"
    assert not OPERATOR_FIELDS & set(shredded["data"])
    assert shredded["data"]["legal_basis"] == "SGB X § 84"

    kept = ledger.trail(unroutable.id)[-1].data  # what the ops API and the CLI read
    assert (kept["by"], kept["reason"]) == ("max", "telefoniert")
    kept = ledger.trail(dispatched.id)[-1].data
    assert (kept["actor"], kept["request_id"]) == ("erika", "q-1")
    assert kept["reason"] == "Frau M. rief an"
