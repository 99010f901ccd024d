"""The ledger application: saves and loads Submission aggregates, checks their chains."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import RecordConflictError

from events.chain import Break, ChainLink, first_break
from events.chain_keys import ChainKeyError
from events.settings import LedgerSettings
from events.submission import Submission
from events.tables import creating_ledger_tables

T = TypeVar("T")

CONFLICT_RETRIES = 5


class SubmissionNotFoundError(Exception):
    """No submission with this id exists in the ledger."""


class LedgerFormatError(Exception):
    """The ledger was written by an Amtsweg whose events held the applicants' content."""


OLD_FORMAT = (
    "this ledger was written by an Amtsweg before content left the ledger: its events "
    "hold applicants' metadata and delivery envelopes in plaintext, which an immutable, "
    "hash-chained trail cannot forget. Amtsweg refuses to run on it. Finish its open "
    "submissions with the release that wrote it, export what the retention rules still "
    "require, then start this release on a new ledger (a new AMTSWEG_LEDGER_URL or data "
    "dir) and delete the old one; see README, 'Data protection', 'Ledgers from before'"
)


@dataclass(frozen=True)
class TrailEntry:
    """One recorded event, as read back from the database."""

    version: int
    event: str
    timestamp: str
    prev_hash: str
    hash: str
    data: dict[str, Any]


_BASE_FIELDS = {"originator_id", "originator_version", "timestamp", "prev_hash", "hash"}


def _event_data(event: Submission.Event) -> dict[str, Any]:
    fields = dict(event.__dict__)
    fields.pop("originator_topic", None)
    return {k: v for k, v in fields.items() if k not in _BASE_FIELDS}


def _project(aggregate: Any, events: Iterable[Any]) -> Any:
    """eventsourcing's ``project_aggregate`` without its per-event runtime protocol check.

    That ``isinstance`` against a runtime-checkable Protocol cost more than half of loading
    a submission (measured: 251 against 117 µs for a four-event trail); every stored
    event here is a ``Submission.Event``, whose ``mutate`` the check would confirm.
    """
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class Ledger(Application[UUID]):
    """One eventsourcing Application holding one Submission per application (Antrag)."""

    name = "amtsweg"

    def __init__(self, settings: LedgerSettings) -> None:
        self.settings = settings
        self.chain_keys = settings.chain_keys()
        """The HMAC keys of this ledger's hash chains: new submissions get the active one
        from ``Submission.receive(..., chain=ledger.chain_keys)``, loaded ones the one their
        ``Received`` names."""
        with creating_ledger_tables(settings.sqlite_path(), settings.ledger_url):
            super().__init__(env=settings.eventsourcing_env())

    @property
    def shards(self) -> tuple[Ledger, ...]:
        """The ledgers that hold the submissions, shard 0 first: this one alone unless
        sharded (``events.sharded_ledger``). Readers of the notification log read each."""
        return (self,)

    def shard_for(self, submission_id: UUID) -> Ledger:  # noqa: ARG002 - one shard holds all
        """The shard that holds ``submission_id``."""
        return self

    def get_submission(self, submission_id: UUID) -> Submission:
        """Load a submission; ``SubmissionNotFoundError`` when there is none."""
        try:
            aggregate: object = self.repository.get(submission_id, projector_func=_project)
        except AggregateNotFoundError as error:
            raise SubmissionNotFoundError(str(submission_id)) from error
        assert isinstance(aggregate, Submission)
        aggregate.chain_key = self.chain_keys.key(aggregate.chain_kid)
        return aggregate

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Save, refusing a submission whose events were hashed under another chain key."""
        for obj in objs:
            if isinstance(obj, Submission) and obj.chain_key != self.chain_keys.key(obj.chain_kid):
                msg = f"submission {obj.id} was not hashed with this ledger's chain key"
                raise ValueError(msg)
        return super().save(*objs, **kwargs)

    def check_format(self) -> None:
        """``LedgerFormatError`` if the ledger's first event is of the old, content-holding kind."""
        first = self.recorder.select_notifications(start=0, limit=1, inclusive_of_start=False)
        if not first:
            return
        event = self.mapper.to_domain_event(first[0])
        if isinstance(event, Submission.Received) and "dossier" not in event.__dict__:
            raise LedgerFormatError(OLD_FORMAT)

    def exists(self, submission_id: UUID) -> bool:
        """True if the ledger holds this submission: its first event is read, not its
        trail (the intake asks for every submission it receives)."""
        return bool(self.recorder.select_events(submission_id, limit=1))

    def execute(self, submission_id: UUID, command: Callable[[Submission], T]) -> T:
        """Load, run ``command`` on, and save a submission; retry on a concurrent write."""
        for attempt in range(CONFLICT_RETRIES):
            submission = self.get_submission(submission_id)
            result = command(submission)
            try:
                self.save(submission)
            except RecordConflictError:
                if attempt == CONFLICT_RETRIES - 1:
                    raise
                continue
            return result
        raise AssertionError  # pragma: no cover - the loop returns or raises

    def trail(self, submission_id: UUID) -> list[TrailEntry]:
        """The submission's events as stored, in order."""
        entries = [
            TrailEntry(
                version=event.originator_version,
                event=type(event).__name__,
                timestamp=event.timestamp.isoformat(),
                prev_hash=event.prev_hash,
                hash=event.hash,
                data=_event_data(event),
            )
            for event in self._stored_events(submission_id)
        ]
        if not entries:
            raise SubmissionNotFoundError(str(submission_id))
        return entries

    def verify(self, submission_id: UUID) -> Break | None:
        """Check the submission's hash chain as stored; the first broken link or None."""
        try:
            events = list(self._stored_events(submission_id))
        except (ValueError, TypeError, KeyError) as error:
            return Break(0, f"an event cannot be decoded: {error}")
        if not events:
            raise SubmissionNotFoundError(str(submission_id))
        links = [
            (
                ChainLink(
                    str(submission_id),
                    event.originator_version,
                    type(event).__name__,
                    event.timestamp,
                    event.prev_hash,
                    _event_data(event),
                ),
                event.hash,
            )
            for event in events
        ]
        try:
            key = self.chain_keys.key(getattr(events[0], "chain_kid", None))
        except ChainKeyError as error:
            return Break(1, str(error))
        return first_break(links, key)

    def submission_ids(self) -> Iterator[UUID]:
        """Every submission in the ledger, in order of receipt."""
        position = 0
        while True:
            page = self.recorder.select_notifications(
                start=position, limit=500, inclusive_of_start=False
            )
            if not page:
                return
            for notification in page:
                if notification.originator_version == 1:
                    yield UUID(str(notification.originator_id))
            position = page[-1].id

    def _stored_events(self, submission_id: UUID) -> Iterator[Submission.Event]:
        for stored in self.recorder.select_events(submission_id):
            event = self.mapper.to_domain_event(stored)
            assert isinstance(event, Submission.Event)
            yield event
