"""Ledger settings: SQLite file by default, PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class LedgerSettings(BaseSettings):
    """``AMTSWEG_LEDGER_URL``: ``sqlite:///rel.db``, ``sqlite:////abs.db`` or ``postgresql://user:pw@host:port/db``.

    Unset, the ledger is ``<AMTSWEG_DATA_DIR>/ledger.sqlite3``.
    """

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_", extra="ignore")

    data_dir: Path = Path("var")
    ledger_url: str | None = None
    ledger_chain_key: SecretStr | None = Field(
        default=None, description="HMAC key for the hash chain (optional)"
    )
    ledger_pool_size: int = 5
    ledger_schema: str = Field(default="public", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    """PostgreSQL schema for the ledger's tables."""

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

    def chain_key(self) -> bytes | None:
        """The HMAC key for the hash chain, if one is configured."""
        return self.ledger_chain_key.get_secret_value().encode() if self.ledger_chain_key else None
