"""FIT-Connect's callbacks: ``new-submissions`` to subscribers, ``new-events`` to senders.

Each tick the callback loop reads the ledger's notification log from the position stored
in the :class:`~services.fitconnect.callback_table.CallbackTable` and queues a notice for
every event FIT-Connect calls back on, if its owner has a callback:

- ``Dispatched`` of a submission sent over FIT-Connect, or dispatched to a FIT-Connect
  pickup: ``new-submissions`` to the subscriber of the authority's destination (the
  submission is available for pickup there; a submission not sent over FIT-Connect has the
  case :func:`~contracts.cases.case_id_of` gives it);
- ``Accepted``, ``RefusedByAuthority`` (the authority's answer) and ``Rejected`` (Amtsweg's
  validation): ``new-events`` to the sender, if it gave a callback at announce.

Queueing and the new position are one transaction. Then every due notice is POSTed with
``callback-timestamp`` and ``callback-authentication`` (hex HMAC-SHA512 over
``<timestamp>.<body>`` with the owner's secret, :mod:`contracts.callbacks`); a ``2xx``
ends it, anything else is retried with capped exponential backoff up to
:data:`MAX_ATTEMPTS`. The state is the table's, so a restart loses no callback. A notice
names ids only (``submissions``: ``destinationId``, ``submissionId``, ``caseId``, and the
deprecated ``submissionIds``); logs name the notice and the status, never a URL's query or
a secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
import psycopg
import structlog
from eventsourcing.persistence import PersistenceError

from contracts.callbacks import callback_headers
from contracts.cases import case_id_of
from contracts.topics import is_pickup_channel
from events.ledger import Ledger
from events.shards import shard_name
from events.submission import Submission
from services.fitconnect.callback_table import (
    CallbackTable,
    Notice,
    destination_owner,
    submission_owner,
)
from services.fitconnect.destinations import destination_id
from services.fitconnect.submission_table import SubmissionTable
from services.runtime.backoff import backoff

log = structlog.get_logger(__name__)

NEW_SUBMISSIONS = "https://schema.fitko.de/fit-connect/submission-api/callbacks/new-submissions"
NEW_EVENTS = "https://schema.fitko.de/fit-connect/submission-api/callbacks/new-events"
MAX_ATTEMPTS = 12
BATCH = 500
_ANSWERS = {"Accepted", "RefusedByAuthority", "Rejected"}


class CallbackPoster(Protocol):
    """POSTs one callback body; the HTTP status, or None if nothing answered."""

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int | None: ...


class HttpCallbackPoster:
    """Real POSTs with httpx (no redirects followed, the client's timeout)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int | None:
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError:
            return None
        return response.status_code


@dataclass(frozen=True)
class CallbackSettings:
    """How often the loop looks and how it retries."""

    tick_seconds: float = 2.0
    retry_base_seconds: float = 5.0
    retry_cap_seconds: float = 3600.0
    max_attempts: int = MAX_ATTEMPTS


class FitConnectCallbacks:
    """Queues and sends the callbacks, tick by tick (the table holds all state)."""

    def __init__(
        self,
        ledger: Ledger,
        submissions: SubmissionTable,
        callbacks: CallbackTable,
        poster: CallbackPoster,
        settings: CallbackSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ledger = ledger
        self._submissions = submissions
        self._callbacks = callbacks
        self._poster = poster
        self._settings = settings or CallbackSettings()
        self._clock = clock

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until ``stop`` is set; a failing tick is logged and retried next time."""
        log.info("fit_connect_callbacks.started")
        while not stop.is_set():
            try:
                await self.tick()
            except (OSError, sqlite3.Error, psycopg.Error, PersistenceError) as error:
                log.warning("fit_connect_callbacks.tick_failed", error=type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._settings.tick_seconds)
        log.info("fit_connect_callbacks.stopped")

    async def tick(self) -> int:
        """Queue what the ledger says, then send what is due; how many were sent."""
        for shard in range(len(self._ledger.shards)):
            while await asyncio.to_thread(self.queue_batch, shard):
                pass
        now = datetime.fromtimestamp(self._clock(), UTC)
        due = await asyncio.to_thread(self._callbacks.due, now, BATCH)
        results = await asyncio.gather(*(self._send(notice) for notice in due))
        return sum(results)

    def queue_batch(self, shard: int = 0) -> int:
        """Queue the notices of the next batch of a ledger shard's events (blocking); how
        many read. Each shard has its position (``ledger``, ``ledger-shard<k>``)."""
        ledger = self._ledger.shards[shard]
        name = shard_name("ledger", shard)
        start = self._callbacks.position(name)
        notifications = ledger.recorder.select_notifications(start, BATCH, inclusive_of_start=False)
        if not notifications:
            return 0
        notices = []
        for notification in notifications:
            event = ledger.mapper.to_domain_event(notification)
            if isinstance(event, Submission.Event):
                notice = self._notice_of(event)
                if notice is not None:
                    notices.append(notice)
        now = datetime.fromtimestamp(self._clock(), UTC)
        self._callbacks.advance(notifications[-1].id, notices, now, name)
        return len(notifications)

    def _notice_of(self, event: Submission.Event) -> Notice | None:
        name = type(event).__name__
        if name != "Dispatched" and name not in _ANSWERS:
            return None
        submission_id = str(event.originator_id)
        announcement = self._submissions.get(submission_id)
        if name == "Dispatched":
            authority: str = getattr(event, "authority_id", "")
            topic: str = getattr(event, "topic", "")
            if announcement is None and not is_pickup_channel(topic):
                return None  # neither sent nor picked up over FIT-Connect
            owner = destination_owner(destination_id(authority))
            kind, destination = NEW_SUBMISSIONS, str(destination_id(authority))
        elif announcement is None:
            return None  # not sent over FIT-Connect: its sender has no FIT-Connect callback
        else:
            owner = submission_owner(submission_id)
            kind, destination = NEW_EVENTS, announcement.destination_id
        case_id = announcement.case_id if announcement else case_id_of(submission_id)
        if self._callbacks.callback_url(owner) is None:
            return None
        body: dict[str, Any] = {
            "type": kind,
            "submissionIds": [submission_id],
            "submissions": [
                {
                    "destinationId": destination,
                    "submissionId": submission_id,
                    "caseId": case_id,
                }
            ],
        }
        notice_id = f"{name}:{submission_id}:{event.originator_version}"
        return Notice(notice_id, owner, body, 0)

    async def _send(self, notice: Notice) -> int:
        callback = await asyncio.to_thread(self._callbacks.callback, notice.owner)
        attempt = notice.attempts + 1
        now = self._clock()
        if callback is None:  # removed meanwhile: nothing to call
            await self._record(notice, attempt, done=True, failure="no-callback", at=now)
            return 0
        body = _json(notice.body)
        headers = {
            "content-type": "application/json",
            **callback_headers(callback.secret, int(now), body),
        }
        status = await self._poster.post(callback.url, body, headers)
        if status is not None and 200 <= status < 300:
            await self._record(notice, attempt, done=True, failure=None, at=now)
            log.info("fit_connect_callback.delivered", notice=notice.notice_id, status=status)
            return 1
        failure = "no-answer" if status is None else f"HTTP {status}"
        settings = self._settings
        given_up = attempt >= settings.max_attempts
        pause = backoff(
            notice.attempts, base=settings.retry_base_seconds, cap=settings.retry_cap_seconds
        )
        await self._record(notice, attempt, done=given_up, failure=failure, at=now + pause)
        log.warning(
            "fit_connect_callback.failed",
            notice=notice.notice_id,
            attempt=attempt,
            failure=failure,
            given_up=given_up,
        )
        return 0

    async def _record(
        self, notice: Notice, attempt: int, *, done: bool, failure: str | None, at: float
    ) -> None:
        due_at = datetime.fromtimestamp(at, UTC)
        await asyncio.to_thread(
            self._callbacks.attempted,
            notice.notice_id,
            attempt,
            done=done,
            due_at=due_at,
            failure=failure,
        )


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()
