"""The raw baselines of ``amtsweg bench pipeline``, measured in the same run.

- Kafka, one hop: aiokafka producing and consuming messages of the size of the intake
  messages, through the same broker; the capacity (as fast as it goes) and the latency at
  each offered rate (open loop, from the scheduled send time to the moment the consumer
  has the message). The producer has the relay's settings (``acks=all``, idempotent,
  5 ms linger) with batches of up to 1 MiB; the capacity with the relay's own producer
  (aiokafka's 16 KiB batches) is measured too.
- The ledger's raw append rate: ``Ledger.save`` of new Submission aggregates (one
  Received event each, facts and vault references only) into a fresh SQLite ledger in the same
  kind of data dir, one per transaction as the intake saves them, and a hundred per
  transaction as a batching intake could.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from contracts.kafka_security import client_options
from deploy.topics import ensure_topics
from events.ledger import Ledger
from events.settings import LedgerSettings
from events.submission import Submission
from harness.bench.load import MAX_MESSAGE_BYTES
from harness.bench.payloads import Payloads
from harness.bench.report import summarize
from services.runtime.kafka import relay_producer

CAPACITY_IN_FLIGHT = 2000


async def raw_kafka(
    bootstrap_servers: str, message_bytes: int, rates: list[float], seconds: float, partitions: int
) -> dict[str, Any]:
    """Capacity and per-rate latency of one producer → broker → consumer hop."""
    topic = f"amtsweg-bench.raw.{uuid.uuid4().hex[:12]}"
    configs = {"max.message.bytes": str(MAX_MESSAGE_BYTES)}
    await ensure_topics(bootstrap_servers, [topic], partitions, configs=configs)
    value = random.Random(message_bytes).randbytes(message_bytes)  # noqa: S311
    relay_like, batching = relay_producer(bootstrap_servers), batching_producer(bootstrap_servers)
    reader = Reader(bootstrap_servers, topic)
    await relay_like.start()
    await batching.start()
    try:
        await reader.start()
        hop = Hop("batching", batching, topic, lambda _key: value, reader)
        capacity = await hop.capacity(seconds)
        steps = [await hop.step(rate, seconds) for rate in rates]
        relay_hop = Hop("relay-settings", relay_like, topic, lambda _key: value, reader)
        relay_capacity = await relay_hop.capacity(seconds)
    finally:
        await reader.stop()
        await relay_like.stop()
        await batching.stop()
        await delete_topics(bootstrap_servers, [topic])
    return {
        "messageBytes": message_bytes,
        "capacity": capacity,
        "capacityWithRelaySettings": relay_capacity,
        "steps": steps,
    }


def batching_producer(bootstrap_servers: str) -> AIOKafkaProducer:
    """The relay's settings, but batches of up to 1 MiB (aiokafka's default is 16 KiB).

    A message larger than a batch travels alone, and aiokafka sends one batch per
    partition at a time: with 16 KiB batches, 28 KB messages go one by one.
    """
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        **client_options(),
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_request_size=MAX_MESSAGE_BYTES,
        max_batch_size=1024 * 1024,
    )


class Reader:
    """Notes when each message (by key) reached the consumer."""

    def __init__(self, bootstrap_servers: str, topic: str) -> None:
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap_servers,
            **client_options(),
            group_id=None,
            auto_offset_reset="latest",
        )
        self.seen: dict[bytes, float] = {}
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        while not self._consumer.assignment():
            await self._consumer.getmany(timeout_ms=100)
        for partition in self._consumer.assignment():
            await self._consumer.position(partition)  # fixes the start before any sending
        self._task = asyncio.create_task(self._read())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def _read(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=200)
            now = time.time()
            for records in batch.values():
                for record in records:
                    self.seen.setdefault(record.key, now)
            self._changed.set()

    async def received(self, keys: list[bytes], limit_s: float = 60.0) -> int:
        """How many of ``keys`` arrived, waiting up to ``limit_s`` for all of them."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(limit_s):
                while not all(k in self.seen for k in keys):
                    await self.changed()
        return sum(1 for k in keys if k in self.seen)

    async def changed(self) -> None:
        """Wait for the consumer's next poll."""
        self._changed.clear()
        await self._changed.wait()


