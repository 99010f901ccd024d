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
    """Shard 0 with the other shards beside it; per-submission calls go to the right one."""

    name = Ledger.name
    """The same tables as an unsharded ledger (eventsourcing names them after the class)."""

    def __init__(self, settings: LedgerSettings) -> None:
        super().__init__(settings)
        self._others: list[Ledger] = []
        try:
            for index in range(1, settings.ledger_shards):
                shard_settings = settings.shard(index)
                create_schema(shard_settings)
                self._others.append(Ledger(shard_settings))
        except BaseException:
            self.close()
            raise

    @property
    def shards(self) -> tuple[Ledger, ...]:
        """Shard 0 (this ledger) and the others, in order."""
        return (self, *self._others)

    def shard_for(self, submission_id: UUID) -> Ledger:
        """The shard that holds ``submission_id``."""
        index = shard_of(submission_id, len(self._others) + 1)
        return self if index == 0 else self._others[index - 1]

    def get_submission(self, submission_id: UUID) -> Submission:
        shard = self.shard_for(submission_id)
        if shard is self:
            return super().get_submission(submission_id)
        return shard.get_submission(submission_id)

    def exists(self, submission_id: UUID) -> bool:
        shard = self.shard_for(submission_id)
        return super().exists(submission_id) if shard is self else shard.exists(submission_id)

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Save each submission (or event) in its shard; the recordings of all."""
        recordings: list[Any] = []
        for shard, group in self._by_shard(objs):
            if shard is self:
                recordings.extend(super().save(*group, **kwargs) or [])
            else:
                recordings.extend(shard.save(*group, **kwargs) or [])
        return recordings

    def check_format(self) -> None:
        super().check_format()
        for shard in self._others:
            shard.check_format()

    def submission_ids(self) -> Iterator[UUID]:
        """Every submission, shard after shard, each shard's in order of receipt."""
        others = (shard.submission_ids() for shard in self._others)
        return itertools.chain(super().submission_ids(), *others)

    def close(self) -> None:
        for shard in getattr(self, "_others", []):
            shard.close()
        super().close()

    def _stored_events(self, submission_id: UUID) -> Iterator[Submission.Event]:
        shard = self.shard_for(submission_id)
        if shard is self:
            return super()._stored_events(submission_id)
        return shard._stored_events(submission_id)

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
