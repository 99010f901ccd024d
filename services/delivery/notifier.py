"""The notifier: time-driven delivery work — callbacks, reminders, escalations.

Each tick it brings the deliveries read model up to date from the ledger, asks the pure
deadline functions what is due, and records every outcome as an event on the submission
(Reminded, Escalated, CallbackDelivered, CallbackFailed, DeliveryFailed). The relay then
publishes them; a reminder republishes the envelope. Nothing is kept in memory between
ticks, so a restart resumes where the ledger says. The aggregate refuses a step already
taken, so a second notifier is harmless apart from a repeated callback POST, which the
receiver dedupes by delivery id.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from uuid import UUID

import psycopg
import structlog
from eventsourcing.persistence import PersistenceError

from events.ledger import Ledger, SubmissionNotFoundError
from events.submission import Submission
from services.delivery.callbacks import CallbackResult, CallbackSender, notice_body, notice_for
from services.delivery.deadlines import DeadlinePolicy, Escalate, Remind, next_step
from services.delivery.projection import DeliveryRow
from services.delivery.projector import DeliveryProjector
from services.delivery.recipients import Recipients
from services.delivery.settings import DeliverySettings
from services.runtime.backoff import backoff

log = structlog.get_logger(__name__)

BATCH = 500
PARALLEL_CALLBACKS = 16


class Notifier:
    """Runs the due work of open deliveries, tick by tick."""

    def __init__(
        self,
        projector: DeliveryProjector,
        recipients: Recipients,
        settings: DeliverySettings,
        sender: CallbackSender,
        *,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._projector = projector
        self._ledger: Ledger = projector.ledger
        self._recipients = recipients
        self._settings = settings
        self._sender = sender
        self._clock = clock
        self._jitter = jitter
        self._policy = DeadlinePolicy(
            tuple(sorted(settings.remind_after_seconds)), settings.escalate_after_seconds
        )
        self._parallel = asyncio.Semaphore(PARALLEL_CALLBACKS)

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until ``stop`` is set; a failing tick is logged and retried next time."""
        log.info("notifier.started", tick_seconds=self._settings.tick_seconds)
        while not stop.is_set():
            try:
                await self.tick()
            except (OSError, sqlite3.Error, psycopg.Error, PersistenceError) as error:
                log.warning("notifier.tick_failed", error=type(error).__name__)  # next tick
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._settings.tick_seconds)
        log.info("notifier.stopped")

    async def tick(self) -> int:
        """Do what is due now; return how many steps and callback attempts were made."""
        await asyncio.to_thread(self._projector.catch_up)
        now = self._clock()
        done = 0
        stepped = set()
        async for row in self._awaiting_deadline(now):
            step = next_step(now - row.dispatched_at, row.reminders, row.escalated, self._policy)
            if step is not None:
                done += await asyncio.to_thread(self._take_step, row, step)
                stepped.add(row.delivery_id)  # a new notice: its callback comes next tick
        due = await asyncio.to_thread(self._projector.store.callbacks_due, now, BATCH)
        results = await asyncio.gather(
            *(self._call_back(row, now) for row in due if row.delivery_id not in stepped)
        )
        return done + sum(results)

    async def _awaiting_deadline(self, now: float) -> AsyncIterator[DeliveryRow]:
        """Every open delivery old enough for a reminder or escalation, page by page."""
        earliest = min((*self._policy.remind_after, self._policy.escalate_after))
        after = (-1.0, "")  # before any dispatch
        while page := await asyncio.to_thread(
            self._projector.store.awaiting_deadline, now - earliest, after, BATCH
        ):
            for row in page:
                yield row
            after = (page[-1].dispatched_at, page[-1].delivery_id)

    def _take_step(self, row: DeliveryRow, step: Remind | Escalate) -> int:
        with structlog.contextvars.bound_contextvars(
            submission_id=row.submission_id, delivery_id=row.delivery_id, stage="notifier"
        ):
            try:
                if isinstance(step, Remind):
                    changed = self._ledger.execute(
                        UUID(row.submission_id),
                        _traced(
                            lambda s: s.remind(row.delivery_id, step.stage, step.after_seconds)
                        ),
                    )
                else:
                    changed = self._ledger.execute(
                        UUID(row.submission_id),
                        _traced(lambda s: s.escalate(row.delivery_id, step.after_seconds)),
                    )
            except SubmissionNotFoundError:
                log.error("notifier.unknown_submission")  # noqa: TRY400 - no trace needed
                return 0
            name = "delivery.reminded" if isinstance(step, Remind) else "delivery.escalated"
            log.info(name, authority_id=row.authority_id, changed=changed)
            return int(changed)

    async def _call_back(self, row: DeliveryRow, now: float) -> int:
        attempt = row.callback_attempts + 1
        recipient = self._recipients.get(row.authority_id)
        async with self._parallel:
            if recipient is None or not recipient.callback_url or not recipient.callback_secret:
                result = CallbackResult(None, "no callback configured")
            else:
                notice = notice_for(
                    row.delivery_id,
                    row.submission_id,
                    row.authority_id,
                    row.notice,
                    self._settings.public_base_url,
                )
                body = notice_body(notice)
                result = await self._sender.send(
                    recipient.callback_url, recipient.callback_secret, body
                )
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
        changed = await asyncio.to_thread(self._record, row, attempt, result, retry_at)
        return int(changed)

    def _record(
        self, row: DeliveryRow, attempt: int, result: CallbackResult, retry_at: str | None
    ) -> bool:
        with structlog.contextvars.bound_contextvars(
            submission_id=row.submission_id, delivery_id=row.delivery_id, stage="callback"
        ):
            changed = self._ledger.execute(
                UUID(row.submission_id),
                _traced(
                    lambda s: s.record_callback(
                        row.delivery_id,
                        row.notice,
                        attempt,
                        status_code=result.status_code,
                        failure=result.failure,
                        retry_at=retry_at,
                    )
                ),
            )
            outcome = "delivered" if result.failure is None else "retry" if retry_at else "gave-up"
            level = log.info if result.failure is None else log.warning
            level(
                "delivery.callback",
                outcome=outcome,
                attempt=attempt,
                notice=row.notice,
                reason=result.failure,
                changed=changed,
            )
            return changed


def _traced(command: Callable[[Submission], bool]) -> Callable[[Submission], bool]:
    """``command``, binding for the log lines that follow the submission's correlation id
    and, as causation, the hash of its newest event (the state the step was decided on)."""

    def run(submission: Submission) -> bool:
        structlog.contextvars.bind_contextvars(
            correlation_id=submission.correlation_id, causation_id=submission.chain_head
        )
        return command(submission)

    return run
