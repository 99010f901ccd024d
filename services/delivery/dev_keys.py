"""Development keys: a key pair for each authority the directory gives none, in the data dir.

In development (``AMTSWEG_DEVELOPMENT``) deliveries are encrypted and receipts signed as in
production, to keys Amtsweg makes itself: ``<data dir>/authority-keys/<authority id>.jwk.json``
(mode 0600) holds the authority's private encryption key and private signing key. Delivery
uses their public halves; the reference receiver (``amtsweg authority consume``) decrypts
and signs with the private ones.

A key pair is made when an authority first needs one, not at start-up (the national
directory names about two thousand authorities), with 2048-bit RSA (about 0.1 s a pair).
Several threads and several processes may ask at once: within a process one thread makes
an authority's pair while the others wait; across processes the file is written under a
temporary name and linked into place, so the first writer wins and every other process
reads the winner's keys.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from contracts import linear_regex
from contracts.keys import generate_keys, public_half

FOLDER = "authority-keys"
"""The development keys' folder inside the data dir."""

RSA_BITS = 2048
"""The directory's minimum; enough for keys that never leave a developer's machine."""

_AUTHORITY_ID = linear_regex.compile(r"[a-z0-9][a-z0-9-]{1,62}")  # as the directory and topic names


class DevelopmentKeyError(Exception):
    """A development key file cannot be read, or an authority id cannot name one."""


@dataclass(frozen=True)
class DevelopmentKeyPair:
    """One authority's development keys: private JWKs and their public halves (JSON)."""

    authority_id: str
    encryption: dict[str, Any]
    """Private: decrypts deliveries (the receiver's)."""
    signing: dict[str, Any]
    """Private: signs receipts (the receiver's)."""
    encryption_jwk: str
    """Public JWK (JSON) delivery encrypts to."""
    verification_jwk: str
    """Public JWK (JSON) receipts are checked with."""

    @classmethod
    def of(cls, authority_id: str, encryption: dict[str, Any], signing: dict[str, Any]) -> Self:
        """The pair with its public halves."""
        return cls(
            authority_id,
            encryption,
            signing,
            json.dumps(public_half(encryption), sort_keys=True),
            json.dumps(public_half(signing), sort_keys=True),
        )


class DevelopmentKeys:
    """The development key files in one folder; thread- and multi-process-safe."""

    def __init__(self, folder: Path, rsa_bits: int = RSA_BITS) -> None:
        self.folder = folder
        self._rsa_bits = rsa_bits
        self._pairs: dict[str, DevelopmentKeyPair] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def path(self, authority_id: str) -> Path:
        """The key file of one authority."""
        if not _AUTHORITY_ID.fullmatch(authority_id):
            raise DevelopmentKeyError(f"not an authority id: {authority_id!r}")
        return self.folder / f"{authority_id}.jwk.json"

    def find(self, authority_id: str) -> DevelopmentKeyPair | None:
        """The authority's keys if they were made (by any process), else None."""
        with self._guard:
            known = self._pairs.get(authority_id)
        if known is not None:
            return known
        path = self.path(authority_id)
        if not path.exists():
            return None
        pair = _read(path, authority_id)
        with self._guard:
            return self._pairs.setdefault(authority_id, pair)

    def get(self, authority_id: str) -> DevelopmentKeyPair:
        """The authority's keys, made now if no process made them before."""
        found = self.find(authority_id)
        if found is not None:
            return found
        with self._guard:
            lock = self._locks.setdefault(authority_id, threading.Lock())
        with lock:  # one thread of this process makes them; the others then find them
            found = self.find(authority_id)
            if found is not None:
                return found
            self._write(authority_id)
            made = self.find(authority_id)
        assert made is not None
        return made

    def _write(self, authority_id: str) -> None:
        keys = generate_keys(f"{authority_id}-dev", self._rsa_bits)
        document = {
            "authorityId": authority_id,
            "encryption": keys["encryption-private"],
            "signing": keys["signing-private"],
        }
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=self.folder, prefix=f".{authority_id}.")
        try:  # mkstemp: mode 0600
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                json.dump(document, file, indent=2)
                file.flush()
                os.fsync(file.fileno())
            with contextlib.suppress(FileExistsError):  # another process was first: its keys
                os.link(temporary, self.path(authority_id))  # complete, or not there at all
        finally:
            Path(temporary).unlink()


def _read(path: Path, authority_id: str) -> DevelopmentKeyPair:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        encryption, signing = document["encryption"], document["signing"]
        pair = DevelopmentKeyPair.of(authority_id, _private(encryption), _private(signing))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DevelopmentKeyError(f"{path}: {error}") from error
    return pair


def _private(jwk: object) -> dict[str, Any]:
    if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or "d" not in jwk:
        raise TypeError("not a private RSA JWK")
    return jwk
