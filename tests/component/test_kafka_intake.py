"""The Kafka intake on FastStream's TestKafkaBroker with a SQLite ledger."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from contracts import headers, topics
from contracts.problems import PROBLEM_BASE
from events.dossier import Dossier
from events.ledger import Ledger
from events.lifecycle import Status
from events.vault import Vault
from services.intake import handler
from services.intake.domain import submission_id_for
from services.intake.errors import ProblemError
from services.intake.from_kafka import IntakeRecord
from services.runtime import retry
from services.runtime.settings import StageSettings
from tests.support.factories import json_request, sha512, xdomea_sample
from tests.support.intake import KOELN, submission_count
from tests.support.pipeline import intake_settings

DATA = xdomea_sample()


def _value(body: dict[str, Any] | None = None, **members: Any) -> bytes:
    return json.dumps({**(body or json_request(DATA, routing=KOELN)), **members}).encode()


def _from(portal: str = "portal-a", key: str | None = "k-1") -> dict[str, str]:
    given = {headers.PORTAL_ID: portal}
    return given | ({headers.IDEMPOTENCY_KEY: key} if key is not None else {})


@dataclass
class Intake:
    """The intake on a test broker, and the dead letters it produced."""

    broker: KafkaBroker
    dead_letters: list[ConsumerRecord[bytes, bytes]] = field(default_factory=list)

    async def send(
        self,
        value: bytes,
        headers: dict[str, str],
        key: bytes = b"m-1",
        timestamp_ms: int = 1,
        topic: str = topics.INTAKE,
    ) -> None:
        await self.broker.publish(value, topic, key=key, headers=headers, timestamp_ms=timestamp_ms)

    def problem(self, index: int = -1) -> dict[str, Any]:
        letter = dict(self.dead_letters[index].headers)
        problem: dict[str, Any] = json.loads(letter[headers.PROBLEM])
        return problem


IntakeFactory = Callable[..., Any]


@pytest.fixture
def intake(ledger: Ledger, vault: Vault) -> IntakeFactory:
    """``async with intake(**setting overrides) as it``: the intake on a TestKafkaBroker."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Intake]:
        broker = KafkaBroker()
        handler.register(
            broker,
            ledger,
            vault,
            intake_settings(port=0).model_copy(update=overrides),
            stage_settings=StageSettings(),
        )
        letters: list[ConsumerRecord[bytes, bytes]] = []

        @broker.subscriber(topics.INTAKE_DLQ)
        async def collect(raw: KafkaMessage) -> None:
            assert not isinstance(raw.raw_message, tuple)
            letters.append(raw.raw_message)

        async with TestKafkaBroker(broker) as test_broker:
            yield Intake(test_broker, letters)

    return start


async def test_a_message_becomes_a_received_submission(
    intake: IntakeFactory, ledger: Ledger, vault: Vault
) -> None:
    async with intake() as it:
        await it.send(_value(), _from() | {headers.CORRELATION_ID: "trace-1"})
    submission = ledger.get_submission(submission_id_for("portal-a", "k-1"))
    assert submission.status is Status.RECEIVED
    assert submission.correlation_id == "trace-1"
    assert submission.portal_id == "portal-a"
    assert submission.data["sha512"] == sha512(DATA)
    assert vault.read(submission.id, submission.data["blob"]) == DATA  # sealed in the vault
    assert Dossier.of(vault, submission).routing == KOELN
    assert it.dead_letters == []


async def test_portal_and_key_may_come_in_the_body(intake: IntakeFactory, ledger: Ledger) -> None:
    async with intake() as it:
        await it.send(_value(portalId="portal-b", idempotencyKey="k-2"), {})
    assert ledger.exists(submission_id_for("portal-b", "k-2"))
    assert it.dead_letters == []


async def test_a_duplicate_changes_nothing_and_another_body_is_refused(
    intake: IntakeFactory, ledger: Ledger
) -> None:
    async with intake() as it:
        await it.send(_value(), _from())
        await it.send(_value(), _from())
        assert it.dead_letters == []
        await it.send(_value(json_request(DATA + b"\n")), _from())
    assert submission_count(ledger) == 1
    assert ledger.get_submission(submission_id_for("portal-a", "k-1")).version == 1
    assert it.problem()["type"] == PROBLEM_BASE + "idempotency-key-reused"


