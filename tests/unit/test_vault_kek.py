"""The key-encryption key in a local file: wrapping data keys, bound to their submission."""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from events.vault.kek import KeyEncryptionKeyError, LocalKeyFile

CONTEXT = b"7f0c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f"
OTHER_CONTEXT = b"0a1b2c3d-3b4a-4c5d-8e9f-7f0c1d2e4e5f"


@pytest.fixture
def open_umask() -> Iterator[None]:
    """No umask: the file's mode is exactly what the code asks for."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def test_a_wrapped_key_unwraps_under_its_context() -> None:
    kek = LocalKeyFile("kid-1", secrets.token_bytes(32))
    data_key = secrets.token_bytes(32)
    wrapped = kek.wrap(data_key, CONTEXT)
    assert data_key not in wrapped
    assert kek.wrap(data_key, CONTEXT) != wrapped  # a fresh nonce each time
    assert kek.unwrap(wrapped, CONTEXT) == data_key
    assert kek.key_id == "kid-1"


def test_another_context_or_another_kek_does_not_unwrap() -> None:
    kek = LocalKeyFile("kid-1", secrets.token_bytes(32))
    wrapped = kek.wrap(secrets.token_bytes(32), CONTEXT)
    with pytest.raises(KeyEncryptionKeyError):
        kek.unwrap(wrapped, OTHER_CONTEXT)  # moved to another submission
    with pytest.raises(KeyEncryptionKeyError):
        LocalKeyFile("kid-1", secrets.token_bytes(32)).unwrap(wrapped, CONTEXT)
    tampered = bytearray(wrapped)
    tampered[-1] ^= 0x01
    with pytest.raises(KeyEncryptionKeyError):
        kek.unwrap(bytes(tampered), CONTEXT)
    with pytest.raises(KeyEncryptionKeyError):
        kek.unwrap(wrapped[:5], CONTEXT)


def test_the_kek_must_be_256_bits() -> None:
    for size in (0, 16, 31, 33):
        with pytest.raises(KeyEncryptionKeyError, match="256 bits"):
            LocalKeyFile("kid", bytes(size))


@pytest.mark.usefixtures("open_umask")
def test_a_created_key_file_is_private_and_reads_back_as_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "kek.json"
    created = LocalKeyFile.create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(path.read_text())
    assert set(document) == {"kid", "k"}
    assert document["kid"] == created.key_id
    assert created.key_id.startswith("local-")
    key = base64.urlsafe_b64decode(document["k"] + "=" * (-len(document["k"]) % 4))
    assert len(key) == 32

    read = LocalKeyFile.read(path)
    assert read.key_id == created.key_id
    data_key = secrets.token_bytes(32)
    assert read.unwrap(created.wrap(data_key, CONTEXT), CONTEXT) == data_key
    assert LocalKeyFile("other", key).unwrap(created.wrap(data_key, CONTEXT), CONTEXT) == data_key


def test_creating_refuses_to_overwrite_a_key_file(tmp_path: Path) -> None:
    path = tmp_path / "kek.json"
    first = LocalKeyFile.create(path)
    content = path.read_bytes()
    with pytest.raises(FileExistsError):
        LocalKeyFile.create(path)
    assert path.read_bytes() == content
    assert LocalKeyFile.read(path).key_id == first.key_id


def test_each_created_key_is_new(tmp_path: Path) -> None:
    one = LocalKeyFile.create(tmp_path / "one.json")
    two = LocalKeyFile.create(tmp_path / "two.json")
    assert one.key_id != two.key_id
    with pytest.raises(KeyEncryptionKeyError):
        two.unwrap(one.wrap(b"k" * 32, CONTEXT), CONTEXT)


@pytest.mark.parametrize(
    "content",
    ["", "{", "[]", '{"kid": "x"}'],
    ids=["empty", "not-json", "a-list", "no-key"],
)
def test_an_unreadable_key_file_is_a_kek_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "kek.json"
    path.write_text(content)
    with pytest.raises(KeyEncryptionKeyError, match=r"kek\.json"):
        LocalKeyFile.read(path)


@pytest.mark.parametrize("k", ["!!", "AAAA", base64.urlsafe_b64encode(bytes(16)).decode()])
def test_a_key_file_whose_key_is_not_256_bits_is_a_kek_error(tmp_path: Path, k: str) -> None:
    path = tmp_path / "kek.json"
    path.write_text(json.dumps({"kid": "x", "k": k}))
    with pytest.raises(KeyEncryptionKeyError, match="256 bits"):
        LocalKeyFile.read(path)


def test_a_missing_key_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(KeyEncryptionKeyError, match="does not exist"):
        LocalKeyFile.read(tmp_path / "absent.json")
