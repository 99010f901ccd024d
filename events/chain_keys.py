"""The ledger's chain keys: HMAC keys by key id, one of them active for new submissions.

A submission records in its ``Received`` event the id of the key its chain is hashed
under (``chain_kid``), and keeps that key for its whole life, so a rotation changes
nothing already written: new submissions get the new active key, older ones go on under
theirs, which stays configured as long as their trails are verified. A ``Received`` that
names no key id was recorded before key ids existed: its chain is hashed under the
*unnamed* key (``AMTSWEG_LEDGER_CHAIN_KEY``), or is a plain SHA-256 chain when that is
not set either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from contracts import linear_regex

KEY_ID = linear_regex.compile(r"[A-Za-z0-9._-]{1,64}")
"""What a chain key id may be: it is recorded in every ``Received`` and shown by tools."""


class ChainKeyError(Exception):
    """A chain names a key id this ledger has not configured (or the keys are inconsistent)."""


@dataclass(frozen=True)
class ChainKeys:
    """``keys``: key id → secret; ``active``: the id new submissions use (None: unkeyed)."""

    keys: Mapping[str, bytes] = field(default_factory=dict)
    active: str | None = None
    unnamed: bytes | None = None
    """The key of chains that name no key id (None: those are plain SHA-256 chains)."""

    def __post_init__(self) -> None:
        if self.active is not None and self.active not in self.keys:
            msg = f"the active chain key id {self.active!r} is not among the configured keys"
            raise ChainKeyError(msg)
        if any(not secret for secret in self.keys.values()):
            raise ChainKeyError("a chain key is empty")
        for kid in self.keys:
            if not KEY_ID.fullmatch(kid):
                msg = f"chain key id {kid!r} is not 1-64 of A-Z a-z 0-9 . _ -"
                raise ChainKeyError(msg)

    @property
    def keyed(self) -> bool:
        """True if new submissions are hashed under a key (an HMAC chain)."""
        return self.active is not None

    def for_new(self) -> tuple[str | None, bytes | None]:
        """The key id and key a new submission's chain is hashed under."""
        if self.active is None:
            return None, self.unnamed
        return self.active, self.keys[self.active]

    def key(self, kid: str | None) -> bytes | None:
        """The key of a chain that recorded ``kid``; ``ChainKeyError`` if it is not configured."""
        if kid is None:
            return self.unnamed
        try:
            return self.keys[kid]
        except KeyError:
            msg = f"chain key {kid!r} is not configured (AMTSWEG_LEDGER_CHAIN_KEYS)"
            raise ChainKeyError(msg) from None
