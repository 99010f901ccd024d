"""The delivery service's view of a receiving authority: keys, callback, token.

The routing directory is the source (composition root translates it); delivery does not
import routing. In development, an authority the directory gives no key gets development
keys (``dev_keys.py``) when it is first asked for, so that deliveries are encrypted and
receipts signed there too.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from services.delivery.crypto import check_keys
from services.delivery.dev_keys import DevelopmentKeys


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
    fit_connect: bool = False
    """The authority picks its deliveries up with its own FIT-Connect client (no topic)."""

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


@dataclass(frozen=True)
class KeyCoverage:
    """How many authorities the directory gives no encryption or no verification key."""

    authorities: int
    """Those delivered to on their topic (not those handed over to another instance)."""
    without_encryption: int
    without_verification: int


class Recipients:
    """Every authority delivery knows about, by id.

    ``development_keys``: authorities without a key in the directory get development keys
    (only in development). ``accept_unsigned_receipts``: a receipt of an authority without
    a verification key counts unsigned (only in development); otherwise it is refused.
    """

    def __init__(
        self,
        recipients: Iterable[Recipient] = (),
        *,
        development_keys: DevelopmentKeys | None = None,
        accept_unsigned_receipts: bool = False,
    ) -> None:
        self._by_id: Mapping[str, Recipient] = MappingProxyType(
            {r.authority_id: r for r in recipients}
        )
        self._development_keys = development_keys
        self._accept_unsigned_receipts = accept_unsigned_receipts

    @property
    def accept_unsigned_receipts(self) -> bool:
        """True only in development: a receipt of an authority without a verification key
        counts unsigned. Otherwise such a receipt is refused (nothing can check it)."""
        return self._accept_unsigned_receipts

    def get(self, authority_id: str) -> Recipient | None:
        """The authority with this id, if known, with development keys where it has none."""
        recipient = self._by_id.get(authority_id)
        if recipient is None or not self._stands_in_for(recipient):
            return recipient
        assert self._development_keys is not None
        pair = self._development_keys.get(authority_id)  # made on first need
        return dataclasses.replace(
            recipient,
            encryption_jwk=recipient.encryption_jwk or pair.encryption_jwk,
            verification_jwk=recipient.verification_jwk or pair.verification_jwk,
        )

    def has_encryption_key(self, authority_id: str) -> bool:
        """True if deliveries to this authority are encrypted: the directory holds its key,
        or a development key stands in. False for an unknown authority. Makes no key."""
        recipient = self._by_id.get(authority_id)
        if recipient is None:
            return False
        return recipient.encryption_jwk is not None or self._stands_in_for(recipient)

    def has_verification_key(self, authority_id: str) -> bool:
        """True if this authority's receipts are checked with a key (directory or
        development key). False for an unknown authority. Makes no key."""
        recipient = self._by_id.get(authority_id)
        if recipient is None:
            return False
        return recipient.verification_jwk is not None or self._stands_in_for(recipient)

    def _stands_in_for(self, recipient: Recipient) -> bool:
        """Development keys complete what the directory lacks (not for a handover: another
        instance gets the submission, not an envelope, and sends no receipt)."""
        return (
            self._development_keys is not None
            and recipient.handover_url is None
            and (recipient.encryption_jwk is None or recipient.verification_jwk is None)
        )

    def coverage(self) -> KeyCoverage:
        """The directory's own keys (development keys not counted)."""
        every = [r for r in self._by_id.values() if r.handover_url is None]
        return KeyCoverage(
            authorities=len(every),
            without_encryption=sum(r.encryption_jwk is None for r in every),
            without_verification=sum(r.verification_jwk is None for r in every),
        )

    def has_callback(self, authority_id: str) -> bool:
        """True if the authority wants callbacks."""
        recipient = self._by_id.get(authority_id)
        return recipient is not None and recipient.callback_url is not None

    def __iter__(self) -> Iterator[Recipient]:
        """The authorities as the directory has them (no development keys)."""
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
