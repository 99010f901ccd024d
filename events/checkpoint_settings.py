"""Checkpoint settings: where checkpoints go, the writer's key, the verifiers' keys, how often.

Outside development each must be set (the writer refuses to write, and ``verify
--checkpoint`` to verify, with a message naming the setting). In development
(``AMTSWEG_DEVELOPMENT``) they default to the data dir: ``checkpoints/`` and
``keys/checkpoint-signing.jwk.json`` with ``keys/checkpoint-public.jwks.json``, the key
made on first use.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from events.checkpoint_keys import CheckpointKeyError, CheckpointSigner, PublicKeys, create_key
from events.checkpoint_store import CheckpointDirectory

DEVELOPMENT_DIR = Path("checkpoints")
DEVELOPMENT_SIGNING_KEY = Path("keys") / "checkpoint-signing.jwk.json"
DEVELOPMENT_PUBLIC_KEYS = Path("keys") / "checkpoint-public.jwks.json"
CREATE = "create one with `amtsweg keys create-checkpoint-key <file> --public-keys <jwks>`"


class CheckpointSettings(BaseSettings):
    """``AMTSWEG_CHECKPOINT_DIR``, ``…_SIGNING_KEY_FILE``, ``…_PUBLIC_KEYS_FILE``,
    ``…_INTERVAL_SECONDS``."""

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_CHECKPOINT_", extra="ignore")

    dir: Path | None = None
    """The directory checkpoints are written to (outside the ledger's database; WORM)."""
    signing_key_file: Path | None = None
    """The writer's private Ed25519 key (JWK or PKCS#8 PEM)."""
    public_keys_file: Path | None = None
    """A JWK Set of the public keys checkpoints are verified with (several: rotation)."""
    interval_seconds: float = Field(default=300.0, gt=0)
    """How often the ``checkpoint`` service writes one (when the ledger changed)."""

    def directory(
        self, data_dir: Path, *, development: bool, shard: int = 0
    ) -> CheckpointDirectory:
        """The checkpoint directory of ledger shard ``shard`` (shard k>0: its subdirectory
        ``shard<k>``); ``CheckpointKeyError`` if it is not set outside development."""
        if shard > 0:
            parent = self.directory(data_dir, development=development).path
            return CheckpointDirectory(parent / f"shard{shard}")
        if self.dir is not None:
            return CheckpointDirectory(self.dir)
        if not development:
            msg = (
                "AMTSWEG_CHECKPOINT_DIR is not set: outside development mode checkpoints "
                "are kept in a directory outside the ledger's database (on WORM storage, "
                "see README 'Signed checkpoints'), or set AMTSWEG_DEVELOPMENT=1"
            )
            raise CheckpointKeyError(msg)
        return CheckpointDirectory(data_dir / DEVELOPMENT_DIR)

    def signer(self, data_dir: Path, *, development: bool) -> CheckpointSigner:
        """The writer's signing key; in development made in the data dir on first use."""
        if self.signing_key_file is not None:
            return CheckpointSigner.read(self.signing_key_file)
        if not development:
            msg = (
                "AMTSWEG_CHECKPOINT_SIGNING_KEY_FILE is not set: outside development mode "
                f"the checkpoint writer signs with its own Ed25519 key ({CREATE}), or set "
                "AMTSWEG_DEVELOPMENT=1 on a development machine"
            )
            raise CheckpointKeyError(msg)
        path = data_dir / DEVELOPMENT_SIGNING_KEY
        if not path.exists():
            try:
                return create_key(path, self._development_public(data_dir))
            except FileExistsError:  # another process made it meanwhile
                pass
        return CheckpointSigner.read(path)

    def public_keys(self, data_dir: Path, *, development: bool) -> PublicKeys:
        """The keys checkpoints are verified with."""
        if self.public_keys_file is not None:
            return PublicKeys.read(self.public_keys_file)
        if not development:
            msg = (
                "AMTSWEG_CHECKPOINT_PUBLIC_KEYS_FILE is not set: checkpoints are verified "
                f"with the writer's public keys (a JWK Set; {CREATE}), or set "
                "AMTSWEG_DEVELOPMENT=1 on a development machine"
            )
            raise CheckpointKeyError(msg)
        path = self._development_public(data_dir)
        if not path.exists():
            self.signer(data_dir, development=True)
        return PublicKeys.read(path)

    def _development_public(self, data_dir: Path) -> Path:
        return self.public_keys_file or data_dir / DEVELOPMENT_PUBLIC_KEYS
