"""The receiver's loop: the authority's topic in, folders (or a command) and receipts out.

Per message: verify Amtsweg's signature over it (``receiver.trust``; an unsigned or wrongly
signed envelope is skipped with a log line, and nothing of it is read), parse the
envelope, skip what is not addressed to this authority, and for a
delivery id seen before only send the stored receipt again. Otherwise decrypt, fetch and
check every part, write the folder, run the command, remember the receipt, send it, and
only then commit the offset. A wrong key, an unreachable API or a failing command stop the
receiver with an error (nothing is committed, so a restart picks the message up again);
a part whose SHA-512 does not match is answered with a "rejected" receipt.

The header ``amtsweg-message`` says what a message is (``contracts.replies``): a delivery
(also without the header), a supplement (a follow-up delivery: documents handed in later,
verified, decrypted and checked alike, written next to its case, ``receiver.folder``, and
answered with a receipt) or an overdue request (noted in ``<out>/notices/`` and logged;
it carries ids and a date only, unsigned).

Parts are fetched only under the configured API (``receiver.origin``), redirects are not
followed, so the authority's token goes nowhere else.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import ValidationError

from contracts import topics
from contracts.envelope_signature import SIGNATURE_HEADER, EnvelopeSignatureError
from contracts.limits import MAX_PART_BYTES
from contracts.messages import DeliveryEnvelope, DeliveryEnvelopeV1, Receipt, parse_envelope
from contracts.problems import Problem
from contracts.replies import (
    DELIVERY,
    MESSAGE_HEADER,
    REQUEST_OVERDUE,
    SUPPLEMENT,
    RequestOverdueNotice,
    SupplementEnvelope,
)
from receiver.folder import write_application, write_notice, write_supplement
from receiver.inbox import Inbox
from receiver.keys import Decrypter, Signer
from receiver.origin import ApiOrigin, ForeignReferenceError
from receiver.trust import EnvelopeVerifier, KeySource
from receiver.unpack import HashMismatchError, ReceiverError, unpack, unpack_supplement

log = structlog.get_logger(__name__)

MAX_REFERENCE_LENGTH = 255


@dataclass(frozen=True)
class ReceiverConfig:
    """What one receiver run needs."""

    authority_id: str
    bootstrap_servers: str
    out: Path
    decryption_key: dict[str, Any] | None = None
    signing_key: dict[str, Any] | None = None
    api: str | None = None
    """Base URL of Amtsweg's HTTP API, to fetch referenced parts."""
    token: str | None = None
    """The authority's bearer token for the HTTP API."""
    command: list[str] | None = None
    """Run with the application folder as last argument; exit 0 hands it over."""
    group_id: str | None = None
    stop_when_idle: float | None = None
    """Stop after this many seconds without a message (None: run until stopped)."""
    kafka: dict[str, Any] = field(default_factory=dict)
    """Further aiokafka client options (security_protocol, sasl_* …)."""
    max_part_bytes: int = MAX_PART_BYTES
    """The largest part it decrypts: the Amtsweg instance's intake limit."""
    amtsweg_keys: dict[str, Any] | None = None
    """Amtsweg's public envelope signing keys (a JWK Set), pinned; None: fetched from
    ``api`` (``GET /v1/keys``)."""

    @property
    def group(self) -> str:
        """The consumer group: the authority's own."""
        return self.group_id or f"amtsweg-authority-{self.authority_id}"


@dataclass
class Summary:
    """What a run did."""

    handed_over: int = 0
    rejected: int = 0
    duplicates: int = 0
    skipped: int = 0
    refused: int = 0
    """Envelopes without a valid signature by Amtsweg."""
    supplements: int = 0
    """Follow-up deliveries (documents handed in later) written and accepted."""
    notices: int = 0
    """Overdue requests noted."""


