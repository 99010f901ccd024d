"""Dead letters for operations: refused intake messages and deliveries whose callback gave up.

- ``intake-<partition>-<offset>``: a message on ``amtsweg.intake.dlq``. Retry produces
  the original message to ``amtsweg.intake`` again; drop records that it is dealt with.
- ``delivery-<delivery id>-<notice>-<attempts>``: a delivery in the deliveries read model
  whose callback channel gave up (``DeliveryFailed``). Retry records ``CallbackRequeued``
  on the submission (the notifier makes one more attempt); drop records that operations
  dealt with it otherwise. The envelope stays on the authority's topic either way.

- ``portal-<submission id>-<notice>-<attempts>``: a callback to a portal that gave up
  (``PortalNotificationFailed`` without a next attempt; the portals' follow-up read model).
  It is not retried from here (the portal still finds the reply by pulling it); drop
  records that operations told the portal otherwise.

- ``parked-<stage|relay>-<place>-<source>``: a message a stage's step still failed on, or
  an event the relay could not publish, parked with its cause (:mod:`events.parking`).
  It is not retried from here: once the cause is dealt with, ``amtsweg replay <stage>``
  decides the submission's stage again, or ``amtsweg redeliver`` announces a delivery
  again; drop records that it is dealt with.

Retried and dropped letters are recorded (:mod:`services.ops.actions.dead_letter_store`) and no
longer listed; a delivery that fails again is a new letter (more attempts, new id).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from contracts import headers, topics
from contracts.kafka_security import KafkaSecurity
from events.parking import RELAY, Parked, ParkingLot
from services.delivery.portal_store import PortalNotice, PortalProjector
from services.delivery.projection import DeliveryRow
from services.delivery.projector import DeliveryProjector
from services.ops.actions.dead_letter_store import DeadLetterActions
from services.ops.actions.intake_dlq import (
    IntakeLetter,
    produce_to_intake,
    read_letters,
    retry_headers,
    waiting_count,
)
from services.ops.actions.operator_actions import retry_callback

INTAKE, DELIVERY, PARKED, PORTAL = "intake", "delivery", "parked", "portal"
KINDS = (INTAKE, DELIVERY, PARKED, PORTAL)
MAX_DELIVERY_LETTERS = 1000


class LetterNotFoundError(Exception):
    """No dead letter with this id is waiting."""


class NotRetryableError(Exception):
    """This dead letter cannot be retried (its value was too large to be kept)."""


class BrokerUnavailableError(Exception):
    """The intake's dead letters are on Kafka, and no broker is configured."""


@dataclass(frozen=True)
class DeadLetter:
    """One dead letter, as operations see it."""

    letter_id: str
    kind: str
    at: str
    problem: str
    title: str
    detail: str
    source: str
    retryable: bool
    portal_id: str | None = None
    key: str | None = None
    """The message's key as text (often the portal's reference)."""
    submission_id: str | None = None
    delivery_id: str | None = None
    authority_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        """A JSON object (camelCase keys)."""
        return {_camel(key): value for key, value in asdict(self).items()}


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def _intake_letter(letter: IntakeLetter) -> DeadLetter:
    problem = letter.problem()
    origin = "/".join(
        letter.header(name) or "?"
        for name in (headers.ORIGINAL_TOPIC, headers.ORIGINAL_PARTITION, headers.ORIGINAL_OFFSET)
    )
    return DeadLetter(
        letter_id=letter.letter_id,
        kind=INTAKE,
        at=datetime.fromtimestamp(letter.timestamp_ms / 1000, UTC).isoformat(timespec="seconds"),
        problem=str(problem.get("type", "")).rsplit("/", 1)[-1] or "unknown",
        title=str(problem.get("title", "")),
        detail=str(problem.get("detail", ""))[:300],
        source=origin,
        retryable=letter.header(headers.VALUE_OMITTED) is None,
        portal_id=letter.header(headers.PORTAL_ID),
        key=letter.key.decode("utf-8", "replace") if letter.key is not None else None,
    )


def delivery_letter_id(row: DeliveryRow) -> str:
    """The id of a delivery's dead letter (new once it fails again)."""
    return f"{DELIVERY}-{row.delivery_id}-{row.notice}-{row.callback_attempts}"


