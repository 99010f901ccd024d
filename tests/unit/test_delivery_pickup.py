"""Delivery to an authority on FIT-Connect: the pickup document sealed at dispatch, and the
attachment JWE made while the attachment streams."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from joserfc import jwe
from joserfc.jwk import RSAKey
from jsonschema import Draft202012Validator, FormatChecker

from contracts import topics
from contracts.pickup import PickupDocument, attachment_jwe
from events.case import Supplement
from events.submission import Submission
from events.vault import Vault
from services.delivery.crypto import JweSealer
from services.delivery.handler import NO_ENCRYPTION_KEY, Dispatch, Withhold, prepare_dispatch
from services.delivery.pickup import follow_up_pickup_document, pickup_attachment_id
from services.delivery.recipients import Recipients
from tests.support.authority import KOELN, encryption_key, public
from tests.support.delivery import koeln, settings
from tests.support.factories import sealed_submission

DATA = b"<antrag>secret-data-marker</antrag>"
ATTACHMENT = b"%PDF " + bytes(range(256)) * 40 + b"secret-attachment-marker"
ATTACHMENT_ID = "8b0d2e71-5c44-4e2a-b1f6-0c9d8e7f6a52"
ALGORITHMS = ["RSA-OAEP-256", "A256GCM"]
METADATA_1_0_0 = (
    Path(__file__).parents[2] / "contracts/schemas/fit-connect/metadata.schema.v1.0.0.json"
)


def _on_fit_connect(*, encrypted: bool = True) -> Recipients:
    return Recipients([dataclasses.replace(koeln(encrypted=encrypted), fit_connect=True)])


def _routed(vault: Vault) -> Submission:
    submission = sealed_submission(vault, DATA, attachments=[(ATTACHMENT_ID, ATTACHMENT)])
    submission.validate("cat", "u")
    submission.route(KOELN, "053150000000", "053150000000", "dir")
    return submission


def _document(vault: Vault) -> tuple[PickupDocument, Dispatch]:
    submission = _routed(vault)
    dispatch = prepare_dispatch(submission, vault, settings(), _on_fit_connect())
    assert isinstance(dispatch, Dispatch)
    sealed = vault.envelope(submission.id, dispatch.envelope)
    assert sealed is not None
    return PickupDocument.model_validate_json(sealed), dispatch


def _open(compact: str) -> bytes:
    key = RSAKey.import_key(encryption_key())
    return jwe.decrypt_compact(compact, key, algorithms=ALGORITHMS).plaintext or b""


def test_a_fit_connect_receiver_gets_a_pickup_document_on_its_pickup_channel(
    vault: Vault,
) -> None:
    document, dispatch = _document(vault)

    assert dispatch.channel == topics.pickup_channel(KOELN) == "fit-connect:jobcenter-koeln"
    assert topics.is_pickup_channel(dispatch.channel)
    assert not topics.is_pickup_channel(topics.delivery_topic(KOELN))
    assert document.delivery_id == dispatch.delivery_id
    assert document.kid == "koeln-enc-1"
    assert document.encrypted_data is not None
    assert _open(document.encrypted_data) == DATA
    metadata = json.loads(_open(document.encrypted_metadata))
    declared = metadata["contentStructure"]["attachments"][0]
    assert declared["hash"]["content"] == hashlib.sha512(ATTACHMENT).hexdigest()
    [attachment] = document.attachments
    assert attachment.attachment_id == ATTACHMENT_ID
    assert attachment.sha512 == hashlib.sha512(ATTACHMENT).hexdigest()
    assert document.service_type["identifier"].startswith("urn:de:fim:leika:leistung:")


def test_a_fit_connect_receiver_without_a_key_gets_nothing(vault: Vault) -> None:
    submission = _routed(vault)

    keyless = _on_fit_connect(encrypted=False)
    withheld = prepare_dispatch(submission, vault, settings(), keyless)

    assert withheld == Withhold(KOELN, NO_ENCRYPTION_KEY)


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 4096, 10**6])
async def test_the_streamed_attachment_is_a_jwe_of_its_bytes_whatever_the_chunks(
    vault: Vault, chunk_size: int
) -> None:
    document, _ = _document(vault)
    [attachment] = document.attachments

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(ATTACHMENT), chunk_size):
            yield ATTACHMENT[start : start + chunk_size]

    compact = b"".join([part async for part in attachment_jwe(attachment, chunks())])

    key = RSAKey.import_key(encryption_key())
    opened = jwe.decrypt_compact(compact, key, algorithms=ALGORITHMS)
    assert opened.plaintext == ATTACHMENT
    protected = opened.protected
    assert protected == {**protected, "kid": "koeln-enc-1", "cty": "application/pdf"}
    again = b"".join([part async for part in attachment_jwe(attachment, chunks())])
    assert again == compact  # the same JWE at every download
    assert b"secret-attachment-marker" not in compact


def test_a_follow_up_pickup_document_has_no_data_and_lists_its_documents(vault: Vault) -> None:
    submission = _routed(vault)
    sealed = vault.put(submission.id, ATTACHMENT)
    parts: list[dict[str, object]] = [
        {"partId": p, "blob": sealed.blob, "sha512": sealed.sha512, "size": sealed.size}
        for p in ("payslip", ATTACHMENT_ID)
    ]
    supplement = Supplement("s-1", "d" * 64, None, parts)
    declared = {"payslip": {"mimeType": "application/pdf", "filename": "Lohn.pdf"}}
    sealer = JweSealer(public(encryption_key()))
    delivery_id = "0521e281-2f1d-5525-9572-717072772674"

    document = follow_up_pickup_document(submission, supplement, declared, delivery_id, sealer)
    again = follow_up_pickup_document(submission, supplement, declared, delivery_id, sealer)

    assert document.encrypted_data is None
    assert (document.supplement_id, document.pickup_id) == ("s-1", delivery_id)
    assert document.submission_id == str(submission.id)  # its blobs are the case's
    metadata = json.loads(_open(document.encrypted_metadata))
    schema = json.loads(METADATA_1_0_0.read_text(encoding="utf-8"))
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(metadata)
    listed = metadata["contentStructure"]["attachments"]
    derived = pickup_attachment_id(delivery_id, "payslip")
    assert [a["attachmentId"] for a in listed] == [derived, ATTACHMENT_ID]
    assert [a.attachment_id for a in document.attachments] == [derived, ATTACHMENT_ID]
    assert [a.attachment_id for a in again.attachments] == [derived, ATTACHMENT_ID]  # stable
    assert listed[0]["filename"] == "Lohn.pdf"
    assert "filename" not in listed[1]
    assert listed[1]["mimeType"] == "application/octet-stream"  # none declared
    assert {a["hash"]["content"] for a in listed} == {hashlib.sha512(ATTACHMENT).hexdigest()}
    assert {a["purpose"] for a in listed} == {"attachment"}
    assert "data" not in metadata["contentStructure"]
