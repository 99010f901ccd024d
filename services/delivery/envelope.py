"""Building the delivery envelope: a pure function of the submission and its parts."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from contracts.messages import DeliveryEnvelope, PayloadPart
from events.submission import Submission


def delivery_id_for(submission_id: UUID, authority_id: str, routed_version: int) -> str:
    """Stable across redeliveries of one routing decision, new for a new one."""
    return str(uuid5(submission_id, f"delivery:{authority_id}:{routed_version}"))


def _part(
    part_id: str, part: dict[str, Any], read: Callable[[str], bytes], inline_limit: int
) -> PayloadPart:
    inline = part["size"] <= inline_limit
    return PayloadPart(
        part_id=part_id,
        mime_type=part["mime_type"],
        size=part["size"],
        sha512=part["sha512"],
        content=base64.b64encode(read(part["sha512"])).decode() if inline else None,
        reference=None if inline else f"blob:sha512:{part['sha512']}",
        filename=part.get("filename"),
    )


def build_envelope(
    submission: Submission,
    delivery_id: str,
    read: Callable[[str], bytes],
    inline_limit: int,
    now: datetime,
) -> DeliveryEnvelope:
    """The envelope for the submission's routed authority."""
    assert submission.authority_id is not None
    return DeliveryEnvelope(
        delivery_id=delivery_id,
        submission_id=str(submission.id),
        authority_id=submission.authority_id,
        service_identifier=submission.service_identifier,
        metadata=submission.metadata,
        data=_part("data", submission.data, read, inline_limit),
        attachments=[
            _part(a["attachment_id"], a, read, inline_limit) for a in submission.attachments
        ],
        dispatched_at=now.isoformat(),
    )
