"""Taking an authority's reply: check it, seal its content, record ``Replied``.

The same use case serves the topic (``amtsweg.delivery.receipts``) and
``POST /v1/deliveries/{deliveryId}/replies``. The checks (``reply_checks``) come first and
record nothing; then what the authority wrote and each document are sealed in the vault
under the submission (erased with it), the portal's envelope is built and sealed, and
``Replied`` is recorded, which the relay publishes to the portal's topic. On a refusal, or
when the reply turns out a repeat, the blobs written for it are discarded. Nothing of the
content reaches a log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

import structlog

from contracts.replies import ReplyMessage
from contracts.reply_wire import ArrivedReply
from events.case import ReplyConflictError, ReplyKind
from events.dossier import Dossier
from events.ledger import Ledger, SubmissionNotFoundError
from events.lifecycle import ContentErasedError, InvalidTransitionError
from events.reply_dossier import ReplyDocument, ReplyDossier
from events.submission import Submission
from events.vault import Vault
from services.delivery.recipients import Recipients
from services.delivery.reply_checks import (
    Refused,
    ReplyLimits,
    ReplyRefusal,
    check_addressing,
    check_due,
    check_repeat,
    check_signature,
    check_status,
    decode_parts,
    reply_digest,
)
from services.delivery.reply_envelope import (
    SealedDocument,
    build_reply_envelope,
    portal_sealer,
    reply_channel_name,
)
from services.delivery.settings import DeliverySettings
from services.runtime.portals import Portals

log = structlog.get_logger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ReplyPorts:
    """What taking a reply needs."""

    ledger: Ledger
    vault: Vault
    recipients: Recipients
    portals: Portals
    settings: DeliverySettings
    clock: Callable[[], datetime] = field(default=_now)

    @property
    def limits(self) -> ReplyLimits:
        """The limits of a reply's documents."""
        settings = self.settings
        return ReplyLimits.of(
            settings.reply_max_parts, settings.reply_max_part_bytes, settings.reply_media_types
        )


@dataclass(frozen=True)
class ReplyResult:
    """``recorded``: a new ``Replied``; ``refused``: why the reply does not count."""

    reply_id: str
    recorded: bool
    refused: Refused | None = None


def take_reply(ports: ReplyPorts, arrived: ArrivedReply, sender: str | None = None) -> ReplyResult:
    """Record a reply; ``sender`` is the authority the HTTP token proves (None on Kafka)."""
    message = arrived.message
    try:
        submission = ports.ledger.get_submission(UUID(message.submission_id))
    except (SubmissionNotFoundError, ValueError):
        return _refused(message, Refused(ReplyRefusal.DELIVERY_NOT_FOUND, "no such delivery"))
    structlog.contextvars.bind_contextvars(
        submission_id=str(submission.id), correlation_id=submission.correlation_id
    )
    digest = reply_digest(arrived.payload)
    checked = _check(ports, submission, arrived, sender, digest)
    if isinstance(checked, Refused):
        return _refused(message, checked)
    if checked is None:
        log.info("reply.repeated", reply_id=message.reply_id, delivery_id=message.delivery_id)
        return ReplyResult(message.reply_id, recorded=False)
    return _record(ports, submission, arrived, checked, digest)


@dataclass(frozen=True)
class _Checked:
    """A reply that counts: its documents' bytes and the key that signed it."""

    documents: list[bytes]
    signed_by: str | None


def _check(
    ports: ReplyPorts,
    submission: Submission,
    arrived: ArrivedReply,
    sender: str | None,
    digest: str,
) -> Refused | _Checked | None:
    """The checks of ``reply_checks`` in their order; None: the same reply again."""
    message = arrived.message
    refused = check_addressing(submission, message, sender)
    if refused is not None:
        return refused
    max_bytes = ports.settings.reply_max_bytes
    signature = check_signature(ports.recipients, message.authority_id, arrived.jws, max_bytes)
    if isinstance(signature, Refused):
        return signature
    repeat = check_repeat(submission, message, digest)
    if repeat is not False:
        return repeat if isinstance(repeat, Refused) else None
    refused = check_status(submission) or check_due(message, ports.clock())
    if refused is not None:
        return refused
    documents = decode_parts(message, ports.limits)
    return documents if isinstance(documents, Refused) else _Checked(documents, signature)


