"""Which envelopes the receiver believes: those signed by Amtsweg's keys.

Anyone who may write to the authority's topic could put an envelope there; only one that
carries a valid ``amtsweg-signature`` (``contracts.envelope_signature``) by one of
Amtsweg's keys is handled. The keys are pinned (``--amtsweg-keys``, a JWK Set file) or
fetched from the configured API (``GET /v1/keys``) at start; with fetched keys, an
envelope naming an unknown ``kid`` makes the receiver fetch the set again (Amtsweg may
have rotated), at most once a minute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from contracts.envelope_signature import (
    KEYS_PATH,
    EnvelopeSignatureError,
    keys_by_id,
    signature_kid,
    verify_envelope,
)
from receiver.origin import ApiOrigin
from receiver.unpack import ReceiverError

REFETCH_SECONDS = 60.0


@dataclass(frozen=True)
class KeySource:
    """Where fetched keys come from: the configured API, with the receiver's client."""

    origin: ApiOrigin
    http: httpx.AsyncClient
    clock: Callable[[], float]


class EnvelopeVerifier:
    """Verifies envelopes against Amtsweg's public keys (pinned, or from a ``KeySource``)."""

    def __init__(self, keys: dict[str, dict[str, Any]], source: KeySource | None = None) -> None:
        self._keys = keys
        self._source = source
        self._fetched_at = -REFETCH_SECONDS

    @classmethod
    async def start(
        cls, pinned: dict[str, Any] | None, source: KeySource | None
    ) -> EnvelopeVerifier:
        """Pinned keys, or the keys fetched from the API; ``ReceiverError`` without either."""
        if pinned is not None:
            try:
                return cls(keys_by_id(pinned))
            except EnvelopeSignatureError as error:
                raise ReceiverError(f"--amtsweg-keys: {error}") from error
        if source is None:
            msg = "envelopes are verified with Amtsweg's keys: give --api or --amtsweg-keys"
            raise ReceiverError(msg)
        verifier = cls({}, source)
        await verifier.refresh(source)
        return verifier

    async def refresh(self, source: KeySource) -> None:
        """Fetch Amtsweg's key set from the API (``ReceiverError`` if that fails)."""
        url = source.origin.url(KEYS_PATH)
        self._fetched_at = source.clock()
        try:
            response = await source.http.get(url, follow_redirects=False)
        except httpx.HTTPError as error:
            raise ReceiverError(f"fetching {url} failed: {type(error).__name__}") from error
        if response.status_code != 200:
            raise ReceiverError(f"fetching {url} failed: HTTP {response.status_code}")
        try:
            self._keys = keys_by_id(response.json())
        except (EnvelopeSignatureError, ValueError, AttributeError) as error:
            raise ReceiverError(f"{url} is not Amtsweg's JWK Set: {error}") from error

    async def verify(self, envelope: bytes, signature: str | None) -> str:
        """The ``kid`` that signed the envelope; ``EnvelopeSignatureError`` otherwise."""
        source = self._source
        if source is not None and signature is not None and self._due(source, signature):
            await self.refresh(source)
        return verify_envelope(envelope, signature, self._keys)

    def _due(self, source: KeySource, signature: str) -> bool:
        """A ``kid`` not known, and the last fetch long enough ago."""
        try:
            unknown = signature_kid(signature) not in self._keys
        except EnvelopeSignatureError:
            return False
        return unknown and source.clock() - self._fetched_at >= REFETCH_SECONDS
