"""The FIT-Connect facade's ports, wired to the other services' settings and data.

``services.fitconnect`` imports no other service; here its client credentials are checked
against the portals' and authorities' token hashes (``AMTSWEG_PORTAL_TOKENS``,
``AMTSWEG_DELIVERY_AUTHORITY_TOKENS``).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from functools import cache

from services.fitconnect.clients import Client, ClientCredentials, ClientKind
from services.fitconnect.http import FitConnectPorts
from services.fitconnect.token_keys import token_keys
from services.fitconnect.tokens import Tokens
from services.intake.auth import token_hash
from services.ops.app.settings import Settings


def client_credentials(
    portal_tokens: Mapping[str, str], authority_tokens: Mapping[str, str]
) -> ClientCredentials:
    """Portals (senders) and authorities (subscribers) by id and token; an id that is both
    a portal and an authority is the one whose token the secret is (the portal if both)."""

    def check(client_id: str, client_secret: str) -> Client | None:
        presented = token_hash(client_secret)
        sender = _matches(presented, portal_tokens.get(client_id))
        subscriber = _matches(presented, authority_tokens.get(client_id))
        if sender:
            return Client(client_id, ClientKind.SENDER)
        if subscriber:
            return Client(client_id, ClientKind.SUBSCRIBER)
        return None

    return check


def _matches(presented: str, expected: str | None) -> bool:
    """Constant time in the hash; a client id without a token compares against itself."""
    return hmac.compare_digest(presented, (expected or "").lower()) and expected is not None


def token_service(settings: Settings) -> Callable[[], Tokens]:
    """The token service, its keys read (or made, in development) on first use."""
    fitconnect = settings.fitconnect

    @cache
    def tokens() -> Tokens:
        keys = token_keys(
            fitconnect.token_keys_file,
            settings.run.data_dir,
            development=settings.run.development,
        )
        return Tokens(
            keys,
            issuer=fitconnect.token_issuer,
            lifetime_seconds=fitconnect.token_lifetime_seconds,
        )

    return tokens


def fit_connect_ports(settings: Settings) -> FitConnectPorts:
    """Everything the FIT-Connect routes need."""
    return FitConnectPorts(
        tokens=token_service(settings),
        credentials=client_credentials(
            settings.intake.portal_tokens, settings.delivery.authority_tokens
        ),
        sender_scopes=settings.fitconnect.sender_scopes_of,
    )
