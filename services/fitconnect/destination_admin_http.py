"""Destination management for subscribers (Submission API 1.1.3), and ``GET /v1/info``.

Amtsweg's authority directory stays the source of destinations, their services and keys:
a destination is an authority (:mod:`destinations`), its encryption keys are Amtsweg's
(:mod:`destination_keys`), its signing key the directory's verification key. What a
subscriber may change (scope ``manage:destination:<id>``, granted to the authority for its
own destination) is its ``callback`` (URL and write-only secret, sealed at rest) and its
``contactInformation``. So:

- ``GET /v1/destinations``: the token's own destinations (``PrivateDestination``).
- ``PUT`` / ``PATCH /v1/destinations/{id}``: set the callback and the contact (``PUT``
  without ``callback`` removes it). Fields Amtsweg does not let a client change
  (``status``, ``services``, ``encryptionKid``, ``metadataVersions``) must name what the
  destination has (``status`` ``active``; the published key, or any key of the
  destination); another value is ``403``, so a client never believes a change was made.
  ``replyChannels`` (deprecated) is ignored.
- ``POST /v1/destinations`` (``create:destination``, never granted) and ``DELETE`` are
  ``403``: the directory adds and removes authorities.
- ``POST /v1/destinations/{id}/keys``: ``201`` if the key is one the destination already
  has (the spec's "exists already"), else ``403``.
- ``GET /v1/info``: the Submission API version Amtsweg implements.
"""

# No ``from __future__ import annotations``: FastAPI must see the dependency ``access``.
import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.fitconnect.callback_table import Callback, CallbackTable, destination_owner
from services.fitconnect.destination_directory import (
    METADATA_VERSIONS,
    Destination,
    DestinationDirectory,
)
from services.fitconnect.destination_keys import DestinationKeys
from services.fitconnect.destinations_http import NO_CACHE, public_destination
from services.fitconnect.paging import Limit, Offset
from services.fitconnect.problems import FitConnectProblemError, forbidden, not_found
from services.fitconnect.scopes import DestinationScope
from services.fitconnect.tokens import Access

API_VERSION = {"major": 1, "minor": 1, "patch": 3}
"""The Submission API version these routes implement."""
_HTTPS = r"^https://.+"
_ANY_URL = r"^https?://.+"


@dataclass(frozen=True)
class DestinationAdminPorts:
    """What destination management needs besides the directory and the keys."""

    callbacks: Callable[[], CallbackTable]
    contact: Callable[[str], dict[str, Any]]
    """Authority id -> its contact in the directory (``ContactInformation``)."""
    verification_key: Callable[[str], dict[str, Any] | None]
    """Authority id -> its verification JWK (the destination's signing key), or None."""
    insecure_callbacks: bool = False
    """Allow ``http://`` callback URLs (development and tests only; the spec says HTTPS)."""


class CreateCallback(BaseModel):
    """``CreateCallback``: a callback URL and its secret (write-only)."""

    model_config = ConfigDict(extra="ignore")
    url: str = Field(min_length=9, max_length=2048, pattern=_ANY_URL)
    secret: str = Field(min_length=32, max_length=512)


class ContactInformation(BaseModel):
    """``ContactInformation``."""

    model_config = ConfigDict(extra="ignore")
    legal_name: str = Field(alias="legalName", max_length=512)
    address: str = Field(max_length=1024)
    phone: str = Field(max_length=128)
    email: str = Field(max_length=320)
    unit: str | None = Field(default=None, max_length=512)


class PatchDestination(BaseModel):
    """``PatchDestination`` (``UpdateDestination`` is the same with more required)."""

    model_config = ConfigDict(extra="ignore")
    callback: CreateCallback | None = None
    contact_information: ContactInformation | None = Field(default=None, alias="contactInformation")
    encryption_kid: str | None = Field(default=None, alias="encryptionKid", max_length=64)
    metadata_versions: list[str] | None = Field(default=None, alias="metadataVersions")
    services: list[dict[str, Any]] | None = None
    status: str | None = None


_UPDATE_REQUIRED = ("status", "contactInformation", "services", "encryptionKid", "metadataVersions")


