"""The FIT-Connect API, mounted under ``/fit-connect`` beside Amtsweg's own ``/v1/…``.

Paths are the Submission API's (``/fit-connect/v1/…``) plus the token endpoint
(``/fit-connect/token``) and the event log's keys (``/fit-connect/.well-known/jwks.json``).
What the routes need of other services comes in :class:`FitConnectPorts`, built by the
composition root.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI

from services.fitconnect.access import bearer_access
from services.fitconnect.answers_http import AnswerPorts, answers_router
from services.fitconnect.clients import ClientCredentials, SenderScopes
from services.fitconnect.destination_admin_http import (
    DestinationAdminPorts,
    destination_admin_router,
)
from services.fitconnect.destination_directory import DestinationDirectory
from services.fitconnect.destination_keys import DestinationKeys
from services.fitconnect.destinations_http import SigningKeys, destinations_router
from services.fitconnect.events_http import EventLogPorts, events_router
from services.fitconnect.pickup_http import PickupPorts, pickup_router
from services.fitconnect.problems import install_problem_handler
from services.fitconnect.set_keys import SetKeys
from services.fitconnect.set_keys_http import set_keys_router
from services.fitconnect.submissions_http import SendingPorts, submissions_router
from services.fitconnect.token_http import token_router
from services.fitconnect.tokens import Tokens

PREFIX = "/fit-connect"


@dataclass(frozen=True)
class FitConnectPorts:
    """What the FIT-Connect routes are given."""

    tokens: Callable[[], Tokens]
    """The token service (its keys read on first use)."""
    credentials: ClientCredentials
    sender_scopes: SenderScopes
    destinations: DestinationDirectory
    """Destinations by id (the directory and the catalog)."""
    keys: Callable[[], DestinationKeys]
    """The destinations' key pairs (the key table and CA opened on first use)."""
    sending: SendingPorts | None = None
    """Announce, attachments and submit (none: those routes are not mounted)."""
    set_keys: Callable[[], SetKeys] | None = None
    """The event log's signing keys (read on first use; none: no JWKS, no event log)."""
    event_log: EventLogPorts | None = None
    """The case event log (mounted with ``set_keys``)."""
    signing_keys: SigningKeys | None = None
    """The destinations' signing keys, answered by the keys endpoint (none: only the
    encryption keys)."""
    pickup: PickupPorts | None = None
    """Subscribers pick up their deliveries (none: those routes are not mounted)."""
    destination_admin: DestinationAdminPorts | None = None
    """Subscribers' destination management and ``/v1/info`` (none: not mounted)."""
    answers: AnswerPorts | None = None
    """Subscribers' accept and reject SETs (none: ``POST /v1/cases/{caseId}/events`` is not
    mounted)."""


def fit_connect_router(ports: FitConnectPorts) -> APIRouter:
    """Every FIT-Connect route, under :data:`PREFIX`."""
    router = APIRouter(prefix=PREFIX)
    router.include_router(token_router(ports.tokens, ports.credentials, ports.sender_scopes))
    access = bearer_access(ports.tokens)
    router.include_router(
        destinations_router(ports.destinations, ports.keys, access, ports.signing_keys)
    )
    if ports.sending is not None:
        router.include_router(
            submissions_router(ports.destinations, ports.keys, access, ports.sending)
        )
    if ports.pickup is not None:
        router.include_router(pickup_router(ports.destinations, access, ports.pickup))
    if ports.set_keys is not None:
        router.include_router(set_keys_router(ports.set_keys))
        if ports.event_log is not None:
            router.include_router(events_router(access, ports.set_keys, ports.event_log))
    if ports.destination_admin is not None:
        router.include_router(
            destination_admin_router(
                ports.destinations, ports.keys, access, ports.destination_admin
            )
        )
    if ports.answers is not None:
        router.include_router(answers_router(access, ports.answers))
    return router


def mount_fit_connect(app: FastAPI, ports: FitConnectPorts) -> None:
    """Add the FIT-Connect routes and their problem answers to ``app``."""
    install_problem_handler(app)
    app.include_router(fit_connect_router(ports))