def _delivery_letter(row: DeliveryRow) -> DeadLetter:
    return DeadLetter(
        letter_id=delivery_letter_id(row),
        kind=DELIVERY,
        at=datetime.fromtimestamp(row.updated_at, UTC).isoformat(timespec="seconds"),
        problem="callback-failed",
        title="Callback gave up",
        detail=f"notice {row.notice}: no callback answered after {row.callback_attempts} attempts",
        source=topics.delivery_topic(row.authority_id),
        retryable=True,
        submission_id=row.submission_id,
        delivery_id=row.delivery_id,
        authority_id=row.authority_id,
    )


def portal_letter_id(notice: PortalNotice) -> str:
    """The id of a portal callback's dead letter."""
    return f"{PORTAL}-{notice.submission_id}-{notice.notice}-{notice.attempts}"


def _portal_letter(notice: PortalNotice) -> DeadLetter:
    return DeadLetter(
        letter_id=portal_letter_id(notice),
        kind=PORTAL,
        at=datetime.fromtimestamp(notice.updated_at, UTC).isoformat(timespec="seconds"),
        problem="portal-callback-failed",
        title="Portal callback gave up",
        detail=f"{notice.notice}: no callback answered after {notice.attempts} attempts "
        f"({notice.failure}); the portal still finds it by pulling",
        source=f"portal:{notice.portal_id}",
        retryable=False,
        portal_id=notice.portal_id,
        submission_id=notice.submission_id,
    )


def _parked_letter(parked: Parked) -> DeadLetter:
    what = "event" if parked.kind == RELAY else "message"
    hint = "amtsweg redeliver" if parked.kind == RELAY else f"amtsweg replay {parked.place}"
    return DeadLetter(
        letter_id=parked.letter,
        kind=PARKED,
        at=datetime.fromtimestamp(parked.at, UTC).isoformat(timespec="seconds"),
        problem=parked.cause,
        title=f"Parked by {parked.place}",
        detail=f"{parked.event or 'a'} {what} at {parked.source}: {parked.reason} "
        f"(once the cause is dealt with: {hint})",
        source=parked.source,
        retryable=False,
        submission_id=parked.submission_id,
    )


