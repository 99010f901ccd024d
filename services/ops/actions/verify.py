"""Verifying a submission: its hash chain, and its tail against the relay's witness."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from events.ledger import Ledger, SubmissionNotFoundError, TrailEntry
from events.relay_store import RelayStore


@dataclass(frozen=True)
class BrokenLink:
    """The first broken link of a submission's trail."""

    version: int
    """The first event that does not hold (0: the trail cannot be read at all)."""
    event: str | None
    """Its name, when it can still be read."""
    recorded_at: str | None
    reason: str

    def describe(self) -> str:
        """``event <n>: <reason>``."""
        return f"event {self.version}: {self.reason}"

    def where(self) -> str:
        """Which event, by name and time, for people."""
        if self.event is None:
            return f"#{self.version}"
        return f"#{self.version} {self.event} recorded {self.recorded_at}"


def check_submission(ledger: Ledger, store: RelayStore, submission_id: UUID) -> BrokenLink | None:
    """The first broken link, or None when the trail is intact.

    ``SubmissionNotFoundError`` when the ledger holds no such submission.
    """
    broken = ledger.verify(submission_id)
    if broken is not None:
        return _named(ledger, submission_id, broken.version, broken.reason)
    return check_witness(ledger, store, submission_id, ledger.trail(submission_id))


def check_witness(
    ledger: Ledger, store: RelayStore, submission_id: UUID, trail: list[TrailEntry]
) -> BrokenLink | None:
    """The trail's tail against the relay's witness: None when it holds (or nothing was
    published yet)."""
    witness = store.witness(str(submission_id))
    if witness is None:
        return None  # not yet published: nothing to compare against
    if witness.version > len(trail):
        reason = (
            f"the relay published event {witness.version}, "
            f"but the ledger ends at {len(trail)}: events were deleted"
        )
        return BrokenLink(witness.version, None, None, reason)
    if trail[witness.version - 1].hash != witness.hash:
        reason = f"event {witness.version} differs from what the relay published"
        return _named(ledger, submission_id, witness.version, reason)
    return None


def verify_submission(ledger: Ledger, store: RelayStore, submission_id: UUID) -> str | None:
    """A description of the first problem found, or None when the trail is intact."""
    broken = check_submission(ledger, store, submission_id)
    return None if broken is None else broken.describe()


def _named(ledger: Ledger, submission_id: UUID, version: int, reason: str) -> BrokenLink:
    try:
        trail = ledger.trail(submission_id)
    except (SubmissionNotFoundError, ValueError, TypeError, KeyError):
        return BrokenLink(version, None, None, reason)
    entry = next((e for e in trail if e.version == version), None)
    if entry is None:
        return BrokenLink(version, None, None, reason)
    return BrokenLink(version, entry.event, entry.timestamp, reason)
