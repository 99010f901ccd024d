"""The ceiling's four stages on the broker: a consumer and a producer each, one event loop.

``python -m harness.bench.ceiling_stages <bootstrap> <prefix> <keys folder> <partitions>``
runs them in a process of their own, so that the bench meters their CPU apart from its
own; it writes ``ready`` to stdout once every consumer has its partitions, and stops on
SIGTERM. Each stage takes what its consumer fetched, does its work message by message
and produces the results, then fetches again. Consumers commit their offsets
automatically, done or not; producers wait for the partition leader only (``acks=1``)
and batch up to 1 MiB: as fast as aiokafka goes, with no guarantee.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.kafka_security import client_options
from deploy.topics import ensure_topics
from harness.bench.ceiling import CeilingTopics, CeilingWork, Output
from harness.bench.load import MAX_MESSAGE_BYTES

ASSIGNMENT_TIMEOUT = 60.0
TOPIC_CONFIGS = {"max.message.bytes": str(MAX_MESSAGE_BYTES)}

Work = Callable[[bytes, bytes], Output]
"""A stage's work on one message (key, value)."""


def stages(work: CeilingWork) -> dict[str, tuple[str, Work]]:
    """Each stage's name, the topic it consumes and its work, in the pipeline's order."""
    topics = work.topics
    return {
        "take-in": (topics.intake, work.take_in),
        "validate": (topics.after("received"), lambda _key, value: work.validate(value)),
        "route": (topics.after("validated"), lambda _key, value: work.route(value)),
        "deliver": (topics.after("routed"), lambda _key, value: work.deliver(value)),
    }


async def create_topics(
    bootstrap_servers: str, topics: CeilingTopics, authorities: list[str], partitions: int
) -> list[str]:
    """The ceiling's topics, and the delivery topics of ``authorities``; their names."""
    names = [topics.intake, *topics.stage_topics(), *map(topics.delivery, authorities)]
    await ensure_topics(bootstrap_servers, names, partitions, configs=TOPIC_CONFIGS)
    return names


@contextlib.asynccontextmanager
async def running(
    bootstrap_servers: str, work: CeilingWork, partitions: int
) -> AsyncIterator[None]:
    """The stages, running until the context ends; entered once each has its partitions."""
    group = f"{work.topics.prefix}.stages"
    consumers, producer = [], _producer(bootstrap_servers)
    known = _Topics(bootstrap_servers, partitions)
    known.names.update(await create_topics(bootstrap_servers, work.topics, [], partitions))
    tasks = []
    await producer.start()
    try:
        for name, (topic, stage_work) in stages(work).items():
            consumer = _consumer(bootstrap_servers, topic, f"{group}.{name}")
            consumers.append(consumer)
            await consumer.start()
            stage = _Stage(consumer, producer, stage_work, known)
            tasks.append(asyncio.create_task(stage.run(), name=f"ceiling {name}"))
        async with asyncio.timeout(ASSIGNMENT_TIMEOUT):
            while not all(consumer.assignment() for consumer in consumers):  # noqa: ASYNC110 - aiokafka has no event for it
                await asyncio.sleep(0.05)
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for consumer in consumers:
            await consumer.stop()
        await producer.stop()


class _Topics:
    """The topics that exist: a delivery topic is made when its authority is first routed to."""

    def __init__(self, bootstrap_servers: str, partitions: int) -> None:
        self.names: set[str] = set()
        self._bootstrap_servers = bootstrap_servers
        self._partitions = partitions

    async def ensure(self, topic: str) -> None:
        if topic not in self.names:
            await ensure_topics(
                self._bootstrap_servers, [topic], self._partitions, configs=TOPIC_CONFIGS
            )
            self.names.add(topic)


class _Stage:
    """One stage: fetch, work, produce, again."""

    def __init__(
        self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer, work: Work, topics: _Topics
    ) -> None:
        self._consumer = consumer
        self._producer = producer
        self._work = work
        self._topics = topics

    async def run(self) -> None:
        while True:
            fetched = await self._consumer.getmany(timeout_ms=100)
            sent = []
            for records in fetched.values():
                for record in records:
                    assert record.key is not None
                    assert record.value is not None
                    output = self._work(record.key, record.value)
                    await self._topics.ensure(output.topic)
                    sent.append(
                        await self._producer.send(output.topic, output.value, key=record.key)
                    )
            await asyncio.gather(*sent)


def _consumer(bootstrap_servers: str, topic: str, group: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        **client_options(),
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=True,
        max_partition_fetch_bytes=MAX_MESSAGE_BYTES,
    )


def _producer(bootstrap_servers: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        **client_options(),
        acks=1,
        linger_ms=5,
        max_request_size=MAX_MESSAGE_BYTES,
        max_batch_size=1024 * 1024,
    )


async def _serve(bootstrap_servers: str, prefix: str, keys_folder: Path, partitions: int) -> None:
    work = CeilingWork.configured(CeilingTopics(prefix), keys_folder)
    work.warm()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with running(bootstrap_servers, work, partitions):
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        await stop.wait()


if __name__ == "__main__":
    bootstrap, topic_prefix, folder, partition_count = sys.argv[1:5]
    asyncio.run(_serve(bootstrap, topic_prefix, Path(folder), int(partition_count)))
