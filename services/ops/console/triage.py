"""The hook through which the console and the ops API reach triage (routing's queue).

Triage itself — which submissions wait, and assigning an authority with who and why —
belongs to routing's operations commands (``amtsweg triage list|assign``,
``services.ops.actions.triage``). The ops API only calls them through this port;
:func:`triage_queue` is the one place that wires them (None: the console says triage is
not available).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol
from uuid import UUID

from events.ledger import Ledger
from services.ops.actions import triage
from services.routing.directory import Directory

Keep = Callable[[str | None, str | None], bool]


class TriageQueue(Protocol):
    """Unroutable submissions waiting for an operator, and the assign action."""

    def waiting(self, limit: int, keep: Keep | None = None) -> list[dict[str, Any]]:
        """The queue, oldest first: JSON objects with at least ``submissionId``; ``keep``
        (portal id, authority id): only those it keeps (an operator's tenants)."""
        ...

    def assign(
        self, submission_id: UUID, authority_id: str, *, actor: str, reason: str
    ) -> dict[str, Any]:
        """Assign an authority (recorded with actor and reason); a JSON answer."""
        ...


class RoutingTriage:
    """Routing's triage (``services.ops.actions.triage``) behind the port."""

    def __init__(self, ledger: Ledger, directory: Callable[[], Directory]) -> None:
        self._ledger = ledger
        self._directory = directory

    def waiting(self, limit: int, keep: Keep | None = None) -> list[dict[str, Any]]:
        """The queue, oldest first."""
        queue = triage.triage_queue(self._ledger)
        if keep is not None:
            queue = [item for item in queue if keep(item.portal_id, item.authority_id)]
        return [
            {
                "submissionId": item.submission_id,
                "since": item.since,
                "leikaKey": item.leika_key,
                "reason": item.reason,
                "detail": item.detail,
                "declinedBy": list(item.declined_by),
            }
            for item in queue[:limit]
        ]

    def assign(
        self, submission_id: UUID, authority_id: str, *, actor: str, reason: str
    ) -> dict[str, Any]:
        """Assign through routing's triage; ``LookupError`` for an unknown authority."""
        recorded = triage.assign(
            self._ledger, self._directory(), submission_id, authority_id, by=actor, reason=reason
        )
        return {
            "submissionId": str(submission_id),
            "authorityId": authority_id,
            "recorded": recorded,
        }


def triage_queue(ledger: Ledger, directory: Callable[[], Directory]) -> TriageQueue | None:
    """The ops API's triage queue: the operator actions of ``services.ops.actions.triage``."""
    return RoutingTriage(ledger, directory)
