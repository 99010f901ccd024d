"""The load of ``amtsweg chaos``: distinct submissions, half over HTTP, half over Kafka.

Clients behave as a real portal would while parts of Amtsweg die under them: an HTTP
request that fails to connect, breaks off, times out or gets a 5xx (or 429) is sent again
with the same ``Idempotency-Key`` and the same body, after a growing pause, until it is
answered or its retry budget (seconds since the first attempt) is spent; a Kafka message
is produced with ``acks=all`` (aiokafka retries within ``request_timeout_ms``) and, if
that fails, produced again with the same key and idempotency key. A 4xx other than 429
ends a submission at once (``refused``): the load is well-formed, so a refusal is a
finding.

Most submissions are valid xdomea messages for the Jobcenter Köln (see
:mod:`harness.bench.payloads`); small shares are made to end otherwise, as real traffic does:
``invalid`` ones carry a schema violation (validation rejects them) and ``unroutable``
ones a routing hint to a regional key that does not exist (routing finds no authority).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from contracts import headers, topics
from contracts.kafka_security import client_options
from harness.bench.http import HttpError, HttpPool
from harness.bench.load import MAX_MESSAGE_BYTES
from harness.bench.payloads import (
    ROUTING,
    BenchSubmission,
    Payloads,
    intake_message,
    multipart,
)
from services.runtime.backoff import backoff

ATTEMPT_TIMEOUT = 30.0
RETRY_PAUSE_MIN = 0.2
RETRY_PAUSE_MAX = 3.0

_VALID_FLAG = b"<xdomea:Importbestaetigung>1</xdomea:Importbestaetigung>"
_INVALID_FLAG = b"<xdomea:Importbestaetigung>ja</xdomea:Importbestaetigung>"
"""``ja`` is not an ``xs:boolean``: a schema violation the validation reports."""
_ROUTING = json.dumps(ROUTING).encode()
_NOWHERE = json.dumps({"ars": "059990000000"}).encode()
"""A regional key of the right form that is not in the official list: unroutable."""


@dataclass(frozen=True)
class ChaosSubmission(BenchSubmission):
    """A bench submission and how it is meant to end: ``valid``, ``invalid``, ``unroutable``."""

    kind: str = "valid"


class ChaosPayloads(Payloads):
    """Builds distinct submissions; the seed and the key's number decide each one's kind."""

    def __init__(
        self, document_bytes: int, *, seed: int, invalid_share: float, unroutable_share: float
    ) -> None:
        super().__init__(document_bytes, 0)
        if _VALID_FLAG not in self.document:
            raise RuntimeError("the bench document changed: no Importbestaetigung to spoil")
        self._seed = seed
        self._invalid = invalid_share
        self._unroutable = invalid_share + unroutable_share

    def build(self, key: str) -> ChaosSubmission:
        """The submission of idempotency key ``key``."""
        plain = super().build(key)
        number = key.rsplit("-", 1)[-1]  # the same seed makes the same mix in every run
        draw = random.Random(f"{self._seed}:{number}").random()  # noqa: S311 - not for secrets
        if draw < self._invalid:
            data = plain.data.replace(_VALID_FLAG, _INVALID_FLAG)
            metadata = json.loads(plain.metadata)
            metadata["contentStructure"]["data"]["hash"]["content"] = hashlib.sha512(
                data
            ).hexdigest()
            packed = json.dumps(metadata, separators=(",", ":")).encode()
            return ChaosSubmission(key, packed, data, None, kind="invalid")
        kind = "unroutable" if draw < self._unroutable else "valid"
        return ChaosSubmission(key, plain.metadata, plain.data, None, kind=kind)


@dataclass
class Tally:
    """What the clients did: per channel and kind, accepted ids, retries and failures."""

    channel_of: dict[str, str] = field(default_factory=dict)
    """idempotency key → ``http`` / ``kafka``"""
    kind_of: dict[str, str] = field(default_factory=dict)
    retries: Counter[str] = field(default_factory=Counter)
    """why an attempt was repeated (``http 503``, ``http ConnectionResetError`` …)"""
    refused: Counter[str] = field(default_factory=Counter)
    gave_up: Counter[str] = field(default_factory=Counter)


def _pause(attempt: int) -> float:
    return backoff(attempt, base=RETRY_PAUSE_MIN, cap=RETRY_PAUSE_MAX, jitter=True)


async def _pause_to_retry(tally: Tally, failure: str, attempt: int, deadline: float) -> bool:
    """Wait before the next attempt and count it; False (given up) past the budget."""
    pause = _pause(attempt)
    if time.monotonic() + pause > deadline:
        tally.gave_up[failure] += 1
        return False
    tally.retries[failure] += 1
    await asyncio.sleep(pause)
    return True


class RetryingHttp:
    """``POST /v1/submissions`` (multipart), retried with the same key within a budget."""

    def __init__(self, url: str, token: str, connections: int, budget_s: float) -> None:
        self._pool = HttpPool(url, connections)
        self._token = token
        self._budget = budget_s

    async def submit(self, submission: ChaosSubmission, tally: Tally) -> str | None:
        """``None`` once answered 202; otherwise why not (refused, or retries spent)."""
        content_type, body = http_body(submission)
        request_headers = [
            ("Authorization", f"Bearer {self._token}"),
            ("Idempotency-Key", submission.key),
            ("Content-Type", content_type),
        ]
        deadline = time.monotonic() + self._budget
        attempt = 0
        while True:
            try:
                async with asyncio.timeout(ATTEMPT_TIMEOUT):
                    status, _ = await self._pool.post("/v1/submissions", request_headers, body)
            except (TimeoutError, OSError, HttpError, asyncio.IncompleteReadError) as error:
                failure = f"http {type(error).__name__}"
            else:
                if status == 202:
                    return None
                failure = f"http {status}"
                if status < 500 and status != 429:
                    tally.refused[failure] += 1
                    return failure
            if not await _pause_to_retry(tally, failure, attempt, deadline):
                return failure
            attempt += 1

    def close(self) -> None:
        """Close idle connections."""
        self._pool.close()


def http_body(submission: ChaosSubmission) -> tuple[str, list[bytes]]:
    """The multipart form (content type, chunks); an unroutable one's hint goes nowhere."""
    content_type, body = multipart(submission)
    if submission.kind != "unroutable":
        return content_type, body
    if sum(chunk.endswith(_ROUTING) for chunk in body) != 1:
        raise RuntimeError("the multipart form changed: no routing hint to replace")
    return content_type, [
        chunk[: -len(_ROUTING)] + _NOWHERE if chunk.endswith(_ROUTING) else chunk for chunk in body
    ]


