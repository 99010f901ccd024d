"""The checkpoint writer: signs what the ledger holds now, chained to the previous checkpoint.

Each round reads the notifications after the latest checkpoint's position up to the
ledger's head, takes every changed submission's newest event (version and hash), adds
their number to the count of events, and writes the next checkpoint, signed. Nothing
changed: nothing is written. The latest checkpoint must verify under the public keys
(or the writer's own), so a planted file is never chained onto.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import structlog
from eventsourcing.persistence import Notification, PersistenceError

from events.chain import GENESIS
from events.checkpoint import Checkpoint, CheckpointError, Head, read_document, signed_document
from events.checkpoint_keys import CheckpointSigner, PublicKeys
from events.checkpoint_store import CheckpointDirectory
from events.ledger import Ledger
from events.submission import Submission

log = structlog.get_logger(__name__)

PAGE = 500


@dataclass(frozen=True)
class Written:
    """A checkpoint just written, and where."""

    checkpoint: Checkpoint
    path: Path


class CheckpointWriter:
    """Writes the ledger's next checkpoint into the directory."""

    def __init__(
        self,
        ledger: Ledger,
        directory: CheckpointDirectory,
        signer: CheckpointSigner,
        public_keys: PublicKeys,
    ) -> None:
        self._ledger = ledger
        self._directory = directory
        self._signer = signer
        self._keys = PublicKeys({**public_keys.keys, signer.kid: signer.public})
        self.succeeded_at: float | None = None
        self.failures = 0

    def previous(self) -> Checkpoint | None:
        """The latest checkpoint, verified; ``CheckpointError`` if it does not verify."""
        latest = self._directory.latest()
        if latest is None:
            return None
        name, document = latest
        try:
            return read_document(document, self._keys.verify)
        except CheckpointError as error:
            msg = f"the latest checkpoint {name} does not verify, none is chained onto it: {error}"
            raise CheckpointError(msg) from None

    def write_once(self, now: datetime | None = None) -> Written | None:
        """Write the next checkpoint; None when the ledger did not change since the last.

        ``CheckpointError`` when the ledger's head is before the last checkpoint's
        position (events were removed, or this is another ledger's directory);
        ``FileExistsError`` when another writer wrote this sequence meanwhile.
        """
        previous = self.previous()
        start = previous.position if previous else 0
        head = int(self._ledger.recorder.max_notification_id() or 0)
        if head < start:
            msg = (
                f"the ledger ends at position {head}, before the latest checkpoint's {start}: "
                "run `amtsweg verify --checkpoint`"
            )
            raise CheckpointError(msg)
        if head == start:
            return None
        heads, count = self._changes(start, head)
        checkpoint = Checkpoint(
            kid=self._signer.kid,
            sequence=(previous.sequence + 1) if previous else 1,
            created_at=(now or datetime.now(UTC)).isoformat(timespec="seconds"),
            position=head,
            events=(previous.events if previous else 0) + count,
            previous=previous.digest() if previous else GENESIS,
            heads=heads,
        )
        path = self._directory.write(
            checkpoint.sequence, signed_document(checkpoint, self._signer.sign)
        )
        log.info(
            "checkpoint.written",
            sequence=checkpoint.sequence,
            position=head,
            submissions=len(heads),
        )
        return Written(checkpoint, path)

    def _changes(self, start: int, stop: int) -> tuple[dict[str, Head], int]:
        """Heads of the submissions with events in (start, stop], and how many events."""
        newest: dict[str, Notification] = {}
        count = 0
        position = start
        while position < stop:
            page = self._ledger.recorder.select_notifications(
                start=position, limit=PAGE, stop=stop, inclusive_of_start=False
            )
            if not page:
                break
            for notification in page:
                newest[str(UUID(str(notification.originator_id)))] = notification
                count += 1
            position = page[-1].id
        heads = {sid: Head(n.originator_version, self._hash(n)) for sid, n in newest.items()}
        return heads, count

    def _hash(self, notification: Notification) -> str:
        event = self._ledger.mapper.to_domain_event(notification)
        assert isinstance(event, Submission.Event)
        return event.hash

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        """Write a checkpoint every ``interval`` seconds until ``stop``.

        ``succeeded_at`` (epoch seconds) is when a round last ended with the ledger covered
        (a checkpoint written, or none needed); ``failures`` counts the rounds that failed.
        """
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.write_once)
            except (CheckpointError, PersistenceError, OSError) as error:
                self.failures += 1
                log.exception("checkpoint.failed", error=type(error).__name__, reason=str(error))
            else:
                self.succeeded_at = time.time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
