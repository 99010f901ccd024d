"""The Submission aggregate after dispatch: reminders, escalation, callbacks, refused receipts."""

from __future__ import annotations

from events.lifecycle import Status
from events.submission import MAX_REFUSED_RECEIPTS, Submission
from tests.support.factories import new_submission

DELIVERY = "d-1"
ENVELOPE = {"blob": "sealed-envelope", "sha256": "e" * 64}
"""The reference to the delivery's sealed envelope (the envelope itself is in the vault)."""


def dispatched() -> Submission:
    submission = new_submission()
    submission.validate("cat", "u")
    submission.route("jobcenter-koeln", "053150000000", "053150000000", "dir")
    submission.dispatch(DELIVERY, "jobcenter-koeln", "amtsweg.delivery.jobcenter-koeln", ENVELOPE)
    return submission


def names(submission: Submission) -> list[str]:
    return [type(e).__name__ for e in submission.collect_events()][4:]


def test_reminders_repeat_the_envelope_once_per_stage_then_escalation_ends_them() -> None:
    submission = dispatched()
    assert submission.remind(DELIVERY, 1, 3.0)
    assert not submission.remind(DELIVERY, 1, 3.0)  # the same stage again: nothing
    assert not submission.remind("other-delivery", 2, 9.0)
    assert submission.escalate(DELIVERY, 14.0)
    assert not submission.escalate(DELIVERY, 14.0)
    assert not submission.remind(DELIVERY, 2, 9.0)  # escalated: operations take over
    events = list(submission.collect_events())
    reminded = events[4]
    assert isinstance(reminded, Submission.Reminded)
    assert reminded.envelope == ENVELOPE
    assert reminded.topic == "amtsweg.delivery.jobcenter-koeln"
    assert [type(e).__name__ for e in events[4:]] == ["Reminded", "Escalated"]
    assert submission.status is Status.DISPATCHED


def test_callback_attempts_are_recorded_once_each_and_end_in_success_or_dead_letter() -> None:
    submission = dispatched()
    assert submission.record_callback(DELIVERY, 0, 1, failure="HTTP 503", retry_at="t")
    assert not submission.record_callback(DELIVERY, 0, 1, failure="HTTP 503", retry_at="t")
    assert submission.record_callback(DELIVERY, 0, 2, failure="ConnectError")  # gave up
    assert not submission.record_callback(DELIVERY, 0, 3, status_code=200)
    assert submission.delivery_failed
    assert submission.remind(DELIVERY, 1, 3.0)  # a new notice: its callback starts afresh
    assert submission.record_callback(DELIVERY, 1, 1, status_code=204)
    assert not submission.delivery_failed
    assert names(submission) == [
        "CallbackFailed",
        "DeliveryFailed",
        "Reminded",
        "CallbackDelivered",
    ]


def test_an_answer_ends_follow_ups_and_counts_even_after_a_dead_letter() -> None:
    submission = dispatched()
    assert submission.record_callback(DELIVERY, 0, 1, failure="HTTP 500")
    assert submission.accept(DELIVERY, "AZ-1", "header.payload.signature")
    assert not submission.remind(DELIVERY, 1, 3.0)
    assert not submission.escalate(DELIVERY, 14.0)
    assert not submission.record_callback(DELIVERY, 0, 2, status_code=200)
    accepted = list(submission.collect_events())[-1]
    assert isinstance(accepted, Submission.Accepted)
    assert accepted.signed_receipt == "header.payload.signature"


def test_refused_receipts_are_recorded_up_to_a_limit() -> None:
    submission = dispatched()
    for _ in range(MAX_REFUSED_RECEIPTS + 3):
        submission.refuse_receipt(DELIVERY, "jobcenter-region-hannover", "wrong-authority")
    assert submission.refused_receipts == MAX_REFUSED_RECEIPTS
    assert submission.status is Status.DISPATCHED
