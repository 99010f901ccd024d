"""The FIT-Connect pickup ports, over the ledger, the vault and delivery's read model.

A submission is *ready for pickup* by an authority when its current delivery is one to
that authority on the FIT-Connect pickup channel (``Dispatched`` recorded with
``fit-connect:<authority id>`` as its channel), no receipt has answered it (no
``Accepted``, ``RefusedByAuthority`` or ``Declined``) and its content is not erased.
The deliveries read model finds the authority's open deliveries (brought up to date
first, so a delivery dispatched a moment ago is listed); the ledger confirms each.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from contracts.pickup import PickupDocument
from contracts.topics import is_pickup_channel
from events.ledger import Ledger, SubmissionNotFoundError
from events.lifecycle import Status
from events.submission import Submission
from events.vault import Vault
from services.delivery.projector import DeliveryProjector
from services.fitconnect.pickup_http import Pickup, PickupOf, PickupPorts, ReadyForPickup
from services.fitconnect.submission_table import SubmissionTable


def pickup_ports(
    ledger: Ledger,
    vault: Callable[[], Vault],
    projector: Callable[[], DeliveryProjector],
    table: Callable[[], SubmissionTable],
) -> PickupPorts:
    """The pickup routes' ports (vault and read model opened on first use)."""
    return PickupPorts(
        ready=ready_for_pickup(ledger, projector),
        pickup=pickup_of(ledger, vault),
        stream=lambda submission_id, blob: vault().stream(submission_id, blob),
        table=table,
    )


def ready_for_pickup(ledger: Ledger, projector: Callable[[], DeliveryProjector]) -> ReadyForPickup:
    """A page of the authority's submissions ready for pickup (blocking: run in a thread)."""

    def ready(authority_id: str, offset: int, limit: int) -> tuple[list[str], int]:
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
                listed.append(row.submission_id)
        return listed, total

    return ready


def pickup_of(ledger: Ledger, vault: Callable[[], Vault]) -> PickupOf:
    """The submission's current delivery by pickup, with its document (blocking)."""

    def pickup(submission_id: uuid.UUID) -> Pickup | None:
        try:
            submission = ledger.get_submission(submission_id)
        except SubmissionNotFoundError:
            return None
        if not _is_pickup(submission) or submission.authority_id is None:
            return None
        erased = submission.content_erased
        sealed = None if erased else vault().envelope(submission_id, submission.envelope)
        document = None if sealed is None else PickupDocument.model_validate_json(sealed)
        return Pickup(submission.authority_id, document)

    return pickup


def _is_pickup(submission: Submission) -> bool:
    """Dispatched on a pickup channel and not answered."""
    return submission.status is Status.DISPATCHED and is_pickup_channel(
        submission.delivery_topic or ""
    )
