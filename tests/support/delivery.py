"""Submissions dispatched to an authority, for tests of the delivery side."""

from __future__ import annotations

import hashlib
import json
import uuid

from events.blobs import BlobStore
from events.ledger import Ledger
from events.submission import Submission
from services.delivery.auth import token_hash
from services.delivery.handler import dispatch_submission
from services.delivery.recipients import Recipient, Recipients
from services.delivery.settings import DeliverySettings
from tests.support.authority import KOELN, encryption_key, public, signing_key
from tests.support.factories import new_submission

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
    ledger: Ledger, blobs: BlobStore, known: Recipients, config: DeliverySettings | None = None
) -> Submission:
    """A submission with data and one attachment, routed to Köln and dispatched."""
    data, attachment = blobs.put(DATA), blobs.put(ATTACHMENT)
    metadata = {
        "publicServiceType": {"identifier": "urn:de:fim:leika:leistung:99900000000101"},
        "contentStructure": {
            "data": {"hash": {"type": "sha512", "content": hashlib.sha512(DATA).hexdigest()}},
            "attachments": [{"attachmentId": ATTACHMENT_ID, "filename": "konto.pdf"}],
        },
    }
    submission = new_submission(
        uuid.uuid4(),
        metadata=metadata,
        data={
            "sha512": data.sha512,
            "size": data.size,
            "mime_type": "application/xml",
            "schema_uri": "u",
        },
        attachments=[
            {
                "attachment_id": ATTACHMENT_ID,
                "sha512": attachment.sha512,
                "size": attachment.size,
                "mime_type": "application/pdf",
                "filename": "konto.pdf",
            }
        ],
    )
    submission.validate("cat", "u")
    submission.route(KOELN, "053150000000", "053150000000", "dir")
    ledger.save(submission)
    assert dispatch_submission(ledger, blobs, config or settings(), submission.id, known)
    return ledger.get_submission(submission.id)
