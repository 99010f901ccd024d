"""Each destination's encryption key pair: made on first need, published, rotated, kept.

The published key is the newest generation; a rotation (:meth:`DestinationKeys.rotate`)
adds one, and every older private key stays usable (:meth:`DestinationKeys.private_key`)
for submissions encrypted to it before, until an operator retires it
(:meth:`DestinationKeys.retire`; :mod:`key_rotation` checks what may still need it). A
retirement holds in every process at once: each decryption and key lookup asks the table.
Keys are RSA-4096 JWKs for ``RSA-OAEP-256`` (``key_ops: ["wrapKey"]``) with the
certificate chain in ``x5c``; their ``kid`` is a UUID (the Submission API's ``keyId`` has
at most 36 characters), and a JWE may name its key by ``kid`` or by the RFC 7638
thumbprint (as the ``fitconnect`` Python client does).

Reads are cached: a complete row never changes, and the published key is asked anew after
:data:`PUBLISHED_CACHE_SECONDS`, so a rotation in another process shows within that time.
Making a key blocks for seconds: call the methods from a worker thread.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from events.vault import KeyEncryptionKey
from events.vault.cipher import open_sealed, seal
from services.fitconnect.key_table import STALE_CLAIM_SECONDS as STALE
from services.fitconnect.key_table import Completion, KeyRow, KeyTable, claimed_seconds_ago

ENCRYPTION_ALG = "RSA-OAEP-256"
PUBLISHED_CACHE_SECONDS = 60.0
WAIT_SECONDS = 600.0
"""How long a process waits for another one making a key before it gives up."""
_POLL_SECONDS = 0.2

KeyMaterial = Callable[[uuid.UUID], tuple[rsa.RSAPrivateKey, list[x509.Certificate]]]
"""A new key pair for a destination and its certificate chain (leaf first)."""


class DestinationKeyError(Exception):
    """A destination's key could not be made or opened."""


@dataclass(frozen=True)
class DestinationKey:
    """One published key of a destination."""

    destination_id: uuid.UUID
    generation: int
    kid: str
    thumbprint: str
    jwk: dict[str, Any]
    """The public JWK as the Submission API publishes it (``x5c`` included)."""


@dataclass(frozen=True)
class KeyGeneration:
    """One complete key of a destination, as an operator lists it."""

    generation: int
    kid: str
    thumbprint: str
    created_at: str
    superseded_at: str | None
    """When the next generation was made (from then on it is not published), or None: the
    published key."""
    retired_at: str | None

    @property
    def published(self) -> bool:
        """Whether senders encrypt to this key now."""
        return self.superseded_at is None


