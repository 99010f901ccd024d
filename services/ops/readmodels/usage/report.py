"""The usage report for the cost split: a month's figures per tenant, state, authority,
service or portal, read from the ledger's notification logs.

The report reads each ledger's notification log in pages, only the events the figures
need (:data:`figures.EVENTS`), up to the head it found when it began; it never loads an
aggregate. It takes an iterable of logs, one per ledger shard, so a sharded ledger is one
more log in the list (submissions never span shards). A group's share is its part of the
submissions received in the month: the cost key.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from eventsourcing.utils import get_topic

from events.ledger import Ledger
from events.submission import Submission
from services.ops.readmodels.usage.figures import EVENTS, FIGURES, Facts, MonthFold
from services.ops.readmodels.usage.month import Month
from services.ops.tenants.model import Tenancy, tenants_of

PAGE = 1000
NONE = "-"
"""The group of a submission without one (no authority yet, an authority not listed)."""


class By(StrEnum):
    """What the figures are grouped by."""

    TENANT = "tenant"
    STATE = "state"
    AUTHORITY = "authority"
    SERVICE = "service"
    PORTAL = "portal"


@dataclass(frozen=True)
class UsageRow:
    """One group's figures and its share (percent of the month's received submissions)."""

    group: str
    figures: tuple[int, ...]
    share: float


@dataclass(frozen=True)
class UsageReport:
    """A month's usage, grouped."""

    month: Month
    by: By
    rows: tuple[UsageRow, ...]
    totals: tuple[int, ...]
    events_read: int

    def csv(self) -> str:
        """The rows as CSV: a header (the group, each figure, ``share_percent``), then one
        line per group."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([str(self.by), *FIGURES, "share_percent"])
        for row in self.rows:
            writer.writerow([row.group, *row.figures, f"{row.share:.2f}"])
        return out.getvalue()


def ledger_events(ledger: Ledger, page: int = PAGE) -> Iterator[Submission.Event]:
    """The events the figures need from one ledger's notification log, page by page, up to
    the head when reading began (later appends wait for the next report)."""
    topics = [get_topic(cls) for cls in EVENTS]
    head = int(ledger.recorder.max_notification_id() or 0)
    position = 0
    while position < head and (
        notifications := ledger.recorder.select_notifications(
            position, page, stop=head, topics=topics, inclusive_of_start=False
        )
    ):
        for notification in notifications:
            event = ledger.mapper.to_domain_event(notification)
            assert isinstance(event, Submission.Event)
            yield event
        position = notifications[-1].id


def usage_report(
    logs: Iterable[Iterable[Submission.Event]],
    month: Month,
    by: By,
    tenancy: Tenancy,
    state_of: Callable[[str], str | None],
) -> UsageReport:
    """The figures of ``month`` from every log, grouped ``by``; ``state_of`` gives an
    authority's state (from the directory)."""
    groups: dict[str, list[int]] = {}
    read = 0
    for log in logs:
        fold = MonthFold(month)
        fold.add(log)
        read += fold.events_read
        for submission_id, figures in fold.figures.items():
            facts = fold.facts.get(submission_id, Facts(NONE, NONE))
            total = groups.setdefault(_group(facts, by, tenancy, state_of), [0] * len(FIGURES))
            for index, value in enumerate(figures):
                total[index] += value
    totals = tuple(sum(column) for column in zip(*groups.values(), strict=True)) or (0,) * len(
        FIGURES
    )
    received = totals[0]
    rows = tuple(
        UsageRow(group, tuple(figures), 100.0 * figures[0] / received if received else 0.0)
        for group, figures in sorted(groups.items())
    )
    return UsageReport(month, by, rows, totals, read)


def _group(facts: Facts, by: By, tenancy: Tenancy, state_of: Callable[[str], str | None]) -> str:
    authority = facts.authority_id
    if by is By.TENANT:
        return tenants_of(tenancy, facts.portal_id, authority, state_of).billed
    if by is By.STATE:
        return (state_of(authority) if authority else None) or NONE
    if by is By.AUTHORITY:
        return authority or NONE
    if by is By.SERVICE:
        return facts.leika_key
    return facts.portal_id
