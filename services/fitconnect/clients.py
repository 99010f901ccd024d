"""FIT-Connect API clients: portals send, authorities subscribe.

A *sender* client is a portal: its client id is the portal id, its client secret the
portal's bearer token on Amtsweg's own API. A *subscriber* client is an authority: its
client id is the authority id, its secret the authority's delivery token. Amtsweg keeps
only hashes of these secrets (``AMTSWEG_PORTAL_TOKENS``, ``AMTSWEG_DELIVERY_AUTHORITY_TOKENS``);
the check is the composition root's :class:`ClientCredentials`, so this package never
reads another service's settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from services.fitconnect.destinations import destination_id
from services.fitconnect.scopes import DestinationScope, Scope, SendScope, parse_scopes


class ClientKind(StrEnum):
    """What a client does on the Submission API."""

    SENDER = "sender"
    SUBSCRIBER = "subscriber"


@dataclass(frozen=True)
class Client:
    """An authenticated client: a portal (sender) or an authority (subscriber)."""

    client_id: str
    kind: ClientKind


class ClientCredentials(Protocol):
    """Checks a client id and secret (constant time); the client they prove, or None."""

    def __call__(self, client_id: str, client_secret: str) -> Client | None: ...


SenderScopes = Callable[[str], tuple[str, ...]]
"""Portal id -> the send scopes it may be granted (as configured)."""


def grantable(client: Client, sender_scopes: SenderScopes) -> tuple[Scope, ...]:
    """Every scope ``client`` may be granted: a portal its send scopes, an authority its
    own destination (to subscribe to, and to manage: its callback and contact)."""
    if client.kind is ClientKind.SENDER:
        scopes = parse_scopes(" ".join(sender_scopes(client.client_id)))
        return tuple(scope for scope in scopes if isinstance(scope, SendScope))
    own = destination_id(client.client_id)
    return (DestinationScope("subscribe", own), DestinationScope("manage", own))
