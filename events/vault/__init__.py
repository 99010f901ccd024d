"""The vault: per-submission data keys, wrapped by a key-encryption key, sealing the content.

See :mod:`events.vault.vault` (what is stored and how it is erased),
:mod:`events.vault.cipher` (the sealed format), :mod:`events.vault.kek` (the KEK port and
its local-file adapter) and :mod:`events.vault.keystore` (the data keys).
"""

from events.lifecycle import ContentErasedError
from events.vault.cipher import SealError
from events.vault.kek import KeyEncryptionKey, KeyEncryptionKeyError, LocalKeyFile
from events.vault.keystore import KeyNotFoundError, KeyState, KeyStore
from events.vault.settings import VaultSettings, local_vault, open_vault
from events.vault.vault import Erasure, SealedPart, Vault

__all__ = [
    "ContentErasedError",
    "Erasure",
    "KeyEncryptionKey",
    "KeyEncryptionKeyError",
    "KeyNotFoundError",
    "KeyState",
    "KeyStore",
    "LocalKeyFile",
    "SealError",
    "SealedPart",
    "Vault",
    "VaultSettings",
    "local_vault",
    "open_vault",
]
