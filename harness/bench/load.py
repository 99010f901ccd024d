"""Open-loop load for ``amtsweg bench pipeline``: a fixed arrival schedule, two channels.

Submission ``n`` of a step is due at ``start + n / rate`` whether or not earlier ones
were answered (open loop: a slow Amtsweg does not slow the arrivals down, as it would in
a closed loop, which hides queueing). Latencies are taken from that scheduled time, so a
request that waited in the client for a free connection counts its wait too.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from contracts import headers, topics
from contracts.kafka_security import client_options
from harness.bench.http import HttpError, HttpPool
from harness.bench.payloads import BenchSubmission, Payloads, intake_message, multipart
from services.intake.domain import submission_id_for

REQUEST_TIMEOUT = 60.0
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
"""The bench's producers and its topics accept messages of a 1 MB attachment in base64."""


class Channel(Protocol):
    """How a submission enters Amtsweg."""

    name: str

    async def submit(self, submission: BenchSubmission) -> str | None:
        """Hand the submission over; ``None`` once accepted, else what went wrong."""


class HttpChannel:
    """``POST /v1/submissions`` (multipart) to one or more intake instances in turn."""

    name = "http"

    def __init__(self, urls: list[str], token: str, connections: int) -> None:
        self._pools = [HttpPool(url, max(1, connections // len(urls))) for url in urls]
        self._next = itertools.cycle(self._pools)
        self._token = token

    async def submit(self, submission: BenchSubmission) -> str | None:
        """202 is accepted; any other status or a failed exchange is an error."""
        content_type, body = multipart(submission)
        request_headers = [
            ("Authorization", f"Bearer {self._token}"),
            ("Idempotency-Key", submission.key),
            ("Content-Type", content_type),
        ]
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                status, _ = await next(self._next).post("/v1/submissions", request_headers, body)
        except TimeoutError:
            return "http timeout"
        except (OSError, HttpError, asyncio.IncompleteReadError) as error:
            return f"http {type(error).__name__}"
        return None if status == 202 else f"http {status}"

    def close(self) -> None:
        """Close idle connections (before a pause longer than uvicorn's keep-alive)."""
        for pool in self._pools:
            pool.close()


class KafkaChannel:
    """Produce the JSON form to ``amtsweg.intake``, as a portal on the cluster would."""

    name = "kafka"

    def __init__(self, producer: AIOKafkaProducer, portal_id: str) -> None:
        self._producer = producer
        self._portal = portal_id.encode()

    async def submit(self, submission: BenchSubmission) -> str | None:
        """Accepted once the broker acknowledged the message (``acks=all``)."""
        value = intake_message(submission)
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                await self._producer.send_and_wait(
                    topics.INTAKE,
                    value,
                    key=submission.key.encode(),
                    headers=[
                        (headers.PORTAL_ID, self._portal),
                        (headers.IDEMPOTENCY_KEY, submission.key.encode()),
                    ],
                )
        except TimeoutError:
            return "kafka timeout"
        except KafkaError as error:
            return f"kafka {type(error).__name__}"
        return None


def intake_producer(bootstrap_servers: str) -> AIOKafkaProducer:
    """A portal's producer: acknowledged by all replicas, batches lingering 5 ms."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        **client_options(),
        acks="all",
        linger_ms=5,
        max_request_size=MAX_MESSAGE_BYTES,
    )


@dataclass
class Sent:
    """What the client did in one step."""

    scheduled: dict[str, float] = field(default_factory=dict)
    """submission id → scheduled send time (seconds since the epoch)"""
    accepted: set[str] = field(default_factory=set)
    errors: Counter[str] = field(default_factory=Counter)
    max_lag_s: float = 0.0
    """the latest the client started a submission after its scheduled time"""
    offer_seconds: float = 0.0


async def offer(
    channel: Channel,
    payloads: Payloads,
    *,
    rate: float,
    duration: float,
    key_prefix: str,
    portal_id: str,
    expect: Callable[[str, str, float], None],
) -> Sent:
    """Submit ``rate * duration`` submissions on schedule; wait for every answer.

    ``expect(submission_id, key, scheduled)`` is called before each submission is sent,
    so an observer knows it even if its delivery arrives before the answer.
    """
    sent = Sent()
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    epoch = time.time() - loop.time()
    tasks: set[asyncio.Task[None]] = set()

    async def one(submission: BenchSubmission, submission_id: str) -> None:
        error = await channel.submit(submission)
        if error is None:
            sent.accepted.add(submission_id)
        else:
            sent.errors[error] += 1

    for n in range(round(rate * duration)):
        due = start + n / rate
        if (delay := due - loop.time()) > 0:
            await asyncio.sleep(delay)
        sent.max_lag_s = max(sent.max_lag_s, loop.time() - due)
        key = f"{key_prefix}-{n}"
        submission_id = str(submission_id_for(portal_id, key))
        sent.scheduled[submission_id] = epoch + due
        expect(submission_id, key, epoch + due)
        task = asyncio.create_task(one(payloads.build(key), submission_id))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    sent.offer_seconds = loop.time() - start
    await asyncio.gather(*tasks)
    return sent
