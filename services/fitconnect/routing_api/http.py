"""The Routing API's HTTP routes under ``/fit-connect/routing/v1`` (FastAPI router).

``GET /routes``, ``GET /areas`` and ``GET /info`` as FITKO's ``routing-api.yaml`` says:
public, unauthenticated (like FITKO's), 200 with the spec's schemas, 400 with an RFC 7807
problem (:mod:`.problems`). ``/areas`` answers 200 as ``application/problem+json`` because
the spec says so (its media type for that answer); the body is an ``area-result``.
The handlers are synchronous: FastAPI runs them in its thread pool, where the directory's
indexes may be built on first use without blocking the event loop.
"""

from __future__ import annotations

import time
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.fitconnect.routing_api import documents
from services.fitconnect.routing_api.documents import Instance
from services.fitconnect.routing_api.ports import (
    RoutingDirectory,
    SignJws,
    UnknownRegionError,
    UnknownServiceError,
)
from services.fitconnect.routing_api.problems import (
    PROBLEM_JSON,
    RoutingRequestError,
    unknown_region,
    unknown_service,
)
from services.fitconnect.routing_api.query import (
    DEFAULT_LIMIT,
    MAX_EXPRESSION_LENGTH,
    MAX_EXPRESSIONS,
    MAX_LIMIT,
    area_query,
    route_query,
)

PREFIX: Final = "/fit-connect/routing/v1"
TAG: Final = "FIT-Connect Routing API"
_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}
_BAD_REQUEST: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "The query does not meet the spec's rules, or names an unknown "
        "service or region (RFC 7807 problem)",
        "content": {PROBLEM_JSON: {"schema": _ERROR_SCHEMA}},
    }
}


def _parameter(name: str, description: str, **schema: Any) -> dict[str, Any]:
    required = schema.pop("required", False)
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }


_PAGE = [
    _parameter("offset", "Where the page starts (default 0).", type="integer", minimum=0),
    _parameter(
        "limit",
        f"Page size (default {DEFAULT_LIMIT}).",
        type="integer",
        minimum=1,
        maximum=MAX_LIMIT,
    ),
]
_ROUTE_PARAMETERS = [
    _parameter(
        "leikaKey", "LeiKa key of the service.", type="string", pattern=r"^99\d{12}$", required=True
    ),
    _parameter(
        "ars", "ARS of the area.", type="string", pattern=r"^(\d{2}|\d{3}|\d{5}|\d{9}|\d{12})$"
    ),
    _parameter("ags", "AGS of the area.", type="string", pattern=r"^(\d{2}|\d{3}|\d{5}|\d{8})$"),
    _parameter("areaId", "Id of an area from /areas (its ARS).", type="string", pattern=r"^\d{1,}"),
    *_PAGE,
]
_AREA_PARAMETERS = [
    {
        **_parameter(
            "areaSearchexpression",
            'Words of a name or postal codes, "*" as wildcard; every expression must match.',
            type="array",
            minItems=1,
            maxItems=MAX_EXPRESSIONS,
            items={"type": "string", "maxLength": MAX_EXPRESSION_LENGTH},
            required=True,
        ),
        "style": "form",
        "explode": True,
    },
    *_PAGE,
]


class AreaResultResponse(JSONResponse):
    """An ``area-result``, with the media type the spec gives it."""

    media_type = PROBLEM_JSON


def _problem(error: RoutingRequestError) -> JSONResponse:
    return JSONResponse(error.document(), status_code=error.status, media_type=PROBLEM_JSON)


def routing_api_router(directory: RoutingDirectory, sign: SignJws, instance: Instance) -> APIRouter:
    """The Routing API over ``directory``, its routes signed with ``sign``."""
    router = APIRouter(prefix=PREFIX, tags=[TAG])

    @router.get(
        "/routes",
        operation_id="route",
        responses=_BAD_REQUEST,
        openapi_extra={"parameters": _ROUTE_PARAMETERS},
    )
    def get_routes(request: Request) -> JSONResponse:
        """The destinations competent for a service (LeiKa key) in exactly one area (ARS,
        AGS or area id), with contact data and a destination signature by Amtsweg."""
        try:
            query = route_query(request.query_params)
            offices = directory.competent(query.leika_key, query.region)
        except RoutingRequestError as error:
            return _problem(error)
        except UnknownServiceError as error:
            return _problem(unknown_service(str(error)))
        except UnknownRegionError as error:
            return _problem(unknown_region(str(error)))
        result = documents.route_result(
            offices, query.page, instance, sign, issued_at=int(time.time())
        )
        return JSONResponse(result)

    @router.get(
        "/areas",
        operation_id="area",
        response_class=AreaResultResponse,
        responses=_BAD_REQUEST,
        openapi_extra={"parameters": _AREA_PARAMETERS},
    )
    def get_areas(request: Request) -> JSONResponse:
        """Areas (municipalities, city districts) whose name words or postal codes match
        every search expression; ids are ARS, for ``/routes?areaId=``."""
        try:
            query = area_query(request.query_params)
        except RoutingRequestError as error:
            return _problem(error)
        areas = directory.search_areas(query.expressions)
        return AreaResultResponse(documents.area_result(areas, query.page))

    @router.get("/info", operation_id="get-info")
    def get_info() -> JSONResponse:
        """The version of the Routing API spec this instance answers."""
        return JSONResponse(documents.info())

    return router
