"""The key-encryption key (KEK): wraps and unwraps the per-submission data keys.

``KeyEncryptionKey`` is the port a KMS, an HSM or Vault's transit engine implements: two
calls, ``wrap`` and ``unwrap``, and a ``key_id`` naming the key (and its version). The
data keys never leave the process unwrapped, and the KEK never enters the key store.

``LocalKeyFile`` is the default adapter: a 256-bit key in a JSON file
(``{"kid": "...", "k": "<base64url>"}``, mode 0600) that wraps with AES-256-GCM, the
submission id as associated data (a wrapped key cannot be moved to another submission).

To back it by a KMS: implement ``wrap`` as the service's *encrypt* (AWS KMS ``Encrypt``
with ``EncryptionContext={"submission": ...}``, Vault ``transit/encrypt/<name>`` with
``context``) and ``unwrap`` as its *decrypt*; the wrapped bytes are stored as returned.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE = 12


class KeyEncryptionKeyError(Exception):
    """The key-encryption key is missing, unreadable, or not the one the key store was made with."""


class KeyEncryptionKey(Protocol):
    """Wraps data keys (a local key file, a KMS, an HSM, Vault transit)."""

    @property
    def key_id(self) -> str:
        """Which key (and version) wraps; recorded beside every wrapped key."""
        ...

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        """``data_key`` encrypted under the KEK, bound to ``context``."""
        ...

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """The data key; ``KeyEncryptionKeyError`` if it does not open (wrong KEK or context)."""
        ...


class LocalKeyFile:
    """A KEK held in a local file."""

    def __init__(self, key_id: str, key: bytes) -> None:
        if len(key) != 32:
            msg = "the key-encryption key must be 256 bits"
            raise KeyEncryptionKeyError(msg)
        self._key_id = key_id
        self._aes = AESGCM(key)

    @property
    def key_id(self) -> str:
        """The ``kid`` of the key file."""
        return self._key_id

    @classmethod
    def read(cls, path: Path) -> LocalKeyFile:
        """The KEK in ``path``; ``KeyEncryptionKeyError`` naming what is wrong."""
        try:
            document = json.loads(path.read_text())
            key_id, key = str(document["kid"]), base64.urlsafe_b64decode(_padded(document["k"]))
        except FileNotFoundError:
            msg = f"the key-encryption key file {path} does not exist"
            raise KeyEncryptionKeyError(msg) from None
        except (OSError, ValueError, KeyError, TypeError) as error:
            msg = f"the key-encryption key file {path} cannot be read ({type(error).__name__})"
            raise KeyEncryptionKeyError(msg) from None
        try:
            return cls(key_id, key)
        except KeyEncryptionKeyError as error:
            msg = f"the key-encryption key file {path}: {error}"
            raise KeyEncryptionKeyError(msg) from None

    @classmethod
    def create(cls, path: Path) -> LocalKeyFile:
        """A new random KEK written to ``path`` (mode 0600); refuses to overwrite one."""
        key, key_id = secrets.token_bytes(32), f"local-{secrets.token_hex(8)}"
        document = {"kid": key_id, "k": base64.urlsafe_b64encode(key).decode().rstrip("=")}
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(document, handle)
        return cls(key_id, key)

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        """AES-256-GCM under the KEK: nonce ‖ ciphertext ‖ tag."""
        nonce = os.urandom(NONCE)
        return nonce + self._aes.encrypt(nonce, data_key, context)

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """The data key, or ``KeyEncryptionKeyError``."""
        try:
            return self._aes.decrypt(wrapped[:NONCE], wrapped[NONCE:], context)
        except (InvalidTag, ValueError) as error:
            msg = "a data key does not open with this key-encryption key"
            raise KeyEncryptionKeyError(msg) from error


def _padded(text: str) -> str:
    return text + "=" * (-len(text) % 4)
