"""Hash chain over each submission's events.

Every event carries ``prev_hash`` (its predecessor's ``hash``, or ``GENESIS``) and its
own ``hash``: SHA-256 over a canonical JSON of the submission id, version, event name,
timestamp, predecessor hash and the event's data. With ``AMTSWEG_LEDGER_CHAIN_KEY`` set,
the digest is an HMAC, so a chain cannot be rewritten consistently without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS = "0" * 64


def canonical(value: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys, no whitespace, UTF-8)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class ChainLink:
    """The hashed facts of one event."""

    submission_id: str
    version: int
    event: str
    timestamp: datetime
    prev_hash: str
    data: Mapping[str, Any]

    def digest(self, key: bytes | None = None) -> str:
        """The event's hash (hex)."""
        body = canonical(
            {
                "submission": self.submission_id,
                "version": self.version,
                "event": self.event,
                "timestamp": self.timestamp.isoformat(),
                "prev": self.prev_hash,
                "data": self.data,
            }
        )
        if key:
            return hmac.new(key, body, hashlib.sha256).hexdigest()
        return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class Break:
    """The first broken link of a chain."""

    version: int
    reason: str


def first_break(links: list[tuple[ChainLink, str]], key: bytes | None = None) -> Break | None:
    """Check (link, recorded hash) pairs in stored order; return the first break or None."""
    expected_prev = GENESIS
    for position, (link, recorded) in enumerate(links, start=1):
        if link.version != position:
            return Break(position, f"expected version {position}, found {link.version}")
        if link.prev_hash != expected_prev:
            return Break(link.version, "prev_hash does not match the predecessor's hash")
        if not hmac.compare_digest(link.digest(key), recorded):
            return Break(link.version, "content does not match its recorded hash")
        expected_prev = recorded
    return None
