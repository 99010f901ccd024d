"""Where the key-encryption key and the key store are (``AMTSWEG_KEK_FILE``, ``…_KEYSTORE_URL``)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from events.blobs import BlobStore, FileBlobStore
from events.settings import LedgerSettings
from events.vault.kek import KeyEncryptionKey, KeyEncryptionKeyError, LocalKeyFile
from events.vault.keystore import KeyStore
from events.vault.vault import Vault


class VaultSettings(BaseSettings):
    """The key-encryption key file and the key store's database.

    ``AMTSWEG_KEK_FILE`` is required outside development mode (in development it defaults
    to ``<data dir>/keys/kek.json``, created on first start). ``AMTSWEG_KEYSTORE_URL``:
    ``sqlite:////abs/keys.sqlite3`` or ``postgresql://…``; unset, the key store is
    ``keys.sqlite3`` beside a SQLite ledger, or a table in the ledger's PostgreSQL database.
    """

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_", extra="ignore")

    data_dir: Path = Path("var")
    kek_file: Path | None = Field(default=None, description="the key-encryption key (JSON)")
    keystore_url: str | None = None
    keystore_schema: str = Field(default="public", pattern=r"^[a-z_][a-z0-9_]{0,62}$")


def key_encryption_key(settings: VaultSettings, *, development: bool) -> KeyEncryptionKey:
    """The configured KEK; in development mode one is created in the data dir if none is set."""
    if settings.kek_file is not None:
        return LocalKeyFile.read(settings.kek_file)
    if not development:
        msg = (
            "AMTSWEG_KEK_FILE is not set: outside development mode Amtsweg needs the "
            "key-encryption key that wraps the per-submission data keys (a JSON file "
            '{"kid": ..., "k": <base64url of 32 random bytes>}, create one with '
            "`amtsweg keys create-kek <file>`), or set AMTSWEG_DEVELOPMENT=1 on a "
            "development machine"
        )
        raise KeyEncryptionKeyError(msg)
    path = settings.data_dir / "keys" / "kek.json"
    if path.exists():
        return LocalKeyFile.read(path)
    try:
        return LocalKeyFile.create(path)
    except FileExistsError:  # another process created it meanwhile
        return LocalKeyFile.read(path)


def open_key_store(
    settings: VaultSettings, ledger: LedgerSettings, kek: KeyEncryptionKey
) -> KeyStore:
    """The key store the settings name (beside the ledger by default)."""
    url = settings.keystore_url
    if url is None:
        path = ledger.sqlite_path()
        if path is not None:
            return KeyStore.sqlite(path.parent / "keys.sqlite3", kek)
        assert ledger.ledger_url is not None
        return KeyStore.postgres(ledger.ledger_url, ledger.ledger_schema, kek)
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return KeyStore.sqlite(Path(unquote(parts.path[1:])), kek)
    if parts.scheme in ("postgresql", "postgres"):
        return KeyStore.postgres(url, settings.keystore_schema, kek)
    msg = f"AMTSWEG_KEYSTORE_URL must be sqlite:///… or postgresql://…, not {parts.scheme!r}"
    raise ValueError(msg)


def open_vault(
    settings: VaultSettings, ledger: LedgerSettings, blobs: BlobStore, *, development: bool
) -> Vault:
    """The vault: KEK, key store and blob store; refuses a missing or wrong KEK."""
    kek = key_encryption_key(settings, development=development)
    return Vault(open_key_store(settings, ledger, kek), blobs)


def local_vault(folder: Path) -> Vault:
    """A vault in ``folder`` with a key-encryption key of its own (created on first use):
    for documentation runs, tools and tests, never for real applications."""
    kek_path = folder / "kek.json"
    kek = LocalKeyFile.read(kek_path) if kek_path.exists() else LocalKeyFile.create(kek_path)
    return Vault(KeyStore.sqlite(folder / "keys.sqlite3", kek), FileBlobStore(folder / "blobs"))
