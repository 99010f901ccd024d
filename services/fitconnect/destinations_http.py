"""``GET /v1/destinations/{destinationId}`` and ``…/keys/{keyId}`` (Submission API 1.1.3).

The destination (``PublicDestination``) needs an access token: a sender's send scope
must reach one of its services' regions, a subscriber may read only its own destination.
Its ``encryptionKid`` is the published key, made on first request (seconds: RSA-4096).
A key (``JWK``) is public: anyone may fetch it by the ``kid`` the destination names, older
keys of the destination too, and its signing key (the authority's verification key in the
directory, with which the SETs it answers with verify). Both answer
``Cache-Control: no-cache``, as the spec requires.
Ids that are not a destination's or key's (also malformed ones) are ``404``.
"""

# No ``from __future__ import annotations``: FastAPI must see the dependency ``access``
# (a closure variable) in the route's signature itself.
import asyncio
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from services.fitconnect.destination_directory import (
    METADATA_VERSIONS,
    Destination,
    DestinationDirectory,
)
from services.fitconnect.destination_keys import DestinationKeys
from services.fitconnect.problems import forbidden, not_found
from services.fitconnect.scopes import DestinationScope, SendScope
from services.fitconnect.tokens import Access

NO_CACHE = {"Cache-Control": "no-cache"}


SigningKeys = Callable[[Destination, str], dict[str, Any] | None]
"""(destination, kid) -> the destination's signing key (its authority's verification key in
the directory, as a JWK with ``key_ops: ["verify"]`` and ``x5c``), or None."""


def destinations_router(
    directory: DestinationDirectory,
    keys: Callable[[], DestinationKeys],
    access: Callable[..., Access],
    signing_keys: SigningKeys | None = None,
) -> APIRouter:
    """The destination routes (mounted under ``/fit-connect``); ``signing_keys``: the keys
    endpoint answers the destination's signing key too (receivers' SETs verify with it)."""
    router = APIRouter(tags=["FIT-Connect: destinations"])

    @router.get("/v1/destinations/{destinationId}")
    async def get_destination(
        destinationId: str,  # noqa: N803 - the spec's name
        granted: Annotated[Access, Depends(access)],
    ) -> JSONResponse:
        """The destination: its services, metadata versions and encryption key id."""
        destination = _destination(directory, destinationId)
        if not _may_read(granted, destination):
            raise forbidden("The access token's scopes do not include this destination.")
        key = await asyncio.to_thread(keys().published, destination.destination_id)
        return JSONResponse(public_destination(destination, key.kid), headers=NO_CACHE)

    @router.get("/v1/destinations/{destinationId}/keys/{keyId}")
    async def get_destination_key(
        destinationId: str,  # noqa: N803
        keyId: str,  # noqa: N803
    ) -> JSONResponse:
        """A public key of the destination (JWK with ``x5c``)."""
        destination = _destination(directory, destinationId)
        found = None
        if 8 <= len(keyId) <= 36:
            found = await asyncio.to_thread(keys().find, destination.destination_id, keyId)
        if found is None and signing_keys is not None and 8 <= len(keyId) <= 64:
            signing = await asyncio.to_thread(signing_keys, destination, keyId)
            if signing is not None:
                return JSONResponse(signing, headers=NO_CACHE)
        if found is None:
            raise not_found(
                "key-not-found", "Key not found", f"The destination has no key {keyId!r}."
            )
        return JSONResponse(found.jwk, headers=NO_CACHE)

    return router


def _destination(directory: DestinationDirectory, text: str) -> Destination:
    try:
        found = directory(uuid.UUID(text))
    except ValueError:
        found = None
    if found is None or not found.services:  # none Amtsweg could accept: not a destination
        raise not_found(
            "destination-not-found", "Destination not found", f"No destination {text!r}."
        )
    return found


def _may_read(granted: Access, destination: Destination) -> bool:
    """A subscriber its own destination; a sender one that offers a service it may send."""
    for scope in granted.scopes:
        if isinstance(scope, DestinationScope):
            if scope.destination_id == destination.destination_id:
                return True
            continue
        if any(
            reaches(scope, service.leika_key, service.regions) for service in destination.services
        ):
            return True
    return False


def reaches(scope: SendScope, leika_key: str, regions: tuple[str, ...]) -> bool:
    """Whether a send scope allows this service in one of these regions."""
    if (
        scope.service is not None
        and scope.service.removeprefix("urn:de:fim:leika:leistung:") != leika_key
    ):
        return False
    wanted = scope.region.removeprefix("DE")
    return any(area.startswith(wanted) or wanted.startswith(area) for area in regions or ("",))


def public_destination(destination: Destination, encryption_kid: str) -> dict[str, Any]:
    """The ``PublicDestination`` document."""
    return {
        "destinationId": str(destination.destination_id),
        "status": "active",
        "services": [
            {
                "identifier": service.identifier,
                "regions": [f"DE{area}" for area in service.regions] or ["DE"],
                "submissionSchemas": [
                    {"schemaUri": schema.schema_uri, "mimeType": schema.mime_type}
                    for schema in service.schemas
                ],
            }
            for service in destination.services
        ],
        "encryptionKid": encryption_kid,
        "metadataVersions": list(METADATA_VERSIONS),
    }
