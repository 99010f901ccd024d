"""Replies to the applicant, as the reference receiver builds and sends them.

A reply answers a delivery: a status message, a request for documents (what is missing,
by when) or a decision with documents. It is a ``ReplyMessage`` (``contracts.replies``),
signed like a receipt with the authority's signing key (a JWS whose payload is its JSON),
and goes to ``POST /v1/deliveries/{deliveryId}/replies`` with the authority's token, or to
``amtsweg.delivery.receipts`` with the header ``amtsweg-message: reply``. Kafka's message
limit (1 MiB unless the cluster sets more) keeps large decisions on HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from contracts import replies, topics
from contracts.receipts import JOSE_MEDIA_TYPE
from contracts.replies import ReplyKindName, ReplyMessage, ReplyPart
from contracts.submission import Hash
from receiver.keys import Signer
from receiver.origin import ApiOrigin
from receiver.unpack import ReceiverError

KAFKA_MESSAGE_BYTES = 1024 * 1024
"""Kafka's default message limit: a larger reply goes over HTTP."""
_MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".xml": "application/xml",
    ".json": "application/json",
    ".txt": "text/plain",
}


@dataclass(frozen=True)
class ReplyDraft:
    """What the authority replies, before it is addressed."""

    kind: ReplyKindName
    subject: str
    text: str = ""
    requested: tuple[str, ...] = ()
    due: str | None = None
    reference: str | None = None
    documents: tuple[Path, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Addressee:
    """The delivery a reply answers."""

    delivery_id: str
    submission_id: str
    authority_id: str


def media_type_of(path: Path) -> str:
    """A document's media type by its suffix; ``ReceiverError`` for an unknown one."""
    known = _MEDIA_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    if known is None:
        raise ReceiverError(f"{path.name}: unknown media type (use .pdf, .png, .jpg, .xml …)")
    return known


def part_of(path: Path, used: set[str]) -> ReplyPart:
    """One document of a reply: its bytes from ``path``, a part id unique in ``used``."""
    try:
        content = path.read_bytes()
    except OSError as error:
        raise ReceiverError(f"{path}: {error.strerror or error}") from error
    stem = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "-" for c in path.name)
    base = stem.lstrip(".-_")[:56] or "document"
    part_id, number = base, 1
    while part_id in used:
        number += 1
        part_id = f"{base}-{number}"
    used.add(part_id)
    return ReplyPart(
        part_id=part_id,
        mime_type=media_type_of(path),
        filename=path.name,
        hash=Hash(content=hashlib.sha512(content).hexdigest()),
        content=base64.b64encode(content).decode("ascii"),
    )


def build_reply(reply_id: str, addressee: Addressee, draft: ReplyDraft) -> ReplyMessage:
    """The reply as Amtsweg takes it; ``ReceiverError`` when it does not fit the contract."""
    used: set[str] = set()
    parts = [part_of(path, used) for path in draft.documents]
    try:
        return ReplyMessage(
            reply_id=reply_id,
            delivery_id=addressee.delivery_id,
            submission_id=addressee.submission_id,
            authority_id=addressee.authority_id,
            kind=draft.kind,
            subject=draft.subject,
            text=draft.text,
            requested=list(draft.requested),
            due=draft.due,
            reference=draft.reference,
            parts=parts,
        )
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'reply'}: {e['msg']}"
            for e in error.errors(include_input=False, include_url=False)[:3]
        )
        raise ReceiverError(f"not a valid reply: {problems}") from error


def reply_body(message: ReplyMessage, signer: Signer | None) -> bytes:
    """The bytes to send: the reply's JSON, or its JWS when ``signer`` is given."""
    payload = message.model_dump_json(by_alias=True, exclude_none=True).encode()
    return signer.sign(payload).encode() if signer else payload


@dataclass(frozen=True)
class Answer:
    """What Amtsweg answered over HTTP."""

    status: int
    document: dict[str, Any]

    @property
    def ok(self) -> bool:
        """201 (recorded) or 200 (the same reply again)."""
        return self.status in (200, 201)


async def post_reply(
    http: httpx.AsyncClient, origin: ApiOrigin, delivery_id: str, body: bytes, *, signed: bool
) -> Answer:
    """``POST /v1/deliveries/{deliveryId}/replies`` (the client carries the token)."""
    url = origin.url(f"/v1/deliveries/{delivery_id}/replies")
    content_type = JOSE_MEDIA_TYPE if signed else "application/json"
    try:
        response = await http.post(
            url, content=body, headers={"content-type": content_type}, follow_redirects=False
        )
    except httpx.HTTPError as error:
        raise ReceiverError(f"posting to {url} failed: {type(error).__name__}") from error
    try:
        document = response.json()
    except ValueError:
        document = {}
    return Answer(response.status_code, document if isinstance(document, dict) else {})


async def produce_reply(
    bootstrap_servers: str, kafka: dict[str, Any], submission_id: str, body: bytes
) -> None:
    """The reply on ``amtsweg.delivery.receipts`` (key: the submission id)."""
    if len(body) > KAFKA_MESSAGE_BYTES:
        msg = f"the reply has {len(body)} bytes, more than a Kafka message takes: send it over HTTP"
        raise ReceiverError(msg)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", **kafka)
    await producer.start()
    try:
        headers = [(replies.MESSAGE_HEADER, replies.REPLY.encode())]
        await producer.send_and_wait(
            topics.RECEIPTS, body, key=submission_id.encode(), headers=headers
        )
    finally:
        await producer.stop()


async def delivery_of(http: httpx.AsyncClient, origin: ApiOrigin, delivery_id: str) -> Addressee:
    """The delivery's addressing as ``GET /v1/deliveries/{id}`` shows it to its addressee."""
    url = origin.url(f"/v1/deliveries/{delivery_id}")
    try:
        response = await http.get(url, follow_redirects=False)
    except httpx.HTTPError as error:
        raise ReceiverError(f"fetching {url} failed: {type(error).__name__}") from error
    if response.status_code != 200:
        raise ReceiverError(f"no delivery {delivery_id} for you (HTTP {response.status_code})")
    try:
        envelope = json.loads(response.content)
        return Addressee(envelope["deliveryId"], envelope["submissionId"], envelope["authorityId"])
    except (ValueError, KeyError, TypeError) as error:
        raise ReceiverError(f"{url}: not a delivery envelope") from error


def describe(answer: Answer) -> str:
    """One line about Amtsweg's answer (a problem's title and detail)."""
    if answer.ok:
        done = "recorded" if answer.document.get("recorded") else "recorded before (unchanged)"
        return f"reply {answer.document.get('replyId')}: {done}"
    title = answer.document.get("title", "refused")
    detail = answer.document.get("detail")
    return f"HTTP {answer.status}: {title}" + (f" ({detail})" if detail else "")
