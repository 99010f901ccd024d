"""A ledger split into shards: one facade with the Ledger's per-submission interface.

Shard 0 is the configured ledger itself (so the read models, operator tables and the
record of the number of shards stay where they were); shards 1..N-1 are ledgers of
their own beside it (``LedgerSettings.shard``). Loading, saving, checking and listing a
submission go to the shard ``events.shards.shard_of`` names, so the stage services work
on a sharded ledger unchanged. Readers of a notification log iterate ``shards``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from events.ledger import Ledger
from events.settings import LedgerSettings
from events.shard_record import create_schema, record_shards, recorded_shards
from events.shards import LedgerShardsError, mismatch, shard_of
from events.submission import Submission


class ShardedLedger(Ledger):
    """The facade over the shards; per-submission calls go to the submission's shard.

    Each shard, shard 0 included, is a plain ``Ledger`` of its own in ``shards``, so a
    reader given one shard sees that shard alone. The facade itself is also opened on
    shard 0: its ``settings`` are the configured ones (where the read models live) and its
    ``recorder`` is shard 0's log.
    """

    name = Ledger.name
    """The same tables as an unsharded ledger (eventsourcing names them after the class)."""

    def __init__(self, settings: LedgerSettings) -> None:
        super().__init__(settings)
        self._shards: list[Ledger] = []
        try:
            for index in range(settings.ledger_shards):
                shard_settings = settings.shard(index)
                create_schema(shard_settings)
                self._shards.append(Ledger(shard_settings))
        except BaseException:
            self.close()
            raise

    @property
    def shards(self) -> tuple[Ledger, ...]:
        """Every shard, shard 0 first."""
        return tuple(self._shards)

    def shard_for(self, submission_id: UUID) -> Ledger:
        """The shard that holds ``submission_id``."""
        return self._shards[shard_of(submission_id, len(self._shards))]

    def get_submission(self, submission_id: UUID) -> Submission:
        return self.shard_for(submission_id).get_submission(submission_id)

    def exists(self, submission_id: UUID) -> bool:
        return self.shard_for(submission_id).exists(submission_id)

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Save each submission (or event) in its shard; the recordings of all."""
        recordings: list[Any] = []
        for shard, group in self._by_shard(objs):
            recordings.extend(shard.save(*group, **kwargs) or [])
        return recordings

    def check_format(self) -> None:
        for shard in self._shards:
            shard.check_format()

    def submission_ids(self) -> Iterator[UUID]:
        """Every submission, shard after shard, each shard's in order of receipt."""
        return itertools.chain.from_iterable(shard.submission_ids() for shard in self._shards)

    def close(self) -> None:
        for shard in getattr(self, "_shards", []):
            shard.close()
        super().close()

    def _stored_events(self, submission_id: UUID) -> Iterator[Submission.Event]:
        return self.shard_for(submission_id)._stored_events(submission_id)

    def _by_shard(self, objs: tuple[Any, ...]) -> list[tuple[Ledger, list[Any]]]:
        groups: dict[int, tuple[Ledger, list[Any]]] = {}
        for obj in objs:
            if obj is None:
                continue
            identifier = getattr(obj, "originator_id", None) or obj.id
            shard = self.shard_for(UUID(str(identifier)))
            groups.setdefault(id(shard), (shard, []))[1].append(obj)
        return list(groups.values())


def open_ledger(settings: LedgerSettings) -> Ledger:
    """The configured ledger, sharded when ``AMTSWEG_LEDGER_SHARDS`` > 1.

    ``LedgerShardsError`` when the number of shards differs from the one the ledger was
    written with; an empty ledger opened with several shards records their number.
    """
    count = settings.ledger_shards
    ledger = Ledger(settings) if count == 1 else ShardedLedger(settings)
    try:
        _check_shards(ledger, settings)
    except BaseException:
        ledger.close()
        raise
    return ledger


def _check_shards(ledger: Ledger, settings: LedgerSettings) -> None:
    count = settings.ledger_shards
    has_events = bool(ledger.recorder.max_notification_id())
    problem = mismatch(recorded_shards(settings), count, has_events=has_events)
    if problem is None and count > 1:
        problem = mismatch(record_shards(settings, count), count, has_events=True)
    if problem is not None:
        raise LedgerShardsError(problem)