@dataclass(frozen=True)
class Hop:
    """Messages produced to ``topic`` and read by ``reader`` where they come out: one
    Kafka hop, or a whole pipeline when the reader reads its last topic."""

    name: str
    """prefix of the message keys: each hop's messages are told apart by the reader"""
    producer: AIOKafkaProducer
    topic: str
    value: Callable[[bytes], bytes]
    """the value of the message with this key"""
    reader: Reader

    async def capacity(self, seconds: float, window: int | None = None) -> dict[str, Any]:
        """Produce as fast as acknowledgements allow for ``seconds``; messages/s consumed.

        ``window``: at most this many messages sent and not yet read (a pipeline slower
        than the producer would otherwise build a backlog that takes minutes to drain).
        """
        keys: list[bytes] = []
        pending = []
        read_before = len(self.reader.seen)
        start = time.time()
        while time.time() - start < seconds:
            while window and len(keys) - (len(self.reader.seen) - read_before) >= window:
                await self.reader.changed()
            key = f"{self.name}-capacity-{len(keys)}".encode()
            keys.append(key)
            pending.append(await self.producer.send(self.topic, self.value(key), key=key))
            if len(pending) >= CAPACITY_IN_FLIGHT:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        received = await self.reader.received(keys)
        seen = self.reader.seen
        last = max((seen[k] for k in keys if k in seen), default=start)
        rate = received / (last - start) if last > start else 0.0
        return {"sent": len(keys), "received": received, "perSecond": round(rate, 1)}

    async def step(self, rate: float, seconds: float) -> dict[str, Any]:
        """Open loop at ``rate`` for ``seconds``: latency from the scheduled send time."""
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.05
        epoch = time.time() - loop.time()
        scheduled: dict[bytes, float] = {}
        pending = []
        for n in range(max(1, round(rate * seconds))):
            due = start + n / rate
            if (delay := due - loop.time()) > 0:
                await asyncio.sleep(delay)
            key = f"{self.name}-{rate}-{n}".encode()
            scheduled[key] = epoch + due
            pending.append(await self.producer.send(self.topic, self.value(key), key=key))
        await asyncio.gather(*pending)
        received = await self.reader.received(list(scheduled))
        seen = self.reader.seen
        latencies = [(seen[k] - at) * 1000 for k, at in scheduled.items() if k in seen]
        return {
            "rate": rate,
            "sent": len(scheduled),
            "received": received,
            "latencyMs": asdict(summarize(latencies)),
        }


async def delete_topics(bootstrap_servers: str, names: list[str]) -> None:
    """Delete the bench's own topics once measured."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **client_options())
    await admin.start()
    try:
        await admin.delete_topics(names)
    finally:
        await admin.close()


def ledger_appends(data_dir: Path, payloads: Payloads, seconds: float) -> dict[str, Any]:
    """New Submission aggregates saved per second: one per transaction, and 100 per one."""
    ledger = Ledger(LedgerSettings(data_dir=data_dir, ledger_url=None))
    try:
        fields = _received_fields(payloads)
        return {
            "ledger": "sqlite",
            "perTransaction1": _appends(ledger, fields, seconds, batch=1),
            "perTransaction100": _appends(ledger, fields, seconds, batch=100),
        }
    finally:
        ledger.close()


def _appends(ledger: Ledger, fields: dict[str, Any], seconds: float, batch: int) -> dict[str, Any]:
    saved = 0
    wall, cpu = time.perf_counter(), time.process_time()
    while saved == 0 or time.perf_counter() - wall < seconds:
        chain = ledger.chain_keys
        fresh = (Submission.receive(uuid.uuid4(), chain=chain, **fields) for _ in range(batch))
        ledger.save(*fresh)
        saved += batch
    elapsed = time.perf_counter() - wall
    return {
        "saved": saved,
        "perSecond": saved / elapsed,
        "cpuMicrosecondsEach": (time.process_time() - cpu) / saved * 1e6,
    }


def _received_fields(payloads: Payloads) -> dict[str, Any]:
    """A Received event's fields as the intake records the bench's submission."""
    submission = payloads.build("ledger-baseline")
    metadata = json.loads(submission.metadata)
    declared = metadata["contentStructure"]["data"]
    blob = f"{uuid.uuid4()}/{uuid.uuid4().hex}"  # names only: the raw ledger seals nothing
    return {
        "portal_id": "bench",
        "service_identifier": metadata["publicServiceType"]["identifier"],
        "leika_key": metadata["publicServiceType"]["identifier"].rsplit(":", 1)[1],
        "dossier": blob,
        "data": {"blob": blob, "sha512": declared["hash"]["content"], "size": len(submission.data)},
        "attachments": [],
        "request_digest": "0" * 64,
        "correlation_id": str(uuid.uuid4()),
    }
