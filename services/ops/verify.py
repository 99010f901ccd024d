"""Verifying a submission: its hash chain, and its tail against the relay's witness."""

from __future__ import annotations

from uuid import UUID

from events.ledger import Ledger
from events.relay_store import RelayStore


def verify_submission(ledger: Ledger, store: RelayStore, submission_id: UUID) -> str | None:
    """A description of the first problem found, or None when the trail is intact."""
    broken = ledger.verify(submission_id)
    if broken is not None:
        return f"event {broken.version}: {broken.reason}"
    trail = ledger.trail(submission_id)
    witness = store.witness(str(submission_id))
    if witness is None:
        return None  # not yet published: nothing to compare against
    if witness.version > len(trail):
        return (
            f"the relay published event {witness.version}, "
            f"but the ledger ends at {len(trail)}: events were deleted"
        )
    if trail[witness.version - 1].hash != witness.hash:
        return f"event {witness.version} differs from what the relay published"
    return None
