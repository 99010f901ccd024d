"""The sealed format: AES-256-GCM in segments, bound to the blob's name and its end."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from events.vault.cipher import (
    HEADER,
    MAGIC,
    SEGMENT,
    TAG,
    SealError,
    open_sealed,
    open_stream,
    seal,
    seal_stream,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
NAME = "7f0c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f/0123456789abcdef0123456789abcdef"
SIZES = [0, 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 5]
SIZE_IDS = ["0", "1", "SEGMENT", "SEGMENT+1", "3*SEGMENT+5"]
STRIDE = SEGMENT + TAG
"""A full segment's sealed bytes."""


def _plaintext(size: int) -> bytes:
    return os.urandom(size)


def _segments(size: int) -> int:
    """How many segments a plaintext of ``size`` bytes is sealed in (the last may be empty)."""
    return max(1, -(-size // SEGMENT))


async def _chunks(content: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(content), size):
        yield content[start : start + size]


async def _joined(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_round_trip(size: int) -> None:
    plaintext = _plaintext(size)
    sealed = seal(KEY, NAME, plaintext)
    assert sealed.startswith(MAGIC)
    assert len(sealed) == HEADER + size + _segments(size) * TAG
    assert open_sealed(KEY, NAME, sealed) == plaintext


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
async def test_stream_round_trip_in_chunks_of_any_size(size: int) -> None:
    plaintext = _plaintext(size)
    sealed = await _joined(seal_stream(KEY, NAME, _chunks(plaintext, 100_003)))
    assert len(sealed) == HEADER + size + _segments(size) * TAG
    assert open_sealed(KEY, NAME, sealed) == plaintext  # the same format as ``seal``
    for chunk_size in (1_000, 7 * SEGMENT):
        opened = await _joined(open_stream(KEY, NAME, _chunks(sealed, chunk_size)))
        assert opened == plaintext
    assert await _joined(open_stream(KEY, NAME, _chunks(seal(KEY, NAME, plaintext), 4096))) == (
        plaintext
    )


def test_the_same_plaintext_seals_differently_each_time() -> None:
    plaintext = b"<antrag/>"
    assert seal(KEY, NAME, plaintext) != seal(KEY, NAME, plaintext)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_tampering_any_byte_is_found(size: int) -> None:
    sealed = seal(KEY, NAME, _plaintext(size))
    positions = {
        0,  # the magic
        len(MAGIC),  # the nonce prefix
        HEADER,  # the first segment
        HEADER + min(size, SEGMENT),  # the first segment's tag
        len(sealed) // 2,
        len(sealed) - 1,  # the last tag
    }
    for position in sorted(positions):
        tampered = bytearray(sealed)
        tampered[position] ^= 0x01
        with pytest.raises(SealError):
            open_sealed(KEY, NAME, bytes(tampered))


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_truncating_is_found(size: int) -> None:
    sealed = seal(KEY, NAME, _plaintext(size))
    cuts = {0, len(MAGIC), HEADER - 1, HEADER, HEADER + TAG - 1, len(sealed) - 1}
    cuts |= {HEADER + i * STRIDE for i in range(1, _segments(size))}  # at segment borders
    for cut in sorted(c for c in cuts if c < len(sealed)):
        with pytest.raises(SealError):
            open_sealed(KEY, NAME, sealed[:cut])


async def test_a_stream_cut_at_a_segment_border_is_found() -> None:
    sealed = seal(KEY, NAME, _plaintext(3 * SEGMENT + 5))
    cut = sealed[: HEADER + 2 * STRIDE]  # two whole segments, neither marked as the last
    with pytest.raises(SealError):
        await _joined(open_stream(KEY, NAME, _chunks(cut, 65_536)))


def test_appending_to_a_blob_is_found() -> None:
    plaintext = _plaintext(SEGMENT)
    sealed = seal(KEY, NAME, plaintext)
    with pytest.raises(SealError):
        open_sealed(KEY, NAME, sealed + seal(KEY, NAME, b"more")[HEADER:])
    with pytest.raises(SealError):
        open_sealed(KEY, NAME, sealed + b"\x00")


def test_swapping_segments_is_found() -> None:
    sealed = seal(KEY, NAME, _plaintext(3 * SEGMENT + 5))
    header, body = sealed[:HEADER], sealed[HEADER:]
    first, second, rest = body[:STRIDE], body[STRIDE : 2 * STRIDE], body[2 * STRIDE :]
    with pytest.raises(SealError):
        open_sealed(KEY, NAME, header + second + first + rest)
    last = body[3 * STRIDE :]
    with pytest.raises(SealError):  # the short last segment moved to the front
        open_sealed(KEY, NAME, header + last + body[: 3 * STRIDE])


def test_segments_of_another_blob_under_the_same_key_do_not_fit() -> None:
    one = seal(KEY, NAME, _plaintext(2 * SEGMENT + 1))
    other = seal(KEY, NAME, _plaintext(2 * SEGMENT + 1))
    spliced = one[: HEADER + STRIDE] + other[HEADER + STRIDE :]  # another nonce prefix
    with pytest.raises(SealError):
        open_sealed(KEY, NAME, spliced)


@pytest.mark.parametrize("size", [0, SEGMENT + 1], ids=["0", "SEGMENT+1"])
def test_another_name_or_key_does_not_open_it(size: int) -> None:
    sealed = seal(KEY, NAME, _plaintext(size))
    with pytest.raises(SealError):
        open_sealed(KEY, NAME.replace("0123", "3210"), sealed)
    with pytest.raises(SealError):
        open_sealed(OTHER_KEY, NAME, sealed)


def test_bytes_that_are_no_sealed_blob_are_refused() -> None:
    with pytest.raises(SealError, match="not a sealed blob"):
        open_sealed(KEY, NAME, b"%PDF-1.7 " + b"x" * 64)
    with pytest.raises(SealError, match="truncated"):
        open_sealed(KEY, NAME, b"")
