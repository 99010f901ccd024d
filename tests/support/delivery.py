"""Submissions dispatched to an authority, for tests of the delivery side."""

from __future__ import annotations

import json

from events.ledger import Ledger
from events.submission import Submission
from events.vault import Vault
from services.delivery.auth import token_hash
from services.delivery.handler import dispatch_submission
from services.delivery.recipients import Recipient, Recipients
from services.delivery.settings import DeliverySettings
from tests.support.authority import KOELN, encryption_key, public, signing_key
from tests.support.factories import sealed_submission

DATA = b"<antrag><name>Erika Mustermann (synthetic)</name></antrag>"
ATTACHMENT = b"%PDF-1.7 " + b"Kontoauszug (synthetic) " * 40
ATTACHMENT_ID = "8b0d2e71-5c44-4e2a-b1f6-0c9d8e7f6a52"
TOKENS = {KOELN: "token-of-koeln", "jobcenter-region-hannover": "token-of-hannover"}
CALLBACK_SECRET = "callback-secret-of-koeln"


def settings(**overrides: object) -> DeliverySettings:
    """Small inline limits (the attachment becomes a reference) and the test tokens."""
    values: dict[str, object] = {
        "inline_limit_bytes": 200,
        "authority_tokens": {a: token_hash(t) for a, t in TOKENS.items()},
        "callback_secrets": {KOELN: CALLBACK_SECRET},
    }
    return DeliverySettings.model_validate(values | overrides)


def koeln(*, encrypted: bool = True, signed: bool = True, callback: str | None = None) -> Recipient:
    return Recipient(
        authority_id=KOELN,
        encryption_jwk=_json(public(encryption_key())) if encrypted else None,
        verification_jwk=_json(public(signing_key())) if signed else None,
        callback_url=callback,
        callback_secret=CALLBACK_SECRET if callback else None,
    )


def recipients(*extra: Recipient, encrypted: bool = True, signed: bool = True) -> Recipients:
    return Recipients([koeln(encrypted=encrypted, signed=signed), *extra])


def _json(jwk: dict[str, object]) -> str:
    return json.dumps(jwk)


def dispatched(
    ledger: Ledger, vault: Vault, known: Recipients, config: DeliverySettings | None = None
) -> Submission:
    """A submission with data and one attachment, routed to Köln and dispatched."""
    submission = sealed_submission(
        vault, DATA, attachments=[(ATTACHMENT_ID, ATTACHMENT)], chain=ledger.chain_keys
    )
    submission.validate("cat", "u")
    submission.route(KOELN, "053150000000", "053150000000", "dir")
    ledger.save(submission)
    assert dispatch_submission(ledger, vault, config or settings(), submission.id, known)
    return ledger.get_submission(submission.id)