class Receiver:
    """Handles one message at a time (see the module docstring)."""

    def __init__(
        self,
        config: ReceiverConfig,
        inbox: Inbox,
        producer: AIOKafkaProducer,
        http: httpx.AsyncClient,
        verifier: EnvelopeVerifier,
    ) -> None:
        self._config = config
        self._verifier = verifier
        self._inbox = inbox
        self._producer = producer
        self._http = http
        self._decrypter = (
            Decrypter(config.decryption_key, config.max_part_bytes)
            if config.decryption_key
            else None
        )
        self._signer = Signer(config.signing_key) if config.signing_key else None
        self._origin = ApiOrigin.of(config.api) if config.api else None
        self.summary = Summary()

    async def handle(self, value: bytes, headers: Sequence[tuple[str, bytes]] = ()) -> None:
        """One message of the delivery topic (its value and headers), by its kind (header
        ``amtsweg-message``: a delivery, a supplement or an overdue request)."""
        kind = _header(headers, MESSAGE_HEADER) or DELIVERY
        if kind == REQUEST_OVERDUE:  # ids and a date only: nothing to verify or decrypt
            self._note_overdue(value)
            return
        if kind not in (DELIVERY, SUPPLEMENT):
            log.warning("receiver.unknown_message", kind=kind[:40])
            self.summary.skipped += 1
            return
        signature = _header(headers, SIGNATURE_HEADER)
        try:
            kid = await self._verifier.verify(value, signature)
        except EnvelopeSignatureError as error:
            log.warning("receiver.envelope_refused", reason=str(error)[:200])
            self.summary.refused += 1
            return
        log.debug("receiver.envelope_verified", kid=kid)
        await (self._supplement if kind == SUPPLEMENT else self._delivery)(value)

    async def _delivery(self, value: bytes) -> None:
        """A delivery: the application written to its folder, answered by a receipt."""
        try:
            envelope = parse_envelope(value)
        except (ValidationError, ValueError) as error:
            log.warning("receiver.malformed_envelope", error=type(error).__name__)
            self.summary.skipped += 1
            return
        if await self._not_ours_or_seen(envelope):
            return
        try:
            application = await unpack(envelope, self._decrypter, self._fetch)
        except HashMismatchError as error:
            problem = Problem.of(
                "hash-mismatch", "A part does not match its hash", detail=str(error)
            )
            outcome = "rejected"
            receipt = self._receipt(envelope, outcome, None, [problem])
            self.summary.rejected += 1
        else:
            folder = write_application(self._config.out, application)
            reference = await self._hand_over(folder, envelope.delivery_id)
            outcome = "accepted"
            receipt = self._receipt(envelope, outcome, reference, [])
            self.summary.handed_over += 1
            log.info("receiver.handed_over", delivery_id=envelope.delivery_id, folder=folder.name)
        self._inbox.record(envelope.delivery_id, envelope.submission_id, outcome, receipt)
        await self._send(envelope.submission_id, envelope.delivery_id, receipt)

    async def _not_ours_or_seen(
        self, envelope: DeliveryEnvelope | DeliveryEnvelopeV1 | SupplementEnvelope
    ) -> bool:
        """True (and handled) if the envelope is for another authority, or was taken before:
        then its receipt is sent again."""
        if envelope.authority_id != self._config.authority_id:
            log.warning("receiver.not_addressed_to_us", delivery_id=envelope.delivery_id)
            self.summary.skipped += 1
            return True
        handled = self._inbox.get(envelope.delivery_id)
        if handled is None:
            return False
        self.summary.duplicates += 1
        log.info("receiver.duplicate", delivery_id=envelope.delivery_id, resent=True)
        await self._send(envelope.submission_id, envelope.delivery_id, handled.receipt)
        return True

    async def _supplement(self, value: bytes) -> None:
        """A follow-up delivery: documents written next to the case, answered by a receipt."""
        try:
            envelope = SupplementEnvelope.model_validate_json(value)
        except ValidationError as error:
            log.warning("receiver.malformed_envelope", error=type(error).__name__)
            self.summary.skipped += 1
            return
        if await self._not_ours_or_seen(envelope):
            return
        try:
            documents = await unpack_supplement(envelope, self._decrypter, self._fetch)
        except HashMismatchError as error:
            problem = Problem.of(
                "hash-mismatch", "A part does not match its hash", detail=str(error)
            )
            outcome = "rejected"
            receipt = self._receipt(envelope, outcome, None, [problem])
            self.summary.rejected += 1
        else:
            folder = write_supplement(self._config.out, documents)
            outcome = "accepted"
            receipt = self._receipt(envelope, outcome, None, [])
            self.summary.supplements += 1
            log.info(
                "receiver.supplement_written",
                delivery_id=envelope.delivery_id,
                refers_to=envelope.refers_to,
                folder=folder.name,
            )
        self._inbox.record(envelope.delivery_id, envelope.submission_id, outcome, receipt)
        await self._send(envelope.submission_id, envelope.delivery_id, receipt)

    def _note_overdue(self, value: bytes) -> None:
        try:
            notice = RequestOverdueNotice.model_validate_json(value)
        except ValidationError as error:
            log.warning("receiver.malformed_notice", error=type(error).__name__)
            self.summary.skipped += 1
            return
        write_notice(self._config.out, "overdue", notice.reply_id, notice.model_dump(by_alias=True))
        self.summary.notices += 1
        log.info(
            "receiver.request_overdue",
            submission_id=notice.submission_id,
            reply_id=notice.reply_id,
            due=notice.due,
        )

    def _receipt(
        self,
        envelope: DeliveryEnvelope | DeliveryEnvelopeV1 | SupplementEnvelope,
        outcome: str,
        reference: str | None,
        problems: list[Problem],
    ) -> bytes:
        receipt = Receipt.model_validate(
            {
                "deliveryId": envelope.delivery_id,
                "submissionId": envelope.submission_id,
                "authorityId": self._config.authority_id,
                "outcome": outcome,
                "reference": reference,
                "problems": [p.model_dump(exclude_none=True) for p in problems],
            }
        )
        payload = receipt.model_dump_json(by_alias=True, exclude_none=True).encode()
        return self._signer.sign(payload).encode() if self._signer else payload

    async def _send(self, submission_id: str, delivery_id: str, receipt: bytes) -> None:
        await self._producer.send_and_wait(topics.RECEIPTS, receipt, key=submission_id.encode())
        self._inbox.mark_sent(delivery_id)

    async def _fetch(self, reference: str) -> bytes:
        if self._origin is None:
            raise ReceiverError("a part must be fetched: give --api (and a token)")
        url = self._origin.resolve(reference)  # nothing outside the API gets our token
        try:
            response = await self._http.get(url, follow_redirects=False)
        except httpx.HTTPError as error:
            raise ReceiverError(f"fetching {url} failed: {type(error).__name__}") from error
        if response.is_redirect:
            raise ForeignReferenceError(f"fetching {url}: a redirect, not followed")
        if response.status_code != 200:
            raise ReceiverError(f"fetching {url} failed: HTTP {response.status_code}")
        return response.content

    async def _hand_over(self, folder: Path, delivery_id: str) -> str | None:
        if not self._config.command:
            return None
        env = {**os.environ, "AMTSWEG_DELIVERY_ID": delivery_id}
        done = await asyncio.to_thread(
            subprocess.run,
            [*self._config.command, str(folder)],
            capture_output=True,
            env=env,
            check=False,
        )
        if done.returncode != 0:
            msg = f"the command failed for delivery {delivery_id} (exit {done.returncode})"
            raise ReceiverError(msg)
        lines = done.stdout.decode(errors="replace").strip().splitlines()
        return lines[0][:MAX_REFERENCE_LENGTH] if lines else None


