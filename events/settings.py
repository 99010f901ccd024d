"""Ledger settings: SQLite file by default, PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from events.chain_keys import ChainKeyError, ChainKeys


class LedgerSettings(BaseSettings):
    """``AMTSWEG_LEDGER_URL``: ``sqlite:///rel.db``, ``sqlite:////abs.db`` or ``postgresql://user:pw@host:port/db``.

    Unset, the ledger is ``<AMTSWEG_DATA_DIR>/ledger.sqlite3``.
    """

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_", extra="ignore")

    data_dir: Path = Path("var")
    ledger_url: str | None = None
    ledger_chain_keys: dict[str, SecretStr] = Field(
        default_factory=dict, description="key id -> HMAC key of the hash chains (JSON object)"
    )
    ledger_chain_key_id: str | None = Field(
        default=None, description="the id of the chain key new submissions are hashed under"
    )
    """Required when more than one key is configured; with one key, that one."""
    ledger_chain_key: SecretStr | None = Field(
        default=None, description="the key of chains that name no key id (older ledgers)"
    )
    ledger_pool_size: int = 5
    ledger_schema: str = Field(default="public", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    """PostgreSQL schema for the ledger's tables."""
    ledger_shards: int = Field(
        default=1, ge=1, le=64, description="how many ledger shards hold the submissions"
    )
    """Shard 0 is the ledger configured above; shard k>0 is the schema ``<schema>_shard<k>``
    (PostgreSQL) or the file ``<name>.shard<k>.sqlite3`` beside it (SQLite)."""

    def shard(self, index: int) -> LedgerSettings:
        """The settings of shard ``index`` (0: these), a one-shard ledger of its own."""
        if index == 0:
            return self
        if not 0 < index < self.ledger_shards:
            msg = f"shard {index} outside 0..{self.ledger_shards - 1}"
            raise ValueError(msg)
        path = self.sqlite_path()
        if path is not None:
            shard_path = path.with_name(f"{path.stem}.shard{index}{path.suffix}")
            update: dict[str, object] = {"ledger_url": f"sqlite:///{shard_path}"}
        else:
            update = {"ledger_schema": f"{self.ledger_schema}_shard{index}"}
        return self.model_copy(update={**update, "ledger_shards": 1})

    def sqlite_path(self) -> Path | None:
        """The SQLite file, or None when the ledger is on PostgreSQL."""
        if self.ledger_url is None:
            return self.data_dir / "ledger.sqlite3"
        parts = urlsplit(self.ledger_url)
        if parts.scheme == "sqlite":
            return Path(unquote(parts.path[1:]))  # sqlite:///rel.db, sqlite:////abs.db
        return None

    def eventsourcing_env(self) -> dict[str, str]:
        """The environment the eventsourcing library reads its persistence from."""
        path = self.sqlite_path()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(path),
                "SQLITE_LOCK_TIMEOUT": "30",
            }
        assert self.ledger_url is not None
        parts = urlsplit(self.ledger_url)
        if parts.scheme not in ("postgresql", "postgres"):
            msg = f"unsupported ledger URL scheme {parts.scheme!r}"
            raise ValueError(msg)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parts.path.lstrip("/"),
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or ""),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_POOL_SIZE": str(self.ledger_pool_size),
            "POSTGRES_SCHEMA": self.ledger_schema,
        }

    def chain_keys(self) -> ChainKeys:
        """The configured chain keys (``ChainKeyError`` if they do not fit together)."""
        keys = {kid: key.get_secret_value().encode() for kid, key in self.ledger_chain_keys.items()}
        active = self.ledger_chain_key_id
        if active is None and len(keys) == 1:
            (active,) = keys
        if active is None and keys:
            msg = "AMTSWEG_LEDGER_CHAIN_KEY_ID must name the active one of several chain keys"
            raise ChainKeyError(msg)
        unnamed = (
            self.ledger_chain_key.get_secret_value().encode() if self.ledger_chain_key else None
        )
        return ChainKeys(keys, active, unnamed)
