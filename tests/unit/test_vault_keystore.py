"""The key store on SQLite: one wrapped data key per submission, destroyed for good."""

from __future__ import annotations

import secrets
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from events.lifecycle import ContentErasedError
from events.vault.kek import KeyEncryptionKeyError, LocalKeyFile
from events.vault.keystore import KeyNotFoundError, KeyState, KeyStore


@pytest.fixture
def kek() -> LocalKeyFile:
    return LocalKeyFile("kek-1", secrets.token_bytes(32))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "keys.sqlite3"


@pytest.fixture
def store(path: Path, kek: LocalKeyFile) -> Iterator[KeyStore]:
    opened = KeyStore.sqlite(path, kek)
    yield opened
    opened.close()


def _reopen(path: Path, kek: LocalKeyFile) -> KeyStore:
    """The same key store opened anew (no cache): what another process sees."""
    return KeyStore.sqlite(path, kek)


def _wrapped(path: Path, submission_id: uuid.UUID) -> bytes | None:
    with closing(sqlite3.connect(path)) as connection:
        row = connection.execute(
            "SELECT wrapped FROM amtsweg_data_keys WHERE submission_id = ?", (str(submission_id),)
        ).fetchone()
    assert row is not None
    return None if row[0] is None else bytes(row[0])


def _stored_bytes(folder: Path) -> bytes:
    """Everything in the key store's folder (the database and any journal left)."""
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())


def test_create_is_idempotent_and_the_key_is_stored(
    store: KeyStore, path: Path, kek: LocalKeyFile
) -> None:
    submission_id = uuid.uuid4()
    assert store.state(submission_id) == KeyState(None, None)
    key = store.create(submission_id)
    assert len(key) == 32
    assert store.create(submission_id) == key
    assert store.data_key(submission_id) == key
    state = store.state(submission_id)
    assert state.live
    assert state.created_at is not None
    assert state.destroyed_at is None
    assert store.kek_id == "kek-1"

    again = _reopen(path, kek)
    try:
        assert again.data_key(submission_id) == key
        assert again.create(submission_id) == key  # a second process gets the same key
    finally:
        again.close()
    assert store.create(uuid.uuid4()) != key  # one key per submission


def test_the_key_is_stored_wrapped_under_the_submission(store: KeyStore, path: Path) -> None:
    submission_id = uuid.uuid4()
    key = store.create(submission_id)
    wrapped = _wrapped(path, submission_id)
    assert wrapped is not None
    assert key not in wrapped
    assert key not in _stored_bytes(path.parent)


def test_a_key_never_created_is_not_found(store: KeyStore) -> None:
    with pytest.raises(KeyNotFoundError):
        store.data_key(uuid.uuid4())


def test_destroy_leaves_a_tombstone_and_the_key_cannot_come_back(
    store: KeyStore, path: Path, kek: LocalKeyFile
) -> None:
    submission_id = uuid.uuid4()
    store.create(submission_id)
    assert store.destroy(submission_id) is True
    assert store.destroy(submission_id) is False  # destroyed before: nothing more to do
    state = store.state(submission_id)
    assert state.destroyed_at is not None
    assert state.created_at is not None
    assert not state.live
    with pytest.raises(ContentErasedError):
        store.data_key(submission_id)
    with pytest.raises(ContentErasedError):
        store.create(submission_id)

    again = _reopen(path, kek)
    try:
        with pytest.raises(ContentErasedError):
            again.create(submission_id)
        assert not again.state(submission_id).live
    finally:
        again.close()


def test_destroying_a_key_never_created_still_bars_it(store: KeyStore) -> None:
    submission_id = uuid.uuid4()
    assert store.destroy(submission_id) is False
    assert store.state(submission_id).destroyed_at is not None
    with pytest.raises(ContentErasedError):
        store.create(submission_id)


def test_destroyed_key_bytes_are_gone_from_the_file(store: KeyStore, path: Path) -> None:
    kept, erased = uuid.uuid4(), uuid.uuid4()
    store.create(kept)
    store.create(erased)
    wrapped = _wrapped(path, erased)
    assert wrapped is not None
    assert wrapped in _stored_bytes(path.parent)

    store.destroy(erased)

    assert _wrapped(path, erased) is None
    remaining = _stored_bytes(path.parent)
    assert wrapped not in remaining
    assert wrapped[12:28] not in remaining  # not even a piece of the ciphertext
    kept_wrapped = _wrapped(path, kept)
    assert kept_wrapped is not None
    assert kept_wrapped in remaining
    assert not list(path.parent.glob("*-journal"))  # no rollback journal left behind


def test_a_wrong_kek_does_not_open_the_store(store: KeyStore, path: Path) -> None:
    submission_id = uuid.uuid4()
    store.create(submission_id)
    wrong = LocalKeyFile("kek-2", secrets.token_bytes(32))
    with pytest.raises(KeyEncryptionKeyError, match="'kek-2' does not open this key store") as e:
        KeyStore.sqlite(path, wrong)
    assert "'kek-1'" in str(e.value)  # it names the key the store was made with
    same_id = LocalKeyFile("kek-1", secrets.token_bytes(32))  # the name alone is no key
    with pytest.raises(KeyEncryptionKeyError):
        KeyStore.sqlite(path, same_id)


def test_forget_removes_an_orphan_key_entirely(store: KeyStore) -> None:
    submission_id = uuid.uuid4()
    key = store.create(submission_id)
    store.forget(submission_id)
    assert store.state(submission_id) == KeyState(None, None)
    with pytest.raises(KeyNotFoundError):
        store.data_key(submission_id)
    assert store.create(submission_id) != key


def test_live_keys_created_before_a_cutoff(store: KeyStore) -> None:
    live, destroyed = uuid.uuid4(), uuid.uuid4()
    store.create(live)
    store.create(destroyed)
    store.destroy(destroyed)
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert store.live_keys_created_before(later) == [live]
    assert store.live_keys_created_before(later - timedelta(hours=1)) == []
    assert store.live_keys_created_before(later, limit=0) == []
