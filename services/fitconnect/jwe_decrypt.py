"""Decrypting the JWEs FIT-Connect senders make (compact serialization, RFC 7516).

What real clients send: ``alg`` ``RSA-OAEP-256``, ``enc`` ``A256GCM``, often ``zip: DEF``
(raw DEFLATE, RFC 1951), ``kid`` the destination key's id or its RFC 7638 thumbprint, and
a ``cty`` that need not describe the content (it is not trusted). The content is inflated
with a limit, so a small JWE cannot unpack into an unbounded amount of memory. Every
failure is a :class:`JweError` naming what is wrong, never the content.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ALG = "RSA-OAEP-256"
ENC = "A256GCM"
_INFLATE_CHUNK = 1024 * 1024


class JweError(ValueError):
    """A JWE could not be decrypted (malformed, wrong key, tampered, too large)."""


@dataclass(frozen=True)
class Decrypted:
    """A JWE's plaintext and what identifies it."""

    plaintext: bytes
    kid: str
    authentication_tag: str
    """The JWE's authentication tag (base64url), as FIT-Connect's events name it."""


PrivateKeyOf = Callable[[str], rsa.RSAPrivateKey | None]
"""The destination's private key a ``kid`` (or thumbprint) names, or None."""


def decrypt(compact: str, private_key_of: PrivateKeyOf, max_size: int) -> Decrypted:
    """The plaintext of ``compact`` (at most ``max_size`` bytes once inflated)."""
    parts = compact.strip().split(".")
    if len(parts) != 5:
        raise JweError("not a compact JWE (five base64url parts)")
    header_b64, wrapped_b64, iv_b64, ciphertext_b64, tag_b64 = parts
    header = _header(header_b64)
    if header.get("alg") != ALG or header.get("enc") != ENC:
        raise JweError(f"only alg {ALG} with enc {ENC} is accepted")
    if "crit" in header:
        raise JweError("critical header parameters are not supported")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise JweError("the JWE names no key (kid)")
    key = private_key_of(kid)
    if key is None:
        raise JweError("the JWE is encrypted to a key this destination does not have")
    try:
        cek = key.decrypt(
            _b64(wrapped_b64),
            padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
        )
    except ValueError:
        raise JweError("the content key cannot be unwrapped (wrong key or tampered)") from None
    iv, tag = _b64(iv_b64), _b64(tag_b64)
    if len(cek) != 32 or len(iv) != 12 or len(tag) != 16:
        raise JweError("content key, IV or tag have the wrong size for A256GCM")
    try:
        content = AESGCM(cek).decrypt(iv, _b64(ciphertext_b64) + tag, header_b64.encode("ascii"))
    except InvalidTag:
        raise JweError("the JWE was tampered with (authentication failed)") from None
    zip_ = header.get("zip")
    if zip_ == "DEF":
        content = _inflate(content, max_size)
    elif zip_ is not None:
        raise JweError(f"unsupported zip {zip_!r}")
    elif len(content) > max_size:
        raise JweError(f"the content exceeds {max_size} bytes")
    return Decrypted(content, kid, tag_b64)


def _header(text: str) -> dict[str, object]:
    try:
        header = json.loads(_b64(text))
    except (ValueError, UnicodeDecodeError):
        raise JweError("the protected header is not JSON") from None
    if not isinstance(header, dict):
        raise JweError("the protected header is not a JSON object")
    return header


def _b64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise JweError("a part is not base64url") from None


def _inflate(compressed: bytes, max_size: int) -> bytes:
    """Raw DEFLATE, stopped past ``max_size`` bytes of output."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        out = inflater.decompress(compressed, max_size + 1)
    except zlib.error:
        raise JweError("the compressed content is not DEFLATE") from None
    if len(out) > max_size or inflater.unconsumed_tail:
        raise JweError(f"the content exceeds {max_size} bytes once inflated")
    if not inflater.eof:
        raise JweError("the compressed content is truncated")
    return out
