"""Building the delivery envelope (version 2): inline or reference, plain or encrypted."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from pydantic import ValidationError

from contracts.messages import DeliveryEnvelope, DeliveryEnvelopeV1, parse_envelope
from events.submission import Submission
from receiver.keys import Decrypter
from services.delivery.crypto import JweSealer
from services.delivery.envelope import InlinePolicy, build_envelope, delivery_id_for
from tests.support.authority import encryption_key, public
from tests.support.factories import new_submission

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
DATA = b"<antrag>secret-data-marker</antrag>"
SMALL = b"%PDF small attachment"
LARGE = b"%PDF " + b"x" * 5000


def _part(content: bytes, mime: str, **extra: str) -> dict[str, object]:
    return {
        "sha512": hashlib.sha512(content).hexdigest(),
        "size": len(content),
        "mime_type": mime,
        **extra,
    }


def _routed() -> tuple[Submission, dict[str, bytes]]:
    blobs = {hashlib.sha512(c).hexdigest(): c for c in (DATA, SMALL, LARGE)}
    attachments = [("a" * 36, "Miete.pdf"), ("b" * 36, "Konto.pdf")]
    metadata = {
        "publicServiceType": {"identifier": "urn:de:fim:leika:leistung:99900000000101"},
        "contentStructure": {
            "attachments": [{"attachmentId": i, "filename": name} for i, name in attachments]
        },
    }
    submission = new_submission(
        metadata=metadata,
        data=_part(DATA, "application/xml", schema_uri="u"),
        attachments=[
            {"attachment_id": "a" * 36, **_part(SMALL, "application/pdf", filename="Miete.pdf")},
            {"attachment_id": "b" * 36, **_part(LARGE, "application/pdf", filename="Konto.pdf")},
        ],
    )
    submission.validate("cat", "u")
    submission.route("jobcenter-koeln", "053150000000", "053150000000", "dir")
    return submission, blobs


def _read_only(blobs: dict[str, bytes], allowed: set[bytes]) -> Callable[[str], bytes]:
    def read(sha512: str) -> bytes:
        content = blobs[sha512]
        assert content in allowed, "a referenced part must not be read"
        return content

    return read


def test_small_parts_inline_large_ones_as_fetchable_references() -> None:
    submission, blobs = _routed()
    envelope = build_envelope(
        submission,
        "d-1",
        _read_only(blobs, {DATA, SMALL}),
        InlinePolicy(part_limit=1000, total_limit=10_000),
        NOW,
        base_url="https://amtsweg.example",
    )
    assert envelope.schema_version == 2
    assert envelope.encryption is None
    assert envelope.metadata == submission.metadata
    assert base64.b64decode(envelope.data.content or "") == DATA
    small, large = envelope.attachments
    assert base64.b64decode(small.content or "") == SMALL
    assert small.filename == "Miete.pdf"
    assert large.content is None
    assert large.reference == f"https://amtsweg.example/v1/deliveries/d-1/parts/{'b' * 36}"
    assert large.sha512 == hashlib.sha512(LARGE).hexdigest()
    assert envelope.links.receipt.href == "https://amtsweg.example/v1/deliveries/d-1/receipt"
    assert envelope.receipt_topic == "amtsweg.delivery.receipts"


def test_the_inline_budget_bounds_the_whole_envelope() -> None:
    submission, blobs = _routed()
    envelope = build_envelope(
        submission,
        "d-1",
        _read_only(blobs, {DATA}),
        InlinePolicy(part_limit=1000, total_limit=len(DATA) + 5),
        NOW,
    )
    assert envelope.data.content is not None
    assert [p.content for p in envelope.attachments] == [None, None]
    assert envelope.attachments[0].reference == f"/v1/deliveries/d-1/parts/{'a' * 36}"


def test_encrypted_envelope_holds_no_plaintext_and_opens_with_the_private_key() -> None:
    submission, blobs = _routed()
    key = encryption_key()
    envelope = build_envelope(
        submission,
        "d-1",
        blobs.__getitem__,
        InlinePolicy(part_limit=1000, total_limit=10_000),
        NOW,
        sealer=JweSealer(public(key)),
    )
    text = envelope.model_dump_json(by_alias=True)
    for secret in (b"secret-data-marker", base64.b64encode(DATA), b"Miete.pdf", b"%PDF"):
        assert secret.decode() not in text
    assert envelope.metadata is None
    assert envelope.encryption is not None
    assert envelope.encryption.kid == key["kid"]
    assert envelope.encryption.alg == "RSA-OAEP-256"
    assert envelope.encryption.enc == "A256GCM"
    opened = Decrypter(key)
    assert envelope.encrypted_metadata is not None
    assert json.loads(opened.decrypt(envelope.encrypted_metadata)) == submission.metadata
    assert envelope.data.content is not None
    assert opened.decrypt(envelope.data.content) == DATA
    header = json.loads(base64.urlsafe_b64decode(envelope.data.content.split(".")[0] + "=="))
    assert header == {
        "alg": "RSA-OAEP-256",
        "enc": "A256GCM",
        "kid": key["kid"],
        "cty": "application/xml",
    }
    assert envelope.attachments[0].filename is None
    assert envelope.attachments[1].reference is not None


def test_delivery_id_is_stable_per_routing_decision() -> None:
    submission_id = uuid4()
    first = delivery_id_for(submission_id, "jobcenter-koeln", 3)
    assert first == delivery_id_for(submission_id, "jobcenter-koeln", 3)
    assert first != delivery_id_for(submission_id, "jobcenter-koeln", 5)
    assert first != delivery_id_for(submission_id, "sozialamt-landkreis-harz", 3)


def test_version_1_envelopes_stay_readable_and_version_2_is_checked() -> None:
    v1 = {
        "schemaVersion": 1,
        "deliveryId": "d",
        "submissionId": "s",
        "authorityId": "a",
        "serviceIdentifier": "x",
        "metadata": {},
        "data": {"partId": "data", "mimeType": "application/xml", "size": 1, "sha512": "0"},
        "dispatchedAt": NOW.isoformat(),
    }
    assert isinstance(parse_envelope(json.dumps(v1)), DeliveryEnvelopeV1)
    submission, blobs = _routed()
    envelope = build_envelope(submission, "d-1", blobs.__getitem__, InlinePolicy(1000, 10_000), NOW)
    raw = envelope.model_dump_json(by_alias=True, exclude_none=True)
    assert parse_envelope(raw) == envelope
    broken = json.loads(raw) | {"encryptedMetadata": "x.y.z.w.v"}  # metadata twice
    with pytest.raises(ValidationError):
        DeliveryEnvelope.model_validate(broken)
