"""Asking the cluster who leads what (the I/O beside :mod:`harness.cluster.leaders`)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from harness.cluster.leaders import under_replicated

ASK_TIMEOUT_S = 10.0


async def describe_all(bootstrap_servers: str) -> list[dict[str, Any]]:
    """``describe_topics`` of every topic of the cluster, internal ones included."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        client_id="amtsweg-cluster",
        request_timeout_ms=int(ASK_TIMEOUT_S * 1000),
    )
    try:
        async with asyncio.timeout(ASK_TIMEOUT_S * 2):
            await admin.start()
            names = sorted(await admin.list_topics())
            described: list[dict[str, Any]] = await admin.describe_topics(names) if names else []
    finally:
        await admin.close()
    return described


async def wait_in_sync(bootstrap_servers: str, limit_s: float) -> float:
    """Wait until no partition is under-replicated; the seconds it took.

    ``TimeoutError`` after ``limit_s``.
    """
    began = time.monotonic()
    while time.monotonic() - began < limit_s:
        try:
            if under_replicated(await describe_all(bootstrap_servers)) == 0:
                return round(time.monotonic() - began, 2)
        except (KafkaError, OSError, TimeoutError):
            pass
        await asyncio.sleep(0.5)
    msg = f"partitions still under-replicated after {limit_s:.0f} s"
    raise TimeoutError(msg)
