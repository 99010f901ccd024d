"""Sealing bytes with a submission's data key: AES-256-GCM in segments.

A sealed blob is ``MAGIC`` + an 8-byte random nonce prefix, then segments of at most
``SEGMENT`` plaintext bytes, each encrypted and authenticated on its own (GCM tag of 16
bytes). Segment ``i`` uses the nonce ``prefix ‖ i`` (big-endian, 4 bytes), and its
associated data is the blob's name and whether it is the last segment, so a segment
cannot be moved, a blob cannot be cut short or grown, and a blob cannot be passed off
under another name. Large attachments are sealed and opened as streams, a segment at a
time (the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár, 2015).
"""

from __future__ import annotations

import os
import struct
from collections.abc import AsyncIterator, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"AWS1"
SEGMENT = 256 * 1024
"""Plaintext bytes per segment."""
TAG = 16
HEADER = len(MAGIC) + 8
MAX_SEGMENTS = 2**32


class SealError(Exception):
    """A sealed blob does not open with this key and name (tampered, truncated, other key)."""


def _aad(name: str, last: bool) -> bytes:
    return name.encode() + (b"\x01" if last else b"\x00")


def _nonce(prefix: bytes, index: int) -> bytes:
    if index >= MAX_SEGMENTS:
        msg = "too many segments for one blob"
        raise SealError(msg)
    return prefix + struct.pack(">I", index)


class Sealer:
    """Seals a stream of plaintext chunks into segments (incrementally)."""

    def __init__(self, key: bytes, name: str) -> None:
        self._aes = AESGCM(key)
        self._name = name
        self._prefix = os.urandom(8)
        self._index = 0
        self._buffer = bytearray()

    def header(self) -> bytes:
        """The blob's first bytes."""
        return MAGIC + self._prefix

    def update(self, chunk: bytes) -> Iterator[bytes]:
        """The segments ``chunk`` completes (a full segment waits until more follows)."""
        self._buffer += chunk
        while len(self._buffer) > SEGMENT:
            segment = bytes(self._buffer[:SEGMENT])
            del self._buffer[:SEGMENT]
            yield self._seal(segment, last=False)

    def finish(self) -> bytes:
        """The last segment (possibly of no plaintext)."""
        segment = bytes(self._buffer)
        self._buffer.clear()
        return self._seal(segment, last=True)

    def _seal(self, segment: bytes, *, last: bool) -> bytes:
        sealed = self._aes.encrypt(
            _nonce(self._prefix, self._index), segment, _aad(self._name, last)
        )
        self._index += 1
        return sealed


class Opener:
    """Opens a sealed blob from a stream of its bytes (incrementally)."""

    def __init__(self, key: bytes, name: str) -> None:
        self._aes = AESGCM(key)
        self._name = name
        self._prefix: bytes | None = None
        self._index = 0
        self._buffer = bytearray()
        self._done = False

    def update(self, chunk: bytes) -> Iterator[bytes]:
        """The plaintext of the segments ``chunk`` completes (the last waits for ``finish``)."""
        self._buffer += chunk
        if self._prefix is None:
            if len(self._buffer) < HEADER:
                return
            if bytes(self._buffer[: len(MAGIC)]) != MAGIC:
                msg = "not a sealed blob"
                raise SealError(msg)
            self._prefix = bytes(self._buffer[len(MAGIC) : HEADER])
            del self._buffer[:HEADER]
        while len(self._buffer) > SEGMENT + TAG:
            sealed = bytes(self._buffer[: SEGMENT + TAG])
            del self._buffer[: SEGMENT + TAG]
            yield self._open(sealed, last=False)

    def finish(self) -> bytes:
        """The plaintext of the last segment; ``SealError`` if the blob is incomplete."""
        if self._prefix is None or len(self._buffer) < TAG:
            msg = "the sealed blob is truncated"
            raise SealError(msg)
        plaintext = self._open(bytes(self._buffer), last=True)
        self._buffer.clear()
        return plaintext

    def _open(self, sealed: bytes, *, last: bool) -> bytes:
        assert self._prefix is not None
        try:
            plaintext = self._aes.decrypt(
                _nonce(self._prefix, self._index), sealed, _aad(self._name, last)
            )
        except InvalidTag as error:
            msg = f"blob {self._name} does not open with this key (tampered or truncated)"
            raise SealError(msg) from error
        self._index += 1
        return plaintext


def seal(key: bytes, name: str, plaintext: bytes) -> bytes:
    """``plaintext`` sealed as one blob."""
    sealer = Sealer(key, name)
    return b"".join([sealer.header(), *sealer.update(plaintext), sealer.finish()])


def open_sealed(key: bytes, name: str, sealed: bytes) -> bytes:
    """The plaintext of a sealed blob; ``SealError`` if it does not open."""
    opener = Opener(key, name)
    return b"".join([*opener.update(sealed), opener.finish()])


async def seal_stream(key: bytes, name: str, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The sealed blob of a plaintext stream, segment by segment."""
    sealer = Sealer(key, name)
    yield sealer.header()
    async for chunk in chunks:
        for segment in sealer.update(chunk):
            yield segment
    yield sealer.finish()


async def open_stream(key: bytes, name: str, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The plaintext of a sealed stream, segment by segment (authenticated before it is given)."""
    opener = Opener(key, name)
    async for chunk in chunks:
        for plaintext in opener.update(chunk):
            yield plaintext
    yield opener.finish()
