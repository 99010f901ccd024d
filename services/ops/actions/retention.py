"""The retention job: erases content once its service's retention period has passed.

Each service of the schema catalog may name, per final status, after how many days its
submissions' content is erased, and the legal basis (``retention`` in its manifest). The
job asks the overview read model for submissions settled in such a status for longer
than the shortest period, checks each against its own service's rule, and erases the
due ones (:mod:`services.ops.actions.erasure`). It also removes orphans: data keys and
blobs of requests that never became a submission (refused after their parts were
sealed, or cut off by a crash), once older than a grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from uuid import UUID

import structlog

from events.ledger import Ledger
from events.vault import Vault
from services.ops.actions.erasure import Erased, erase
from services.validation.entries import Retention, ServiceEntry

log = structlog.get_logger(__name__)

DAY = 86_400.0
PAGE = 500
ORPHAN_GRACE = timedelta(hours=24)
"""A sealed request older than this without a submission is an orphan (a request in
flight takes seconds; the slack covers clock skew and long uploads)."""
BY = "retention"


class SettledRow(Protocol):
    """What the job reads of a submission's overview row."""

    @property
    def submission_id(self) -> str: ...
    @property
    def leika_key(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def updated_at(self) -> float: ...


class Settled(Protocol):
    """Where the job finds candidates (the overview read model)."""

    def catch_up(self) -> int:
        """Bring the read model up to the ledger's head."""
        ...

    def settled(
        self, status: str, before: float, limit: int, offset: int = 0
    ) -> Sequence[SettledRow]:
        """Rows in ``status`` since before ``before``, content kept, oldest first."""
        ...


@dataclass(frozen=True)
class Due:
    """A submission whose content is due for erasure, and the rule that says so."""

    submission_id: str
    rule: str
    legal_basis: str


def due(rows: Iterator[SettledRow], rules: Mapping[str, Retention], now: float) -> Iterator[Due]:
    """The rows whose service's retention period for their status has passed."""
    for row in rows:
        retention = rules.get(row.leika_key)
        days = retention.days.get(row.status) if retention else None
        if retention is None or days is None or row.updated_at > now - days * DAY:
            continue
        rule = f"{row.leika_key}:{row.status}:{days}d"
        yield Due(row.submission_id, rule, retention.legal_basis)


class RetentionJob:
    """Applies the catalog's retention rules to the ledger."""

    def __init__(
        self,
        ledger: Ledger,
        vault: Vault,
        overview: Settled,
        rules: Mapping[str, Retention],
    ) -> None:
        self._ledger = ledger
        self._vault = vault
        self._overview = overview
        self._rules = rules

    def candidates(self, now: float) -> Iterator[Due]:
        """Every submission due now (the overview brought up to date first)."""
        self._overview.catch_up()
        statuses = {s for r in self._rules.values() for s in r.days}
        for status in sorted(statuses):
            shortest = min(r.days[status] for r in self._rules.values() if status in r.days)
            yield from due(self._settled(status, now - shortest * DAY), self._rules, now)

    def _settled(self, status: str, before: float) -> Iterator[SettledRow]:
        offset = 0
        while True:
            page = self._overview.settled(status, before, PAGE, offset)
            yield from page
            if len(page) < PAGE:
                return
            offset += PAGE

    def run_once(self, now: datetime | None = None) -> list[Erased]:
        """Erase every due submission's content; what was erased."""
        moment = (now or datetime.now(UTC)).timestamp()
        erased = [
            erase(
                self._ledger,
                self._vault,
                UUID(item.submission_id),
                by=BY,
                rule=item.rule,
                legal_basis=item.legal_basis,
                reason="retention period ended",
                vacuum=False,
            )
            for item in list(self.candidates(moment))
        ]
        if erased:
            self._vault.keys.vacuum()
        return erased

    def sweep_orphans(self, now: datetime | None = None, grace: timedelta = ORPHAN_GRACE) -> int:
        """Remove data keys and blobs of requests that never became a submission."""
        cutoff = (now or datetime.now(UTC)) - grace
        swept = 0
        for submission_id in self._vault.keys.live_keys_created_before(cutoff):
            if self._ledger.exists(submission_id):
                continue
            self._vault.blobs.delete_group(str(submission_id))
            self._vault.keys.forget(submission_id)
            swept += 1
        if swept:
            log.info("retention.orphans_swept", count=swept)
        return swept

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        """Run the job every ``interval`` seconds until ``stop``."""
        while not stop.is_set():
            try:
                erased = await asyncio.to_thread(self.run_once)
                await asyncio.to_thread(self.sweep_orphans)
            except Exception:  # the next round tries again; the cause is logged
                log.exception("retention.failed")
            else:
                if erased:
                    log.info("retention.erased", count=len(erased))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)


def rules_of(services: Mapping[str, ServiceEntry]) -> dict[str, Retention]:
    """The retention rule of every catalog service that has one (by LeiKa key)."""
    return {key: s.retention for key, s in services.items() if s.retention is not None}
