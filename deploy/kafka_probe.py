"""Ask a Kafka broker whether it serves metadata, from sync code or inside an event loop."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]
from aiokafka.errors import KafkaError  # type: ignore[import-untyped]


def broker_answers(bootstrap_servers: str, timeout: float = 5.0) -> bool:
    """Return whether ``bootstrap_servers`` answers a metadata request with a live broker.

    The request runs on a private event loop in a worker thread, so this works both in
    plain sync code and when called from a coroutine (where ``asyncio.run`` would not).
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kafka-probe") as pool:
        return pool.submit(asyncio.run, _ask_metadata(bootstrap_servers, timeout)).result()


async def _ask_metadata(bootstrap_servers: str, timeout: float) -> bool:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        client_id="amtsweg-probe",
        request_timeout_ms=max(int(timeout * 1000), 1),
    )
    try:
        async with asyncio.timeout(timeout):
            await admin.start()
            cluster = await admin.describe_cluster()
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        await admin.close()
    return bool(cluster.get("brokers"))
