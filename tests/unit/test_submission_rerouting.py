"""The Submission aggregate when an authority declines, routing forwards, operators assign,
or another Amtsweg instance takes the submission on: each step once, the trail continuous."""

from __future__ import annotations

import pytest

from events.chain import ChainLink, first_break
from events.lifecycle import InvalidTransitionError, Status
from events.submission import Submission
from tests.support.factories import dispatched_submission, new_submission

KOELN = "053150000000"


def _dispatched(authority: str = "jc-koeln", delivery: str = "d-1") -> Submission:
    return dispatched_submission(authority, delivery, competence=f"{authority}/x/05315")


def _chain_holds(submission: Submission) -> bool:
    links = []
    for event in submission.collect_events():
        assert isinstance(event, Submission.Event)
        skip = {"originator_id", "originator_version", "timestamp", "prev_hash", "hash"}
        data = {k: v for k, v in event.__dict__.items() if k not in skip | {"originator_topic"}}
        link = ChainLink(
            str(event.originator_id),
            event.originator_version,
            type(event).__name__,
            event.timestamp,
            event.prev_hash,
            data,
        )
        links.append((link, event.hash))
    return first_break(links) is None


def test_decline_then_forward_then_a_new_delivery() -> None:
    submission = _dispatched()

    assert submission.decline("d-1", [{"title": "nicht zuständig"}]) is True
    assert submission.status is Status.DECLINED
    assert submission.decline("d-1", []) is False  # the same receipt again
    assert submission.route("x", KOELN, "05", "dir-1") is False  # a stale Validated: nothing

    assert submission.forward("rd-nrw", KOELN, "05", "dir-1", competence="rd-nrw/x/05") is True
    assert submission.forward("rd-nrw", KOELN, "05", "dir-1", competence="rd-nrw/x/05") is False
    assert (submission.status, submission.authority_id) == (Status.ROUTED, "rd-nrw")

    assert submission.dispatch("d-2", "rd-nrw", "amtsweg.delivery.rd-nrw", {}) is True
    assert (submission.delivery_id, submission.reminders, submission.notice) == ("d-2", 0, 0)
    assert submission.accept("d-2", "AZ-7") is True
    events = [type(e).__name__ for e in submission.collect_events()]
    assert events == [
        "Received",
        "Validated",
        "Routed",
        "Dispatched",
        "Declined",
        "Forwarded",
        "Dispatched",
        "Accepted",
    ]
    assert _chain_holds(submission)


def test_the_forwarded_event_names_who_declined() -> None:
    submission = _dispatched()
    submission.decline("d-1", [])
    submission.forward("rd-nrw", KOELN, "05", "dir-1", competence="rd-nrw/x/05")

    forwarded = submission.collect_events()[-1]
    assert isinstance(forwarded, Submission.Forwarded)
    assert (forwarded.excluded, forwarded.declined_delivery_id) == (["jc-koeln"], "d-1")


def test_a_decliner_cannot_be_forwarded_to_and_nothing_is_forwarded_undeclined() -> None:
    submission = _dispatched()
    with pytest.raises(InvalidTransitionError, match="nothing was declined"):
        submission.forward("rd-nrw", KOELN, "05", "dir-1", competence="c")
    submission.decline("d-1", [])
    with pytest.raises(InvalidTransitionError, match="declined"):
        submission.forward("jc-koeln", KOELN, "05", "dir-1", competence="c")


def test_a_late_receipt_for_the_declined_delivery_is_refused_by_the_aggregate() -> None:
    submission = _dispatched()
    submission.decline("d-1", [])
    submission.forward("rd-nrw", KOELN, "05", "dir-1", competence="c")
    submission.dispatch("d-2", "rd-nrw", "t", {})

    with pytest.raises(InvalidTransitionError):
        submission.accept("d-1", None)
    assert submission.decline("d-1", []) is False  # answered before: nothing new
    assert submission.declined_deliveries == {"d-1": "jc-koeln"}


def test_when_nobody_is_left_it_goes_to_triage_and_an_operator_assigns() -> None:
    submission = _dispatched()
    submission.decline("d-1", [])

    assert submission.mark_unroutable("no-competence", "all declined", "dir-1") is True
    assert submission.mark_unroutable("no-competence", "all declined", "dir-1") is False
    assert (submission.status, submission.authority_id) == (Status.UNROUTABLE, None)

    assert submission.assign("jc-koeln", "dir-1", "erika", "Absprache mit dem Jobcenter") is True
    assert submission.assign("jc-koeln", "dir-1", "erika", "again") is False  # a repeat
    assert (submission.status, submission.authority_id) == (Status.ROUTED, "jc-koeln")
    with pytest.raises(InvalidTransitionError, match="not unroutable"):
        submission.assign("other", "dir-1", "erika", "why")
    assert submission.dispatch("d-3", "jc-koeln", "t", {}) is True
    assert _chain_holds(submission)


def test_only_an_unroutable_submission_can_be_assigned() -> None:
    submission = new_submission()
    submission.validate("cat-1", "urn:x")
    with pytest.raises(InvalidTransitionError):
        submission.assign("jc-koeln", "dir-1", "erika", "why")
    submission.mark_unroutable("ambiguous-region", "two districts", "dir-1")
    assert submission.assign("jc-koeln", "dir-1", "erika", "Postleitzahl geprüft") is True


def test_handover_to_another_instance_is_recorded_once() -> None:
    submission = new_submission()
    submission.validate("cat-1", "urn:x")
    submission.route("amtsweg-st", "150850370370", "15", "dir-1")

    with pytest.raises(InvalidTransitionError):
        submission.hand_over("d-1", "someone-else", "https://st.example", "r-1")
    assert submission.hand_over("d-1", "amtsweg-st", "https://st.example", "r-1") is True
    assert submission.hand_over("d-1", "amtsweg-st", "https://st.example", "r-1") is False
    assert submission.status is Status.HANDED_OVER
    assert submission.refuse_handover("d-1", "amtsweg-st", "x", 422) is False
    assert submission.dispatch("d-1", "amtsweg-st", "t", {}) is False


def test_a_refused_handover_goes_to_triage() -> None:
    submission = new_submission()
    submission.validate("cat-1", "urn:x")
    submission.route("amtsweg-st", "150850370370", "15", "dir-1")

    assert submission.refuse_handover("d-1", "amtsweg-st", "HTTP 422 invalid-metadata", 422)
    assert submission.status is Status.UNROUTABLE
    assert submission.problems == [
        {"reason": "handover-refused", "detail": "HTTP 422 invalid-metadata"}
    ]
    assert submission.assign("amtsweg-st", "dir-1", "erika", "fixed their token") is True


def test_routed_records_competence_and_resolution() -> None:
    submission = new_submission()
    submission.validate("cat-1", "urn:x")
    resolution = {"source": "hint", "key": "ars", "value": KOELN}
    submission.route("jc", KOELN, "05315", "v", competence="jc/x/05315", resolution=resolution)

    routed = submission.collect_events()[-1]
    assert isinstance(routed, Submission.Routed)
    assert (routed.competence, routed.resolution) == ("jc/x/05315", resolution)
    assert submission.region == KOELN
    assert _chain_holds(submission)
