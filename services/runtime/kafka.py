"""The relay's Kafka side: its producer, the ``Publisher`` the relay sends through, and the
FastStream form of the Kafka security settings.

``KafkaPublisher`` is the one place that turns aiokafka's errors into the ledger's
``PublishError``, both when a message is handed to the producer and when the broker's
acknowledgement fails, so that the relay (in ``events``) never sees a Kafka type.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    CorruptRecordException,
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)
from faststream.security import (
    BaseSecurity,
    SASLPlaintext,
    SASLScram256,
    SASLScram512,
)

from contracts.kafka_security import KafkaSecurity, client_options
from events.outbox import Outbound
from events.publisher import PermanentPublishError, PublishError

Prepare = Callable[[str], Awaitable[None]]
"""Awaited with each message's topic before it is sent (e.g. creates a delivery topic the
first time an authority gets a delivery)."""


_SASL = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}


def faststream_security(security: KafkaSecurity) -> BaseSecurity | None:
    """``security`` as FastStream's ``KafkaBroker(security=…)`` takes it; None for PLAINTEXT."""
    context = security.ssl_context()
    if security.uses_sasl:
        assert security.sasl_mechanism is not None  # checked when built
        assert security.sasl_username is not None
        assert security.sasl_password is not None
        return _SASL[security.sasl_mechanism](
            security.sasl_username,
            security.sasl_password.get_secret_value(),
            ssl_context=context,
            use_ssl=security.uses_tls,
        )
    return BaseSecurity(ssl_context=context) if context is not None else None


def bootstrap_addresses(bootstrap_servers: str) -> list[str]:
    """``host:port,host:port`` as a list of addresses, as FastStream's ``KafkaBroker`` needs it.

    aiokafka splits a comma-separated string itself, but FastStream wraps a string into a
    one-element list, so that a cluster's several addresses would read as one host name.
    """
    return [address.strip() for address in bootstrap_servers.split(",") if address.strip()]


MAX_MESSAGE_BYTES = 1024 * 1024
"""The relay's default message limit: Kafka's default ``message.max.bytes``."""


def relay_producer(
    bootstrap_servers: str,
    *,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    security: KafkaSecurity | None = None,
) -> AIOKafkaProducer:
    """The relay's producer: acks from all replicas, idempotent within its session.

    ``max_message_bytes`` (``AMTSWEG_KAFKA_MAX_MESSAGE_BYTES``) is its request limit; a
    message beyond it is refused by the client, one beyond the broker's by the broker, and
    the relay parks either (see :mod:`events.relay`). ``security``: TLS and SASL (None:
    from the environment, ``KAFKA_…``).

    aiokafka's idempotence only removes duplicates the producer itself causes by
    retrying within one session; it does not span restarts. Amtsweg's guarantees do not
    rest on it: consumers are idempotent through the ledger's state machine.
    """
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=1024 * 1024,  # 16 KiB (the default) sends every envelope alone
        max_request_size=max_message_bytes,
        **client_options(security),
    )


REFUSED_MESSAGES = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    CorruptRecordException,
)
"""Errors about the message itself: sending it again fails again, so the relay parks it."""


def publish_error(error: KafkaError) -> PublishError:
    """The ledger's error for a Kafka error: permanent when the message itself is refused."""
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, REFUSED_MESSAGES):
        failure: PublishError = PermanentPublishError(text, cause=type(error).__name__)
    else:
        failure = PublishError(text)
    failure.__cause__ = error
    return failure


class KafkaPublisher:
    """The relay's ``Publisher`` on a started aiokafka producer (the caller starts and stops it).

    ``prepare`` (None: every topic exists already) is awaited before each send; a
    ``KafkaError`` it raises is a ``PublishError`` too.
    """

    def __init__(self, producer: AIOKafkaProducer, *, prepare: Prepare | None = None) -> None:
        self._producer = producer
        self._prepare = prepare

    async def send(self, outbound: Outbound) -> Awaitable[object]:
        """Hand ``outbound`` to the producer; the future completes with the broker's ack."""
        try:
            if self._prepare is not None:
                await self._prepare(outbound.topic)
            ack: asyncio.Future[object] = await self._producer.send(
                outbound.topic,
                value=outbound.value,
                key=outbound.key,
                headers=list(outbound.headers),
            )
        except KafkaError as error:
            raise publish_error(error) from error
        return _translated(ack)


def _translated(ack: asyncio.Future[object]) -> asyncio.Future[object]:
    """A future that completes as ``ack`` does, with a ``KafkaError`` as ``PublishError``.

    A callback rather than a task per message: the relay sends hundreds per batch.
    """
    result: asyncio.Future[object] = asyncio.get_running_loop().create_future()

    def settle(done: asyncio.Future[object]) -> None:
        if result.done():
            return
        if done.cancelled():
            result.cancel()
            return
        error = done.exception()
        if error is None:
            result.set_result(done.result())
        elif isinstance(error, KafkaError):
            result.set_exception(publish_error(error))
        else:
            result.set_exception(error)

    ack.add_done_callback(settle)
    return result
