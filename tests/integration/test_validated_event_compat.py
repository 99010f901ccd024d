"""Validated events stored without ``routing_keys`` still load, verify and route.

Events are append-only: a field added to an event class changes what new events carry
(and hash), never what stored ones carry. The stored event is rewritten here into such
an event: no ``routing_keys`` member, and a hash over the rest.
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
from tests.support.factories import new_submission
from tests.support.ledgers import RawDatabase


def _stored_without_routing_keys(
    ledger: Ledger, settings: LedgerSettings, submission_id: UUID
) -> None:
    raw = RawDatabase(settings)
    where = "WHERE originator_id = ? AND originator_version = 2"
    ((state,),) = raw.execute(f"SELECT state FROM {raw.table} {where}", (raw.key(submission_id),))
    document: dict[str, Any] = json.loads(bytes(state))
    document.pop("routing_keys")
    stored = ledger.trail(submission_id)[1]
    data = {k: v for k, v in stored.data.items() if k != "routing_keys"}
    link = ChainLink(
        str(submission_id),
        2,
        "Validated",
        datetime.fromisoformat(stored.timestamp),
        stored.prev_hash,
        data,
    )
    document["hash"] = link.digest(settings.chain_key())
    raw.execute(
        f"UPDATE {raw.table} SET state = ? {where}",
        (json.dumps(document).encode(), raw.key(submission_id)),
    )


def test_an_old_validated_event_loads_verifies_and_the_chain_goes_on(
    ledger: Ledger, ledger_settings: LedgerSettings
) -> None:
    submission = new_submission()
    ledger.save(submission)
    ledger.execute(submission.id, lambda s: s.validate("cat-1", "urn:x", {"ars": "053150000000"}))
    _stored_without_routing_keys(ledger, ledger_settings, submission.id)

    [_, validated] = ledger.trail(submission.id)
    assert "routing_keys" not in validated.data
    assert ledger.verify(submission.id) is None
    loaded = ledger.get_submission(submission.id)
    assert loaded.status is Status.VALIDATED
    assert loaded.routing_keys == {}
    assert loaded.chain_head == validated.hash

    ledger.execute(submission.id, lambda s: s.route("jc", "053150000000", "05315", "dir-1"))
    assert ledger.verify(submission.id) is None
    assert [e.event for e in ledger.trail(submission.id)] == ["Received", "Validated", "Routed"]


def test_a_new_validated_event_carries_and_hashes_its_routing_keys(
    ledger: Ledger, ledger_settings: LedgerSettings
) -> None:
    submission = new_submission()
    ledger.save(submission)
    keys = {"postalCode": "51147", "ars": "053150000000"}
    ledger.execute(submission.id, lambda s: s.validate("cat-1", "urn:x", keys))

    assert ledger.trail(submission.id)[1].data["routing_keys"] == keys
    assert ledger.get_submission(submission.id).routing_keys == keys
    assert ledger.verify(submission.id) is None

    raw = RawDatabase(ledger_settings)
    where = "WHERE originator_id = ? AND originator_version = 2"
    ((state,),) = raw.execute(f"SELECT state FROM {raw.table} {where}", (raw.key(submission.id),))
    document = json.loads(bytes(state))
    document["routing_keys"]["ars"] = "091620000000"
    raw.execute(
        f"UPDATE {raw.table} SET state = ? {where}",
        (json.dumps(document).encode(), raw.key(submission.id)),
    )
    broken = ledger.verify(submission.id)
    assert broken is not None
    assert broken.version == 2
