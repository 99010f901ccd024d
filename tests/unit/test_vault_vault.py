"""The vault: content sealed per submission, read back, and erased by destroying its key."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from events.blobs import BlobNotFoundError, BlobTooLargeError
from events.vault import ContentErasedError, Erasure, SealError, Vault, local_vault
from events.vault.cipher import SEGMENT

CONTENT = b"<antrag><name>Erika Mustermann (synthetic)</name></antrag>"


async def _chunks(content: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(content), size):
        yield content[start : start + size]


async def _read_stream(vault: Vault, submission_id: uuid.UUID, blob: str) -> bytes:
    return b"".join([chunk async for chunk in vault.stream(submission_id, blob)])


def _stored(vault: Vault, blob: str) -> bytes:
    """The bytes the blob store holds for ``blob`` (ciphertext)."""
    return vault.blobs.read(blob)


@pytest.fixture
def other_process(vault: Vault, tmp_path: Path) -> Iterator[Vault]:
    """The same vault as another process opens it (own key cache, same key store and blobs)."""
    opened = local_vault(tmp_path / "vault")
    yield opened
    opened.keys.close()


async def test_a_stream_is_sealed_and_read_back(vault: Vault) -> None:
    submission_id = uuid.uuid4()
    content = (CONTENT * (3 * SEGMENT // len(CONTENT) + 1))[: 3 * SEGMENT + 5]
    part = await vault.put_stream(submission_id, _chunks(content, 65_537), max_size=len(content))
    assert part.blob.startswith(f"{submission_id}/")
    assert part.sha512 == hashlib.sha512(content).hexdigest()
    assert part.size == len(content)
    assert await _read_stream(vault, submission_id, part.blob) == content
    assert vault.read(submission_id, part.blob) == content
    stored = _stored(vault, part.blob)
    assert b"Mustermann" not in stored
    assert len(stored) > len(content)


async def test_a_stream_past_its_limit_stores_nothing(vault: Vault) -> None:
    submission_id = uuid.uuid4()
    with pytest.raises(BlobTooLargeError):
        await vault.put_stream(submission_id, _chunks(CONTENT * 100, 256), max_size=1000)
    assert str(submission_id) not in set(vault.blobs.groups())


def test_bytes_and_documents_round_trip_sealed(vault: Vault) -> None:
    submission_id = uuid.uuid4()
    part = vault.put(submission_id, CONTENT)
    assert (part.sha512, part.size) == (hashlib.sha512(CONTENT).hexdigest(), len(CONTENT))
    assert vault.read(submission_id, part.blob) == CONTENT
    assert CONTENT not in _stored(vault, part.blob)
    document = {"routing": {"postalCode": "50667"}, "name": "Jürgen"}
    sealed = vault.put_document(submission_id, document)
    assert vault.read_document(submission_id, sealed.blob) == document
    assert b"50667" not in _stored(vault, sealed.blob)
    assert vault.exists(submission_id, part.blob)
    assert part.blob != vault.put(submission_id, CONTENT).blob  # a name says nothing of it


def test_a_blob_opens_only_under_its_own_name_and_submission(vault: Vault) -> None:
    submission_id = uuid.uuid4()
    one, two = vault.put(submission_id, b"one"), vault.put(submission_id, b"two")
    vault.blobs.write(two.blob, _stored(vault, one.blob))  # one's ciphertext under two's name
    with pytest.raises(SealError):
        vault.read(submission_id, two.blob)
    with pytest.raises(ValueError, match="does not belong"):
        vault.read(uuid.uuid4(), one.blob)


async def test_erase_destroys_the_key_then_deletes_every_blob(vault: Vault) -> None:
    submission_id, other = uuid.uuid4(), uuid.uuid4()
    parts = [vault.put(submission_id, CONTENT), vault.put_document(submission_id, {"a": 1})]
    parts.append(await vault.put_stream(submission_id, _chunks(CONTENT, 7), max_size=10_000))
    envelope = vault.put_envelope(submission_id, b'{"deliveryId":"d-1"}')
    kept = vault.put(other, CONTENT)

    assert vault.erase(submission_id) == Erasure(key_destroyed=True, blobs_deleted=4)

    assert vault.is_erased(submission_id)
    assert str(submission_id) not in set(vault.blobs.groups())
    for part in parts:
        with pytest.raises(BlobNotFoundError):
            vault.blobs.read(part.blob)
        assert not vault.exists(submission_id, part.blob)
        with pytest.raises(ContentErasedError):
            vault.read(submission_id, part.blob)
        with pytest.raises(ContentErasedError):
            await _read_stream(vault, submission_id, part.blob)
    with pytest.raises(ContentErasedError):
        vault.read_document(submission_id, parts[1].blob)
    assert vault.envelope(submission_id, envelope) is None
    with pytest.raises(ContentErasedError):
        vault.put(submission_id, CONTENT)  # nothing new is sealed for it
    with pytest.raises(ContentErasedError):
        vault.keys.create(submission_id)  # no key is made again for it
    assert vault.erase(submission_id) == Erasure(key_destroyed=False, blobs_deleted=0)
    assert vault.read(other, kept.blob) == CONTENT  # other submissions keep theirs
    assert not vault.is_erased(other)


def test_an_erasure_interrupted_after_the_key_is_completed_by_running_it_again(
    vault: Vault,
) -> None:
    submission_id = uuid.uuid4()
    part = vault.put(submission_id, CONTENT)
    vault.keys.destroy(submission_id)  # the crash came before the blobs were deleted
    with pytest.raises(ContentErasedError):
        vault.read(submission_id, part.blob)  # nothing readable in between
    assert vault.erase(submission_id) == Erasure(key_destroyed=False, blobs_deleted=1)
    assert not vault.blobs.exists(part.blob)


def test_the_envelope_is_given_as_published_and_checked_against_its_event(vault: Vault) -> None:
    submission_id = uuid.uuid4()
    published = json.dumps({"deliveryId": "d-1", "schemaVersion": 2}).encode()
    reference = vault.put_envelope(submission_id, published)
    assert set(reference) == {"blob", "sha256"}
    assert reference["sha256"] == hashlib.sha256(published).hexdigest()
    assert reference["blob"].startswith(f"{submission_id}/")
    assert vault.envelope(submission_id, reference) == published

    forged = reference | {"sha256": hashlib.sha256(b"another envelope").hexdigest()}
    with pytest.raises(SealError, match="differs from the one its event recorded"):
        vault.envelope(submission_id, forged)
    other = vault.put_envelope(submission_id, b'{"deliveryId":"d-2"}')
    with pytest.raises(SealError):  # another envelope of the same submission
        vault.envelope(submission_id, {"blob": other["blob"], "sha256": reference["sha256"]})

    vault.erase(submission_id)
    assert vault.envelope(submission_id, reference) is None
    assert vault.envelope(submission_id, forged) is None  # erased: nothing to compare


def test_content_erased_by_another_process_is_erased_here_too(
    vault: Vault, other_process: Vault
) -> None:
    """The relay, delivery and ops run as processes of their own on one key store."""
    submission_id = uuid.uuid4()
    reference = vault.put_envelope(submission_id, b'{"deliveryId":"d-1"}')
    assert vault.envelope(submission_id, reference) is not None  # this process has the key

    other_process.erase(submission_id)

    assert vault.is_erased(submission_id)
    assert vault.envelope(submission_id, reference) is None
    with pytest.raises(ContentErasedError):
        vault.put(submission_id, CONTENT)
