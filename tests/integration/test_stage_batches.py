"""A stage worker's batch on SQLite and PostgreSQL: one transaction, no step lost or doubled."""

from __future__ import annotations

import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from eventsourcing.persistence import RecordConflictError
from faststream.kafka.annotations import KafkaMessage

from contracts.messages import SubmissionEventMessage
from events.ledger import Ledger
from events.lifecycle import Status
from events.parking import parking_lot
from events.submission import Submission
from services.runtime import retry
from services.runtime.batch import Outcome, Work, perform
from services.runtime.retry import BatchRetry
from services.runtime.worker import BatchWorker, Plan
from tests.support.factories import new_submission


def _validate(submission: Submission) -> Outcome | None:
    if submission.status is not Status.RECEIVED:
        return None
    return Outcome("test.validated", submission.validate("cat-1", "urn:x"), {"n": 1})


def _received(ledger: Ledger, count: int) -> list[uuid.UUID]:
    submissions = [new_submission() for _ in range(count)]
    ledger.save(*submissions)
    return [s.id for s in submissions]


def _works(ids: list[uuid.UUID]) -> list[Work]:
    return [Work(submission_id, f"cause-{n}", _validate) for n, submission_id in enumerate(ids)]


def _events(ledger: Ledger, submission_id: uuid.UUID) -> list[str]:
    return [entry.event for entry in ledger.trail(submission_id)]


