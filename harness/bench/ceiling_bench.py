"""The ceiling baseline of ``amtsweg bench pipeline``: Amtsweg's hops with only their work.

The stages of :mod:`harness.bench.ceiling` run in a child process
(:mod:`harness.bench.ceiling_stages`), its CPU metered apart from the bench's, which
produces intake messages like the Kafka scenario's (distinct submissions, a portal's
producer) and reads the envelopes on the authority's topic, as the raw Kafka baseline
does (:class:`harness.bench.baselines.Hop`): the capacity (as fast as it goes, at most
``WINDOW`` messages in the pipeline at once), and the latency at each offered rate
(open loop, from the scheduled send time until the bench read the envelope).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

from harness.bench.baselines import Hop, Reader, delete_topics
from harness.bench.ceiling import CeilingTopics
from harness.bench.ceiling_stages import create_topics
from harness.bench.load import intake_producer
from harness.bench.payloads import AUTHORITY, Payloads, intake_message
from harness.bench.processes import usage

WINDOW = 200
"""Messages in the pipeline at most while its capacity is measured."""
READY_TIMEOUT = 120.0

LAYOUT = "one process: the four stages on one event loop, as in amtsweg run"


async def ceiling(
    bootstrap_servers: str,
    payloads: Payloads,
    *,
    rates: list[float],
    seconds: float,
    partitions: int,
    scratch: Path,
) -> dict[str, Any]:
    """Capacity and per-rate latency of the ceiling, with its CPU per message."""
    topics = CeilingTopics(f"amtsweg-bench.ceiling.{uuid.uuid4().hex[:12]}")
    names = await create_topics(bootstrap_servers, topics, [AUTHORITY], partitions)
    producer = intake_producer(bootstrap_servers)
    reader = Reader(bootstrap_servers, topics.delivery(AUTHORITY))
    try:
        async with _child(bootstrap_servers, topics, scratch, partitions) as pid:
            await producer.start()
            await reader.start()
            hop = Hop(
                "ceiling",
                producer,
                topics.intake,
                lambda key: intake_message(payloads.build(key.decode())),
                reader,
            )
            capacity = await _metered(pid, hop.capacity(seconds, window=WINDOW))
            steps = [await _metered(pid, hop.step(rate, seconds)) for rate in rates]
    finally:
        await reader.stop()
        await producer.stop()
        await delete_topics(bootstrap_servers, names)
    return {
        "dataBytes": len(payloads.document),
        "attachmentBytes": payloads.attachment_bytes,
        "messageBytes": len(intake_message(payloads.build("size"))),
        "layout": LAYOUT,
        "capacity": capacity,
        "steps": steps,
    }


async def _metered(pid: int, measured: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """A measurement with the child's CPU during it: seconds, cores, ms per message."""
    before, wall = usage(pid), time.monotonic()
    figures = await measured
    after, elapsed = usage(pid), time.monotonic() - wall
    if before is None or after is None:
        return {**figures, "cpuSeconds": None, "cores": None, "cpuMsPerMessage": None}
    cpu = after.cpu_seconds - before.cpu_seconds
    received = figures["received"]
    return {
        **figures,
        "cpuSeconds": round(cpu, 2),
        "cores": round(cpu / elapsed, 3),
        "cpuMsPerMessage": round(cpu / received * 1000, 2) if received else None,
    }


@contextlib.asynccontextmanager
async def _child(
    bootstrap_servers: str, topics: CeilingTopics, scratch: Path, partitions: int
) -> AsyncIterator[int]:
    """The stages in a child process, ready; its process id. SIGTERM at the end."""
    scratch.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before the child
    with (scratch / "ceiling.log").open("ab") as log:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "harness.bench.ceiling_stages",
            bootstrap_servers,
            topics.prefix,
            str(scratch / "authority-keys"),
            str(partitions),
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
        )
    try:
        assert child.stdout is not None
        async with asyncio.timeout(READY_TIMEOUT):
            line = await child.stdout.readline()
        if line.strip() != b"ready":
            msg = f"the ceiling's stages did not start; see {scratch / 'ceiling.log'}"
            raise RuntimeError(msg)
        yield child.pid
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(30):
                    await child.wait()
            except TimeoutError:
                child.kill()
                await child.wait()