async def test_without_a_key_a_redelivered_message_changes_nothing(
    intake: IntakeFactory, ledger: Ledger
) -> None:
    async with intake() as it:
        await it.send(_value(), _from(key=None), timestamp_ms=7)
        await it.send(_value(), _from(key=None), timestamp_ms=7)  # same position: redelivery
        assert submission_count(ledger) == 1
        await it.send(_value(), _from(key=None), timestamp_ms=8)  # another message
    assert submission_count(ledger) == 2
    assert it.dead_letters == []


def _with_metadata() -> bytes:
    """Metadata with three findings of the FIT-Connect schema."""
    body = json_request(DATA)
    body["metadata"]["contentStructure"]["data"]["hash"]["content"] = "x"
    body["metadata"]["contentStructure"]["data"]["submissionSchema"]["schemaUri"] = "not a uri"
    del body["metadata"]["contentStructure"]["attachments"]
    return _value(body)


REFUSED = {
    "not-json": (b"{oops", _from(), "malformed-request"),
    "empty-value": (b"", _from(), "malformed-request"),
    "not-an-object": (b"[1, 2]", _from(), "malformed-request"),
    "no-portal": (_value(), {}, "malformed-request"),
    "unknown-portal": (_value(), _from(portal="portal-z"), "unknown-portal"),
    "portal-differs": (_value(portalId="portal-b"), _from(), "malformed-request"),
    "key-not-a-string": (
        _value(idempotencyKey=5),
        {headers.PORTAL_ID: "portal-a"},
        "malformed-request",
    ),
    "correlation-too-long": (
        _value(),
        _from() | {headers.CORRELATION_ID: "c" * 256},
        "malformed-request",
    ),
    "metadata-invalid": (_with_metadata(), _from(), "invalid-metadata"),
    "data-not-base64": (_value(data="not base64!"), _from(), "malformed-request"),
    "routing-invalid": (_value(routing={"ars": "1"}), _from(), "invalid-routing-hint"),
    "hash-mismatch": (_value(data=json_request(b"other")["data"]), _from(), "data-hash-mismatch"),
}


@pytest.mark.parametrize(("value", "given", "slug"), REFUSED.values(), ids=REFUSED.keys())
async def test_a_refused_message_is_a_dead_letter_with_the_reason(
    intake: IntakeFactory, ledger: Ledger, value: bytes, given: dict[str, str], slug: str
) -> None:
    async with intake() as it:
        await it.send(value, given, key=b"m-9")
        await it.send(_value(), _from(key="after"))  # the consumer goes on
    assert len(it.dead_letters) == 1
    letter = it.dead_letters[0]
    assert letter.value == value
    assert letter.key == b"m-9"
    found = {name: content.decode() for name, content in letter.headers}
    assert found[headers.ORIGINAL_TOPIC] == topics.INTAKE
    assert found[headers.ORIGINAL_PARTITION] == "0"
    assert found[headers.ORIGINAL_OFFSET] == "0"
    problem = it.problem()
    assert problem["type"] == PROBLEM_BASE + slug
    assert problem["title"]
    assert "Traceback" not in found[headers.PROBLEM]
    assert submission_count(ledger) == 1  # only the message after it
    assert ledger.exists(submission_id_for("portal-a", "after"))


async def test_metadata_findings_carry_json_pointers(intake: IntakeFactory) -> None:
    async with intake() as it:
        await it.send(_with_metadata(), _from())
    pointers = {e["pointer"]: e["keyword"] for e in it.problem()["errors"]}
    assert pointers == {
        "/contentStructure/attachments": "required",
        "/contentStructure/data/hash/content": "pattern",
        "/contentStructure/data/submissionSchema/schemaUri": "format",
    }


async def test_a_message_over_the_limit_is_a_dead_letter(
    intake: IntakeFactory, ledger: Ledger
) -> None:
    value = _value()
    async with intake(max_json_body_bytes=len(value) - 1) as it:
        await it.send(value, _from())
    assert it.problem()["type"] == PROBLEM_BASE + "payload-too-large"
    assert submission_count(ledger) == 0


