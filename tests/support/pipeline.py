"""Amtsweg's services running in the test process, on the real broker."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts import topics
from receiver.keys import Signer
from services.intake.auth import token_hash
from services.intake.settings import IntakeSettings
from services.ops.app.bootstrap import Core, Wiring
from services.ops.app.runner import serve
from services.ops.app.settings import Settings
from tests.support.authority import signing_key

PORTAL_TOKENS = {"portal-a": "token-of-portal-a", "portal-b": "token-of-portal-b"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def intake_settings(port: int) -> IntakeSettings:
    return IntakeSettings(
        http_port=port,
        portal_tokens={portal: token_hash(token) for portal, token in PORTAL_TOKENS.items()},
        kafka_intake_shared_topic=True,  # the tests post to amtsweg.intake, naming the portal
    )


def wiring(intake: IntakeSettings, core: Core | None = None) -> Wiring:
    """Amtsweg's parts as the environment configures them, with these intake settings."""
    settings = dataclasses.replace(Settings.from_environment(), intake=intake)
    return Wiring(settings, core)


def auth(portal: str = "portal-a") -> dict[str, str]:
    return {"Authorization": f"Bearer {PORTAL_TOKENS[portal]}"}


@asynccontextmanager
async def running(
    services: set[str], bootstrap_servers: str, port: int | None = None
) -> AsyncIterator[str]:
    """Run ``services`` until the block ends; yields the HTTP base URL."""
    port = port or free_port()
    stop = asyncio.Event()
    ready = asyncio.Event()
    task = asyncio.create_task(
        serve(wiring(intake_settings(port)), services, bootstrap_servers, stop, ready=ready)
    )
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED, timeout=120)
    if task.done():
        task.result()
    assert ready.is_set(), "services did not become ready"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)


@asynccontextmanager
async def topic_reader(bootstrap_servers: str, topic: str) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer reading ``topic`` from the beginning (as a receiving authority would)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()


async def read_until(
    consumer: AIOKafkaConsumer, count: int, timeout: float = 60
) -> list[dict[str, Any]]:
    """Read at least ``count`` JSON messages, then whatever else arrives within a second."""
    messages: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + timeout
    settle = None
    while True:
        now = asyncio.get_running_loop().time()
        if now > deadline or (settle is not None and now > settle):
            return messages
        batch = await consumer.getmany(timeout_ms=200)
        for records in batch.values():
            messages.extend(json.loads(record.value) for record in records)
        if len(messages) >= count and settle is None:
            settle = now + 1.0


async def send_receipt(bootstrap_servers: str, receipt: dict[str, Any]) -> None:
    """Send ``receipt`` signed with the test authorities' signing key (a JWS), as every
    receipt must be outside development."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    signed = Signer(signing_key()).sign(json.dumps(receipt).encode()).encode()
    try:
        await producer.send_and_wait(topics.RECEIPTS, signed, key=receipt["submissionId"].encode())
    finally:
        await producer.stop()


Message = tuple[str, bytes, dict[str, bytes]]
"""A message as read: topic, value, headers."""


async def trail_of(client: httpx.AsyncClient, submission_id: str) -> list[dict[str, Any]]:
    """The submission's events, as the portal reads them."""
    page = await client.get(f"/v1/submissions/{submission_id}/events?limit=500", headers=auth())
    events: list[dict[str, Any]] = page.json()["events"]
    return events


async def until_event(
    client: httpx.AsyncClient, submission_id: str, event: str, count: int = 1, timeout: float = 60
) -> list[dict[str, Any]]:
    """The trail once it holds ``event`` ``count`` times (fails the test after ``timeout``)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        trail = await trail_of(client, submission_id)
        if sum(e["event"] == event for e in trail) >= count:
            return trail
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"no {event} x{count} in time: {[e['event'] for e in trail]}")
        await asyncio.sleep(0.1)


async def messages_on(bootstrap_servers: str, names: list[str]) -> list[Message]:
    """Every message on the topics ``names`` up to now, in order per partition."""
    consumer = AIOKafkaConsumer(
        *names,
        bootstrap_servers=bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    messages: list[Message] = []

    async def read() -> None:
        batch = await consumer.getmany(timeout_ms=200)
        for records in batch.values():
            messages.extend((r.topic, r.value, dict(r.headers)) for r in records)

    try:
        async with asyncio.timeout(60):
            while {tp.topic for tp in consumer.assignment()} != set(names):
                await read()
            wanted = sorted(consumer.assignment())
            ends = await consumer.end_offsets(wanted)
            while any([await consumer.position(tp) < ends[tp] for tp in wanted]):
                await read()
    finally:
        await consumer.stop()
    return messages
