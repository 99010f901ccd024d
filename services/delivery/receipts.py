"""Taking an authority's receipt: who sent it, is it signed as required, which delivery.

The same rules apply to receipts from the topic and from the HTTP API. A receipt must be
signed with the verification key the directory holds for its authority; a receipt of an
authority without one is refused, unless the recipients accept unsigned receipts (only
in development, where development keys usually stand in anyway). A receipt that is
not taken leaves a ``ReceiptRefused`` event in the trail (at most a few per submission),
so operations see forged or misdirected receipts next to the delivery they concern.
A receipt of a follow-up delivery (documents handed in later) follows the same rules and
records ``SupplementAcknowledged``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

import structlog

from contracts.receipts import ReceiptMessage
from events.ledger import Ledger, SubmissionNotFoundError
from events.lifecycle import InvalidTransitionError
from events.submission import Submission
from services.delivery.crypto import SignatureError, verify_signed_receipt
from services.delivery.recipients import Recipients

log = structlog.get_logger(__name__)


class Refusal(StrEnum):
    """Why a receipt was not taken."""

    UNKNOWN_SUBMISSION = "unknown-submission"
    SENDER_MISMATCH = "sender-mismatch"
    WRONG_AUTHORITY = "wrong-authority"
    SIGNATURE_MISSING = "signature-missing"
    SIGNATURE_INVALID = "signature-invalid"
    NO_VERIFICATION_KEY = "no-verification-key"
    """The directory holds no verification key for the authority: no receipt can count."""
    OTHER_DELIVERY = "other-delivery"
    NOT_DISPATCHED = "not-dispatched"


@dataclass(frozen=True)
class ReceiptResult:
    """``recorded``: a new Accepted or RefusedByAuthority; ``refusal``: why not taken."""

    recorded: bool
    refusal: Refusal | None = None


def check_receipt(
    submission: Submission, recipients: Recipients, message: ReceiptMessage, sender: str | None
) -> Refusal | None:
    """Why the receipt must not count, or None; pure apart from the signature check."""
    receipt = message.receipt
    if sender is not None and sender != receipt.authority_id:
        return Refusal.SENDER_MISMATCH
    if receipt.authority_id != submission.authority_id:
        return Refusal.WRONG_AUTHORITY
    recipient = recipients.get(receipt.authority_id)
    key = recipient.verification_key() if recipient else None
    if key is None:
        return None if recipients.accept_unsigned_receipts else Refusal.NO_VERIFICATION_KEY
    if message.jws is None:
        return Refusal.SIGNATURE_MISSING
    try:
        verify_signed_receipt(message.jws, key)
    except SignatureError:
        return Refusal.SIGNATURE_INVALID
    return None


def record_receipt(
    ledger: Ledger, recipients: Recipients, message: ReceiptMessage, sender: str | None = None
) -> ReceiptResult:
    """Record a receipt; ``sender`` is the authenticated authority when known (HTTP)."""
    receipt = message.receipt
    try:
        submission = ledger.get_submission(UUID(receipt.submission_id))
    except (SubmissionNotFoundError, ValueError):
        log.warning("receipt.refused", reason=Refusal.UNKNOWN_SUBMISSION.value)
        return ReceiptResult(recorded=False, refusal=Refusal.UNKNOWN_SUBMISSION)
    structlog.contextvars.bind_contextvars(
        submission_id=str(submission.id), correlation_id=submission.correlation_id
    )
    if submission.declined_deliveries.get(receipt.delivery_id) == receipt.authority_id:
        return ReceiptResult(recorded=False)  # answered before ("not responsible"): again
    refusal = check_receipt(submission, recipients, message, sender)
    if refusal is not None:
        return _refuse(ledger, submission, message, refusal)
    if submission.supplement_of_delivery(receipt.delivery_id) is not None:
        return _acknowledge_supplement(ledger, submission, message)

    def record(current: Submission) -> bool:
        if receipt.outcome == "accepted":
            return current.accept(receipt.delivery_id, receipt.reference, message.jws)
        problems = [p.model_dump(exclude_none=True) for p in receipt.problems]
        if receipt.outcome == "not-responsible":  # routing forwards it (Declined → Forwarded)
            return current.decline(receipt.delivery_id, problems, message.jws)
        return current.refuse(receipt.delivery_id, receipt.outcome, problems, message.jws)

    try:
        changed = ledger.execute(submission.id, record)
    except InvalidTransitionError:
        known = submission.delivery_id is not None
        return _refuse(
            ledger, submission, message, Refusal.OTHER_DELIVERY if known else Refusal.NOT_DISPATCHED
        )
    log.info("receipt.recorded", outcome=receipt.outcome, changed=changed, signed=bool(message.jws))
    return ReceiptResult(recorded=changed)


def _acknowledge_supplement(
    ledger: Ledger, submission: Submission, message: ReceiptMessage
) -> ReceiptResult:
    """The receipt of a follow-up delivery: the supplement ``accepted`` or ``rejected``.

    "Not responsible" cannot move a case that the authority holds: for documents handed
    in later it counts as ``rejected`` (its problems say why).
    """
    receipt = message.receipt
    outcome = "accepted" if receipt.outcome == "accepted" else "rejected"
    problems = [p.model_dump(exclude_none=True) for p in receipt.problems]
    try:
        changed = ledger.execute(
            submission.id,
            lambda current: current.acknowledge_supplement(
                receipt.delivery_id, outcome, problems, message.jws
            ),
        )
    except InvalidTransitionError:
        return _refuse(ledger, submission, message, Refusal.OTHER_DELIVERY)
    log.info(
        "receipt.supplement_recorded",
        delivery_id=receipt.delivery_id,
        outcome=outcome,
        changed=changed,
        signed=bool(message.jws),
    )
    return ReceiptResult(recorded=changed)


def _refuse(
    ledger: Ledger, submission: Submission, message: ReceiptMessage, refusal: Refusal
) -> ReceiptResult:
    receipt = message.receipt
    log.warning(
        "receipt.refused",
        reason=refusal.value,
        delivery_id=receipt.delivery_id,
        claimed_authority=receipt.authority_id,
    )
    ledger.execute(
        submission.id,
        lambda s: s.refuse_receipt(receipt.delivery_id, receipt.authority_id, refusal.value),
    )
    return ReceiptResult(recorded=False, refusal=refusal)
