"""Decrypting the JWEs FIT-Connect senders make (compact serialization, RFC 7516).

What real clients send: ``alg`` ``RSA-OAEP-256``, ``enc`` ``A256GCM``, often ``zip: DEF``
(raw DEFLATE, RFC 1951), ``kid`` the destination key's id or its RFC 7638 thumbprint, and
a ``cty`` that need not describe the content (it is not trusted). The content is inflated
with a limit, so a small JWE cannot unpack into an unbounded amount of memory. Every
failure is a :class:`JweError` naming what is wrong, never the content.

:class:`JweDecryptor` takes the compact serialization in chunks of any size and gives the
plaintext as it goes: the base64url ciphertext is decoded, decrypted (AES-GCM, incremental)
and inflated a piece at a time, so an attachment of tens of MB never needs to be in memory
whole. The authentication tag comes last: plaintext given before :meth:`JweDecryptor.finish`
is *unauthenticated* and counts only once ``finish`` returned; a caller writes it where it
can be thrown away (the vault's blob store commits a streamed blob only when the stream
ends without an error). Content that turns out too large or not DEFLATE stops the
plaintext, but the rest is still decrypted: ``finish`` names tampering first, so a
tampered JWE never tells what its altered content inflated to. :func:`decrypt` is the
same for a JWE held in memory.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import json
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import AEADDecryptionContext, Cipher, algorithms, modes

ALG = "RSA-OAEP-256"
ENC = "A256GCM"
_INFLATE_CHUNK = 256 * 1024
"""Most plaintext one inflate step makes (a DEFLATE bomb grows memory by no more)."""
MAX_HEADER_CHARS = 16 * 1024
"""The protected header, wrapped key and IV together (an RSA-4096 key wraps to 683 chars)."""
_TAG_CHARS = 64
_B64URL = bytes.maketrans(b"-_", b"+/")
_WHITESPACE = b" \t\r\n"


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
    decryptor = JweDecryptor(private_key_of, max_size)
    try:
        encoded = compact.encode("ascii")
    except UnicodeEncodeError:
        raise JweError("a part is not base64url") from None
    pieces = decryptor.feed(encoded)
    pieces.append(decryptor.finish())
    return Decrypted(b"".join(pieces), decryptor.kid, decryptor.authentication_tag)


async def decrypted_stream(
    chunks: AsyncIterator[bytes], decryptor: JweDecryptor
) -> AsyncIterator[bytes]:
    """The plaintext of a streamed JWE, piece by piece; the last piece only once the tag
    verified (``JweError`` instead: whoever consumes the stream must then drop it all).
    The work (the key's unwrapping, decoding, decryption, inflation) runs in worker
    threads, a chunk at a time."""
    async for chunk in chunks:
        pieces = decryptor.pieces(chunk)
        while batch := await asyncio.to_thread(_next_pieces, pieces):
            for piece in batch:
                yield piece
    last = await asyncio.to_thread(decryptor.finish)
    if last:
        yield last


def _next_pieces(pieces: Iterator[bytes], most: int = 4) -> list[bytes]:
    return list(itertools.islice(pieces, most))


class JweDecryptor:
    """One compact JWE, fed in chunks: :meth:`feed` gives plaintext as it is decrypted,
    :meth:`finish` checks the tag (and that the content is complete)."""

    def __init__(self, private_key_of: PrivateKeyOf, max_size: int) -> None:
        self._private_key_of = private_key_of
        self._max_size = max_size
        self._head = bytearray()
        """The first three parts until the third dot (header, wrapped key, IV)."""
        self._header_b64 = b""
        self._decryptor: AEADDecryptionContext | None = None
        self._pending = bytearray()
        """Ciphertext characters not yet decoded (fewer than four)."""
        self._tag = bytearray()
        self._in_tag = False
        self._inflater: zlib._Decompress | None = None
        self._size = 0
        self._failure: JweError | None = None
        """What went wrong with the (not yet authenticated) content: raised by
        :meth:`finish` unless the tag shows the JWE was tampered with."""
        self.kid = ""
        self.authentication_tag = ""

    def feed(self, chunk: bytes) -> list[bytes]:
        """The plaintext this chunk completes (unauthenticated until :meth:`finish`)."""
        return list(self.pieces(chunk))

    def pieces(self, chunk: bytes) -> Iterator[bytes]:
        """:meth:`feed` a piece (of at most 256 KiB) at a time: a chunk that inflates a
        thousandfold is never all in memory. Take every piece before the next chunk."""
        if self._in_tag:
            self._add_tag(chunk)
            return
        if self._decryptor is None:
            self._head += chunk
            if self._head.count(b".") < 3:
                if len(self._head) > MAX_HEADER_CHARS:
                    raise JweError("not a compact JWE (five base64url parts)")
                return
            chunk = self._start()
        dot = chunk.find(b".")
        if dot >= 0:
            self._in_tag = True
            self._add_tag(chunk[dot + 1 :])
            chunk = chunk[:dot]
        yield from self._ciphertext(chunk)

    def finish(self) -> bytes:
        """The last plaintext, once the authentication tag verified and the content is
        complete; ``JweError`` otherwise."""
        if self._decryptor is None or not self._in_tag:
            raise JweError("not a compact JWE (five base64url parts)")
        tag_b64 = bytes(self._tag).strip(_WHITESPACE)
        if b"." in tag_b64:
            raise JweError("not a compact JWE (five base64url parts)")
        tag = _b64(tag_b64)
        if len(tag) != 16:
            raise JweError("content key, IV or tag have the wrong size for A256GCM")
        last = self._decrypted(_b64(bytes(self._pending)))
        self._pending.clear()
        try:
            last += self._gcm().finalize_with_tag(tag)
        except InvalidTag:
            raise JweError("the JWE was tampered with (authentication failed)") from None
        pieces = list(self._plaintext(last))
        if self._failure is None and self._inflater is not None and not self._inflater.eof:
            self._failure = JweError("the compressed content is truncated")
        if self._failure is not None:
            raise self._failure
        self.authentication_tag = tag_b64.decode("ascii")
        return b"".join(pieces)

    def _start(self) -> bytes:
        """Open the content key from the first three parts; the rest of the chunk."""
        head = bytes(self._head).lstrip(_WHITESPACE)
        self._head.clear()
        header_b64, wrapped_b64, iv_b64, rest = head.split(b".", 3)
        header = _header(header_b64)
        if header.get("alg") != ALG or header.get("enc") != ENC:
            raise JweError(f"only alg {ALG} with enc {ENC} is accepted")
        if "crit" in header:
            raise JweError("critical header parameters are not supported")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise JweError("the JWE names no key (kid)")
        zip_ = header.get("zip")
        if zip_ == "DEF":
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        elif zip_ is not None:
            raise JweError(f"unsupported zip {zip_!r}")
        key = self._private_key_of(kid)
        if key is None:
            raise JweError("the JWE is encrypted to a key this destination does not have")
        try:
            cek = key.decrypt(
                _b64(wrapped_b64),
                padding.OAEP(
                    mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None
                ),
            )
        except ValueError:
            raise JweError("the content key cannot be unwrapped (wrong key or tampered)") from None
        iv = _b64(iv_b64)
        if len(cek) != 32 or len(iv) != 12:
            raise JweError("content key, IV or tag have the wrong size for A256GCM")
        decryptor = Cipher(algorithms.AES(cek), modes.GCM(iv)).decryptor()
        decryptor.authenticate_additional_data(header_b64)
        self._decryptor = decryptor
        self._header_b64 = header_b64
        self.kid = kid
        return rest

    def _ciphertext(self, chunk: bytes) -> Iterator[bytes]:
        self._pending += chunk
        usable = len(self._pending) - len(self._pending) % 4
        if usable == 0:
            return
        encoded = bytes(self._pending[:usable])
        del self._pending[:usable]
        yield from self._plaintext(self._decrypted(_b64(encoded)))

    def _plaintext(self, decrypted: bytes) -> Iterator[bytes]:
        """Inflated and counted; nothing once the content failed (too large, not DEFLATE):
        the rest is still decrypted, so :meth:`finish` tells tampering from bad content."""
        if self._failure is not None or not decrypted:
            return
        try:
            if self._inflater is None:
                self._count(len(decrypted))
                yield decrypted
                return
            yield from self._inflated(decrypted)
        except JweError as failure:
            self._failure = failure

    def _decrypted(self, ciphertext: bytes) -> bytes:
        return self._gcm().update(ciphertext) if ciphertext else b""

    def _gcm(self) -> AEADDecryptionContext:
        assert self._decryptor is not None
        return self._decryptor

    def _inflated(self, compressed: bytes) -> Iterator[bytes]:
        """Raw DEFLATE, a bounded piece at a time, stopped past the limit."""
        assert self._inflater is not None
        while True:
            try:
                piece = self._inflater.decompress(compressed, _INFLATE_CHUNK)
            except zlib.error:
                raise JweError("the compressed content is not DEFLATE") from None
            self._count(len(piece), inflated=True)
            if piece:
                yield piece
            compressed = self._inflater.unconsumed_tail
            if not compressed and len(piece) < _INFLATE_CHUNK:
                return

    def _count(self, size: int, *, inflated: bool = False) -> None:
        self._size += size
        if self._size > self._max_size:
            once = " once inflated" if inflated else ""
            raise JweError(f"the content exceeds {self._max_size} bytes{once}")

    def _add_tag(self, chunk: bytes) -> None:
        self._tag += chunk
        if len(self._tag) > _TAG_CHARS:
            raise JweError("not a compact JWE (five base64url parts)")


def _header(text: bytes) -> dict[str, object]:
    try:
        header = json.loads(_b64(text))
    except (ValueError, UnicodeDecodeError):
        raise JweError("the protected header is not JSON") from None
    if not isinstance(header, dict):
        raise JweError("the protected header is not a JSON object")
    return header


def _b64(text: bytes) -> bytes:
    """Strict base64url (no padding, nothing outside the alphabet)."""
    try:
        return base64.b64decode(text.translate(_B64URL) + b"=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise JweError("a part is not base64url") from None
