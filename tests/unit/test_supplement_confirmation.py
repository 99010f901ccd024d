"""A supplement's proof of receipt: its claims, what the model refuses, its inclusion."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from contracts.confirmation import Confirmation
from events.chain import GENESIS
from events.checkpoint import Head
from events.ledger import TrailEntry
from services.intake.confirmation import NotReceivedError, supplement_confirmation_of
from services.ops.actions.receipt_proof import Link, included
from tests.unit.test_confirmation import RECEIVED_HASH, SUBMISSION, received

HANDED_IN_HASH = "cd" * 32


def handed_in(version: int = 5, event: str = "SupplementReceived") -> TrailEntry:
    fields = {
        "supplement_id": "s-1",
        "answers": "request-1",
        "dossier": "blob-dossier-2",
        "parts": [{"partId": "payslip", "blob": "blob-9", "sha512": "ab" * 64, "size": 7}],
        "request_digest": "ef" * 32,
    }
    return TrailEntry(
        version, event, "2026-03-09T08:00:00+00:00", "99" * 32, HANDED_IN_HASH, fields
    )


def test_a_supplement_is_confirmed_with_its_own_event_and_documents() -> None:
    confirmation = supplement_confirmation_of(
        SUBMISSION, received(), handed_in(), "case-1", "amtsweg"
    )
    claims = confirmation.claims()
    assert claims["supplementId"] == "s-1"
    assert claims["answers"] == "request-1"
    assert "data" not in claims
    assert claims["attachments"] == [{"sha512": "ab" * 64, "size": 7}]
    assert claims["received"] == {"version": 5, "hash": HANDED_IN_HASH}
    assert claims["receivedAt"].startswith("2026-03-09T08:00:00")
    assert claims["portalId"] == "portal-a"
    assert "blob-" not in str(claims)
    assert Confirmation.model_validate(claims) == confirmation


def test_only_a_supplement_received_event_is_confirmed_as_one() -> None:
    with pytest.raises(NotReceivedError):
        supplement_confirmation_of(
            SUBMISSION, received(), handed_in(event="Replied"), "case-1", "amtsweg"
        )


def test_a_confirmation_is_either_a_submission_or_a_supplement() -> None:
    claims = supplement_confirmation_of(
        SUBMISSION, received(), handed_in(), "case-1", "amtsweg"
    ).claims()
    with pytest.raises(ValidationError):
        Confirmation.model_validate(claims | {"data": {"sha512": "ab" * 64, "size": 1}})
    without = {k: v for k, v in claims.items() if k not in ("supplementId", "answers")}
    with pytest.raises(ValidationError):  # no data, no supplement: neither
        Confirmation.model_validate(without)


def test_the_supplement_must_be_in_the_trail_and_the_checkpoint_past_it() -> None:
    confirmation = supplement_confirmation_of(
        SUBMISSION, received(), handed_in(version=3), "case-1", "amtsweg"
    )
    links = [
        Link(1, RECEIVED_HASH, GENESIS),
        Link(2, "22" * 32, RECEIVED_HASH),
        Link(3, HANDED_IN_HASH, "22" * 32),
    ]
    head = {str(SUBMISSION): Head(3, HANDED_IN_HASH)}
    assert included(confirmation, links, head).included
    early = included(confirmation, links[:2], {str(SUBMISSION): Head(2, "22" * 32)})
    assert not early.included
    older = included(confirmation, links, {str(SUBMISSION): Head(2, "22" * 32)})
    assert not older.included
    assert not older.covered
