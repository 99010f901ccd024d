"""Amtsweg's signature on delivery envelopes: a detached JWS over the exact bytes.

Every envelope Amtsweg publishes on an authority's topic carries the Kafka header
``amtsweg-signature``; ``GET /v1/deliveries/{id}`` answers with the same value in the
HTTP header ``Amtsweg-Signature``. The value is a JWS compact serialization with a
detached payload (RFC 7515 appendix F): ``BASE64URL(header) . . BASE64URL(signature)``,
where the payload is the message value exactly as received (the envelope's JSON bytes),
so the envelope itself stays what it was and a receiver that does not check still reads
it. The header names ``alg`` (:data:`ENVELOPE_SIGNATURE_ALG`) and the ``kid`` of the key.

Amtsweg's public keys are a JWK Set at ``GET /v1/keys`` (:data:`KEYS_PATH`): every key
that may have signed an envelope still on a topic; one of them signs new ones. A receiver
verifies with :func:`verify_envelope` and refuses what is unsigned or wrongly signed.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from contracts.limits import MAX_ENVELOPE_BYTES, base64url_length
from contracts.receipts import MalformedReceiptError, b64url_decode

ENVELOPE_SIGNATURE_ALG: Final = "ES256"
"""ECDSA with P-256 and SHA-256: in every JOSE library an authority may use."""

SIGNATURE_HEADER: Final = "amtsweg-signature"
"""The Kafka header of a delivery envelope that holds its detached JWS."""

HTTP_SIGNATURE_HEADER: Final = "Amtsweg-Signature"
"""The HTTP response header of ``GET /v1/deliveries/{id}`` that holds it."""

KEYS_PATH: Final = "/v1/keys"
"""Where Amtsweg's HTTP API publishes its envelope signing keys (a JWK Set)."""

MAX_SIGNATURE_BYTES: Final = 1024


class EnvelopeSignatureError(ValueError):
    """An envelope is unsigned, signed by an unknown key, or its signature does not verify."""


@dataclass(frozen=True)
class SigningKey:
    """A private P-256 key, imported once: importing a JWK costs about as much as signing
    with it, and the relay signs every envelope it publishes."""

    kid: str
    key: ECKey

    @classmethod
    def of(cls, private_jwk: Mapping[str, Any]) -> SigningKey:
        """The key of a private JWK (``JoseError`` if it is not one)."""
        return cls(str(private_jwk["kid"]), ECKey.import_key(dict(private_jwk)))


@functools.cache
def _registry() -> jws.JWSRegistry:
    registry = jws.JWSRegistry(algorithms=[ENVELOPE_SIGNATURE_ALG])
    registry.max_payload_length = base64url_length(MAX_ENVELOPE_BYTES)
    return registry


def sign_envelope(envelope: bytes, signer: SigningKey) -> str:
    """The detached JWS of ``envelope`` with a private P-256 key (its ``kid`` named)."""
    header = {"alg": ENVELOPE_SIGNATURE_ALG, "kid": signer.kid}
    compact = jws.serialize_compact(header, envelope, signer.key, registry=_registry())
    protected, _payload, signature = compact.split(".")
    return f"{protected}..{signature}"


def signature_kid(signature: str) -> str:
    """The ``kid`` a detached JWS names; ``EnvelopeSignatureError`` if it is not one."""
    segments = signature.split(".")
    if len(signature) > MAX_SIGNATURE_BYTES or len(segments) != 3 or segments[1]:
        raise EnvelopeSignatureError("not a detached JWS compact serialization")
    try:
        header = json.loads(b64url_decode(segments[0]))
    except (MalformedReceiptError, ValueError) as error:
        raise EnvelopeSignatureError("the JWS header is not base64url JSON") from error
    if not isinstance(header, dict) or header.get("alg") != ENVELOPE_SIGNATURE_ALG:
        raise EnvelopeSignatureError(f"the JWS algorithm must be {ENVELOPE_SIGNATURE_ALG}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise EnvelopeSignatureError("the JWS names no kid")
    return kid


def verify_envelope(
    envelope: bytes, signature: str | None, keys: Mapping[str, Mapping[str, Any]]
) -> str:
    """The ``kid`` that signed ``envelope``; ``EnvelopeSignatureError`` otherwise.

    ``keys``: Amtsweg's public keys by ``kid`` (:func:`keys_by_id` of the JWK Set).
    """
    if signature is None:
        raise EnvelopeSignatureError("the envelope is not signed")
    kid = signature_kid(signature)
    jwk = keys.get(kid)
    if jwk is None:
        raise EnvelopeSignatureError(f"signed with an unknown key {kid!r}")
    try:
        key = ECKey.import_key(dict(jwk))
        jws.deserialize_compact(signature, key, registry=_registry(), payload=envelope)
    except JoseError as error:
        raise EnvelopeSignatureError(f"the signature does not verify ({error.error})") from error
    return kid


def keys_by_id(jwks: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The public signing keys of a JWK Set by ``kid``; ``EnvelopeSignatureError`` if the
    set is malformed or holds a private key (a published set never does)."""
    listed = jwks.get("keys")
    if not isinstance(listed, list):
        raise EnvelopeSignatureError("not a JWK Set")
    found: dict[str, dict[str, Any]] = {}
    for jwk in listed:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            raise EnvelopeSignatureError("a key of the set has no kid")
        if "d" in jwk:
            raise EnvelopeSignatureError("a published key set must hold public keys only")
        if jwk.get("kty") == "EC" and jwk.get("alg", ENVELOPE_SIGNATURE_ALG) == (
            ENVELOPE_SIGNATURE_ALG
        ):
            found[jwk["kid"]] = jwk
    return found