class DestinationKeys:
    """The key pairs of every destination, in a :class:`KeyTable`, private halves sealed."""

    def __init__(
        self,
        table: KeyTable,
        kek: KeyEncryptionKey,
        material: KeyMaterial,
        x5c: Callable[[list[x509.Certificate]], list[str]],
    ) -> None:
        self._table = table
        self._kek = kek
        self._material = material
        self._x5c = x5c
        self._published: dict[uuid.UUID, tuple[DestinationKey, float]] = {}
        self._known: dict[tuple[uuid.UUID, str], DestinationKey] = {}
        self._private: dict[tuple[uuid.UUID, str], RSAKey] = {}
        self._guard = threading.Lock()
        self._making: dict[uuid.UUID, threading.Lock] = {}

    def published(self, destination: uuid.UUID) -> DestinationKey:
        """The key senders encrypt to now, made if the destination has none yet."""
        with self._guard:
            cached = self._published.get(destination)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        with self._guard:
            lock = self._making.setdefault(destination, threading.Lock())
        with lock:  # one thread of this process makes it; the others then read it
            newest = self._newest(destination)
            if newest is None:
                newest = self._make(destination, 1)
        with self._guard:
            self._published[destination] = (newest, time.monotonic() + PUBLISHED_CACHE_SECONDS)
        return newest

    def find(self, destination: uuid.UUID, kid: str) -> DestinationKey | None:
        """The destination's key with this ``kid`` (the published one or an older one not
        retired)."""
        if self._table.usable(str(destination), kid) != kid:
            return None
        with self._guard:
            known = self._known.get((destination, kid))
        if known is not None:
            return known
        for row in self._table.rows(str(destination)):
            if row.kid == kid and row.public_jwk is not None:
                return self._remember(destination, row)
        return None

    def generations(self, destination: uuid.UUID) -> list[KeyGeneration]:
        """Every complete key of the destination, newest (the published one) first."""
        rows = [row for row in self._table.rows(str(destination)) if row.public_jwk is not None]
        return [
            KeyGeneration(
                generation=row.generation,
                kid=row.kid or "",
                thumbprint=row.thumbprint or "",
                created_at=row.created_at or "",
                superseded_at=rows[index - 1].created_at if index else None,
                retired_at=row.retired_at,
            )
            for index, row in enumerate(rows)
        ]

    def retire(self, destination: uuid.UUID, kid: str) -> bool:
        """Retire an older key (by ``kid`` or thumbprint): it decrypts nothing more and is
        no longer served. False if it was retired before; ``DestinationKeyError`` for the
        published key (rotate first) or a key the destination does not have."""
        known = self.generations(destination)
        found = next((g for g in known if kid in {g.kid, g.thumbprint}), None)
        if found is None:
            msg = f"destination {destination} has no key {kid}"
            raise DestinationKeyError(msg)
        if found is known[0]:
            msg = f"{found.kid} is the published key of destination {destination}: rotate first"
            raise DestinationKeyError(msg)
        retired = self._table.retire(str(destination), found.kid)
        with self._guard:
            self._private = {k: v for k, v in self._private.items() if k[0] != destination}
            self._known.pop((destination, found.kid), None)
        return retired

    def rotate(self, destination: uuid.UUID) -> DestinationKey:
        """A new generation becomes the published key; the older ones stay usable."""
        rows = self._table.rows(str(destination))
        made = self._make(destination, rows[0].generation + 1 if rows else 1)
        with self._guard:
            self._published[destination] = (made, time.monotonic() + PUBLISHED_CACHE_SECONDS)
        return made

    def private_key(self, destination: uuid.UUID, kid_or_thumbprint: str) -> RSAKey | None:
        """The private key a JWE names (by ``kid`` or thumbprint), for decryption; None if
        the destination has no such key."""
        cache_key = (destination, kid_or_thumbprint)
        if self._table.usable(str(destination), kid_or_thumbprint) is None:
            return None  # unknown, or retired (also by another process)
        with self._guard:
            cached = self._private.get(cache_key)
        if cached is not None:
            return cached
        secret = self._table.secret(str(destination), kid_or_thumbprint)
        if secret is None:
            return None
        context = _context(destination, secret.kid)
        data_key = self._kek.unwrap(secret.wrapped_key, context.encode())
        jwk = json.loads(open_sealed(data_key, context, secret.sealed_private))
        key = RSAKey.import_key(jwk)
        with self._guard:
            if len(self._private) > 4096:
                self._private.clear()
            self._private[cache_key] = key
        return key

    def _newest(self, destination: uuid.UUID) -> DestinationKey | None:
        for row in self._table.rows(str(destination)):
            if row.public_jwk is not None:
                return self._remember(destination, row)
        return None

    def _remember(self, destination: uuid.UUID, row: KeyRow) -> DestinationKey:
        assert row.kid is not None
        assert row.thumbprint is not None
        assert row.public_jwk is not None
        key = DestinationKey(
            destination, row.generation, row.kid, row.thumbprint, json.loads(row.public_jwk)
        )
        with self._guard:
            self._known[(destination, row.kid)] = key
        return key

    def _make(self, destination: uuid.UUID, generation: int) -> DestinationKey:
        """Generation ``generation`` of the key, made here or by the process that claimed it."""
        name, deadline = str(destination), time.monotonic() + WAIT_SECONDS
        claim = secrets.token_hex(16)
        taken = self._table.claim(name, generation, claim)
        while not taken:
            row = next((r for r in self._table.rows(name) if r.generation == generation), None)
            if row is None:
                taken = self._table.claim(name, generation, claim)
                continue
            if row.public_jwk is not None:
                return self._remember(destination, row)
            if claimed_seconds_ago(row) > STALE:
                taken = self._table.take_over(name, generation, row.claim, claim)
                continue
            if time.monotonic() > deadline:
                msg = f"destination {destination}: another process has not made its key in time"
                raise DestinationKeyError(msg)
            time.sleep(_POLL_SECONDS)
        completion = self._new_key(destination)
        if not self._table.complete(name, generation, claim, completion):
            msg = f"destination {destination}: the key's claim was taken over while it was made"
            raise DestinationKeyError(msg)
        return self._remember(destination, _row(generation, claim, completion))

    def _new_key(self, destination: uuid.UUID) -> Completion:
        private, chain = self._material(destination)
        kid = str(uuid.uuid4())
        parameters = {"kid": kid, "alg": ENCRYPTION_ALG}
        key = RSAKey.import_key(private, parameters=parameters)  # type: ignore[arg-type]
        public = key.as_dict(private=False)
        public["key_ops"] = ["wrapKey"]
        public["x5c"] = self._x5c(chain)
        secret = key.as_dict(private=True)  # no key_ops: joserfc checks them as "decrypt"
        context = _context(destination, kid)
        data_key = secrets.token_bytes(32)
        return Completion(
            kid=kid,
            thumbprint=key.thumbprint(),
            public_jwk=json.dumps(public, sort_keys=True),
            kek_id=self._kek.key_id,
            wrapped_key=self._kek.wrap(data_key, context.encode()),
            sealed_private=seal(data_key, context, json.dumps(secret).encode()),
        )


def _row(generation: int, claim: str, done: Completion) -> KeyRow:
    return KeyRow(generation, claim, "", done.kid, done.thumbprint, done.public_jwk, _now())


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _context(destination: uuid.UUID, kid: str) -> str:
    """What a private key is bound to: its destination and kid (it cannot be moved)."""
    return f"amtsweg:fit-connect-key:{destination}:{kid}"
