"""The proof of receipt: claims from the Received event, signature, refusals, inclusion."""

from __future__ import annotations

import base64
import hashlib
import json
from uuid import UUID

import pytest

from contracts.confirmation import ConfirmationError, verify_confirmation
from contracts.envelope_signature import keys_by_id
from events.chain import GENESIS
from events.checkpoint import Head
from events.ledger import TrailEntry
from services.delivery.signing import EnvelopeSigner, new_signing_key
from services.intake.confirmation import NotReceivedError, confirmation_of
from services.ops.actions.receipt_proof import Link, included

SUBMISSION = UUID("5b3a1f0e-8d2c-4e6f-9a7b-1c2d3e4f5a6b")
DATA_SHA = hashlib.sha512(b"<antrag/>").hexdigest()
RECEIVED_HASH = "ab" * 32


def received(**data: object) -> TrailEntry:
    fields = {
        "portal_id": "portal-a",
        "service_identifier": "urn:de:fim:leika:leistung:99900000000101",
        "leika_key": "99900000000101",
        "dossier": "blob-dossier",
        "data": {"blob": "blob-1", "sha512": DATA_SHA, "size": 9},
        "attachments": [{"blob": "blob-2", "sha512": "cd" * 64, "size": 3}],
        "request_digest": "ef" * 32,
        "correlation_id": "corr-Max-Mustermann",
        **data,
    }
    return TrailEntry(
        1, "Received", "2026-03-02T09:15:04.120391+00:00", GENESIS, RECEIVED_HASH, fields
    )


def signer() -> EnvelopeSigner:
    return EnvelopeSigner({"keys": [new_signing_key()]})


def test_claims_are_the_received_facts_and_nothing_personal() -> None:
    claims = confirmation_of(SUBMISSION, received(), "case-1", "amtsweg").claims()
    assert claims["submissionId"] == str(SUBMISSION)
    assert claims["caseId"] == "case-1"
    assert claims["portalId"] == "portal-a"
    assert claims["leikaKey"] == "99900000000101"
    assert claims["data"] == {"sha512": DATA_SHA, "size": 9}
    assert claims["attachments"] == [{"sha512": "cd" * 64, "size": 3}]
    assert claims["received"] == {"version": 1, "hash": RECEIVED_HASH}
    assert claims["iat"] == 1772442904
    text = json.dumps(claims)
    for private in ("blob-", "corr-", "Mustermann", "ef" * 32):
        assert private not in text


def test_claims_are_the_same_every_time() -> None:
    first = confirmation_of(SUBMISSION, received(), "case-1", "amtsweg")
    assert confirmation_of(SUBMISSION, received(), "case-1", "amtsweg") == first


def test_only_a_received_event_is_confirmed() -> None:
    entry = received()
    other = TrailEntry(2, "Validated", entry.timestamp, entry.hash, "cd" * 32, {})
    with pytest.raises(NotReceivedError):
        confirmation_of(SUBMISSION, other, "case-1", "amtsweg")


def test_a_signed_confirmation_verifies_with_the_published_keys() -> None:
    amtsweg = signer()
    confirmation = confirmation_of(SUBMISSION, received(), "case-1", "amtsweg")
    token = amtsweg.sign_confirmation(confirmation)
    kid, claims = verify_confirmation(token, keys_by_id(amtsweg.jwks()))
    assert kid == amtsweg.kid
    assert claims == confirmation


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["receivedAt"] = "2026-02-27T09:15:04.120391+00:00"  # an earlier month
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_a_tampered_confirmation_is_refused() -> None:
    amtsweg = signer()
    token = amtsweg.sign_confirmation(confirmation_of(SUBMISSION, received(), "c", "amtsweg"))
    with pytest.raises(ConfirmationError, match="does not verify"):
        verify_confirmation(_tampered(token), keys_by_id(amtsweg.jwks()))


def test_a_confirmation_signed_by_another_key_is_refused() -> None:
    token = signer().sign_confirmation(confirmation_of(SUBMISSION, received(), "c", "amtsweg"))
    with pytest.raises(ConfirmationError, match="not among the given ones"):
        verify_confirmation(token, keys_by_id(signer().jwks()))


def test_an_envelope_signature_is_not_a_confirmation() -> None:
    amtsweg = signer()
    detached = amtsweg.sign(b"{}")
    with pytest.raises(ConfirmationError):
        verify_confirmation(detached, keys_by_id(amtsweg.jwks()))


TRAIL = [Link(1, RECEIVED_HASH, GENESIS), Link(2, "cd" * 32, RECEIVED_HASH)]


@pytest.mark.parametrize(
    ("links", "heads", "expected"),
    [
        (TRAIL, {str(SUBMISSION): Head(2, "cd" * 32)}, True),
        (TRAIL, {str(SUBMISSION): Head(1, RECEIVED_HASH)}, True),
        (TRAIL, {str(SUBMISSION): Head(2, "ee" * 32)}, False),
        ([TRAIL[0], Link(2, "cd" * 32, "ff" * 32)], {str(SUBMISSION): Head(2, "cd" * 32)}, False),
        ([Link(1, "ff" * 32, GENESIS)], {str(SUBMISSION): Head(1, "ff" * 32)}, False),
        (TRAIL, {}, False),
    ],
)
def test_inclusion_follows_the_trail_to_the_checkpoint_head(
    links: list[Link], heads: dict[str, Head], expected: bool
) -> None:
    confirmation = confirmation_of(SUBMISSION, received(), "case-1", "amtsweg")
    assert included(confirmation, links, heads).included is expected


def test_a_submission_no_checkpoint_names_is_not_yet_covered() -> None:
    confirmation = confirmation_of(SUBMISSION, received(), "case-1", "amtsweg")
    assert included(confirmation, TRAIL, {}).covered is False