def kafka_value(submission: ChaosSubmission) -> bytes:
    """The intake message (JSON form); an unroutable one's hint goes nowhere."""
    value = intake_message(submission)
    if submission.kind != "unroutable":
        return value
    routing = b'"routing":' + _ROUTING
    if value.count(routing) != 1:
        raise RuntimeError("the intake message changed: no routing hint to replace")
    return value.replace(routing, b'"routing":' + _NOWHERE)


class RetryingKafka:
    """Produce the JSON form to ``amtsweg.intake``; on failure produce it again."""

    def __init__(self, producer: AIOKafkaProducer, portal_id: str, budget_s: float) -> None:
        self._producer = producer
        self._portal = portal_id.encode()
        self._budget = budget_s

    async def submit(self, submission: ChaosSubmission, tally: Tally) -> str | None:
        """``None`` once the broker acknowledged it (``acks=all``)."""
        value = kafka_value(submission)
        key = submission.key.encode()
        message_headers = [(headers.PORTAL_ID, self._portal), (headers.IDEMPOTENCY_KEY, key)]
        deadline = time.monotonic() + self._budget
        attempt = 0
        while True:
            try:
                async with asyncio.timeout(ATTEMPT_TIMEOUT):
                    await self._producer.send_and_wait(
                        topics.INTAKE, value, key=key, headers=message_headers
                    )
            except (TimeoutError, KafkaError) as error:
                failure = f"kafka {type(error).__name__}"
            else:
                return None
            if not await _pause_to_retry(tally, failure, attempt, deadline):
                return failure
            attempt += 1


def portal_producer(bootstrap_servers: str) -> AIOKafkaProducer:
    """A portal's producer: all replicas acknowledge; retries within 15 s per attempt."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        **client_options(),
        acks="all",
        linger_ms=5,
        request_timeout_ms=15_000,
        retry_backoff_ms=250,
        max_request_size=MAX_MESSAGE_BYTES,
    )


class MixedChannel:
    """The channels in turn (exactly half each for two); the ``Channel`` of ``offer``."""

    name = "mixed"

    def __init__(self, channels: dict[str, RetryingHttp | RetryingKafka]) -> None:
        if not channels:
            raise ValueError("at least one channel: http, kafka")
        self._channels = list(channels.items())
        self._sent = 0
        self.tally = Tally()

    async def submit(self, submission: BenchSubmission) -> str | None:
        """Hand ``submission`` to the next channel."""
        assert isinstance(submission, ChaosSubmission)
        name, channel = self._channels[self._sent % len(self._channels)]
        self._sent += 1
        self.tally.channel_of[submission.key] = name
        self.tally.kind_of[submission.key] = submission.kind
        return await channel.submit(submission, self.tally)
