"""Amtsweg's Kafka clients on a secured broker: SCRAM-SHA-512, PLAIN and mTLS over TLS, ACLs.

The local broker runs with a SASL_SSL and an mTLS listener, its certificate from a CA made
here, SCRAM users created when its storage was formatted, and ACLs enforced. Amtsweg's
principal is a super user; an authority's principal gets only :func:`authority_acls`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError
from faststream.kafka import KafkaBroker

from contracts import topics
from contracts.kafka_security import KafkaSecurity
from deploy.kafka_acls import authority_acls, create_acls, portal_acls
from deploy.kafka_config import SecureListeners
from deploy.kafka_probe import broker_answers
from deploy.local_kafka import LocalKafka
from deploy.topics import await_group_coordinator, ensure_topics
from events.outbox import Outbound
from services.runtime.kafka import KafkaPublisher, faststream_security, relay_producer
from tests.support.tls import Issued, TestAuthority

pytestmark = pytest.mark.kafka

PASSWORDS = {
    "amtsweg": "amtsweg-secret",
    "authority-a": "a-secret",
    "authority-b": "b-secret",
    "portal-a": "portal-secret",
}


@dataclass(frozen=True)
class Secured:
    """The running broker and what clients need to reach it."""

    kafka: LocalKafka
    ca: TestAuthority
    certificate_a: Issued

    @property
    def sasl(self) -> str:
        return self.kafka.sasl_ssl_bootstrap_servers

    def scram(self, user: str, password: str | None = None) -> KafkaSecurity:
        return KafkaSecurity(
            security_protocol="SASL_SSL",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_username=user,
            sasl_password=password or PASSWORDS[user],
            ssl_cafile=self.ca.ca_file,
        )


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    root = tmp_path_factory.mktemp("secured-kafka")
    ca = TestAuthority(root / "tls")
    secure = SecureListeners(
        keystore=ca.issue_server().keystore,
        truststore=ca.ca_file,
        users=PASSWORDS,
        super_users=("User:amtsweg",),
        mtls=True,
    )
    kafka = LocalKafka(root, secure=secure)
    kafka.start()
    try:
        yield Secured(kafka, ca, ca.issue_client("authority-a"))
    finally:
        kafka.stop()


async def _read(consumer: AIOKafkaConsumer, count: int = 1) -> list[bytes]:
    values: list[bytes] = []
    async with asyncio.timeout(60):
        while len(values) < count:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                values.extend(record.value or b"" for record in records)
    return values


async def _start_and_read(consumer: AIOKafkaConsumer) -> list[bytes]:
    await consumer.start()
    return await _read(consumer)


async def test_relay_faststream_and_topic_setup_work_over_scram_and_tls(secured: Secured) -> None:
    security = secured.scram("amtsweg")
    topic = f"amtsweg.test.{uuid.uuid4().hex[:8]}"
    await ensure_topics(secured.sasl, [topic], partitions=1, security=security)
    await await_group_coordinator(secured.sasl, security=security)
    received: asyncio.Queue[bytes] = asyncio.Queue()
    broker = KafkaBroker(secured.sasl, security=faststream_security(security))

    @broker.subscriber(
        topic, group_id=f"amtsweg-test-{uuid.uuid4().hex}", auto_offset_reset="earliest"
    )
    async def on_message(body: bytes) -> None:
        await received.put(body)

    producer = relay_producer(secured.sasl, security=security)
    await producer.start()
    try:
        ack = await KafkaPublisher(producer).send(Outbound(topic, b"sub-1", b"relayed", ()))
        await ack
        async with broker:
            await broker.start()
            await broker.publish(b"from faststream", topic)
            async with asyncio.timeout(60):
                got = {await received.get(), await received.get()}
    finally:
        await producer.stop()

    assert got == {b"relayed", b"from faststream"}


async def test_a_wrong_password_is_refused(secured: Secured) -> None:
    wrong = secured.scram("amtsweg", password="not-the-password")
    producer = AIOKafkaProducer(bootstrap_servers=secured.sasl, **wrong.client_options())

    with pytest.raises(KafkaError):
        await producer.start()
    await producer.stop()
    assert not broker_answers(secured.sasl, timeout=10, security=wrong)
    assert broker_answers(secured.sasl, timeout=10, security=secured.scram("amtsweg"))


def test_plain_over_tls_authenticates(secured: Secured) -> None:
    plain = secured.scram("authority-b").model_copy(update={"sasl_mechanism": "PLAIN"})

    assert broker_answers(secured.sasl, timeout=10, security=plain)


async def _deliver_to_both(secured: Secured) -> tuple[str, str]:
    """As Amtsweg: one delivery on authority-a's topic, one on authority-b's; a's ACLs."""
    security = secured.scram("amtsweg")
    own, other = topics.delivery_topic("authority-a"), topics.delivery_topic("authority-b")
    await ensure_topics(
        secured.sasl, [own, other, topics.RECEIPTS], partitions=1, security=security
    )
    await create_acls(
        secured.sasl, authority_acls("authority-a", "User:authority-a"), security=security
    )
    producer = relay_producer(secured.sasl, security=security)
    await producer.start()
    try:
        await producer.send_and_wait(own, b"for a")
        await producer.send_and_wait(other, b"for b")
    finally:
        await producer.stop()
    return own, other


