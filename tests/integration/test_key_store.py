"""The key store beside the ledger, on SQLite and on PostgreSQL."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path

import pytest

from events.settings import LedgerSettings
from events.vault import ContentErasedError, KeyEncryptionKeyError, LocalKeyFile, VaultSettings
from events.vault.settings import open_key_store


def test_keys_are_created_once_destroyed_for_good_and_guarded_by_the_kek(
    ledger_settings: LedgerSettings, tmp_path: Path
) -> None:
    kek = LocalKeyFile("kek-1", secrets.token_bytes(32))
    store = open_key_store(VaultSettings(data_dir=tmp_path), ledger_settings, kek)
    submission_id, other = uuid.uuid4(), uuid.uuid4()
    key = store.create(submission_id)
    assert store.create(submission_id) == key
    store.create(other)

    reopened = open_key_store(VaultSettings(data_dir=tmp_path), ledger_settings, kek)
    assert reopened.data_key(submission_id) == key  # from the database, unwrapped
    assert reopened.destroy(submission_id) is True
    assert reopened.destroy(submission_id) is False
    reopened.vacuum()
    with pytest.raises(ContentErasedError):
        reopened.data_key(submission_id)
    with pytest.raises(ContentErasedError):
        reopened.create(submission_id)  # the tombstone: never again
    assert reopened.state(submission_id).destroyed_at is not None
    assert reopened.state(other).live

    wrong = LocalKeyFile("kek-2", secrets.token_bytes(32))
    with pytest.raises(KeyEncryptionKeyError, match="does not open this key store"):
        open_key_store(VaultSettings(data_dir=tmp_path), ledger_settings, wrong)
    for opened in (store, reopened):
        opened.close()


def test_a_batch_of_keys_is_created_together_and_an_erased_one_stays_erased(
    ledger_settings: LedgerSettings, tmp_path: Path
) -> None:
    kek = LocalKeyFile("kek-1", secrets.token_bytes(32))
    store = open_key_store(VaultSettings(data_dir=tmp_path), ledger_settings, kek)
    existing, erased = uuid.uuid4(), uuid.uuid4()
    existing_key = store.create(existing)
    store.create(erased)
    store.destroy(erased)
    fresh = [uuid.uuid4() for _ in range(5)]

    store.create_all([*fresh, existing, erased, fresh[0]])

    reopened = open_key_store(VaultSettings(data_dir=tmp_path), ledger_settings, kek)
    for submission_id in fresh:  # stored, and the one this process was given
        assert reopened.state(submission_id).live
        assert reopened.data_key(submission_id) == store.create(submission_id)
    assert store.create(existing) == existing_key  # kept, not replaced
    with pytest.raises(ContentErasedError):
        store.create(erased)  # left to create, which refuses the tombstone
    for opened in (store, reopened):
        opened.close()
