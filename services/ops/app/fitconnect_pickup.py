"""The FIT-Connect pickup ports, over the ledger, the vault and delivery's read model.

A submission is *ready for pickup* by an authority when its current delivery is one to
that authority on the FIT-Connect pickup channel (``Dispatched`` recorded with
``fit-connect:<authority id>`` as its channel), no receipt has answered it (no
``Accepted``, ``RefusedByAuthority`` or ``Declined``) and its content is not erased.
A follow-up delivery (documents handed in later, ``SupplementDispatched`` on the pickup
channel) is ready for pickup as a submission of its own within the case, its
``submissionId`` the follow-up delivery's id, until the authority answers it
(``SupplementAcknowledged``). The deliveries read model finds the authority's open
deliveries and follow-ups (brought up to date first, so a delivery dispatched a moment
ago is listed) and maps a follow-up delivery's id to its submission; the ledger confirms
each.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contracts.pickup import PickupDocument
from contracts.topics import is_pickup_channel
from events.ledger import Ledger, SubmissionNotFoundError
from events.lifecycle import Status
from events.submission import Submission
from events.vault import Vault
from services.delivery.follow_up import dispatched_envelope
from services.delivery.projector import DeliveryProjector
from services.fitconnect.pickup_http import (
    Pickup,
    PickupOf,
    PickupPorts,
    ReadyForPickup,
    ReadyItem,
)
from services.fitconnect.submission_table import SubmissionTable


@dataclass(frozen=True)
class FollowUp:
    """A follow-up delivery on the pickup channel: its submission and sealed document."""

    submission: Submission
    delivery_id: str
    envelope: dict[str, Any]
    outcome: str | None
    """The authority's answer (``accepted`` / ``rejected``), once it gave one."""


def pickup_ports(
    ledger: Ledger,
    vault: Callable[[], Vault],
    projector: Callable[[], DeliveryProjector],
    table: Callable[[], SubmissionTable],
) -> PickupPorts:
    """The pickup routes' ports (vault and read model opened on first use)."""
    return PickupPorts(
        ready=ready_for_pickup(ledger, projector),
        pickup=pickup_of(ledger, vault, projector),
        stream=lambda submission_id, blob: vault().stream(submission_id, blob),
        table=table,
    )


def ready_for_pickup(ledger: Ledger, projector: Callable[[], DeliveryProjector]) -> ReadyForPickup:
    """A page of the authority's submissions ready for pickup (blocking: run in a thread)."""

    def ready(authority_id: str, offset: int, limit: int) -> tuple[list[ReadyItem], int]:
        deliveries = projector()
        deliveries.catch_up()
        rows, total = deliveries.store.open_of(authority_id, offset, limit)
        listed = []
        for row in rows:
            try:
                submission = ledger.get_submission(uuid.UUID(row.submission_id))
            except SubmissionNotFoundError:
                continue
            if _is_pickup(submission) and submission.delivery_id == row.delivery_id:
                listed.append(ReadyItem(row.submission_id, row.submission_id, submission.case_id))
            elif _open_follow_up(ledger, submission, row.delivery_id) is not None:
                listed.append(ReadyItem(row.delivery_id, row.submission_id, submission.case_id))
        return listed, total

    return ready


def pickup_of(
    ledger: Ledger, vault: Callable[[], Vault], projector: Callable[[], DeliveryProjector]
) -> PickupOf:
    """The submission's current delivery by pickup, or the follow-up delivery with this
    id not answered yet, with its document (blocking)."""
    resolve = follow_up_of(ledger, projector)

    def pickup(submission_id: uuid.UUID) -> Pickup | None:
        try:
            submission = ledger.get_submission(submission_id)
        except SubmissionNotFoundError:
            return _follow_up_pickup(resolve(submission_id))
        if not _is_pickup(submission) or submission.authority_id is None:
            return None
        erased = submission.content_erased
        sealed = None if erased else vault().envelope(submission_id, submission.envelope)
        document = None if sealed is None else PickupDocument.model_validate_json(sealed)
        return Pickup(submission.authority_id, document, submission.case_id)

    def _follow_up_pickup(found: FollowUp | None) -> Pickup | None:
        if found is None or found.outcome is not None:
            return None
        submission = found.submission
        assert submission.authority_id is not None
        erased = submission.content_erased
        sealed = None if erased else vault().envelope(submission.id, found.envelope)
        document = None if sealed is None else PickupDocument.model_validate_json(sealed)
        return Pickup(submission.authority_id, document, submission.case_id)

    return pickup


def follow_up_of(
    ledger: Ledger, projector: Callable[[], DeliveryProjector]
) -> Callable[[uuid.UUID], FollowUp | None]:
    """The follow-up delivery on the pickup channel with this id, or None (blocking).

    The deliveries read model maps the id to its submission (brought up to date first
    when it does not know the id yet); the ledger has the rest."""

    def find(delivery_id: uuid.UUID) -> FollowUp | None:
        wanted = str(delivery_id)
        deliveries = projector()
        row = deliveries.store.rows([wanted]).get(wanted)
        if row is None:
            deliveries.catch_up()
            row = deliveries.store.rows([wanted]).get(wanted)
        if row is None:
            return None
        try:
            submission = ledger.get_submission(uuid.UUID(row.submission_id))
        except SubmissionNotFoundError:
            return None
        return _follow_up(ledger, submission, wanted)

    return find


def _follow_up(ledger: Ledger, submission: Submission, delivery_id: str) -> FollowUp | None:
    supplement = submission.supplement_of_delivery(delivery_id)
    dispatched = dispatched_envelope(ledger, submission, delivery_id)
    if supplement is None or dispatched is None or submission.authority_id is None:
        return None
    envelope, channel = dispatched
    if not is_pickup_channel(channel):
        return None
    return FollowUp(submission, delivery_id, envelope, supplement.outcome)


def _open_follow_up(ledger: Ledger, submission: Submission, delivery_id: str) -> FollowUp | None:
    """The follow-up delivery if it waits for pickup: not answered, content not erased."""
    if submission.content_erased:
        return None
    found = _follow_up(ledger, submission, delivery_id)
    return found if found is not None and found.outcome is None else None


def _is_pickup(submission: Submission) -> bool:
    """Dispatched on a pickup channel and not answered."""
    return submission.status is Status.DISPATCHED and is_pickup_channel(
        submission.delivery_topic or ""
    )
