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
