"""The delivery service's view of a receiving authority: keys, callback, token.

The routing directory is the source (composition root translates it); delivery does not
import routing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from services.delivery.crypto import check_keys


class RecipientConfigError(Exception):
    """The directory and the delivery settings do not fit together."""


@dataclass(frozen=True)
class Recipient:
    """One receiving authority, as far as delivering to it is concerned."""

    authority_id: str
    encryption_jwk: str | None = None
    """Public JWK (JSON) deliveries are encrypted to, if any."""
    verification_jwk: str | None = None
    """Public JWK (JSON) receipts must be signed with, if any."""
    callback_url: str | None = None
    callback_secret: str | None = None
    handover_url: str | None = None
    """Another Amtsweg instance's intake API: deliveries are handed over there."""
    handover_portal: str | None = None
    """The portal id this instance has at the other one."""
    handover_token: str | None = None
    """The portal token there (from ``AMTSWEG_DELIVERY_HANDOVER_TOKENS``)."""

    def encryption_key(self) -> dict[str, Any] | None:
        """The encryption JWK as a dict."""
        return _load(self.encryption_jwk)

    def verification_key(self) -> dict[str, Any] | None:
        """The verification JWK as a dict."""
        return _load(self.verification_jwk)


def _load(jwk: str | None) -> dict[str, Any] | None:
    if jwk is None:
        return None
    value: dict[str, Any] = json.loads(jwk)
    return value


class Recipients:
    """Every authority delivery knows about, by id."""

    def __init__(self, recipients: Iterable[Recipient] = ()) -> None:
        self._by_id: Mapping[str, Recipient] = MappingProxyType(
            {r.authority_id: r for r in recipients}
        )

    def get(self, authority_id: str) -> Recipient | None:
        """The authority with this id, if known."""
        return self._by_id.get(authority_id)

    def has_callback(self, authority_id: str) -> bool:
        """True if the authority wants callbacks."""
        recipient = self._by_id.get(authority_id)
        return recipient is not None and recipient.callback_url is not None

    def __iter__(self) -> Iterator[Recipient]:
        return iter(self._by_id.values())

    def check(self) -> None:
        """Refuse unusable keys, and a callback URL without a secret, before any delivery."""
        missing = sorted(
            r.authority_id for r in self if r.callback_url is not None and not r.callback_secret
        )
        if missing:
            msg = f"callback URL but no secret in AMTSWEG_DELIVERY_CALLBACK_SECRETS for {missing}"
            raise RecipientConfigError(msg)
        tokenless = sorted(
            r.authority_id for r in self if r.handover_url is not None and not r.handover_token
        )
        if tokenless:
            msg = f"handover but no token in AMTSWEG_DELIVERY_HANDOVER_TOKENS for {tokenless}"
            raise RecipientConfigError(msg)
        for recipient in self:
            try:
                check_keys(recipient.encryption_key(), recipient.verification_key())
            except ValueError as error:
                raise RecipientConfigError(f"{recipient.authority_id}: {error}") from error
