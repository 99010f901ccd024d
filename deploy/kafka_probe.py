"""Ask a Kafka broker whether it serves metadata, from sync code or inside an event loop."""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from contracts.kafka_security import KafkaSecurity, client_options


def broker_answers(
    bootstrap_servers: str, timeout: float = 5.0, *, security: KafkaSecurity | None = None
) -> bool:
    """Return whether ``bootstrap_servers`` answers a metadata request with a live broker.

    The request runs on a private event loop in a worker thread, so this works both in
    plain sync code and when called from a coroutine (where ``asyncio.run`` would not).
    A plain TCP connect comes first, so a broker that is still booting costs no client
    noise. ``security``: TLS and SASL (None: from the environment).
    """
    if not _accepts_connections(bootstrap_servers, timeout):
        return False
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kafka-probe") as pool:
        asking = _ask_metadata(bootstrap_servers, timeout, client_options(security))
        return pool.submit(asyncio.run, asking).result()


def _accepts_connections(bootstrap_servers: str, timeout: float) -> bool:
    first, _, _ = bootstrap_servers.partition(",")
    host, _, port = first.strip().rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


async def _ask_metadata(bootstrap_servers: str, seconds: float, options: dict[str, Any]) -> bool:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        client_id="amtsweg-probe",
        request_timeout_ms=max(int(seconds * 1000), 1),
        **options,
    )
    try:
        async with asyncio.timeout(seconds):
            await admin.start()
            cluster = await admin.describe_cluster()
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        await admin.close()
    return bool(cluster.get("brokers"))
