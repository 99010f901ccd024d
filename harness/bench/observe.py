"""What came out of Amtsweg during a bench step: deliveries, rejections, dead letters.

The observer reads, from their ends, the receiving authority's delivery topic (where a
submission ends as Dispatched) and the topics where it could end otherwise
(``amtsweg.submissions.rejected`` and ``.unroutable``, ``amtsweg.intake.dlq``), and
keeps, per expected submission, the envelope's Kafka timestamp: the ``CreateTime`` the
relay's producer gave it when it published the Dispatched event's envelope. It also
notes when the bench itself read it, which adds the bench's own consumer delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from contracts import headers, topics
from contracts.kafka_security import client_options
from deploy.topics import ensure_topics

FAILURE_TOPICS = {
    topics.REJECTED: "rejected",
    topics.UNROUTABLE: "unroutable",
    topics.INTAKE_DLQ: "dead letter",
}


@dataclass(frozen=True)
class Arrival:
    """When a submission's envelope was published (relay) and read (bench), epoch s."""

    published: float
    seen: float


@dataclass
class Outcomes:
    """The terminal outcome of each expected submission of one step."""

    dispatched: dict[str, Arrival] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    """submission id → ``rejected`` / ``unroutable`` / ``dead letter``"""
    problems: Counter[str] = field(default_factory=Counter)
    """problem types of the failures (``rejected: …/schema-violation``)"""
    duplicates: int = 0

    def done(self) -> int:
        """How many expected submissions reached a terminal outcome."""
        return len(self.dispatched) + len(self.failed)


class Observer:
    """Follows the delivery topic of ``authority`` and the failure topics."""

    def __init__(self, bootstrap_servers: str, authority: str, partitions: int) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._partitions = partitions
        self._delivery_topic = topics.delivery_topic(authority)
        self._consumer = AIOKafkaConsumer(
            self._delivery_topic,
            *FAILURE_TOPICS,
            bootstrap_servers=bootstrap_servers,
            **client_options(),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            fetch_max_wait_ms=50,
        )
        self._by_key: dict[str, str] = {}
        self._expected: set[str] = set()
        self.outcomes = Outcomes()
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def start(self) -> None:
        """Start reading from the current ends of the topics (created if still missing).

        The relay creates an authority's topic on its first delivery; were the observer to
        find it only then, it would start after that delivery.
        """
        wanted = [self._delivery_topic, *FAILURE_TOPICS]
        await ensure_topics(self._bootstrap_servers, wanted, self._partitions)
        await self._consumer.start()
        while not self._consumer.assignment():
            await self._consumer.getmany(timeout_ms=100)
        for partition in self._consumer.assignment():
            await self._consumer.position(partition)  # fixes the start before any sending
        self._task = asyncio.create_task(self._read(), name="bench-observer")

    async def stop(self) -> None:
        """Stop reading."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    def new_step(self) -> Outcomes:
        """Forget the previous step's submissions; return the new step's outcomes."""
        self._by_key.clear()
        self._expected.clear()
        self.outcomes = Outcomes()
        return self.outcomes

    def expect(self, submission_id: str, key: str, _scheduled: float) -> None:
        """Watch for this submission (its intake key names it on the dead-letter topic)."""
        self._expected.add(submission_id)
        self._by_key[key] = submission_id

    async def outcomes_of(self, submission_ids: set[str]) -> None:
        """Return once each of ``submission_ids`` has an outcome (bound it with a timeout)."""
        assert self._task is not None, "start() first"
        while not all(
            s in self.outcomes.dispatched or s in self.outcomes.failed for s in submission_ids
        ):
            self._changed.clear()
            changed = asyncio.create_task(self._changed.wait())
            await asyncio.wait([changed, self._task], return_when=asyncio.FIRST_COMPLETED)
            changed.cancel()
            if self._task.done():
                self._task.result()  # the observer failed: say why
                raise RuntimeError("the observer stopped")

    async def _read(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=200)
            seen = time.time()
            for records in batch.values():
                for record in records:
                    self._take(record, seen)
            if batch:
                self._changed.set()

    def _take(self, record: ConsumerRecord[bytes, bytes], seen: float) -> None:
        key = (record.key or b"").decode("utf-8", "replace")
        outcomes = self.outcomes
        if record.topic == self._delivery_topic:
            if key not in self._expected:
                return
            if key in outcomes.dispatched:
                outcomes.duplicates += 1
            else:
                outcomes.dispatched[key] = Arrival(record.timestamp / 1000, seen)
            return
        kind = FAILURE_TOPICS[record.topic]
        submission_id = self._by_key.get(key) if kind == "dead letter" else key
        if submission_id is None or submission_id not in self._expected:
            return
        outcomes.failed.setdefault(submission_id, kind)
        outcomes.problems.update(f"{kind}: {p}" for p in _problem_types(record, kind))


def _problem_types(record: ConsumerRecord[bytes, bytes], kind: str) -> list[str]:
    """The problem types a failure names, for the report (never a document value)."""
    try:
        if kind == "dead letter":
            header = dict(record.headers).get(headers.PROBLEM) or b"{}"
            return [str(json.loads(header).get("type", "?"))]
        data = json.loads(record.value or b"{}").get("data", {})
        if kind == "unroutable":
            return [str(data.get("reason", "?"))]
        return [str(p.get("type", "?")) for p in data.get("problems", [])][:3]
    except (ValueError, AttributeError):
        return ["?"]
