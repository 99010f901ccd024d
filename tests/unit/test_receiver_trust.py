"""The reference receiver believes only envelopes signed by Amtsweg's keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from joserfc import jws
from joserfc.jwk import OctKey

from contracts.envelope_signature import SIGNATURE_HEADER, EnvelopeSignatureError
from receiver.consume import Receiver, ReceiverConfig
from receiver.inbox import Inbox
from receiver.origin import ApiOrigin
from receiver.trust import REFETCH_SECONDS, EnvelopeVerifier, KeySource
from receiver.unpack import ReceiverError
from services.delivery.signing import EnvelopeSigner, new_signing_key
from tests.support.authority import amtsweg_signer, amtsweg_signing_keys
from tests.unit.test_receiver_unpack import _envelope

API = "https://amtsweg.example.de"


def _published() -> bytes:
    """An envelope as the relay publishes it (addressed to Köln)."""
    return _envelope(sealed=True).model_dump_json(by_alias=True, exclude_none=True).encode()


def _receiver(tmp_path: Path, verifier: EnvelopeVerifier) -> Receiver:
    config = ReceiverConfig("not-the-addressee", "unused:9092", tmp_path)
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda _r: httpx.Response(500)))
    producer = cast(AIOKafkaProducer, None)  # nothing here sends a receipt
    return Receiver(config, Inbox(tmp_path), producer, http, verifier)


def _pinned() -> EnvelopeVerifier:
    return EnvelopeVerifier({amtsweg_signer().kid: amtsweg_signer().jwks()["keys"][0]})


def _headers(signature: str) -> list[tuple[str, bytes]]:
    return [("amtsweg-notice", b"0"), (SIGNATURE_HEADER, signature.encode())]


def _hs256_with_the_public_key(envelope: bytes) -> str:
    """The classic confusion: the public key used as an HMAC secret."""
    public = amtsweg_signer().jwks()["keys"][0]
    secret = OctKey.import_key(public["x"])
    header: dict[str, Any] = {"alg": "HS256", "kid": public["kid"]}
    compact = jws.serialize_compact(header, envelope, secret, algorithms=["HS256"])
    protected, _, signature = compact.split(".")
    return f"{protected}..{signature}"


def _forged() -> list[tuple[str, bytes, list[tuple[str, bytes]]]]:
    envelope = _published()
    genuine = amtsweg_signer().sign(envelope)
    impostor = dict(new_signing_key(), kid=amtsweg_signer().kid)  # same kid, another key
    tampered = envelope.replace(b'"reference":"', b'"reference":"https://evil.example', 1)
    assert tampered != envelope
    attached = genuine.replace("..", "." + "eyJ4IjoxfQ" + ".")  # a payload of its own
    return [
        ("unsigned", envelope, [("amtsweg-notice", b"0")]),
        ("tampered", tampered, _headers(genuine)),
        ("another key", envelope, _headers(EnvelopeSigner({"keys": [impostor]}).sign(envelope))),
        ("HS256", envelope, _headers(_hs256_with_the_public_key(envelope))),
        ("not a JWS", envelope, _headers("garbage")),
        ("attached payload", envelope, _headers(attached)),
        ("not ASCII", envelope, [(SIGNATURE_HEADER, "é".encode())]),
    ]


@pytest.mark.parametrize(("case", "value", "headers"), _forged(), ids=lambda v: str(v)[:20])
async def test_an_envelope_not_signed_by_amtsweg_is_refused_unread(
    tmp_path: Path, case: str, value: bytes, headers: list[tuple[str, bytes]]
) -> None:
    receiver = _receiver(tmp_path, _pinned())
    await receiver.handle(value, headers)
    assert (receiver.summary.refused, receiver.summary.skipped) == (1, 0), case


async def test_a_genuine_envelope_is_read(tmp_path: Path) -> None:
    envelope = _published()
    receiver = _receiver(tmp_path, _pinned())
    await receiver.handle(envelope, _headers(amtsweg_signer().sign(envelope)))
    # verified, then read: addressed to another authority, so skipped (not refused)
    assert (receiver.summary.refused, receiver.summary.skipped) == (0, 1)


async def test_fetched_keys_are_fetched_again_for_a_new_kid(tmp_path: Path) -> None:
    rotated = EnvelopeSigner({"keys": [new_signing_key(), *amtsweg_signing_keys()["keys"]]})
    published = [amtsweg_signer().jwks()]
    requests: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        requests.append(str(request.url))
        return httpx.Response(200, json=published[-1])

    now = [1000.0]
    http = httpx.AsyncClient(transport=httpx.MockTransport(serve))
    source = KeySource(ApiOrigin.of(API), http, lambda: now[0])
    verifier = await EnvelopeVerifier.start(None, source)
    envelope = _published()
    assert await verifier.verify(envelope, amtsweg_signer().sign(envelope)) == amtsweg_signer().kid
    published.append(rotated.jwks())  # Amtsweg rotated: the new key signs
    now[0] += REFETCH_SECONDS
    assert await verifier.verify(envelope, rotated.sign(envelope)) == rotated.kid
    assert requests == [f"{API}/v1/keys", f"{API}/v1/keys"]
    stranger = EnvelopeSigner({"keys": [new_signing_key()]})
    with pytest.raises(EnvelopeSignatureError, match="unknown key"):
        await verifier.verify(envelope, stranger.sign(envelope))
    assert len(requests) == 2  # not again within a minute


async def test_without_keys_or_api_the_receiver_does_not_start() -> None:
    with pytest.raises(ReceiverError, match="--api or --amtsweg-keys"):
        await EnvelopeVerifier.start(None, None)
    with pytest.raises(ReceiverError, match="public keys only"):
        await EnvelopeVerifier.start(amtsweg_signing_keys(), None)  # a private set
