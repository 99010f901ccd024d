"""Building the delivery envelope (version 2): inline or reference, always encrypted."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from contracts.messages import DeliveryEnvelope, DeliveryEnvelopeV1, parse_envelope
from events.dossier import DeclaredPart, Dossier
from events.submission import Submission
from events.vault import Vault
from receiver.keys import Decrypter
from services.delivery.crypto import JweSealer
from services.delivery.envelope import InlinePolicy, build_envelope, delivery_id_for
from services.delivery.handler import NO_ENCRYPTION_KEY, Dispatch, Withhold, prepare_dispatch
from services.delivery.recipients import Recipients
from tests.support.authority import KOELN, encryption_key, public
from tests.support.delivery import koeln, settings
from tests.support.factories import new_submission, sealed_submission

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
DATA = b"<antrag>secret-data-marker</antrag>"
SMALL = b"%PDF small attachment"
LARGE = b"%PDF " + b"x" * 5000
SMALL_ID, LARGE_ID = "a" * 36, "b" * 36
HINT = {"postalCode": "50667"}
AUTHORITY = "jobcenter-koeln"


def _routed() -> tuple[Submission, Dossier, dict[str, bytes]]:
    """A routed submission, its dossier, and its parts by (vault) blob name."""
    submission_id = uuid4()
    blobs: dict[str, bytes] = {}

    def sealed(content: bytes) -> dict[str, Any]:
        name = f"{submission_id}/{uuid4().hex}"
        blobs[name] = content
        return {"blob": name, "sha512": hashlib.sha512(content).hexdigest(), "size": len(content)}

    attachments = [(SMALL_ID, "Miete.pdf"), (LARGE_ID, "Konto.pdf")]
    metadata = {
        "publicServiceType": {"identifier": "urn:de:fim:leika:leistung:99900000000101"},
        "contentStructure": {
            "attachments": [{"attachmentId": i, "filename": name} for i, name in attachments]
        },
    }
    dossier = Dossier(
        metadata=metadata,
        routing=HINT,
        data=DeclaredPart("data", "application/xml", schema_uri="u"),
        attachments=tuple(DeclaredPart(i, "application/pdf", name) for i, name in attachments),
    )
    submission = new_submission(
        submission_id,
        dossier=f"{submission_id}/dossier",
        data=sealed(DATA),
        attachments=[sealed(SMALL), sealed(LARGE)],
    )
    submission.validate("cat", "u")
    submission.route(AUTHORITY, "053150000000", "053150000000", "dir")
    return submission, dossier, blobs


def _read_only(blobs: dict[str, bytes], allowed: set[bytes]) -> Callable[[str], bytes]:
    def read(blob: str) -> bytes:
        content = blobs[blob]
        assert content in allowed, "a referenced part must not be read"
        return content

    return read


def _build(
    submission: Submission,
    dossier: Dossier,
    read: Callable[[str], bytes],
    inline: InlinePolicy,
    base_url: str = "",
) -> DeliveryEnvelope:
    return build_envelope(
        submission,
        dossier,
        "d-1",
        read,
        inline=inline,
        now=NOW,
        sealer=JweSealer(public(encryption_key())),
        base_url=base_url,
    )


def test_small_parts_inline_large_ones_as_fetchable_references() -> None:
    submission, dossier, blobs = _routed()
    envelope = _build(
        submission,
        dossier,
        _read_only(blobs, {DATA, SMALL}),
        InlinePolicy(part_limit=1000, total_limit=10_000),
        base_url="https://amtsweg.example",
    )
    opened = Decrypter(encryption_key())
    assert envelope.schema_version == 2
    assert envelope.encryption is not None
    assert envelope.metadata is None
    assert envelope.encrypted_metadata is not None
    metadata = json.loads(opened.decrypt(envelope.encrypted_metadata))
    assert metadata == dossier.metadata
    assert (envelope.data.part_id, envelope.data.mime_type) == ("data", "application/xml")
    assert opened.decrypt(envelope.data.content or "") == DATA
    small, large = envelope.attachments
    assert (small.part_id, small.mime_type) == (SMALL_ID, "application/pdf")
    assert opened.decrypt(small.content or "") == SMALL
    assert small.filename is None  # the file name travels in the encrypted metadata
    assert metadata["contentStructure"]["attachments"][0]["filename"] == "Miete.pdf"
    assert large.content is None
    assert large.reference == f"https://amtsweg.example/v1/deliveries/d-1/parts/{LARGE_ID}"
    assert large.sha512 == hashlib.sha512(LARGE).hexdigest()
    assert large.size == len(LARGE)
    assert envelope.links.receipt.href == "https://amtsweg.example/v1/deliveries/d-1/receipt"
    assert envelope.receipt_topic == "amtsweg.delivery.receipts"


def test_the_inline_budget_bounds_the_whole_envelope() -> None:
    submission, dossier, blobs = _routed()
    envelope = _build(
        submission,
        dossier,
        _read_only(blobs, {DATA}),
        InlinePolicy(part_limit=1000, total_limit=len(DATA) + 5),
    )
    assert envelope.data.content is not None
    assert [p.content for p in envelope.attachments] == [None, None]
    assert envelope.attachments[0].reference == f"/v1/deliveries/d-1/parts/{SMALL_ID}"


def test_encrypted_envelope_holds_no_plaintext_and_opens_with_the_private_key() -> None:
    submission, dossier, blobs = _routed()
    key = encryption_key()
    envelope = _build(
        submission, dossier, blobs.__getitem__, InlinePolicy(part_limit=1000, total_limit=10_000)
    )
    text = envelope.model_dump_json(by_alias=True)
    for secret in (b"secret-data-marker", base64.b64encode(DATA), b"Miete.pdf", b"%PDF"):
        assert secret.decode() not in text
    assert HINT["postalCode"] not in text  # the routing hint stays in the vault
    for part in (submission.data, *submission.attachments):
        assert part["blob"] not in text  # and so do the vault's blob names
    assert envelope.metadata is None
    assert envelope.encryption is not None
    assert envelope.encryption.kid == key["kid"]
    assert envelope.encryption.alg == "RSA-OAEP-256"
    assert envelope.encryption.enc == "A256GCM"
    opened = Decrypter(key)
    assert envelope.encrypted_metadata is not None
    assert json.loads(opened.decrypt(envelope.encrypted_metadata)) == dossier.metadata
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


def test_the_envelope_is_built_from_the_parts_and_dossier_sealed_in_the_vault(
    vault: Vault,
) -> None:
    submission = sealed_submission(
        vault, DATA, attachments=[(LARGE_ID, LARGE), (SMALL_ID, SMALL)], routing=HINT
    )
    submission.validate("cat", "u")
    submission.route(AUTHORITY, "053150000000", "053150000000", "dir")
    dossier = Dossier.of(vault, submission)
    envelope = _build(
        submission,
        dossier,
        lambda blob: vault.read(submission.id, blob),
        InlinePolicy(part_limit=1000, total_limit=10_000),
    )
    opened = Decrypter(encryption_key())
    assert dossier.routing == HINT
    assert opened.decrypt(envelope.data.content or "") == DATA
    assert [p.part_id for p in envelope.attachments] == [SMALL_ID, LARGE_ID]  # dossier order
    assert opened.decrypt(envelope.attachments[0].content or "") == SMALL
    assert envelope.attachments[1].content is None
    assert envelope.attachments[1].sha512 == hashlib.sha512(LARGE).hexdigest()
    assert envelope.encrypted_metadata is not None
    assert json.loads(opened.decrypt(envelope.encrypted_metadata)) == dossier.metadata


def test_an_authority_without_an_encryption_key_gets_no_envelope(vault: Vault) -> None:
    submission = sealed_submission(vault, DATA, attachments=[(SMALL_ID, SMALL)])
    submission.validate("cat", "u")
    submission.route(KOELN, "053150000000", "053150000000", "dir")
    stored = len(list(vault.blobs.groups()))

    for known in (Recipients(), Recipients([koeln(encrypted=False)])):
        assert prepare_dispatch(submission, vault, settings(), known) == Withhold(
            KOELN, NO_ENCRYPTION_KEY
        )
    assert len(list(vault.blobs.groups())) == stored

    dispatch = prepare_dispatch(submission, vault, settings(), Recipients([koeln()]))
    assert isinstance(dispatch, Dispatch)
    assert set(dispatch.envelope) == {"blob", "sha256"}  # a reference, not the envelope
    published = vault.envelope(submission.id, dispatch.envelope)
    assert published is not None
    assert hashlib.sha256(published).hexdigest() == dispatch.envelope["sha256"]
    envelope = parse_envelope(published)
    assert isinstance(envelope, DeliveryEnvelope)
    assert envelope.delivery_id == dispatch.delivery_id
    assert envelope.encryption is not None
    assert DATA not in published


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
    submission, dossier, blobs = _routed()
    envelope = _build(submission, dossier, blobs.__getitem__, InlinePolicy(1000, 10_000))
    raw = envelope.model_dump_json(by_alias=True, exclude_none=True)
    assert parse_envelope(raw) == envelope
    twice = json.loads(raw) | {"metadata": {}}  # plain metadata beside the encrypted one
    with pytest.raises(ValidationError):
        DeliveryEnvelope.model_validate(twice)
    unmarked = {k: v for k, v in json.loads(raw).items() if k != "encryption"}
    with pytest.raises(ValidationError):
        DeliveryEnvelope.model_validate(unmarked)
