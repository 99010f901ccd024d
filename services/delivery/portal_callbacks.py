"""Callbacks to portals: a reply arrived, a request's deadline passed.

A loop beside the notifier. Each tick it brings the portals' follow-up read model
(:mod:`services.delivery.portal_store`) up to date, records the requests whose deadline
passed (:mod:`services.delivery.overdue`), and POSTs every due notice to its portal's
callback URL, signed as the authorities' callbacks are (``callback-timestamp``,
``callback-authentication``: hex HMAC-SHA512 over ``<timestamp>.<body>`` with the portal's
secret from ``AMTSWEG_PORTALS_CALLBACK_SECRETS``, :mod:`contracts.callbacks`). The body
names ids only::

    {"type": "https://amtsweg.de/callbacks/replies", "submissionId": "…", "caseId": "…",
     "replyId": "…", "kind": "decision", "href": "…/v1/submissions/…/replies/…"}

(``"event": "request-overdue"`` instead of ``kind`` for a passed deadline).

Each attempt is recorded on the submission (``record_portal_callback``: ``PortalNotified``,
or ``PortalNotificationFailed`` with the next attempt's ``retry_at``, capped exponential
backoff with jitter; after ``DeliverySettings.callback_max_attempts`` without one: given
up, a dead letter — the portal still finds the reply by pulling). The read model follows
those events, so nothing is kept in memory: a notice acknowledged once is not sent again
after a restart, and a case's next notice waits until the one before was delivered or
given up (order per case). A second process may repeat a POST; the portal dedupes on
``replyId`` and ``event``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

import psycopg
import structlog
from eventsourcing.persistence import PersistenceError

from events.ledger import SubmissionNotFoundError
from services.delivery.callbacks import CallbackResult, CallbackSender
from services.delivery.overdue import OverdueRequests
from services.delivery.portal_store import PortalNotice, PortalProjector
from services.delivery.settings import DeliverySettings
from services.runtime.backoff import backoff
from services.runtime.portals import Portals

log = structlog.get_logger(__name__)

BATCH = 500
PARALLEL_CALLBACKS = 16


class PortalCallbacks:
    """Runs the portals' due follow-up, tick by tick (the ledger holds all state)."""

    def __init__(
        self,
        projector: PortalProjector,
        portals: Portals,
        settings: DeliverySettings,
        sender: CallbackSender,
        *,
        overdue: OverdueRequests | None = None,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._projector = projector
        self._ledger = projector.ledger
        self._portals = portals
        self._settings = settings
        self._sender = sender
        self._overdue = overdue
        self._clock = clock
        self._jitter = jitter
        self._parallel = asyncio.Semaphore(PARALLEL_CALLBACKS)

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until ``stop`` is set; a failing tick is logged and retried next time."""
        log.info("portal_callbacks.started", tick_seconds=self._settings.tick_seconds)
        while not stop.is_set():
            try:
                await self.tick()
            except (OSError, sqlite3.Error, psycopg.Error, PersistenceError) as error:
                log.warning("portal_callbacks.tick_failed", error=type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._settings.tick_seconds)
        log.info("portal_callbacks.stopped")

    async def tick(self) -> int:
        """Do what is due now: passed deadlines, then callbacks; how many steps were taken."""
        await asyncio.to_thread(self._projector.catch_up)
        now = self._clock()
        done = 0
        if self._overdue is not None:
            done += await asyncio.to_thread(self._overdue.mark_due, now)
            if done:
                await asyncio.to_thread(self._projector.catch_up)  # their notices too
        due = await asyncio.to_thread(self._projector.store.callbacks_due, now, BATCH)
        results = await asyncio.gather(*(self._call_back(notice, now) for notice in due))
        return done + sum(results)

    async def _call_back(self, notice: PortalNotice, now: float) -> int:
        attempt = notice.attempts + 1
        portal = self._portals.get(notice.portal_id)
        async with self._parallel:
            if not portal.callback_url or not portal.callback_secret:
                result = CallbackResult(None, "no callback configured")
            else:
                body = json.dumps(notice.body, separators=(",", ":")).encode()
                result = await self._sender.send(portal.callback_url, portal.callback_secret, body)
        retry_at = None
        if result.failure is not None and attempt < self._settings.callback_max_attempts:
            delay = backoff(  # attempt is 1-based: the first retry waits the base
                attempt - 1,
                base=self._settings.callback_backoff_seconds,
                cap=self._settings.callback_backoff_max_seconds,
                jitter=True,
                draw=self._jitter,
            )
            retry_at = datetime.fromtimestamp(now + delay, UTC).isoformat()
        return int(await asyncio.to_thread(self._record, notice, attempt, result, retry_at))

    def _record(
        self, notice: PortalNotice, attempt: int, result: CallbackResult, retry_at: str | None
    ) -> bool:
        with structlog.contextvars.bound_contextvars(
            submission_id=notice.submission_id, stage="portal-callback"
        ):
            try:
                changed = self._ledger.execute(
                    UUID(notice.submission_id),
                    lambda s: s.record_portal_callback(
                        notice.notice,
                        attempt,
                        status_code=result.status_code if result.failure is None else None,
                        failure=result.failure,
                        retry_at=retry_at,
                    ),
                )
            except SubmissionNotFoundError:
                log.error("portal_callbacks.unknown_submission")  # noqa: TRY400 - no trace
                return False
            outcome = "delivered" if result.failure is None else "retry" if retry_at else "gave-up"
            level = log.info if result.failure is None else log.warning
            level(
                "portal.callback",
                portal_id=notice.portal_id,
                notice=notice.notice,
                outcome=outcome,
                attempt=attempt,
                reason=result.failure,
            )
            return changed
