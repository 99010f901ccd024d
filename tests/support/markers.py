"""Looking for a marker string everywhere Amtsweg keeps something: files, topics, logs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

from aiokafka import AIOKafkaConsumer


def files_with(root: Path, needles: Iterable[bytes]) -> list[str]:
    """Every file under ``root`` (relative names) whose bytes contain one of ``needles``."""
    wanted = list(needles)
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and any(needle in path.read_bytes() for needle in wanted)
    )


async def topics_with(
    bootstrap: str, needles: Iterable[bytes], prefix: str = "amtsweg."
) -> list[str]:
    """Every topic named ``prefix…`` with a message whose key, value or a header contains
    one of ``needles`` (every message up to now is read)."""
    wanted = list(needles)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    found: set[str] = set()
    try:
        names = sorted(t for t in await consumer.topics() if t.startswith(prefix))
        consumer.subscribe(names)
        async with asyncio.timeout(120):
            while {tp.topic for tp in consumer.assignment()} != set(names):
                await _read(consumer, wanted, found)
            partitions = sorted(consumer.assignment())
            ends = await consumer.end_offsets(partitions)
            while any([await consumer.position(tp) < ends[tp] for tp in partitions]):
                await _read(consumer, wanted, found)
    finally:
        await consumer.stop()
    return sorted(found)


async def _read(consumer: AIOKafkaConsumer, wanted: list[bytes], found: set[str]) -> None:
    batch = await consumer.getmany(timeout_ms=200)
    for records in batch.values():
        for record in records:
            parts = [record.key or b"", record.value or b"", *(v for _, v in record.headers)]
            if any(needle in part for part in parts for needle in wanted):
                found.add(record.topic)
