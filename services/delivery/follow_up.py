"""The follow-up delivery: documents handed in later, to the authority that holds the case.

On every ``SupplementReceived`` (``amtsweg.submissions.supplementreceived``) the worker
builds a :class:`contracts.replies.SupplementEnvelope` for each supplement of the case not
yet dispatched, encrypted like a delivery envelope (the note and file names only inside
``encryptedMetadata``, small documents inline as JWE, the others by reference to
``/v1/deliveries/{followUpDeliveryId}/parts/{partId}``), seals it in the vault and records
``dispatch_supplement`` with the authority's topic, which the relay publishes it on
(header ``amtsweg-message: supplement``). An authority that picks up over FIT-Connect gets
its pickup channel recorded instead, and a pickup document (:mod:`services.delivery.pickup`)
sealed where the envelope would be: nothing is published, its client picks the follow-up
up as a new submission within the case.

The follow-up delivery's id is derived from the submission, the supplement and the
authority, so a notice delivered again builds the same delivery and records nothing new.

An authority without an encryption key gets nothing (nothing goes out in plaintext): the
worker records nothing and logs ``delivery.supplement_withheld``; the supplement stays
``received`` and goes out with the case's next supplement, or when the notice is read
again (a replay of the topic), once the key is registered.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from uuid import UUID, uuid5

import structlog
from faststream.kafka import KafkaBroker

from contracts import topics
from contracts.messages import DeliveryLinks, Encryption, Href, PayloadPart
from contracts.pickup import PickupDocument
from contracts.replies import SupplementEnvelope
from events.case import Supplement
from events.ledger import Ledger, TrailEntry
from events.lifecycle import Status
from events.submission import Submission
from events.vault import Vault
from services.delivery.crypto import JweSealer
from services.delivery.envelope import InlinePolicy, Sealer, delivery_path
from services.delivery.pickup import follow_up_pickup_document
from services.delivery.recipients import Recipients
from services.delivery.settings import DeliverySettings
from services.runtime.batch import Outcome, Step
from services.runtime.settings import StageSettings
from services.runtime.worker import BatchWorker, subscription

log = structlog.get_logger(__name__)

SUPPLEMENT_RECEIVED: Final = topics.submission_event_topic("SupplementReceived")
GROUP: Final = "amtsweg-follow-up"
NO_ENCRYPTION_KEY: Final = "no-encryption-key"


def follow_up_delivery_id(submission_id: UUID, supplement_id: str, authority_id: str) -> str:
    """Stable for one supplement to one authority: a repeated notice builds the same."""
    return str(uuid5(submission_id, f"supplement:{supplement_id}:{authority_id}"))


@dataclass(frozen=True)
class HandedIn:
    """What the portal said about one supplement (its sealed dossier, read back)."""

    note: str | None
    answers: str | None
    declared: dict[str, dict[str, Any]]
    """attachmentId -> ``{"attachmentId", "mimeType", "filename"}``."""

    @classmethod
    def of(cls, document: dict[str, Any]) -> HandedIn:
        """From the dossier document the intake sealed."""
        attachments = document.get("attachments") or []
        return cls(
            note=document.get("note"),
            answers=document.get("answers"),
            declared={str(a["attachmentId"]): dict(a) for a in attachments},
        )

    def mime_type(self, part_id: str) -> str:
        """The part's declared media type."""
        return str(self.declared.get(part_id, {}).get("mimeType") or "application/octet-stream")

    def metadata(self) -> dict[str, Any]:
        """What travels encrypted in the envelope: the note and each document's file name."""
        return {
            "note": self.note,
            "answers": self.answers,
            "attachments": list(self.declared.values()),
        }


def supplement_entry(trail: list[TrailEntry], event: str, supplement_id: str) -> TrailEntry | None:
    """The trail's ``event`` (``SupplementReceived`` / ``SupplementDispatched``) of a supplement."""
    return next(
        (e for e in trail if e.event == event and e.data.get("supplement_id") == supplement_id),
        None,
    )


def handed_in(ledger: Ledger, vault: Vault, submission: Submission, supplement_id: str) -> HandedIn:
    """The supplement's dossier (``ContentErasedError`` once erased)."""
    entry = supplement_entry(ledger.trail(submission.id), "SupplementReceived", supplement_id)
    if entry is None:
        msg = f"submission {submission.id} has no supplement {supplement_id}"
        raise LookupError(msg)
    return HandedIn.of(vault.read_document(submission.id, str(entry.data["dossier"])))