async def test_hash_mismatch_stores_no_blob(
    intake: IntakeFactory, ledger: Ledger, vault: Vault
) -> None:
    async with intake() as it:
        await it.send(_value(data=json_request(DATA + b"x")["data"]), _from())
        assert it.problem()["type"] == PROBLEM_BASE + "data-hash-mismatch"
        assert list(vault.blobs.groups()) == []  # nothing sealed: no part, no dossier
        await it.send(_value(), _from(key="after"))
    assert list(vault.blobs.groups()) == [str(submission_id_for("portal-a", "after"))]
    assert submission_count(ledger) == 1


async def test_an_unavailable_ledger_is_retried_not_dead_lettered(
    intake: IntakeFactory, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(*_: object) -> bool:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(ledger, "exists", unavailable)
    monkeypatch.setattr(retry, "RETRY_PAUSE_FIRST", 0.001)
    async with intake() as it:
        await it.send(_value(), _from())  # sought back (tests/integration/test_stage_batches.py)
    assert it.dead_letters == []
    assert list(ledger.submission_ids()) == []


async def test_an_unforeseen_reading_error_is_a_dead_letter(
    intake: IntakeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise KeyError("surprise")

    monkeypatch.setattr(handler, "read_message", broken)
    async with intake() as it:
        await it.send(_value(), _from())
    assert it.problem()["type"] == PROBLEM_BASE + "unprocessable-message"


async def test_a_portal_s_own_topic_says_which_portal_sent_it(
    intake: IntakeFactory, ledger: Ledger
) -> None:
    async with intake(kafka_intake_shared_topic=False) as it:
        own = topics.portal_intake_topic("portal-b")
        await it.send(_value(idempotencyKey="k-own"), {}, topic=own)
        await it.send(_value(idempotencyKey="k-named"), _from("portal-b", None), topic=own)
    assert submission_count(ledger) == 2
    assert ledger.get_submission(submission_id_for("portal-b", "k-own")).portal_id == "portal-b"
    assert ledger.exists(submission_id_for("portal-b", "k-named"))
    assert it.dead_letters == []


async def test_on_a_portal_s_topic_another_portal_named_is_refused(
    intake: IntakeFactory, ledger: Ledger
) -> None:
    async with intake(kafka_intake_shared_topic=False) as it:
        await it.send(_value(), _from("portal-a"), topic=topics.portal_intake_topic("portal-b"))
    assert submission_count(ledger) == 0
    assert it.problem()["type"] == PROBLEM_BASE + "portal-mismatch"


async def test_the_shared_topic_is_refused_unless_accepted(
    intake: IntakeFactory, ledger: Ledger
) -> None:
    async with intake(kafka_intake_shared_topic=False) as it:
        await it.send(_value(), _from())
    assert submission_count(ledger) == 0
    problem = it.problem()
    assert problem["type"] == PROBLEM_BASE + "portal-not-authenticated"
    assert problem["status"] == 403


def test_a_batch_sealed_on_threads_answers_each_message_in_its_place(
    ledger: Ledger, vault: Vault
) -> None:
    def record(offset: int, value: bytes, key: str) -> IntakeRecord:
        given = _from(key=key)
        pairs = [(name, text.encode()) for name, text in given.items()]
        return IntakeRecord(value, None, pairs, topics.INTAKE, 0, offset, 1)

    documents = [DATA + f"\n<!-- {n} -->".encode() for n in range(4)]
    records = [
        record(n, _value(json_request(d, routing=KOELN)), f"b-{n}") for n, d in enumerate(documents)
    ]
    records.insert(2, record(9, b"{not json", "b-9"))
    records.append(record(10, _value(json_request(documents[0], routing=KOELN)), "b-0"))  # again

    settings = intake_settings(port=0).model_copy(update={"kafka_intake_shared_topic": True})
    with ThreadPoolExecutor(4) as sealing:
        answers = handler.receive_batch(ledger, vault, settings, records, sealing)

    outcomes = [answer for _, answer in answers]
    assert isinstance(outcomes[2], ProblemError)
    received = [o for o in outcomes if not isinstance(o, ProblemError)]
    assert [o.created for o in received] == [True, True, True, True, False]
    ids = [submission_id_for("portal-a", f"b-{n}") for n in range(4)]
    assert [o.submission_id for o in received] == [*ids, ids[0]]
    for submission_id, document in zip(ids, documents, strict=True):
        submission = ledger.get_submission(submission_id)
        assert vault.read(submission_id, submission.data["blob"]) == document
        assert Dossier.of(vault, submission).routing == KOELN