class DeadLetters:
    """Lists and handles every kind of dead letter."""

    def __init__(
        self,
        actions: DeadLetterActions,
        deliveries: DeliveryProjector,
        bootstrap_servers: str | None,
        parking: ParkingLot | None = None,
        *,
        security: KafkaSecurity | None = None,
        portals: PortalProjector | None = None,
    ) -> None:
        """``bootstrap_servers``: None when no broker is reachable (intake letters then
        stay out of sight); ``security``: its clients' TLS and SASL (None: environment);
        ``portals``: the portals' follow-up (None: their callbacks are not listed)."""
        self._portals = portals
        self._actions = actions
        self._deliveries = deliveries
        self._bootstrap = bootstrap_servers
        self._security = security
        self._parking = parking

    @property
    def has_broker(self) -> bool:
        """Whether the intake's dead letters (on Kafka) can be reached."""
        return self._bootstrap is not None

    async def waiting(self, kind: str | None = None) -> list[DeadLetter]:
        """Dead letters nobody has retried or dropped yet, oldest first."""
        letters: list[DeadLetter] = []
        if kind == INTAKE or (kind is None and self.has_broker):
            letters.extend(_intake_letter(letter) for letter in await self._intake_letters())
        if kind in (None, DELIVERY):
            rows = await asyncio.to_thread(self._delivery_rows)
            letters.extend(_delivery_letter(row) for row in rows)
        if kind in (None, PARKED):
            letters.extend(_parked_letter(p) for p in await asyncio.to_thread(self._parked))
        if kind in (None, PORTAL):
            notices = await asyncio.to_thread(self._portal_notices)
            letters.extend(_portal_letter(notice) for notice in notices)
        handled = await asyncio.to_thread(self._actions.handled, "")
        return [letter for letter in letters if letter.letter_id not in handled]

    async def counts(self) -> dict[str, int]:
        """How many dead letters wait, per kind (intake from offsets: nothing is read)."""
        rows = await asyncio.to_thread(self._delivery_rows)
        handled = await asyncio.to_thread(self._actions.handled, "")
        deliveries = [r for r in rows if delivery_letter_id(r) not in handled]
        intake = None
        if self._bootstrap is not None:
            on_topic = await waiting_count(self._bootstrap, security=self._security)
            intake = max(0, on_topic - sum(1 for h in handled if h.startswith(INTAKE)))
        parked = await asyncio.to_thread(self._parked)
        waiting_parked = sum(1 for p in parked if p.letter not in handled)
        notices = await asyncio.to_thread(self._portal_notices)
        return {
            INTAKE: intake if intake is not None else -1,
            DELIVERY: len(deliveries),
            PARKED: waiting_parked,
            PORTAL: sum(1 for n in notices if portal_letter_id(n) not in handled),
        }

    async def retry(self, letter_id: str, *, actor: str, reason: str) -> DeadLetter:
        """Retry a dead letter (see the module); returns it."""
        letter, source = await self._find(letter_id)
        if letter.kind in (PARKED, PORTAL):
            raise NotRetryableError(f"{letter_id}: {letter.detail}")
        if not letter.retryable:
            raise NotRetryableError(f"{letter_id}: its value was too large to be kept")
        if isinstance(source, IntakeLetter):
            assert self._bootstrap is not None
            await produce_to_intake(
                self._bootstrap,
                source.key,
                source.value,
                retry_headers(source),
                topic=source.intake_topic(),
                security=self._security,
            )
        elif isinstance(source, DeliveryRow):
            await asyncio.to_thread(
                retry_callback,
                self._deliveries.ledger,
                UUID(source.submission_id),
                actor=actor,
                reason=reason,
                request_id=letter_id,
            )
        await asyncio.to_thread(
            self._actions.record, letter_id, "retried", actor=actor, reason=reason
        )
        return letter

    async def drop(self, letter_id: str, *, actor: str, reason: str) -> DeadLetter:
        """Record that a dead letter is dealt with; it is no longer listed."""
        letter, _ = await self._find(letter_id)
        await asyncio.to_thread(
            self._actions.record, letter_id, "dropped", actor=actor, reason=reason
        )
        return letter

    async def _find(
        self, letter_id: str
    ) -> tuple[DeadLetter, IntakeLetter | DeliveryRow | Parked | PortalNotice]:
        if letter_id.startswith(f"{PORTAL}-"):
            for notice in await asyncio.to_thread(self._portal_notices):
                if portal_letter_id(notice) == letter_id:
                    return await self._unhandled(_portal_letter(notice)), notice
        elif letter_id.startswith(f"{PARKED}-"):
            for parked in await asyncio.to_thread(self._parked):
                if parked.letter == letter_id:
                    return await self._unhandled(_parked_letter(parked)), parked
        elif letter_id.startswith(f"{INTAKE}-"):
            for source in await self._intake_letters():
                if source.letter_id == letter_id:
                    return await self._unhandled(_intake_letter(source)), source
        elif letter_id.startswith(f"{DELIVERY}-"):
            for row in await asyncio.to_thread(self._delivery_rows):
                if delivery_letter_id(row) == letter_id:
                    return await self._unhandled(_delivery_letter(row)), row
        raise LetterNotFoundError(letter_id)

    async def _unhandled(self, letter: DeadLetter) -> DeadLetter:
        handled = await asyncio.to_thread(self._actions.handled, letter.letter_id)
        if letter.letter_id in handled:
            action = handled[letter.letter_id]
            raise LetterNotFoundError(f"{letter.letter_id} was {action.action} by {action.actor}")
        return letter

    async def _intake_letters(self) -> list[IntakeLetter]:
        if self._bootstrap is None:
            raise BrokerUnavailableError(
                "the intake's dead letters are on Kafka: set KAFKA_BOOTSTRAP_SERVERS "
                "or start `amtsweg run`"
            )
        return await read_letters(self._bootstrap, security=self._security)

    def _record(self, letter_id: str, action: str, actor: str, reason: str) -> None:
        self._actions.record(letter_id, action, actor=actor, reason=reason)

    def _parked(self) -> list[Parked]:
        return self._parking.parked() if self._parking is not None else []

    def _portal_notices(self) -> list[PortalNotice]:
        if self._portals is None:
            return []
        self._portals.catch_up()
        return self._portals.store.dead_letters(MAX_DELIVERY_LETTERS)

    def _delivery_rows(self) -> list[DeliveryRow]:
        self._deliveries.catch_up()
        return self._deliveries.store.dead_letters(MAX_DELIVERY_LETTERS)
