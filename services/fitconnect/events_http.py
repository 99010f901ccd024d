"""``GET /v1/cases/{caseId}/events`` (under ``/fit-connect``): a case's event log.

The answer is the Submission API's ``EventLog``: ``eventLog`` the case's Security Event
Tokens oldest first (:mod:`event_log`), paged by ``limit`` (1 to 500, default 100) and
``offset`` with ``count``, ``offset`` and ``totalCount``. A sender sees the events of its
own submissions of the case, a subscriber those of its destination's and those dispatched to
its authority; a case with none it may see is ``404`` (whether it exists is not told).
"""

# No ``from __future__ import annotations``: FastAPI must see the dependency ``access``.
import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from services.fitconnect.clients import ClientKind
from services.fitconnect.destinations import destination_id
from services.fitconnect.event_log import Trail, case_events, signed
from services.fitconnect.paging import Limit, Offset
from services.fitconnect.problems import not_found
from services.fitconnect.scopes import DestinationScope
from services.fitconnect.set_keys import SetKeys
from services.fitconnect.submission_table import Announcement, SubmissionTable
from services.fitconnect.tokens import Access


@dataclass(frozen=True)
class EventLogPorts:
    """What the event log needs: the announced submissions and the ledger's trails."""

    table: Callable[[], SubmissionTable]
    trail: Trail
    issuer: str
    """The SETs' ``iss`` (the public URL of this instance's FIT-Connect API)."""


def events_router(
    access: Callable[..., Access], keys: Callable[[], SetKeys], ports: EventLogPorts
) -> APIRouter:
    """The event log route (mounted under ``/fit-connect``)."""
    router = APIRouter(tags=["FIT-Connect: event log"])

    @router.get("/v1/cases/{caseId}/events")
    async def get_case_events(
        caseId: str,  # noqa: N803 - the spec's name
        granted: Annotated[Access, Depends(access)],
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> JSONResponse:
        """The case's events as Security Event Tokens."""
        try:
            case_id = str(uuid.UUID(caseId))
        except ValueError:
            case_id = None
        announcements = await asyncio.to_thread(ports.table().of_case, case_id) if case_id else []
        visible = [
            a for a in announcements if await asyncio.to_thread(_sees, granted, a, ports.trail)
        ]
        if case_id is None or not visible:
            raise not_found("case-not-found", "Case not found", f"No case {caseId!r}.")
        events = await asyncio.to_thread(case_events, visible, ports.trail)
        page = events[offset : offset + limit]
        signing = keys()
        tokens = [signed(event, case_id, ports.issuer, signing) for event in page]
        body = {
            "count": len(tokens),
            "offset": offset,
            "totalCount": len(events),
            "eventLog": tokens,
        }
        return JSONResponse(body)

    return router


def _sees(granted: Access, announcement: Announcement, trail: Trail) -> bool:
    """A sender its own submissions; a subscriber those announced to its destination or
    dispatched to its authority (sent to the routing destination, say)."""
    if granted.client.kind is ClientKind.SENDER:
        return announcement.client_id == granted.client.client_id
    destinations = {
        str(scope.destination_id) for scope in granted.scopes if isinstance(scope, DestinationScope)
    }
    if announcement.destination_id in destinations:
        return True
    if str(destination_id(granted.client.client_id)) not in destinations:
        return False
    return any(
        entry.event == "Dispatched" and entry.data.get("authority_id") == granted.client.client_id
        for entry in trail(uuid.UUID(announcement.submission_id))
    )
