"""Replies of the authority, for tests of the reply side (synthetic content only)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from events.ledger import Ledger
from events.submission import Submission
from events.vault import Vault
from receiver.keys import Signer
from services.delivery.handler import dispatch_submission
from services.delivery.recipients import Recipients
from services.delivery.replies import ReplyPorts
from services.runtime.portals import Portals
from tests.support.authority import KOELN, signing_key
from tests.support.delivery import ATTACHMENT, ATTACHMENT_ID, DATA, settings
from tests.support.factories import metadata_for, sealed_submission

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
BESCHEID = b"%PDF-1.7 Bescheid (synthetic) " + b"Bewilligt. " * 100


def part(
    content: bytes = BESCHEID,
    part_id: str = "bescheid",
    mime_type: str = "application/pdf",
    *,
    filename: str | None = "Bescheid.pdf",
) -> dict[str, Any]:
    """One document of a reply, as the wire carries it."""
    document: dict[str, Any] = {
        "partId": part_id,
        "mimeType": mime_type,
        "hash": {"type": "sha512", "content": hashlib.sha512(content).hexdigest()},
        "content": base64.b64encode(content).decode(),
    }
    if filename is not None:
        document["filename"] = filename
    return document


def reply(submission: Submission, **overrides: Any) -> dict[str, Any]:
    """A decision with one PDF, answering the submission's delivery, from Köln."""
    body: dict[str, Any] = {
        "type": "reply",
        "replyId": "r-1",
        "deliveryId": submission.delivery_id,
        "submissionId": str(submission.id),
        "authorityId": KOELN,
        "kind": "decision",
        "subject": "Ihr Bescheid (synthetic)",
        "text": "Ihr Antrag wurde bewilligt.",
        "reference": "AZ-2026-17",
        "parts": [part()],
    }
    return body | overrides


def request(submission: Submission, **overrides: Any) -> dict[str, Any]:
    """A request for a payslip, due two weeks after :data:`NOW`."""
    fields: dict[str, Any] = {
        "replyId": "q-1",
        "kind": "request",
        "subject": "Unterlagen fehlen (synthetic)",
        "requested": ["Gehaltsnachweis"],
        "due": (NOW + timedelta(days=14)).isoformat(),
        "parts": [],
    }
    return reply(submission, **(fields | overrides))


def encoded(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def signed(body: dict[str, Any], key: str = "koeln-sig-1") -> bytes:
    """The reply as a JWS signed with one of the test's signing keys."""
    return Signer(signing_key(key)).sign(encoded(body)).encode()


def delivered(
    ledger: Ledger,
    vault: Vault,
    known: Recipients,
    *,
    reply_channel: dict[str, Any] | None = None,
    portal_id: str = "portal-a",
) -> Submission:
    """A submission routed to Köln and dispatched (its metadata naming ``reply_channel``)."""
    attachments = [(ATTACHMENT_ID, ATTACHMENT)]
    metadata = metadata_for(DATA, attachments=attachments)
    if reply_channel is not None:
        metadata["replyChannel"] = reply_channel
    submission = sealed_submission(
        vault,
        DATA,
        attachments=attachments,
        metadata=metadata,
        chain=ledger.chain_keys,
        portal_id=portal_id,
    )
    submission.validate("cat", "u")
    submission.route(KOELN, "053150000000", "053150000000", "dir")
    ledger.save(submission)
    assert dispatch_submission(ledger, vault, settings(), submission.id, known)
    return ledger.get_submission(submission.id)


def ports(
    ledger: Ledger,
    vault: Vault,
    known: Recipients,
    portals: Portals | None = None,
    *,
    overrides: Mapping[str, object] | None = None,
    clock: Callable[[], datetime] = lambda: NOW,
) -> ReplyPorts:
    """The reply use case's ports over the test's ledger and vault, at :data:`NOW`
    (``overrides``: of the delivery settings)."""
    config = settings(**dict(overrides or {}))
    return ReplyPorts(ledger, vault, known, portals or Portals({}), config, clock)
