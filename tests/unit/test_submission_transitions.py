"""Every command in every status does what ``events.lifecycle.TRANSITIONS`` says.

For each status a submission is brought there through real commands; then each command
runs once and must take effect (one event appended), be a no-op (``False``, nothing
appended) or raise ``InvalidTransitionError`` (nothing appended), as its row says.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest

from events.case import ReplyKind
from events.lifecycle import TRANSITIONS, InvalidTransitionError, Status
from events.submission import Submission
from tests.support.factories import dispatched_submission, new_submission, routed_submission

AUTHORITY = "jc-koeln"
DELIVERY = "d-1"
NO_KEY = "no-encryption-key"
ERASURE: dict[str, Any] = {
    "by": "retention:buergergeld",
    "rule": "buergergeld",
    "legal_basis": "SGB X § 84 Abs. 2",
    "reason": "retention period over",
    "destroyed": {"key_id": "local-1", "blobs": 2},
}


def _routed() -> Submission:
    return routed_submission(AUTHORITY)


def _dispatched() -> Submission:
    return dispatched_submission(AUTHORITY, DELIVERY, envelope={"deliveryId": "d"})


def _after(start: Callable[[], Submission], step: Callable[[Submission], bool]) -> Submission:
    submission = start()
    assert step(submission) is True
    return submission


PATHS: dict[Status, Callable[[], Submission]] = {
    Status.RECEIVED: new_submission,
    Status.VALIDATED: lambda: _after(new_submission, lambda s: s.validate("cat-1", "urn:x")),
    Status.REJECTED: lambda: _after(new_submission, lambda s: s.reject("cat-1", [{"t": "x"}])),
    Status.ROUTED: _routed,
    Status.UNROUTABLE: lambda: _after(
        PATHS[Status.VALIDATED], lambda s: s.mark_unroutable("no-competence", "nobody", "dir-1")
    ),
    Status.DISPATCHED: _dispatched,
    Status.ACCEPTED: lambda: _after(_dispatched, lambda s: s.accept(DELIVERY, "AZ-1")),
    Status.REFUSED: lambda: _after(_dispatched, lambda s: s.refuse(DELIVERY, "rejected", [])),
    Status.DECLINED: lambda: _after(_dispatched, lambda s: s.decline(DELIVERY, [])),
    Status.HANDED_OVER: lambda: _after(
        _routed, lambda s: s.hand_over(DELIVERY, AUTHORITY, "https://st.example", "r-1")
    ),
    Status.WITHHELD: lambda: _after(_routed, lambda s: s.withhold(AUTHORITY, NO_KEY)),
}
"""How a submission reaches each status (the delivery, wherever there is one, is ``d-1``)."""


def _replay(stage: str, outcome: str) -> Callable[[Submission], bool]:
    return lambda s: s.replay(
        stage,
        "q-replay",
        actor="erika",
        reason="new catalog",
        against="current",
        version="v2",
        outcome=outcome,
        decision="summary",
    )


def _dead_letter(submission: Submission) -> None:
    submission.record_callback(DELIVERY, 0, 1, failure="HTTP 503")  # a no-op unless dispatched


def _request(submission: Submission) -> None:
    with contextlib.suppress(InvalidTransitionError):  # only a delivered case takes one
        submission.reply(
            "r-request",
            kind=ReplyKind.REQUEST,
            authority_id=AUTHORITY,
            delivery_id=DELIVERY,
            dossier="blob-r",
            parts=[],
            request_digest="digest-r",
            due="2030-01-01T00:00:00+00:00",
        )


def _supplement(submission: Submission) -> None:
    with contextlib.suppress(InvalidTransitionError):  # only a delivered case takes one
        submission.hand_in(
            "s-1", answers=None, dossier="blob-s", parts=[], request_digest="digest-s"
        )


def _follow_up(submission: Submission) -> None:
    _supplement(submission)
    if "s-1" in submission.supplements:
        submission.dispatch_supplement("s-1", "d-s", "amtsweg.delivery.jc-koeln", {})


PREPARE: dict[str, Callable[[Submission], None]] = {
    "requeue_callback": _dead_letter,
    "mark_overdue": _request,
    "dispatch_supplement": _supplement,
    "acknowledge_supplement": _follow_up,
}
"""What a row needs beside the status (a dead letter to requeue, a request whose deadline
passes, a supplement to dispatch or acknowledge), done before the command."""

COMMANDS: list[tuple[str, Callable[[Submission], bool]]] = [
    ("validate", lambda s: s.validate("cat-2", "urn:y")),
    ("reject", lambda s: s.reject("cat-2", [{"t": "y"}])),
    ("route", lambda s: s.route(AUTHORITY, "053150000000", "05315", "dir-2")),
    ("mark_unroutable", lambda s: s.mark_unroutable("ambiguous-region", "two", "dir-2")),
    ("dispatch", lambda s: s.dispatch("d-2", AUTHORITY, "amtsweg.delivery.jc-koeln", {})),
    ("withhold", lambda s: s.withhold(AUTHORITY, NO_KEY)),
    ("accept", lambda s: s.accept(DELIVERY, "AZ-2")),
    ("refuse", lambda s: s.refuse(DELIVERY, "rejected", [])),
    ("refuse_receipt", lambda s: s.refuse_receipt("d-x", "other", "wrong-authority")),
    ("remind", lambda s: s.remind(DELIVERY, 1, 60.0)),
    ("escalate", lambda s: s.escalate(DELIVERY, 600.0)),
    ("record_callback", lambda s: s.record_callback(DELIVERY, 0, 1, status_code=200)),
    (
        "record_callback",
        lambda s: s.record_callback(DELIVERY, 0, 1, failure="HTTP 503", retry_at="2030-01-01"),
    ),
    ("record_callback", lambda s: s.record_callback(DELIVERY, 0, 1, failure="HTTP 503")),
    ("decline", lambda s: s.decline(DELIVERY, [])),
    ("forward", lambda s: s.forward("rd-nrw", "053150000000", "05", "dir-2", competence="c")),
    ("assign", lambda s: s.assign("rd-nrw", "dir-2", "erika", "checked")),
    ("hand_over", lambda s: s.hand_over("d-2", AUTHORITY, "https://st.example", "r-2")),
    ("refuse_handover", lambda s: s.refuse_handover("d-2", AUTHORITY, "HTTP 422", 422)),
    ("replay", _replay("validation", "unchanged")),
    ("replay", _replay("routing", "differs")),
    ("replay decided validation", _replay("validation", "decided")),
    ("replay decided routing", _replay("routing", "decided")),
    ("replay decided delivery", _replay("delivery", "decided")),
    ("replay changed validation", _replay("validation", "changed")),
    ("replay changed routing", _replay("routing", "changed")),
    ("replay changed delivery", _replay("delivery", "changed")),
    ("redeliver", lambda s: s.redeliver("q-redeliver", actor="erika", reason="lost")),
    ("requeue_callback", lambda s: s.requeue_callback("q-requeue", actor="erika", reason="ok")),
    ("erase", lambda s: s.erase(**ERASURE)),
    (
        "reply",
        lambda s: s.reply(
            "r-1",
            kind=ReplyKind.STATUS,
            authority_id=AUTHORITY,
            delivery_id=DELIVERY,
            dossier="blob-1",
            parts=[],
            request_digest="digest-1",
        ),
    ),
    (
        "mark_overdue",
        lambda s: s.mark_overdue("r-request", portal_topic=None, authority_topic=None),
    ),
    (
        "hand_in",
        lambda s: s.hand_in("s-2", answers=None, dossier="b", parts=[], request_digest="d"),
    ),
    (
        "dispatch_supplement",
        lambda s: s.dispatch_supplement("s-1", "d-s", "amtsweg.delivery.jc-koeln", {}),
    ),
    ("acknowledge_supplement", lambda s: s.acknowledge_supplement("d-s", "accepted", [])),
    ("record_portal_callback", lambda s: s.record_portal_callback("reply:r-1", 1, status_code=200)),
]
"""Each row's command, called so that every guard beside the status passes."""