def _record(
    ports: ReplyPorts,
    submission: Submission,
    arrived: ArrivedReply,
    checked: _Checked,
    digest: str,
) -> ReplyResult:
    message = arrived.message
    documents, signed_by = checked.documents, checked.signed_by
    written: list[str] = []
    try:
        command = _sealed_reply(ports, submission, message, documents, signed_by, digest, written)
        changed = ports.ledger.execute(submission.id, command)
    except ReplyConflictError:
        ports.vault.discard(written)
        return _refused(message, Refused(ReplyRefusal.CONFLICT, "recorded with other content"))
    except ContentErasedError:
        ports.vault.discard(written)
        return _refused(message, Refused(ReplyRefusal.CONTENT_ERASED, "the content was erased"))
    except InvalidTransitionError:
        ports.vault.discard(written)
        refused = Refused(ReplyRefusal.NOT_DELIVERED, "the case no longer takes this reply")
        return _refused(message, refused)
    except BaseException:
        ports.vault.discard(written)
        raise
    if not changed:  # a concurrent copy of the same reply was recorded first
        ports.vault.discard(written)
    log.info(
        "reply.recorded",
        reply_id=message.reply_id,
        delivery_id=message.delivery_id,
        kind=message.kind,
        parts=len(documents),
        signed=signed_by is not None,
        changed=changed,
    )
    return ReplyResult(message.reply_id, recorded=changed)


def _sealed_reply(  # noqa: PLR0917 - one private step of _record
    ports: ReplyPorts,
    submission: Submission,
    message: ReplyMessage,
    documents: list[bytes],
    signed_by: str | None,
    digest: str,
    written: list[str],
) -> Callable[[Submission], bool]:
    """Seal the dossier, the documents and the portal's envelope; the command recording them."""
    vault = ports.vault
    dossier = ReplyDossier(
        subject=message.subject,
        text=message.text,
        requested=tuple(message.requested),
        reference=message.reference,
        parts=tuple(ReplyDocument(p.part_id, p.mime_type, p.filename) for p in message.parts),
    )
    sealed_dossier = vault.put_document(submission.id, dossier.document())
    written.append(sealed_dossier.blob)
    parts: list[dict[str, object]] = []
    sealed_documents: list[SealedDocument] = []
    for declared, content in zip(message.parts, documents, strict=True):
        sealed = vault.put(submission.id, content)
        written.append(sealed.blob)
        parts.append(
            {
                "partId": declared.part_id,
                "blob": sealed.blob,
                "sha512": sealed.sha512,
                "size": sealed.size,
            }
        )
        sealed_documents.append(
            SealedDocument(declared.part_id, declared.mime_type, sealed.sha512, sealed.size)
        )
    portal = ports.portals.get(submission.portal_id)
    envelope = build_reply_envelope(
        submission,
        message,
        sealed_documents,
        now=ports.clock(),
        signed=signed_by is not None,
        reply_channel=reply_channel_name(Dossier.of(vault, submission)),
        sealer=portal_sealer(portal.encryption_jwk) if portal.encryption_jwk else None,
        base_url=ports.settings.public_base_url,
    )
    published = envelope.model_dump_json(by_alias=True, exclude_none=True).encode()
    reference = vault.put_envelope(submission.id, published)
    written.append(reference["blob"])

    def record(current: Submission) -> bool:
        return current.reply(
            message.reply_id,
            kind=ReplyKind(message.kind),
            authority_id=message.authority_id,
            delivery_id=message.delivery_id,
            dossier=sealed_dossier.blob,
            parts=parts,
            request_digest=digest,
            due=message.due,
            signed_by=signed_by,
            topic=portal.topic,
            envelope=reference,
        )

    return record


def _refused(message: ReplyMessage, refused: Refused) -> ReplyResult:
    log.warning(
        "reply.refused",
        reason=refused.refusal.value,
        reply_id=message.reply_id,
        delivery_id=message.delivery_id,
        claimed_authority=message.authority_id,
    )
    return ReplyResult(message.reply_id, recorded=False, refused=refused)
