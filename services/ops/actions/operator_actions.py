"""Operators' actions on a delivery: announce it again, or retry its failed callback.

Each is an event on the submission (actor, reason, request id): the relay publishes it,
the notifier acts on it. Nothing here writes to Kafka. The same request id again changes
nothing, so a retried command or a double click is harmless.
"""

from __future__ import annotations

from uuid import UUID

from events.ledger import Ledger


def redeliver(
    ledger: Ledger, submission_id: UUID, *, actor: str, reason: str, request_id: str
) -> bool:
    """Record ``Redelivered``: the relay publishes the same envelope (same delivery id) again.

    False if this request was recorded already; ``InvalidTransitionError`` when no
    delivery awaits a receipt.
    """
    return ledger.execute(
        submission_id, lambda s: s.redeliver(request_id, actor=actor, reason=reason)
    )


def retry_callback(
    ledger: Ledger, submission_id: UUID, *, actor: str, reason: str, request_id: str
) -> bool:
    """Record ``CallbackRequeued``: the notifier makes one more callback attempt.

    False if this request was recorded already; ``InvalidTransitionError`` when the
    delivery's callback has not failed.
    """
    return ledger.execute(
        submission_id, lambda s: s.requeue_callback(request_id, actor=actor, reason=reason)
    )