@pytest.mark.parametrize("login", ["scram", "certificate"])
async def test_an_authority_reads_only_its_own_delivery_topic(secured: Secured, login: str) -> None:
    own, other = await _deliver_to_both(secured)
    if login == "scram":
        address, options = secured.sasl, secured.scram("authority-a").client_options()
    else:
        mtls = KafkaSecurity(
            security_protocol="SSL",
            ssl_cafile=secured.ca.ca_file,
            ssl_certfile=secured.certificate_a.certificate,
            ssl_keyfile=secured.certificate_a.key,
        )
        address, options = secured.kafka.ssl_bootstrap_servers, mtls.client_options()

    reader = AIOKafkaConsumer(
        own,
        bootstrap_servers=address,
        group_id="amtsweg-authority-authority-a",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **options,
    )
    await reader.start()
    try:
        assert b"for a" in await _read(reader)
    finally:
        await reader.stop()

    intruder = AIOKafkaConsumer(
        other, bootstrap_servers=address, group_id=None, auto_offset_reset="earliest", **options
    )
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await _start_and_read(intruder)
    finally:
        await intruder.stop()

    receipts = AIOKafkaProducer(bootstrap_servers=address, acks="all", **options)
    await receipts.start()
    try:
        await receipts.send_and_wait(topics.RECEIPTS, b"a receipt")
        with pytest.raises(TopicAuthorizationFailedError):
            await receipts.send_and_wait(other, b"forged delivery")
    finally:
        await receipts.stop()


async def test_the_mtls_listener_refuses_a_client_without_certificate(secured: Secured) -> None:
    anonymous = KafkaSecurity(security_protocol="SSL", ssl_cafile=secured.ca.ca_file)

    assert not broker_answers(secured.kafka.ssl_bootstrap_servers, timeout=10, security=anonymous)


async def test_a_portal_writes_only_its_own_intake_topic(secured: Secured) -> None:
    amtsweg = secured.scram("amtsweg")
    own, other = topics.portal_intake_topic("portal-a"), topics.portal_intake_topic("portal-b")
    await ensure_topics(secured.sasl, [own, other, topics.INTAKE], partitions=1, security=amtsweg)
    await create_acls(secured.sasl, portal_acls("portal-a", "User:portal-a"), security=amtsweg)
    portal = AIOKafkaProducer(
        bootstrap_servers=secured.sasl, acks="all", **secured.scram("portal-a").client_options()
    )
    await portal.start()
    try:
        await portal.send_and_wait(own, b"an application")
        for forged in (other, topics.INTAKE):
            with pytest.raises(TopicAuthorizationFailedError):
                await portal.send_and_wait(forged, b"as another portal")
    finally:
        await portal.stop()
