"""Request deadlines: a request for documents whose ``due`` passed without an answer.

The portals' follow-up read model keeps the open requests with their deadlines
(:mod:`services.delivery.portal_store`), so finding the passed ones loads no submission
that has none. For each, ``mark_overdue`` records ``RequestOverdue`` on the submission;
the relay then publishes a ``RequestOverdueNotice`` to the portal's topic and to the
authority's delivery topic (not to a FIT-Connect pickup channel: its client sees the
case's events), and the portal's callback follows. The aggregate refuses a request that
is not open any more, so a restart or a second process records it once.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import structlog

from contracts.topics import is_pickup_channel
from events.ledger import Ledger, SubmissionNotFoundError
from events.lifecycle import InvalidTransitionError
from events.submission import Submission
from services.delivery.portal_store import PortalStore
from services.runtime.portals import Portals

log = structlog.get_logger(__name__)

BATCH = 500


class OverdueRequests:
    """Marks the requests whose deadline passed (blocking; run in a thread)."""

    def __init__(self, ledger: Ledger, store: PortalStore, portals: Portals) -> None:
        self._ledger = ledger
        self._store = store
        self._portals = portals

    def mark_due(self, now: float) -> int:
        """Record every open request whose deadline is before ``now``; how many were."""
        marked = 0
        while due := self._store.requests_due(now, BATCH):
            for submission_id, reply_id in due:
                marked += int(self._mark(submission_id, reply_id))
                # marked or not (answered meanwhile, case closed): not open any more here
                self._store.close_request(submission_id, reply_id)
        return marked

    def _mark(self, submission_id: str, reply_id: str) -> bool:
        with structlog.contextvars.bound_contextvars(
            submission_id=submission_id, stage="request-deadline"
        ):
            try:
                changed = self._ledger.execute(UUID(submission_id), self._command(reply_id))
            except (SubmissionNotFoundError, InvalidTransitionError) as error:
                log.warning("request.overdue_refused", reply_id=reply_id, error=str(error))
                return False
            log.info("request.overdue", reply_id=reply_id, changed=changed)
            return changed

    def _command(self, reply_id: str) -> Callable[[Submission], bool]:
        def mark(submission: Submission) -> bool:
            topic = submission.delivery_topic
            return submission.mark_overdue(
                reply_id,
                portal_topic=self._portals.get(submission.portal_id).topic,
                authority_topic=None if topic is None or is_pickup_channel(topic) else topic,
            )

        return mark
