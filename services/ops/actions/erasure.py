"""Erasing a submission's content (crypto-shredding), on request or by retention rule.

The order makes a crash harmless: first the data key is destroyed (from that moment
nothing of the content can be opened, wherever a copy of a sealed blob lies), then the
blobs are deleted, then ``ContentErased`` is recorded. Run again after a crash at any
point, the erasure completes: the key is gone already, the remaining blobs are deleted,
the event is recorded once. The trail stays complete and verifiable; status and trail
still answer, replay and redelivery answer "content erased".
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import structlog

from events.ledger import Ledger
from events.vault import Vault

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Erased:
    """What one erasure did."""

    submission_id: UUID
    recorded: bool
    """False when ``ContentErased`` was recorded before (nothing more to do)."""
    key_destroyed: bool
    blobs_deleted: int


def erase(
    ledger: Ledger,
    vault: Vault,
    submission_id: UUID,
    *,
    by: str,
    legal_basis: str,
    reason: str,
    rule: str | None = None,
    vacuum: bool = True,
) -> Erased:
    """Erase the submission's content; ``SubmissionNotFoundError`` for an unknown id.

    ``vacuum``: let the key store's database drop the destroyed key's old copy at once
    (the retention job does it once after all its erasures).
    """
    submission = ledger.get_submission(submission_id)
    if submission.content_erased:
        return Erased(submission_id, recorded=False, key_destroyed=False, blobs_deleted=0)
    erasure = vault.erase(submission_id)
    if vacuum:
        vault.keys.vacuum()
    destroyed = {
        "dataKey": "destroyed" if erasure.key_destroyed else "destroyed before",
        "keyEncryptionKey": vault.keys.kek_id,
        "blobs": erasure.blobs_deleted,
    }
    recorded = ledger.execute(
        submission_id,
        lambda s: s.erase(
            by=by, rule=rule, legal_basis=legal_basis, reason=reason, destroyed=destroyed
        ),
    )
    log.info(
        "erasure.done",
        submission_id=str(submission_id),
        rule=rule,
        key_destroyed=erasure.key_destroyed,
        blobs_deleted=erasure.blobs_deleted,
    )
    return Erased(submission_id, recorded, erasure.key_destroyed, erasure.blobs_deleted)
