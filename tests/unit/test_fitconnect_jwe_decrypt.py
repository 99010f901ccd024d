"""Decrypting senders' JWEs, whole or streamed in chunks of any size."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import zlib
from collections.abc import AsyncIterator

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc import jwe
from joserfc.jwk import RSAKey

from services.fitconnect.jwe_decrypt import JweDecryptor, JweError, decrypt, decrypted_stream

PRIVATE = rsa.generate_private_key(65537, 2048)
KEY = RSAKey.import_key(PRIVATE, parameters={"kid": "key-1"})
ALGORITHMS = ["RSA-OAEP-256", "A256GCM", "DEF"]
CONTENT = b"%PDF-1.4\n" + os.urandom(3000) + b"Anlage " * 50_000 + b"\n%%EOF\n"


def _jwe(content: bytes, *, zip_: bool = True, kid: str = "key-1") -> str:
    header = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": kid} | (
        {"zip": "DEF"} if zip_ else {}
    )
    return jwe.encrypt_compact(header, content, KEY, algorithms=ALGORITHMS)


def _handmade(header: dict[str, str], payload: bytes) -> str:
    """A JWE whose (already compressed, or not) payload is encrypted as it is."""
    cek, iv = os.urandom(32), os.urandom(12)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    protected = _b64(json.dumps(header).encode())
    sealed = AESGCM(cek).encrypt(iv, payload, protected.encode())
    wrapped = PRIVATE.public_key().encrypt(cek, oaep)
    parts = (protected, _b64(wrapped), _b64(iv), _b64(sealed[:-16]), _b64(sealed[-16:]))
    return ".".join(parts)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _key_of(kid: str) -> rsa.RSAPrivateKey | None:
    return PRIVATE if kid in {"key-1", KEY.thumbprint()} else None


def _streamed(compact: str, size: int, max_size: int = 10**7) -> tuple[bytes, JweDecryptor]:
    encoded = compact.encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(encoded), size):
            yield encoded[start : start + size]

    async def run() -> tuple[bytes, JweDecryptor]:
        decryptor = JweDecryptor(_key_of, max_size)
        return b"".join([piece async for piece in decrypted_stream(chunks(), decryptor)]), decryptor

    return asyncio.run(run())


@pytest.mark.parametrize(
    ("size", "zip_"),
    [
        (1, True),
        (3, True),
        (7, True),
        (1000, False),
        (65_536, True),
        (65_536, False),
        (10**8, True),
    ],
)
def test_a_jwe_streamed_in_chunks_of_any_size_gives_its_plaintext_and_tag(
    size: int, zip_: bool
) -> None:
    compact = _jwe(CONTENT, zip_=zip_)
    plaintext, decryptor = _streamed(compact, size)
    assert plaintext == CONTENT
    assert decryptor.authentication_tag == compact.split(".")[4]
    assert decryptor.kid == "key-1"
    whole = decrypt(compact, _key_of, 10**7)
    assert (whole.plaintext, whole.authentication_tag) == (CONTENT, decryptor.authentication_tag)


def test_the_kid_may_be_the_keys_thumbprint() -> None:
    assert decrypt(_jwe(b"x", kid=KEY.thumbprint()), _key_of, 10).plaintext == b"x"


def _tampered(compact: str, part: int) -> str:
    parts = compact.split(".")
    text = parts[part]
    parts[part] = ("A" if text[0] != "A" else "B") + text[1:]
    return ".".join(parts)


@pytest.mark.parametrize(
    ("part", "message"),
    [(3, "tampered"), (4, "tampered"), (2, "tampered"), (1, "unwrapped"), (0, "protected header")],
)
def test_a_tampered_jwe_fails_at_the_end_and_gives_no_last_piece(part: int, message: str) -> None:
    compact = _tampered(_jwe(CONTENT), part)
    with pytest.raises(JweError, match=message):
        _streamed(compact, 4096)
    with pytest.raises(JweError, match=message):
        decrypt(compact, _key_of, 10**7)


def test_the_inflated_size_is_limited_while_it_streams() -> None:
    bomb = _jwe(b"\0" * 5_000_000)
    assert len(bomb) < 20_000
    decryptor = JweDecryptor(_key_of, 1_000_000)
    given = decryptor.feed(bomb.encode())
    assert 0 < sum(map(len, given)) <= 1_000_000  # stopped inside one feed, at the limit
    assert max(map(len, given)) <= 256 * 1024  # a piece at a time
    with pytest.raises(JweError, match="exceeds 1000000 bytes once inflated"):
        decryptor.finish()
    with pytest.raises(JweError, match="tampered"):  # tampering is named first
        decrypt(_tampered(bomb, 4), _key_of, 1_000_000)
    with pytest.raises(JweError, match="exceeds 4999999 bytes once inflated"):
        decrypt(bomb, _key_of, 4_999_999)
    assert len(decrypt(bomb, _key_of, 5_000_000).plaintext) == 5_000_000


def test_an_uncompressed_content_is_limited_too() -> None:
    with pytest.raises(JweError, match="exceeds 99 bytes"):
        _streamed(_jwe(b"y" * 100, zip_=False), 7, max_size=99)


def test_truncated_or_malformed_jwes_are_refused() -> None:
    compact = _jwe(CONTENT)
    parts = compact.split(".")
    deflated = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    raw = deflated.compress(CONTENT) + deflated.flush()
    header = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": "key-1", "zip": "DEF"}
    cases = {
        ".".join(parts[:4]): "five base64url parts",
        compact + ".x": "five base64url parts",
        ".".join([*parts[:3], parts[3][:-10] + "!!", parts[4]]): "not base64url",
        _jwe(b"z", kid="other"): "does not have",
        "": "five base64url parts",
        _handmade(header, raw[:-100]): "truncated",
        _handmade(header, b"not deflate at all" * 10): "not DEFLATE",
        _handmade(header | {"zip": "GZ"}, raw): "unsupported zip",
        _handmade(header | {"alg": "RSA1_5"}, raw): "only alg",
        _handmade({"alg": "RSA-OAEP-256", "enc": "A256GCM"}, raw): "names no key",
    }
    for text, message in cases.items():
        with pytest.raises(JweError, match=message):
            decrypt(text, _key_of, 10**7)
        with pytest.raises(JweError, match=message):
            _streamed(text, 100)
    assert decrypt(_handmade(header, raw), _key_of, 10**7).plaintext == CONTENT
    assert decrypt(_jwe(b""), _key_of, 1).plaintext == b""