def test_every_row_has_commands_and_every_command_a_row() -> None:
    assert {row for row, _ in COMMANDS} == set(TRANSITIONS)


@pytest.mark.parametrize("status", list(Status), ids=str)
@pytest.mark.parametrize(("row", "command"), COMMANDS, ids=[row for row, _ in COMMANDS])
def test_the_command_obeys_the_table(
    row: str, command: Callable[[Submission], bool], status: Status
) -> None:
    submission = PATHS[status]()
    assert submission.status is status
    if row in PREPARE:
        PREPARE[row](submission)
    version = submission.version
    rule = TRANSITIONS[row]

    if status in rule.invalid:
        with pytest.raises(InvalidTransitionError):
            command(submission)
        assert submission.version == version
    elif status in rule.done:
        assert command(submission) is False
        assert submission.version == version
    else:
        assert status in rule.effect
        assert command(submission) is True
        assert submission.version == version + 1


def _status(submission: Submission) -> Status:
    return submission.status


def test_a_withheld_submission_waits_for_a_replay_of_delivery_then_dispatches() -> None:
    submission = PATHS[Status.WITHHELD]()
    assert _status(submission) is Status.WITHHELD
    assert submission.problems == [{"reason": NO_KEY, "authorityId": AUTHORITY}]
    assert submission.withhold(AUTHORITY, NO_KEY) is False  # withheld already
    with pytest.raises(InvalidTransitionError):
        submission.dispatch("d-2", AUTHORITY, "amtsweg.delivery.jc-koeln", {})
    with pytest.raises(InvalidTransitionError):
        submission.accept(DELIVERY, "AZ-1")  # no delivery went out to answer

    assert _replay("delivery", "changed")(submission)  # the authority's key is registered
    assert _status(submission) is Status.ROUTED
    assert submission.problems == []
    assert submission.dispatch("d-2", AUTHORITY, "amtsweg.delivery.jc-koeln", {})
    assert _status(submission) is Status.DISPATCHED
    names = [type(e).__name__ for e in submission.collect_events()][-4:]
    assert names == ["Routed", "Withheld", "Replayed", "Dispatched"]


def test_delivery_is_withheld_only_from_the_routed_authority() -> None:
    submission = _routed()
    with pytest.raises(InvalidTransitionError):
        submission.withhold("rd-nrw", NO_KEY)
    assert submission.status is Status.ROUTED


@pytest.mark.parametrize("status", list(Status), ids=str)
def test_content_is_erased_once_and_the_status_stays(status: Status) -> None:
    submission = PATHS[status]()
    assert submission.erase(**ERASURE) is True
    assert submission.content_erased
    assert submission.status is status
    version = submission.version
    assert submission.erase(**ERASURE) is False
    assert submission.version == version
    event = submission.collect_events()[-1]
    assert isinstance(event, Submission.ContentErased)
    assert (event.by, event.rule, event.legal_basis) == (
        "retention:buergergeld",
        "buergergeld",
        "SGB X § 84 Abs. 2",
    )
    assert event.destroyed == {"key_id": "local-1", "blobs": 2}


def test_no_reminder_announces_erased_content() -> None:
    submission = _dispatched()
    assert submission.erase(**ERASURE)
    version = submission.version
    assert submission.remind(DELIVERY, 1, 60.0) is False
    assert submission.version == version
    assert submission.escalate(DELIVERY, 600.0) is True  # follow-up still ends in escalation
