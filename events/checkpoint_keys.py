"""The checkpoint keys: an Ed25519 signing key for the writer, public keys for verifiers.

The signing key (``AMTSWEG_CHECKPOINT_SIGNING_KEY_FILE``: a private OKP JWK, or a PKCS#8
PEM) is held only by the process that writes checkpoints; no other service, and nobody
with only the ledger's database, can sign one. Verifiers read a JWK Set of public keys
(``AMTSWEG_CHECKPOINT_PUBLIC_KEYS_FILE``), several for rotation: a new key signs from now
on, the old ones stay in the set so older checkpoints still verify. A key's id is its
RFC 7638 JWK thumbprint, computed here, never taken on trust from a file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from events.chain import canonical


class CheckpointKeyError(Exception):
    """The checkpoint keys are not configured, unreadable, or not Ed25519."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def thumbprint(public: Ed25519PublicKey) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256, base64url) of an Ed25519 public key."""
    members = {"crv": "Ed25519", "kty": "OKP", "x": _b64(_raw(public))}
    return _b64(hashlib.sha256(canonical(members)).digest())


def public_jwk(public: Ed25519PublicKey) -> dict[str, str]:
    """The public JWK, its ``kid`` the thumbprint."""
    raw = _raw(public)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw), "kid": thumbprint(public), "use": "sig"}


class CheckpointSigner:
    """Signs checkpoint bodies with the writer's private key."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = private.public_key()
        self.kid = thumbprint(self.public)

    def sign(self, body: bytes) -> bytes:
        """The Ed25519 signature of ``body``."""
        return self._private.sign(body)

    def private_jwk(self) -> dict[str, str]:
        """The private JWK (for the key file)."""
        raw = self._private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return {**public_jwk(self.public), "d": _b64(raw)}

    @classmethod
    def read(cls, path: Path) -> CheckpointSigner:
        """The key in ``path`` (a private OKP JWK or a PKCS#8 PEM)."""
        data = _read(path, "checkpoint signing key file")
        if data.lstrip().startswith(b"-----BEGIN"):
            try:
                key = serialization.load_pem_private_key(data, password=None)
            except (ValueError, TypeError) as error:
                msg = f"{path}: not a usable PEM private key ({error})"
                raise CheckpointKeyError(msg) from None
            if not isinstance(key, Ed25519PrivateKey):
                raise CheckpointKeyError(f"{path}: the checkpoint signing key must be Ed25519")
            return cls(key)
        jwk = _json(path, data)
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "d" not in jwk:
            raise CheckpointKeyError(f"{path}: not a private Ed25519 JWK (kty OKP, crv Ed25519, d)")
        try:
            return cls(Ed25519PrivateKey.from_private_bytes(_unb64(str(jwk["d"]))))
        except ValueError as error:
            raise CheckpointKeyError(f"{path}: the private key is not usable ({error})") from None


def _json(path: Path, data: bytes) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except ValueError:
        raise CheckpointKeyError(f"{path} is neither JSON nor PEM") from None
    if not isinstance(document, dict):
        raise CheckpointKeyError(f"{path}: not a JSON object")
    return document


class PublicKeys:
    """The public keys checkpoints are verified with, by thumbprint."""

    def __init__(self, keys: Mapping[str, Ed25519PublicKey]) -> None:
        self.keys = dict(keys)

    def verify(self, kid: str, body: bytes, signature: bytes) -> bool:
        """True if the key ``kid`` made ``signature`` over ``body``."""
        key = self.keys.get(kid)
        if key is None:
            return False
        try:
            key.verify(signature, body)
        except InvalidSignature:
            return False
        return True

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JWK Set."""
        return {"keys": [public_jwk(key) for key in self.keys.values()]}

    @classmethod
    def read(cls, path: Path) -> PublicKeys:
        """The JWK Set in ``path``; each key's kid must be its thumbprint."""
        data = _read(path, "checkpoint public keys file")
        entries = _json(path, data).get("keys")
        if not isinstance(entries, list) or not entries:
            raise CheckpointKeyError(f"{path}: a JWK Set with at least one key is needed")
        keys: dict[str, Ed25519PublicKey] = {}
        for jwk in entries:
            if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
                raise CheckpointKeyError(f"{path}: every checkpoint key is Ed25519 (kty OKP)")
            try:
                key = Ed25519PublicKey.from_public_bytes(_unb64(str(jwk["x"])))
            except (KeyError, ValueError):
                raise CheckpointKeyError(f"{path}: a key without a usable x") from None
            kid = thumbprint(key)
            if jwk.get("kid", kid) != kid:
                msg = f"{path}: key {jwk['kid']!r} is not its RFC 7638 thumbprint {kid!r}"
                raise CheckpointKeyError(msg)
            keys[kid] = key
        return cls(keys)


def _write_new(path: Path, document: Mapping[str, Any], mode: int) -> None:
    """``document`` in a new file at ``path``, whole or not at all; never overwrites."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(document, file, indent=2)
            file.flush()
            os.fsync(file.fileno())
        os.link(aside, path)
    finally:
        aside.unlink()


def create_key(path: Path, public_keys: Path) -> CheckpointSigner:
    """A new signing key at ``path`` (mode 0600; ``FileExistsError`` if there is one) and
    its public half added to the JWK Set at ``public_keys`` (created if missing)."""
    if public_keys.exists():
        PublicKeys.read(public_keys)  # a usable set, or the message why not, before writing
    signer = CheckpointSigner(Ed25519PrivateKey.generate())
    _write_new(path, signer.private_jwk(), 0o600)
    add_public_key(public_keys, signer.public)
    return signer


def add_public_key(path: Path, public: Ed25519PublicKey) -> PublicKeys:
    """Add ``public`` to the JWK Set at ``path`` (created if missing; older keys stay)."""
    keys = PublicKeys.read(path).keys if path.exists() else {}
    keys[thumbprint(public)] = public
    document = PublicKeys(keys).jwks()
    if path.exists():
        aside = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        _write_new(aside, document, 0o644)
        aside.replace(path)
    else:
        _write_new(path, document, 0o644)
    return PublicKeys(keys)


def _read(path: Path, what: str) -> bytes:
    """The bytes of a key file; ``CheckpointKeyError`` saying which file cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        msg = f"the {what} {path} does not exist"
        raise CheckpointKeyError(msg) from None
    except OSError as error:
        msg = f"the {what} {path} cannot be read ({type(error).__name__})"
        raise CheckpointKeyError(msg) from None
