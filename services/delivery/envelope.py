"""Building the delivery envelope (version 2): a pure function of the submission and its parts.

Parts are inline while they are small and the envelope's inline budget lasts; the rest
are references the authority fetches over HTTP. The metadata and every inline part are
JWE to the authority's public key, and file names stay inside the encrypted metadata, so
the envelope on Kafka carries no plaintext. (There is no plaintext envelope: an authority
without a key gets none, see ``services.delivery.handler``.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID, uuid5

from contracts import topics
from contracts.messages import DeliveryEnvelope, DeliveryLinks, Encryption, Href, PayloadPart
from events.dossier import Dossier, SealedParts


class Sealer(Protocol):
    """Encrypts bytes to one authority (JWE compact)."""

    kid: str

    def seal(self, plaintext: bytes, content_type: str | None = None) -> str: ...


class Addressed(SealedParts, Protocol):
    """What an envelope names of its submission (a routed ``Submission`` is one)."""

    @property
    def id(self) -> UUID: ...

    @property
    def authority_id(self) -> str | None: ...

    @property
    def service_identifier(self) -> str: ...


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


def build_envelope(
    submission: Addressed,
    dossier: Dossier,
    delivery_id: str,
    read: Callable[[str], bytes],
    *,
    inline: InlinePolicy,
    now: datetime,
    sealer: Sealer,
    base_url: str = "",
) -> DeliveryEnvelope:
    """The envelope for the submission's routed authority; ``read`` opens a sealed blob."""
    assert submission.authority_id is not None
    base = base_url.rstrip("/") + delivery_path(delivery_id)
    budget = inline.total_limit
    parts = []
    for declared, sealed in dossier.parts(submission):
        is_inline = sealed["size"] <= min(inline.part_limit, budget)
        budget -= sealed["size"] if is_inline else 0
        parts.append(
            PayloadPart(
                part_id=declared.part_id,
                mime_type=declared.mime_type,
                size=sealed["size"],
                sha512=sealed["sha512"],
                content=sealer.seal(read(sealed["blob"]), declared.mime_type)
                if is_inline
                else None,
                reference=None if is_inline else f"{base}/parts/{declared.part_id}",
            )
        )
    metadata = json.dumps(dossier.metadata, ensure_ascii=False).encode()
    return DeliveryEnvelope(
        delivery_id=delivery_id,
        submission_id=str(submission.id),
        authority_id=submission.authority_id,
        service_identifier=submission.service_identifier,
        encryption=Encryption(kid=sealer.kid),
        metadata=None,
        encrypted_metadata=sealer.seal(metadata, "application/json"),
        data=parts[0],
        attachments=parts[1:],
        dispatched_at=now.isoformat(),
        receipt_topic=topics.RECEIPTS,
        links=DeliveryLinks(self_=Href(href=base), receipt=Href(href=f"{base}/receipt")),
    )
