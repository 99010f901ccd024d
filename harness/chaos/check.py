"""What ``amtsweg chaos`` checks once it is quiet: pure, on facts read from ledger and Kafka.

The facts are what the load generator saw accepted, what the ledger holds (each
submission's terminal events, its delivery id, the first broken link of its trail), the
relay's stored position against the ledger's newest notification, and every message on
the authorities' delivery topics. The verdict counts:

- **lost**: accepted (HTTP 202, Kafka acknowledged) or found in the ledger, but absent
  from the ledger (``missing``) or without a terminal state of the pipeline
  (``unfinished``: Dispatched, Rejected or Unroutable; with no authority answering,
  Dispatched is where the pipeline ends);
- **violations**: more than one terminal event in one trail; two *different* deliveries
  (topic or delivery id) of one submission; a Dispatched submission whose delivery is not
  on its authority's topic (``undelivered``); a delivery that the ledger does not know
  (``strayDeliveries``); broken trails; a relay behind the ledger; a submission that ended
  otherwise than the load meant it to (``wrongOutcomes``: a valid one rejected …);
- **duplicates**: further copies of the same delivery (same topic, submission and
  delivery id): allowed (at least once, receivers dedupe by delivery id), only counted.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

TERMINAL_EVENTS = ("Dispatched", "Rejected", "Unroutable")
"""The pipeline's end states here (no authority answers, so Dispatched is the last)."""


@dataclass(frozen=True)
class TrailFacts:
    """One submission as the ledger holds it."""

    terminal: tuple[str, ...]
    """Its terminal events (see :data:`TERMINAL_EVENTS`) in order; one when all is well."""
    delivery: tuple[str, str] | None = None
    """(delivery topic, delivery id) of its Dispatched event."""
    broken: str | None = None
    """The first broken link of its trail (hash chain or relay witness), if any."""


@dataclass(frozen=True)
class DeliveryRecord:
    """One message on an ``amtsweg.delivery.<authority>`` topic."""

    topic: str
    submission_id: str
    delivery_id: str


@dataclass
class Facts:
    """Everything the check looks at."""

    accepted: dict[str, str]
    """submission id → channel, for each submission the intake accepted"""
    ledger: dict[str, TrailFacts]
    """submission id → its trail, for every submission in the ledger"""
    deliveries: list[DeliveryRecord]
    relay_position: int
    ledger_head: int
    expected: dict[str, str] = field(default_factory=dict)
    """submission id → the terminal event it is meant to reach (where the load knows it)"""


@dataclass
class Verdict:
    """Counts and the submissions behind each problem (at most a few ids each)."""

    accepted: int = 0
    in_ledger: int = 0
    dispatched: int = 0
    rejected: int = 0
    unroutable: int = 0
    missing: list[str] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)
    multiple_terminal: list[str] = field(default_factory=list)
    different_deliveries: list[str] = field(default_factory=list)
    undelivered: list[str] = field(default_factory=list)
    stray_deliveries: list[str] = field(default_factory=list)
    broken_trails: dict[str, str] = field(default_factory=dict)
    wrong_outcomes: list[str] = field(default_factory=list)
    """ended otherwise than meant (a valid one rejected, an invalid one dispatched …)"""
    duplicates: int = 0
    relay_lag: int = 0
    unaccepted_in_ledger: int = 0
    """in the ledger, though the client never saw it accepted (an answer lost on the way)"""

    @property
    def lost(self) -> int:
        """Accepted or recorded, but missing from the ledger or without an end state."""
        return len(self.missing) + len(self.unfinished)

    @property
    def violations(self) -> int:
        """Everything but duplicates that must not happen."""
        return (
            len(self.multiple_terminal)
            + len(self.different_deliveries)
            + len(self.undelivered)
            + len(self.stray_deliveries)
            + len(self.broken_trails)
            + len(self.wrong_outcomes)
            + (1 if self.relay_lag else 0)
        )

    @property
    def ok(self) -> bool:
        """Nothing lost and no violation."""
        return self.lost == 0 and self.violations == 0

    def as_dict(self, examples: int = 10) -> dict[str, Any]:
        """The figures, with up to ``examples`` submission ids per problem."""
        problems = {
            "missing": self.missing,
            "unfinished": self.unfinished,
            "multipleTerminal": self.multiple_terminal,
            "differentDeliveries": self.different_deliveries,
            "undelivered": self.undelivered,
            "strayDeliveries": self.stray_deliveries,
            "wrongOutcomes": self.wrong_outcomes,
        }
        return {
            "ok": self.ok,
            "accepted": self.accepted,
            "inLedger": self.in_ledger,
            "unacceptedInLedger": self.unaccepted_in_ledger,
            "dispatched": self.dispatched,
            "rejected": self.rejected,
            "unroutable": self.unroutable,
            "lost": self.lost,
            "violations": self.violations,
            "duplicates": self.duplicates,
            "relayLag": self.relay_lag,
            "brokenTrails": len(self.broken_trails),
            **{name: len(ids) for name, ids in problems.items()},
            "examples": {
                **{name: sorted(ids)[:examples] for name, ids in problems.items() if ids},
                **(
                    {"brokenTrails": dict(sorted(self.broken_trails.items())[:examples])}
                    if self.broken_trails
                    else {}
                ),
            },
        }


def check(facts: Facts) -> Verdict:
    """The verdict on ``facts`` (see the module's docstring)."""
    verdict = Verdict(accepted=len(facts.accepted), in_ledger=len(facts.ledger))
    verdict.unaccepted_in_ledger = len(facts.ledger.keys() - facts.accepted.keys())
    for submission_id in sorted(facts.accepted.keys() | facts.ledger.keys()):
        trail = facts.ledger.get(submission_id)
        if trail is None:
            verdict.missing.append(submission_id)
            continue
        if trail.broken is not None:
            verdict.broken_trails[submission_id] = trail.broken
        if not trail.terminal:
            verdict.unfinished.append(submission_id)
            continue
        if len(trail.terminal) > 1:
            verdict.multiple_terminal.append(submission_id)
        final = trail.terminal[-1]
        if facts.expected.get(submission_id, final) != final:
            verdict.wrong_outcomes.append(submission_id)
        verdict.dispatched += final == "Dispatched"
        verdict.rejected += final == "Rejected"
        verdict.unroutable += final == "Unroutable"
    _check_deliveries(facts, verdict)
    verdict.relay_lag = facts.ledger_head - facts.relay_position
    return verdict


def _check_deliveries(facts: Facts, verdict: Verdict) -> None:
    copies = Counter((d.topic, d.submission_id, d.delivery_id) for d in facts.deliveries)
    verdict.duplicates = sum(count - 1 for count in copies.values())
    seen: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
    for topic, submission_id, delivery_id in copies:
        seen[submission_id].add((topic, delivery_id))
    verdict.different_deliveries = sorted(s for s, found in seen.items() if len(found) > 1)
    for submission_id, found in sorted(seen.items()):
        trail = facts.ledger.get(submission_id)
        if trail is None or trail.delivery is None or found - {trail.delivery}:
            verdict.stray_deliveries.append(submission_id)
    for submission_id, trail in sorted(facts.ledger.items()):
        if trail.delivery is not None and trail.delivery not in seen.get(submission_id, set()):
            verdict.undelivered.append(submission_id)
