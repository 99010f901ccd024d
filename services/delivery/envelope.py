"""Building the delivery envelope (version 2): a pure function of the submission and its parts.

Parts are inline while they are small and the envelope's inline budget lasts; the rest
are references the authority fetches over HTTP. With a sealer (the authority has a public
key) the metadata and every inline part are JWE, and filenames stay inside the encrypted
metadata, so the envelope on Kafka and in the ledger carries no plaintext.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID, uuid5

from contracts import topics
from contracts.messages import DeliveryEnvelope, DeliveryLinks, Encryption, Href, PayloadPart
from events.submission import Submission


class Sealer(Protocol):
    """Encrypts bytes to one authority (JWE compact)."""

    kid: str

    def seal(self, plaintext: bytes, content_type: str | None = None) -> str: ...


@dataclass(frozen=True)
class InlinePolicy:
    """Which parts travel inside the envelope."""

    part_limit: int
    total_limit: int


def delivery_id_for(submission_id: UUID, authority_id: str, routed_version: int) -> str:
    """Stable across redeliveries of one routing decision, new for a new one."""
    return str(uuid5(submission_id, f"delivery:{authority_id}:{routed_version}"))


def delivery_path(delivery_id: str) -> str:
    """The delivery's path on the HTTP API."""
    return f"/v1/deliveries/{delivery_id}"


def _parts(submission: Submission) -> list[tuple[str, dict[str, Any]]]:
    return [("data", submission.data)] + [(a["attachment_id"], a) for a in submission.attachments]


def build_envelope(
    submission: Submission,
    delivery_id: str,
    read: Callable[[str], bytes],
    inline: InlinePolicy,
    now: datetime,
    *,
    sealer: Sealer | None = None,
    base_url: str = "",
) -> DeliveryEnvelope:
    """The envelope for the submission's routed authority."""
    assert submission.authority_id is not None
    base = base_url.rstrip("/") + delivery_path(delivery_id)
    budget = inline.total_limit
    parts = []
    for part_id, part in _parts(submission):
        is_inline = part["size"] <= min(inline.part_limit, budget)
        budget -= part["size"] if is_inline else 0
        content = read(part["sha512"]) if is_inline else None
        parts.append(
            PayloadPart(
                part_id=part_id,
                mime_type=part["mime_type"],
                size=part["size"],
                sha512=part["sha512"],
                content=None if content is None else _encode(content, part, sealer),
                reference=None if is_inline else f"{base}/parts/{part_id}",
                filename=None if sealer else part.get("filename"),
            )
        )
    metadata = json.dumps(submission.metadata, ensure_ascii=False).encode()
    return DeliveryEnvelope(
        delivery_id=delivery_id,
        submission_id=str(submission.id),
        authority_id=submission.authority_id,
        service_identifier=submission.service_identifier,
        encryption=Encryption(kid=sealer.kid) if sealer else None,
        metadata=None if sealer else submission.metadata,
        encrypted_metadata=sealer.seal(metadata, "application/json") if sealer else None,
        data=parts[0],
        attachments=parts[1:],
        dispatched_at=now.isoformat(),
        receipt_topic=topics.RECEIPTS,
        links=DeliveryLinks(self_=Href(href=base), receipt=Href(href=f"{base}/receipt")),
    )


def _encode(content: bytes, part: dict[str, Any], sealer: Sealer | None) -> str:
    if sealer is None:
        return base64.b64encode(content).decode()
    return sealer.seal(content, part["mime_type"])
