"""JWE round trip to the authority's key; signed receipts: parsing and verification."""

from __future__ import annotations

import base64
import json
import os

import pytest
from joserfc import jws
from joserfc.jwk import OctKey

from contracts.limits import MAX_METADATA_BYTES
from contracts.receipts import MalformedReceiptError, parse_receipt_message
from receiver.keys import Decrypter, DecryptionError, Signer
from services.delivery.crypto import JweSealer, SignatureError, verify_signed_receipt
from services.delivery.recipients import Recipient, RecipientConfigError, Recipients
from tests.support.authority import (
    ec_signing_key,
    encryption_key,
    public,
    signing_key,
)

RECEIPT = {
    "deliveryId": "d-1",
    "submissionId": "s-1",
    "authorityId": "jobcenter-koeln",
    "outcome": "accepted",
}


def _b64(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode()


def test_sealed_bytes_open_only_with_the_matching_private_key() -> None:
    key = encryption_key()
    token = JweSealer(public(key)).seal(b"\x00binary\xff" * 100, "application/pdf")
    assert token.count(".") == 4
    assert Decrypter(key).decrypt(token) == b"\x00binary\xff" * 100
    other = dict(encryption_key("other-key"), kid=key["kid"])  # same kid, other key
    with pytest.raises(DecryptionError):
        Decrypter(other).decrypt(token)
    with pytest.raises(DecryptionError, match="encrypted to key"):
        Decrypter(encryption_key("other-key")).decrypt(token)


@pytest.mark.parametrize("size", [200 * 1024, 5 * 1024 * 1024])
def test_parts_of_realistic_size_open(size: int) -> None:
    key = encryption_key()
    plaintext = os.urandom(size)
    token = JweSealer(public(key)).seal(plaintext, "application/pdf")
    assert Decrypter(key).decrypt(token) == plaintext


def test_a_part_over_the_configured_limit_is_refused() -> None:
    key = encryption_key()
    token = JweSealer(public(key)).seal(b"x" * 300_000, "application/pdf")
    assert Decrypter(key, max_part_bytes=400_000).decrypt(token)
    small = Decrypter(key, max_part_bytes=0)  # still opens metadata-sized values
    assert small.decrypt(JweSealer(public(key)).seal(b"y" * MAX_METADATA_BYTES)) == (
        b"y" * MAX_METADATA_BYTES
    )
    with pytest.raises(DecryptionError, match="exceeds"):
        small.decrypt(JweSealer(public(key)).seal(b"z" * (MAX_METADATA_BYTES + 1)))


def test_the_sealer_refuses_a_private_key() -> None:
    with pytest.raises(ValueError, match="public"):
        JweSealer(encryption_key())


@pytest.mark.parametrize("key", [signing_key(), ec_signing_key()], ids=["PS512", "ES256"])
def test_a_signed_receipt_parses_and_verifies(key: dict[str, object]) -> None:
    compact = Signer(key).sign(json.dumps(RECEIPT).encode())
    message = parse_receipt_message(compact.encode())
    assert message.jws == compact
    assert message.receipt.delivery_id == "d-1"
    assert json.loads(verify_signed_receipt(compact, public(key))) == RECEIPT


def test_a_receipt_signed_with_another_key_or_altered_is_refused() -> None:
    compact = Signer(signing_key("intruder")).sign(json.dumps(RECEIPT).encode())
    with pytest.raises(SignatureError):
        verify_signed_receipt(compact, public(signing_key()))
    header, _, signature = Signer(signing_key()).sign(json.dumps(RECEIPT).encode()).split(".")
    altered = f"{header}.{_b64(json.dumps(RECEIPT | {'outcome': 'rejected'}).encode())}.{signature}"
    with pytest.raises(SignatureError):
        verify_signed_receipt(altered, public(signing_key()))


def test_hmac_and_none_signatures_are_no_receipts() -> None:
    secret = OctKey.generate_key(256)
    hs256 = jws.serialize_compact({"alg": "HS256"}, json.dumps(RECEIPT), secret)
    with pytest.raises(MalformedReceiptError, match="algorithm"):
        parse_receipt_message(hs256.encode())
    none = _b64(b'{"alg":"none"}')
    unsigned = f"{none}.{_b64(json.dumps(RECEIPT).encode())}.x"
    with pytest.raises(MalformedReceiptError):
        parse_receipt_message(unsigned.encode())
    with pytest.raises(SignatureError):  # even if it got this far
        verify_signed_receipt(hs256, public(signing_key()))


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"{}", b"a.b", b"\xff\xfe", b"{" + b" " * 70_000 + b"}"],
    ids=["empty", "text", "incomplete", "two-segments", "binary", "oversize"],
)
def test_malformed_receipts_are_refused_with_one_error_type(raw: bytes) -> None:
    with pytest.raises(MalformedReceiptError):
        parse_receipt_message(raw)


def test_plain_receipt_parses_without_signature() -> None:
    message = parse_receipt_message(json.dumps(RECEIPT).encode())
    assert message.jws is None
    assert message.receipt.outcome == "accepted"


def test_unusable_directory_keys_are_refused_before_any_delivery() -> None:
    good = Recipient("jobcenter-koeln", encryption_jwk=json.dumps(public(encryption_key())))
    Recipients([good]).check()
    off_curve = {**public(ec_signing_key()), "y": public(ec_signing_key())["x"]}
    with pytest.raises(RecipientConfigError, match="jobcenter-koeln"):
        Recipients([Recipient("jobcenter-koeln", verification_jwk=json.dumps(off_curve))]).check()
    with pytest.raises(RecipientConfigError, match="must be public"):
        Recipients(
            [Recipient("jobcenter-koeln", verification_jwk=json.dumps(signing_key()))]
        ).check()
    with pytest.raises(RecipientConfigError, match="callback URL but no secret"):
        Recipients([Recipient("jobcenter-koeln", callback_url="https://x.example/cb")]).check()