def destination_admin_router(  # noqa: PLR0915 - one route each
    directory: DestinationDirectory,
    keys: Callable[[], DestinationKeys],
    access: Callable[..., Access],
    ports: DestinationAdminPorts,
) -> APIRouter:
    """The management routes (mounted under ``/fit-connect``)."""
    router = APIRouter(tags=["FIT-Connect: destination management"])

    @router.get("/v1/info")
    async def get_info() -> JSONResponse:
        """The Submission API version implemented."""
        return JSONResponse({"version": API_VERSION})

    @router.get("/v1/destinations")
    async def get_my_destinations(
        granted: Annotated[Access, Depends(access)],
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> JSONResponse:
        """The token's own destinations with their callbacks and contacts."""
        owned = list(
            dict.fromkeys(
                s.destination_id for s in granted.scopes if isinstance(s, DestinationScope)
            )
        )
        if not owned:
            raise forbidden("Only subscribers have destinations.")
        found = [d for d in map(directory, owned) if d is not None and d.services]
        page = found[offset : offset + limit]
        documents = [await asyncio.to_thread(_private, d) for d in page]
        body = {
            "count": len(documents),
            "offset": offset,
            "totalCount": len(found),
            "destinations": documents,
        }
        return JSONResponse(body, headers=NO_CACHE)

    @router.post("/v1/destinations", status_code=201, dependencies=[Depends(access)])
    async def create_destination() -> Response:
        """Not here: destinations come from Amtsweg's authority directory."""
        raise forbidden(
            "Destinations come from the authority directory (scope create:destination)."
        )

    @router.put("/v1/destinations/{destinationId}")
    async def update_destination(
        destinationId: str,  # noqa: N803 - the spec's name
        request: Request,
        granted: Annotated[Access, Depends(access)],
    ) -> JSONResponse:
        """Set the callback and contact; the rest must be what the destination has."""
        destination = _managed(granted, destinationId)
        body = await _body(request)
        missing = [name for name in _UPDATE_REQUIRED if name not in body]
        if missing:
            raise _bad_request(f"UpdateDestination requires {', '.join(missing)}.")
        return await _changed(destination, _patch(body), replace=True)

    @router.patch("/v1/destinations/{destinationId}")
    async def patch_destination(
        destinationId: str,  # noqa: N803
        request: Request,
        granted: Annotated[Access, Depends(access)],
    ) -> JSONResponse:
        """Set the callback or the contact; the rest must be what the destination has."""
        destination = _managed(granted, destinationId)
        return await _changed(destination, _patch(await _body(request)), replace=False)

    @router.delete("/v1/destinations/{destinationId}", status_code=204)
    async def delete_destination(
        destinationId: str,  # noqa: N803
        granted: Annotated[Access, Depends(access)],
    ) -> Response:
        """Not here: the authority directory removes authorities."""
        _managed(granted, destinationId)
        raise forbidden("The authority directory removes destinations, not a client.")

    @router.post("/v1/destinations/{destinationId}/keys", status_code=201)
    async def add_destination_key(
        destinationId: str,  # noqa: N803
        request: Request,
        granted: Annotated[Access, Depends(access)],
    ) -> Response:
        """201 for a key the destination has; Amtsweg makes and rotates them itself."""
        destination = _managed(granted, destinationId)
        jwk = await _body(request)
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not 8 <= len(kid) <= 64 or not isinstance(jwk.get("n"), str):
            raise _bad_request("A JWK with kid and n is expected.")
        if not await asyncio.to_thread(_has_key, destination, jwk):
            raise forbidden(
                "Amtsweg makes the destination's keys; the directory holds its signing key."
            )
        location = f"/v1/destinations/{destination.destination_id}/keys/{kid}"
        return Response(status_code=201, headers={"Location": location})

    def _private(destination: Destination) -> dict[str, Any]:
        """The ``PrivateDestination`` document (blocking)."""
        key = keys().published(destination.destination_id)
        document = public_destination(destination, key.kid)
        table = ports.callbacks()
        url = table.callback_url(destination_owner(destination.destination_id))
        if url is not None:
            document["callback"] = {"url": url}
        stored = table.contact(str(destination.destination_id))
        document["contactInformation"] = stored or ports.contact(destination.authority_id or "")
        return document

    async def _changed(
        destination: Destination, patch: PatchDestination, *, replace: bool
    ) -> JSONResponse:
        await asyncio.to_thread(_check_fixed, destination, patch)
        owner = destination_owner(destination.destination_id)
        table = ports.callbacks()
        if patch.callback is not None:
            if not ports.insecure_callbacks and not patch.callback.url.startswith("https://"):
                raise _bad_request("The callback URL must be an HTTPS URL.")
            callback = Callback(patch.callback.url, patch.callback.secret)
            await asyncio.to_thread(table.set_callback, owner, callback)
        elif replace:
            await asyncio.to_thread(table.remove_callback, owner)
        if patch.contact_information is not None:
            contact = patch.contact_information.model_dump(by_alias=True, exclude_none=True)
            await asyncio.to_thread(table.set_contact, str(destination.destination_id), contact)
        document = await asyncio.to_thread(_private, destination)
        return JSONResponse(document, headers=NO_CACHE)

    def _check_fixed(destination: Destination, patch: PatchDestination) -> None:
        """403 naming the first field that asks for something the directory decides."""
        if patch.status is not None and patch.status != "active":
            raise forbidden("A destination of the directory stays active.")
        if patch.encryption_kid is not None and (
            keys().find(destination.destination_id, patch.encryption_kid) is None
        ):
            raise forbidden("Amtsweg makes and rotates the destination's encryption keys.")
        if patch.metadata_versions is not None and not set(patch.metadata_versions) <= set(
            METADATA_VERSIONS
        ):
            raise forbidden(f"Amtsweg accepts metadata {', '.join(METADATA_VERSIONS)}.")
        if patch.services is not None:
            offered = {service.identifier for service in destination.services}
            asked = {str(service.get("identifier")) for service in patch.services}
            if asked != offered:
                raise forbidden("The directory decides the destination's services.")

    def _has_key(destination: Destination, jwk: dict[str, Any]) -> bool:
        kid = str(jwk["kid"])
        own = keys().find(destination.destination_id, kid)
        if own is not None and own.jwk.get("n") == jwk["n"]:
            return True
        signing = ports.verification_key(destination.authority_id or "")
        return signing is not None and signing.get("kid") == kid and signing.get("n") == jwk["n"]

    def _managed(granted: Access, text: str) -> Destination:
        try:
            found = directory(uuid.UUID(text))
        except ValueError:
            found = None
        if found is None or not found.services:
            raise not_found(
                "destination-not-found", "Destination not found", f"No destination {text!r}."
            )
        if DestinationScope("manage", found.destination_id) not in granted.scopes:
            raise forbidden("The access token's scopes do not include managing this destination.")
        return found

    return router


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > 64 * 1024:
        raise _bad_request("The body is too large.")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise _bad_request("A JSON object is expected.")
    return body


def _patch(body: dict[str, Any]) -> PatchDestination:
    try:
        return PatchDestination.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise _bad_request(f"{where}: {first['msg']}") from None


def _bad_request(detail: str) -> FitConnectProblemError:
    return FitConnectProblemError(400, "bad-request", "Bad request", detail)