def test_a_batch_is_saved_in_one_transaction(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _received(ledger, 5)
    saves: list[int] = []
    save = ledger.save

    def counted(*objs: Any) -> Any:
        saves.append(len(objs))
        return save(*objs)

    monkeypatch.setattr(ledger, "save", counted)
    outcomes = perform(ledger, "test", _works(ids))
    assert saves == [5]
    assert [o.changed for o in outcomes if o] == [True] * 5
    for submission_id in ids:
        assert _events(ledger, submission_id) == ["Received", "Validated"]
        assert ledger.verify(submission_id) is None


def test_a_redelivered_batch_changes_nothing(ledger: Ledger) -> None:
    ids = _received(ledger, 3)
    perform(ledger, "test", _works(ids))
    assert perform(ledger, "test", _works(ids)) == [None, None, None]
    assert all(_events(ledger, i) == ["Received", "Validated"] for i in ids)


def test_the_same_submission_twice_in_a_batch_is_stepped_once(ledger: Ledger) -> None:
    (submission_id,) = _received(ledger, 1)
    outcomes = perform(ledger, "test", _works([submission_id, submission_id]))
    assert outcomes[0] is not None
    assert outcomes[1] is None
    assert _events(ledger, submission_id) == ["Received", "Validated"]


def test_an_unknown_submission_is_skipped_and_the_others_saved(ledger: Ledger) -> None:
    ids = _received(ledger, 2)
    unknown = uuid.uuid4()
    outcomes = perform(ledger, "test", _works([ids[0], unknown, ids[1]]))
    assert outcomes[1] is None
    assert all(_events(ledger, i) == ["Received", "Validated"] for i in ids)


def test_stepped_at_once_each_submission_in_order_one_transaction(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, c = _received(ledger, 3)
    saves: list[int] = []
    save = ledger.save

    def counted(*objs: Any) -> Any:
        saves.append(len(objs))
        return save(*objs)

    monkeypatch.setattr(ledger, "save", counted)
    with ThreadPoolExecutor(4) as steps:
        outcomes = perform(ledger, "test", _works([a, b, a, c, uuid.uuid4()]), steps)
    assert saves == [3]
    assert [o is not None for o in outcomes] == [True, True, False, True, False]
    for submission_id in (a, b, c):
        assert _events(ledger, submission_id) == ["Received", "Validated"]
        assert ledger.verify(submission_id) is None


def test_a_step_failing_among_others_at_once_fails_the_batch_and_saves_nothing(
    ledger: Ledger,
) -> None:
    ids = _received(ledger, 4)

    def failing(submission: Submission) -> Outcome | None:
        if submission.id == ids[2]:
            raise RuntimeError("this one")
        return _validate(submission)

    works = [Work(i, f"cause-{n}", failing) for n, i in enumerate(ids)]
    with ThreadPoolExecutor(4) as steps, pytest.raises(RuntimeError, match="this one"):
        perform(ledger, "test", works, steps)
    assert all(_events(ledger, i) == ["Received"] for i in ids)


def test_a_conflict_falls_back_to_one_transaction_each(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _received(ledger, 3)
    # another member validates the second submission between our load and our save
    other = ledger.get_submission(ids[1])
    other.validate("cat-other", "urn:other")
    save = ledger.save
    calls: list[int] = []

    def save_after_the_other(*objs: Any) -> Any:
        calls.append(len(objs))
        if len(calls) == 1:
            save(other)
        return save(*objs)

    monkeypatch.setattr(ledger, "save", save_after_the_other)
    outcomes = perform(ledger, "test", _works(ids))
    assert calls[0] == 3  # the batch, refused as a whole ...
    assert [o is not None for o in outcomes] == [True, False, True]  # ... then one by one
    for submission_id in ids:
        assert _events(ledger, submission_id) == ["Received", "Validated"]
        assert ledger.verify(submission_id) is None
    assert ledger.trail(ids[1])[1].data["catalog_version"] == "cat-other"


def test_the_batch_conflict_is_really_a_conflict(ledger: Ledger) -> None:
    (submission_id,) = _received(ledger, 1)
    stale = ledger.get_submission(submission_id)
    ledger.execute(submission_id, lambda s: s.validate("cat-1", "urn:x"))
    stale.validate("cat-2", "urn:y")
    with pytest.raises(RecordConflictError):
        ledger.save(stale)


@dataclass
class _Consumer:
    seeks: list[tuple[TopicPartition, int]] = field(default_factory=list)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.seeks.append((partition, offset))


@dataclass
class _Message:
    raw_message: tuple[ConsumerRecord[bytes, bytes], ...]
    consumer: _Consumer = field(default_factory=_Consumer)
    acks: int = 0

    async def ack(self) -> None:
        self.acks += 1


def _record(partition: int, offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord("t", partition, offset, 0, 0, b"k", b"v", None, 1, 1, headers=[])


async def test_a_failed_batch_seeks_every_partition_back_and_is_not_committed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(retry, "RETRY_PAUSE_FIRST", 0.001)
    message = _Message((_record(0, 7), _record(1, 3), _record(0, 8), _record(2, 40)))

    async def fail(_records: object) -> None:
        raise OSError("ledger unavailable")

    await BatchRetry().run(cast(KafkaMessage, message), "test", fail)
    assert message.acks == 0
    assert sorted((tp.partition, offset) for tp, offset in message.consumer.seeks) == [
        (0, 7),
        (1, 3),
        (2, 40),
    ]


async def test_a_processed_batch_is_committed_without_seeking() -> None:
    message = _Message((_record(0, 7), _record(1, 3)))
    seen: list[int] = []

    async def process(records: Any) -> None:
        seen.extend(r.offset for r in records)

    await BatchRetry().run(cast(KafkaMessage, message), "test", process)
    assert seen == [7, 3]
    assert message.acks == 1
    assert message.consumer.seeks == []


def _notice(partition: int, offset: int, submission_id: uuid.UUID) -> ConsumerRecord[bytes, bytes]:
    value = SubmissionEventMessage(
        submission_id=str(submission_id), event="Received", version=1, timestamp="t", hash="h"
    ).model_dump_json(by_alias=True)
    key = str(submission_id).encode()
    return ConsumerRecord(
        "amtsweg.submissions.received", partition, offset, 0, 0, key, value.encode(),
        None, 1, 1, headers=[],
    )  # fmt: skip


def _poisoned_step(poisoned: uuid.UUID, error: Exception) -> Plan:
    def step(submission: Submission) -> Outcome | None:
        if submission.id == poisoned:
            raise error
        return _validate(submission)

    return lambda _message: step


async def test_a_message_the_step_fails_on_is_parked_and_the_batch_goes_on(
    ledger: Ledger,
) -> None:
    ids = _received(ledger, 40)
    poisoned = ids[23]
    lot = parking_lot(ledger.settings)
    worker = BatchWorker(
        ledger, "test", _poisoned_step(poisoned, RecursionError("Erika Mustermann")), lot
    )
    message = _Message(tuple(_notice(n % 3, n, i) for n, i in enumerate(ids)))
    await worker.handle(cast(KafkaMessage, message))
    assert message.acks == 1  # the batch is committed: nothing read again
    assert message.consumer.seeks == []
    for submission_id in ids:
        expected = ["Received"] if submission_id == poisoned else ["Received", "Validated"]
        assert _events(ledger, submission_id) == expected
    (parked,) = lot.parked()
    assert parked.submission_id == str(poisoned)
    assert (parked.kind, parked.place, parked.event) == ("stage", "test", "Received")
    assert parked.source == "amtsweg.submissions.received/2/23"
    assert (parked.cause, parked.reason) == ("RecursionError", "nested too deeply to process")
    assert "Erika" not in parked.reason
    await worker.handle(cast(KafkaMessage, message))  # read again: parked once, nothing new
    assert len(lot.parked()) == 1
    assert lot.counts() == {("stage", "test", "RecursionError"): 1}


async def test_an_unavailable_database_is_retried_not_parked(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retry, "RETRY_PAUSE_FIRST", 0.001)
    ids = _received(ledger, 4)
    lot = parking_lot(ledger.settings)
    locked = sqlite3.OperationalError("database is locked")
    worker = BatchWorker(ledger, "test", _poisoned_step(ids[2], locked), lot)
    message = _Message(tuple(_notice(0, n, i) for n, i in enumerate(ids)))
    await worker.handle(cast(KafkaMessage, message))
    assert message.acks == 0
    assert [offset for _, offset in message.consumer.seeks] == [0]
    assert lot.parked() == []
    assert all(_events(ledger, i) == ["Received"] for i in ids)