def _header(headers: Sequence[tuple[str, bytes]], name: str) -> str | None:
    """The header's value as text (the last one if repeated), or None."""
    values = [value for key, value in headers if key == name]
    try:
        return values[-1].decode("ascii") if values else None
    except UnicodeDecodeError:
        return ""  # present but not a JWS: refused as such


async def consume(config: ReceiverConfig, stop: asyncio.Event | None = None) -> Summary:
    """Run the receiver until ``stop`` is set, it was idle long enough, or an error."""
    stop = stop or asyncio.Event()
    consumer = AIOKafkaConsumer(
        topics.delivery_topic(config.authority_id),
        bootstrap_servers=config.bootstrap_servers,
        group_id=config.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **config.kafka,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=config.bootstrap_servers, acks="all", **config.kafka
    )
    headers = {"Authorization": f"Bearer {config.token}"} if config.token else {}
    inbox = Inbox(config.out)
    await consumer.start()
    try:
        await producer.start()
        async with httpx.AsyncClient(headers=headers, timeout=60, follow_redirects=False) as http:
            clock = asyncio.get_running_loop().time
            source = KeySource(ApiOrigin.of(config.api), http, clock) if config.api else None
            verifier = await EnvelopeVerifier.start(config.amtsweg_keys, source)
            receiver = Receiver(config, inbox, producer, http, verifier)
            await _loop(consumer, receiver, config, stop)
            return receiver.summary
    finally:
        await producer.stop()
        await consumer.stop()
        inbox.close()


async def _loop(
    consumer: AIOKafkaConsumer, receiver: Receiver, config: ReceiverConfig, stop: asyncio.Event
) -> None:
    loop = asyncio.get_running_loop()
    idle_since = loop.time()
    while not stop.is_set():
        batch = await consumer.getmany(timeout_ms=250)
        if not batch:
            if (
                config.stop_when_idle is not None
                and loop.time() - idle_since > config.stop_when_idle
            ):
                return
            continue
        for partition, records in batch.items():
            for record in records:
                await receiver.handle(record.value or b"", record.headers)
                await consumer.commit({partition: record.offset + 1})
        idle_since = loop.time()
