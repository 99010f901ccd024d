"""Operators' events on the Submission aggregate: Replayed, Redelivered, CallbackRequeued."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from events.chain import ChainLink, first_break
from events.lifecycle import InvalidTransitionError, Status
from events.outbox import messages_for
from events.submission import Submission
from events.vault import ContentErasedError
from tests.support.factories import dispatched_submission, new_submission

REPLAY = {
    "actor": "erika",
    "reason": "new catalog",
    "against": "current",
    "version": "v2",
    "decision": "validated",
}


ENVELOPE = {"blob": "envelope-blob", "sha256": "e" * 64}
"""The reference to the delivery's sealed envelope (as Dispatched records it)."""
SEALED = b'{"schemaVersion":2,"deliveryId":"d-1"}'


def _dispatched() -> Submission:
    return dispatched_submission("jc", "d-1", envelope=ENVELOPE)


def _open_envelope(submission_id: UUID, reference: dict[str, Any]) -> bytes:
    assert reference == ENVELOPE  # the redelivery names the same sealed envelope
    return SEALED


_BASE = {"originator_id", "originator_version", "originator_topic", "timestamp", "prev_hash"}


def _chain_holds(submission: Submission) -> None:
    links = []
    for event in submission.collect_events():
        assert isinstance(event, Submission.Event)
        data = {k: v for k, v in event.__dict__.items() if k not in {*_BASE, "hash"}}
        name = type(event).__name__
        link = ChainLink(
            str(submission.id),
            event.originator_version,
            name,
            event.timestamp,
            event.prev_hash,
            data,
        )
        links.append((link, event.hash))
    assert first_break(links) is None


def _status(submission: Submission) -> Status:
    return submission.status


def test_a_changed_validation_replay_reopens_a_rejection_for_its_new_decision() -> None:
    submission = new_submission()
    submission.reject("cat-1", [{"type": "https://amtsweg.de/problems/schema-violation"}])
    assert submission.replay("validation", "r-1", outcome="changed", **REPLAY)
    assert _status(submission) is Status.RECEIVED
    assert submission.problems == []
    assert submission.validate("cat-2", "urn:x", ["ars"], f"{submission.id}/findings")
    assert _status(submission) is Status.VALIDATED
    names = [type(e).__name__ for e in submission.collect_events()]
    assert names == ["Received", "Rejected", "Replayed", "Validated"]


def test_the_same_replay_request_is_recorded_once() -> None:
    submission = new_submission()
    submission.validate("cat-1", "urn:x", [])
    assert submission.replay("validation", "r-1", outcome="unchanged", **REPLAY)
    assert not submission.replay("validation", "r-1", outcome="unchanged", **REPLAY)
    assert submission.replay("validation", "r-2", outcome="unchanged", **REPLAY)
    assert submission.status is Status.VALIDATED
    assert [type(e).__name__ for e in submission.collect_events()][-2:] == ["Replayed"] * 2


@pytest.mark.parametrize(
    ("outcome", "stage"),
    [("changed", "validation"), ("changed", "routing"), ("decided", "validation")],
)
def test_a_replay_never_takes_back_a_success(outcome: str, stage: str) -> None:
    submission = _dispatched()
    with pytest.raises(InvalidTransitionError):
        submission.replay(stage, "r-1", outcome=outcome, **REPLAY)
    assert submission.status is Status.DISPATCHED


def test_a_replay_that_differs_past_its_stage_changes_nothing() -> None:
    submission = _dispatched()
    assert submission.replay("routing", "r-1", outcome="differs", **REPLAY)
    assert submission.status is Status.DISPATCHED
    assert submission.authority_id == "jc"


def test_redelivery_is_a_new_notice_of_the_same_delivery_and_republishes_it() -> None:
    submission = _dispatched()
    assert submission.redeliver("q-1", actor="erika", reason="lost at the authority")
    assert not submission.redeliver("q-1", actor="erika", reason="again")
    assert submission.notice == 1
    event = submission.collect_events()[-1]
    assert isinstance(event, Submission.Redelivered)
    assert event.delivery_id == "d-1"
    assert event.envelope == ENVELOPE
    envelope = [m for m in messages_for(event, _open_envelope) if m.topic == "amtsweg.delivery.jc"]
    assert len(envelope) == 1
    assert envelope[0].value == SEALED
    assert dict(envelope[0].headers)["amtsweg-notice"] == b"1"
    assert dict(envelope[0].headers)["amtsweg-delivery-id"] == b"d-1"
    submission.remind("d-1", 1, 10.0)  # a reminder after it is the next notice
    assert submission.notice == 2


def test_redelivery_of_erased_content_is_refused_and_records_nothing() -> None:
    submission = _dispatched()
    assert submission.erase(
        by="erika", rule=None, legal_basis="DSGVO Art. 17", reason="request", destroyed={}
    )
    version = submission.version
    with pytest.raises(ContentErasedError):
        submission.redeliver("q-1", actor="erika", reason="lost at the authority")
    assert submission.version == version
    assert submission.notice == 0


def test_redelivery_needs_an_open_delivery() -> None:
    submission = new_submission()
    with pytest.raises(InvalidTransitionError):
        submission.redeliver("q-1", actor="erika", reason="x")
    accepted = _dispatched()
    accepted.accept("d-1", "AZ-1")
    with pytest.raises(InvalidTransitionError):
        accepted.redeliver("q-1", actor="erika", reason="x")


def test_reminders_count_notices_as_before_when_nobody_redelivered() -> None:
    submission = _dispatched()
    submission.remind("d-1", 2, 20.0)  # after a pause the latest step is taken once
    assert submission.notice == 2


def test_a_failed_callback_can_be_retried_once_per_request() -> None:
    submission = _dispatched()
    with pytest.raises(InvalidTransitionError):
        submission.requeue_callback("q-1", actor="erika", reason="endpoint fixed")
    submission.record_callback("d-1", 0, 1, failure="HTTP 503")
    assert submission.delivery_failed
    assert submission.requeue_callback("q-1", actor="erika", reason="endpoint fixed")
    assert not submission.requeue_callback("q-1", actor="erika", reason="endpoint fixed")
    assert not submission.delivery_failed
    assert submission.record_callback("d-1", 0, 2, status_code=200)
    _chain_holds(submission)
