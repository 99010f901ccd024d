"""The notifier on a SQLite ledger, with a fake clock and a fake callback sender (our port)."""

from __future__ import annotations

from uuid import UUID

import pytest

from contracts.messages import CallbackNotice
from events.ledger import Ledger
from events.vault import Vault
from services.delivery.callbacks import CallbackResult
from services.delivery.notifier import Notifier
from services.delivery.projector import DeliveryProjector
from services.delivery.recipients import Recipients
from services.delivery.settings import DeliverySettings
from services.delivery.store import delivery_store
from tests.support.delivery import CALLBACK_SECRET, dispatched, koeln, settings

CALLBACK = "https://fachverfahren.koeln.example/callbacks/amtsweg"


class FakeSender:
    """Answers from a script of status codes; remembers what it got."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.sent: list[tuple[str, bytes]] = []

    async def send(self, url: str, secret: str, body: bytes) -> CallbackResult:
        assert secret == CALLBACK_SECRET
        self.sent.append((url, body))
        status = self.statuses.pop(0) if self.statuses else 200
        return CallbackResult(status, None if status < 300 else f"HTTP {status}")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def notifier(
    ledger: Ledger, known: Recipients, config: DeliverySettings, sender: FakeSender, clock: Clock
) -> Notifier:
    projector = DeliveryProjector(ledger, delivery_store(ledger.settings), known.has_callback)
    return Notifier(projector, known, config, sender, clock=clock, jitter=lambda: 0.0)


def events(ledger: Ledger, submission_id: UUID) -> list[str]:
    return [e.event for e in ledger.trail(submission_id)][4:]


async def test_callback_retries_with_backoff_then_succeeds(ledger: Ledger, vault: Vault) -> None:
    known = Recipients([koeln(callback=CALLBACK)])
    config = settings(callback_backoff_seconds=10, callback_max_attempts=5)
    submission = dispatched(ledger, vault, known, config)
    clock = Clock(ledger.get_submission(submission.id).created_on.timestamp() + 1)
    sender = FakeSender(503, 500)
    work = notifier(ledger, known, config, sender, clock)

    assert await work.tick() == 1  # attempt 1 fails: retry in 5..10 s (jitter 0: 5 s)
    assert await work.tick() == 0  # not yet due
    clock.now += 5
    assert await work.tick() == 1  # attempt 2 fails: retry in 10 s
    clock.now += 9
    assert await work.tick() == 0
    clock.now += 1
    assert await work.tick() == 1  # attempt 3 succeeds
    clock.now += 1000
    assert await work.tick() == 0  # nothing more to call
    assert events(ledger, submission.id) == [
        "CallbackFailed",
        "CallbackFailed",
        "CallbackDelivered",
    ]
    notice = CallbackNotice.model_validate_json(sender.sent[0][1])
    assert notice.deliveries[0].delivery_id == submission.delivery_id
    assert notice.deliveries[0].href == f"/v1/deliveries/{submission.delivery_id}"
    assert b"Erika" not in sender.sent[0][1]  # a notice, never content


async def test_callback_gives_up_into_a_dead_letter(ledger: Ledger, vault: Vault) -> None:
    known = Recipients([koeln(callback=CALLBACK)])
    config = settings(callback_backoff_seconds=1, callback_max_attempts=3)
    submission = dispatched(ledger, vault, known, config)
    clock = Clock(ledger.get_submission(submission.id).created_on.timestamp() + 1)
    work = notifier(ledger, known, config, FakeSender(500, 500, 500, 500), clock)
    for _ in range(6):
        await work.tick()
        clock.now += 60
    trail = ledger.trail(submission.id)
    assert [e.event for e in trail][4:] == ["CallbackFailed", "CallbackFailed", "DeliveryFailed"]
    assert trail[-1].data == {
        "delivery_id": submission.delivery_id,
        "notice": 0,
        "attempts": 3,
        "reason": "HTTP 500",
    }
    row = work._projector.store.rows([submission.delivery_id or ""])
    assert row[submission.delivery_id or ""].label() == "dead-letter"


async def test_reminders_and_escalation_survive_a_restart(ledger: Ledger, vault: Vault) -> None:
    known = Recipients([koeln()])
    config = settings(remind_after_seconds=[10, 20], escalate_after_seconds=30)
    submission = dispatched(ledger, vault, known, config)
    start = ledger.get_submission(submission.id).created_on.timestamp()
    clock = Clock(start + 11)
    assert await notifier(ledger, known, config, FakeSender(), clock).tick() == 1
    clock.now = start + 25  # a new notifier (a restart): the read model knows reminder 1
    again = notifier(ledger, known, config, FakeSender(), clock)
    assert await again.tick() == 1
    assert await again.tick() == 0
    clock.now = start + 31
    assert await again.tick() == 1
    clock.now = start + 10_000
    assert await again.tick() == 0
    trail = ledger.trail(submission.id)
    assert [e.event for e in trail][4:] == ["Reminded", "Reminded", "Escalated"]
    assert [e.data["stage"] for e in trail[4:6]] == [1, 2]
    assert trail[4].data["envelope"] == ledger.get_submission(submission.id).envelope


async def test_a_receipt_stops_all_follow_ups(ledger: Ledger, vault: Vault) -> None:
    known = Recipients([koeln(callback=CALLBACK)])
    config = settings(remind_after_seconds=[10], escalate_after_seconds=20)
    submission = dispatched(ledger, vault, known, config)
    assert submission.delivery_id is not None
    ledger.execute(submission.id, lambda s: s.accept(s.delivery_id or "", None))
    clock = Clock(ledger.get_submission(submission.id).created_on.timestamp() + 100)
    sender = FakeSender()
    assert await notifier(ledger, known, config, sender, clock).tick() == 0
    assert sender.sent == []


async def test_every_due_delivery_is_reached_however_many_are_open(
    ledger: Ledger, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("services.delivery.notifier.BATCH", 1)  # pages of one row
    known = Recipients([koeln()])
    config = settings(remind_after_seconds=[10], escalate_after_seconds=1000)
    submissions = [dispatched(ledger, vault, known, config) for _ in range(3)]
    newest = max(ledger.get_submission(s.id).created_on.timestamp() for s in submissions)
    clock = Clock(newest + 11)
    assert await notifier(ledger, known, config, FakeSender(), clock).tick() == 3
    for submission in submissions:
        assert events(ledger, submission.id) == ["Reminded"]
