"""The metrics read model's fold: statuses, stage latencies, rejections, from ledger events."""

from __future__ import annotations

import inspect
import re

import pytest

from events.lifecycle import Status
from events.submission import Submission
from services.ops.readmodels.metrics.stages import STATUS_OF, TRANSIENT, fold
from tests.support.factories import new_submission


def _events(submission: Submission) -> list[Submission.Event]:
    events = submission.collect_events()
    assert all(isinstance(e, Submission.Event) for e in events)
    return events  # type: ignore[return-value]


def _through_acceptance() -> list[Submission.Event]:
    submission = new_submission()
    submission.validate("cat-1", "urn:x")
    submission.route("jc-koeln", "053150000000", "05315", "dir-1")
    submission.dispatch("d-1", "jc-koeln", "amtsweg.delivery.jc-koeln", {})
    submission.accept("d-1", "AZ-1")
    return _events(submission)


def test_a_submission_through_all_stages_counts_once_with_four_latencies() -> None:
    events = _through_acceptance()
    changes = fold({}, events)
    assert {k: v for k, v in changes.counts.items() if v} == {"accepted": 1}
    assert [(x.stage, x.outcome) for x in changes.latencies] == [
        ("validation", "validated"),
        ("routing", "routed"),
        ("delivery", "dispatched"),
        ("receipt", "accepted"),
    ]
    by_stage = {x.stage: x.seconds for x in changes.latencies}
    first, last = events[0].timestamp, events[-1].timestamp
    assert sum(by_stage.values()) == pytest.approx((last - first).total_seconds(), abs=1e-5)
    (row,) = changes.rows.values()
    assert (row.status, row.version) == ("accepted", 5)


def test_batches_continue_from_the_stored_rows_and_skip_what_was_applied() -> None:
    events = _through_acceptance()
    first = fold({}, events[:2])
    assert {k: v for k, v in first.counts.items() if v} == {"validated": 1}
    second = fold(first.rows, events[1:])  # Validated again: already applied
    assert {k: v for k, v in second.counts.items() if v} == {"validated": -1, "accepted": 1}
    assert [x.stage for x in second.latencies] == ["routing", "delivery", "receipt"]


def test_rejections_count_each_problem_type_once_per_submission() -> None:
    submission = new_submission()
    problem = "https://amtsweg.de/problems/"
    submission.reject(
        "cat-1",
        [
            {"type": f"{problem}schema-violation", "title": "a"},
            {"type": f"{problem}schema-violation", "title": "b"},
            {"type": f"{problem}rule-minimum-age", "title": "c"},
        ],
    )
    changes = fold({}, _events(submission))
    assert changes.rejections == {"schema-violation": 1, "rule-minimum-age": 1}
    assert {k: v for k, v in changes.counts.items() if v} == {"rejected": 1}
    assert [(x.stage, x.outcome) for x in changes.latencies] == [("validation", "rejected")]


def test_unroutable_submissions_are_counted_by_reason() -> None:
    submission = new_submission()
    submission.validate("cat-1", "urn:x")
    submission.mark_unroutable("no-region", "neither hint nor data", "dir-1")
    changes = fold({}, _events(submission))
    assert changes.unroutable == {"no-region": 1}
    assert {k: v for k, v in changes.counts.items() if v} == {"unroutable": 1}


_SETS_STATUS = re.compile(r"submission\.status = (?:Status\.(\w+)|(\S+))")


def test_every_event_that_sets_a_status_is_known_to_the_read_model() -> None:
    """A new status-changing event must be added to STATUS_OF (or to TRANSIENT)."""
    events = [
        value
        for name, value in vars(Submission).items()
        if isinstance(value, type)
        and issubclass(value, Submission.Event)
        and name not in {"Event", "Created"}  # the base, and eventsourcing's generated class
    ]
    assert len(events) > 10
    for event in events:
        change = vars(event).get("change")
        found = _SETS_STATUS.findall(inspect.getsource(change)) if change else []
        name = event.__name__
        if not found:
            assert name not in STATUS_OF or name == "Received", name
            continue
        if name in TRANSIENT:
            continue
        ((member, other),) = found
        assert not other, f"{name} sets a computed status: list it in TRANSIENT"
        assert STATUS_OF.get(name) == Status[member].value, name
    assert STATUS_OF["Received"] == Status.RECEIVED.value