def build_supplement_envelope(
    submission: Submission,
    supplement: Supplement,
    said: HandedIn,
    delivery_id: str,
    read: Callable[[str], bytes],
    *,
    inline: InlinePolicy,
    now: datetime,
    sealer: Sealer,
    base_url: str = "",
) -> SupplementEnvelope:
    """The follow-up delivery's envelope; ``read`` opens a sealed blob."""
    assert submission.authority_id is not None
    assert submission.delivery_id is not None
    base = base_url.rstrip("/") + delivery_path(delivery_id)
    budget = inline.total_limit
    parts = []
    for part in supplement.parts:
        part_id, size = str(part["partId"]), int(str(part["size"]))
        mime_type = said.mime_type(part_id)
        is_inline = size <= min(inline.part_limit, budget)
        budget -= size if is_inline else 0
        parts.append(
            PayloadPart(
                part_id=part_id,
                mime_type=mime_type,
                size=size,
                sha512=str(part["sha512"]),
                content=sealer.seal(read(str(part["blob"])), mime_type) if is_inline else None,
                reference=None if is_inline else f"{base}/parts/{part_id}",
            )
        )
    metadata = json.dumps(said.metadata(), ensure_ascii=False).encode()
    return SupplementEnvelope(
        delivery_id=delivery_id,
        refers_to=submission.delivery_id,
        supplement_id=supplement.supplement_id,
        submission_id=str(submission.id),
        case_id=submission.case_id,
        authority_id=submission.authority_id,
        answers=supplement.answers,
        encryption=Encryption(kid=sealer.kid),
        encrypted_metadata=sealer.seal(metadata, "application/json"),
        attachments=parts,
        dispatched_at=now.isoformat(),
        receipt_topic=topics.RECEIPTS,
        links=DeliveryLinks(self_=Href(href=base), receipt=Href(href=f"{base}/receipt")),
    )


def follow_up_step(
    ledger: Ledger, vault: Vault, settings: DeliverySettings, recipients: Recipients
) -> Step:
    """Dispatch every supplement of a delivered case not dispatched yet; None if none waits."""

    def step(submission: Submission) -> Outcome | None:
        waiting = [s for s in submission.supplements.values() if s.delivery_id is None]
        if (
            not waiting
            or submission.status not in (Status.DISPATCHED, Status.ACCEPTED)
            or submission.content_erased
            or submission.authority_id is None
        ):
            return None
        authority_id = submission.authority_id
        recipient = recipients.get(authority_id)
        key = recipient.encryption_key() if recipient else None
        if key is None:
            withheld: dict[str, object] = {"authority_id": authority_id, "waiting": len(waiting)}
            withheld["reason"] = NO_ENCRYPTION_KEY
            return Outcome("delivery.supplement_withheld", changed=False, fields=withheld)
        pickup = recipient is not None and recipient.fit_connect
        channel = (
            topics.pickup_channel(authority_id) if pickup else topics.delivery_topic(authority_id)
        )
        changed, delivery_ids = False, []
        for supplement in waiting:
            delivery_id = follow_up_delivery_id(
                submission.id, supplement.supplement_id, authority_id
            )
            said = handed_in(ledger, vault, submission, supplement.supplement_id)
            document: SupplementEnvelope | PickupDocument
            if pickup:
                document = follow_up_pickup_document(
                    submission, supplement, said.declared, delivery_id, JweSealer(key)
                )
            else:
                document = build_supplement_envelope(
                    submission,
                    supplement,
                    said,
                    delivery_id,
                    lambda blob: vault.read(submission.id, blob),
                    inline=InlinePolicy(settings.inline_limit_bytes, settings.inline_total_bytes),
                    now=datetime.now(UTC),
                    sealer=JweSealer(key),
                    base_url=settings.public_base_url,
                )
            published = document.model_dump_json(by_alias=True, exclude_none=True).encode()
            reference = vault.put_envelope(submission.id, published)
            if submission.dispatch_supplement(
                supplement.supplement_id, delivery_id, channel, reference
            ):
                changed = True
                delivery_ids.append(delivery_id)
        fields: dict[str, object] = {"authority_id": authority_id, "pickup": pickup}
        fields["delivery_ids"] = delivery_ids
        return Outcome("delivery.supplement_dispatched", changed, fields)

    return step


def register_follow_up(
    broker: KafkaBroker,
    ledger: Ledger,
    vault: Vault,
    settings: DeliverySettings,
    recipients: Recipients,
    *,
    stage_settings: StageSettings,
) -> None:
    """Subscribe the follow-up delivery worker to ``SupplementReceived``."""
    step = follow_up_step(ledger, vault, settings, recipients)
    broker.subscriber(
        SUPPLEMENT_RECEIVED,
        group_id=GROUP,
        auto_offset_reset="earliest",
        **subscription(stage_settings),
    )(BatchWorker(ledger, "follow-up", lambda _message: step).handle)


def dispatched_envelope(
    ledger: Ledger, submission: Submission, delivery_id: str
) -> tuple[dict[str, Any], str] | None:
    """A follow-up delivery's sealed envelope reference and channel, or None."""
    supplement = submission.supplement_of_delivery(delivery_id)
    if supplement is None:
        return None
    trail = ledger.trail(submission.id)
    entry = supplement_entry(trail, "SupplementDispatched", supplement.supplement_id)
    if entry is None:
        return None
    return dict(entry.data["envelope"]), str(entry.data["topic"])


def follow_up_part(
    ledger: Ledger, vault: Vault, submission: Submission, delivery_id: str, part_id: str
) -> tuple[bytes, str] | None:
    """A follow-up delivery's part: its bytes and media type, or None if it has none."""
    supplement = submission.supplement_of_delivery(delivery_id)
    if supplement is None:
        return None
    part = next((p for p in supplement.parts if p["partId"] == part_id), None)
    if part is None:
        return None
    said = handed_in(ledger, vault, submission, supplement.supplement_id)
    return vault.read(submission.id, str(part["blob"])), said.mime_type(part_id)
