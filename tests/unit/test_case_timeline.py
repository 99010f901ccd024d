"""A case on one timeline: the summaries of the case's events, merging, requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from events.case import ReplyKind
from events.ledger import TrailEntry
from events.submission import Submission
from services.ops.readmodels.case_timeline import case_view
from services.ops.readmodels.timeline import timeline
from tests.support.factories import dispatched_submission, new_submission

AUTHORITY = "jc-koeln"
PORTAL_TOPIC = "amtsweg.portal.portal-a"
DELIVERY_TOPIC = f"amtsweg.delivery.{AUTHORITY}"
DUE = "2030-01-31T23:59:59+00:00"
BLOB = "7f0c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f/0123456789abcdef0123456789abcdef"
SHA512 = "e" * 128
DIGEST = "f" * 64
REFERENCE = {"blob": BLOB, "sha256": "0" * 64}
_BASE = {"originator_id", "originator_version", "timestamp", "prev_hash", "hash"}


def _part(part_id: str, size: int) -> dict[str, Any]:
    return {"partId": part_id, "blob": BLOB, "sha512": SHA512, "size": size}


def _trail(submission: Submission) -> list[TrailEntry]:
    """The submission's new events as the ledger would read them back."""
    return [
        TrailEntry(
            version=event.originator_version,
            event=type(event).__name__,
            timestamp=event.timestamp.isoformat(),
            prev_hash=event.prev_hash,
            hash=event.hash,
            data={k: v for k, v in event.__dict__.items() if k not in _BASE},
        )
        for event in submission.collect_events()
        if isinstance(event, Submission.Event)
    ]


def _case() -> Submission:
    """A whole case: a status, a request (overdue, then answered), a supplement delivered
    and accepted, callbacks to the portal, a decision with a document."""
    case = dispatched_submission(AUTHORITY, "d-1")
    common: dict[str, Any] = {"authority_id": AUTHORITY, "delivery_id": "d-1"}
    case.reply(
        "r-0", kind=ReplyKind.STATUS, dossier=BLOB, parts=[], request_digest=DIGEST, **common
    )
    case.reply(
        "r-1",
        kind=ReplyKind.REQUEST,
        dossier=BLOB,
        parts=[],
        request_digest=DIGEST,
        due=DUE,
        signed_by="jc-koeln-sig-1",
        topic=PORTAL_TOPIC,
        envelope=REFERENCE,
        **common,
    )
    case.record_portal_callback("reply:r-1", 1, failure="HTTP 503", retry_at=DUE)
    case.record_portal_callback("reply:r-1", 2, status_code=204)
    case.mark_overdue("r-1", portal_topic=PORTAL_TOPIC, authority_topic=DELIVERY_TOPIC)
    case.hand_in(
        "s-1", answers="r-1", dossier=BLOB, parts=[_part("p-1", 2048)], request_digest=DIGEST
    )
    case.dispatch_supplement("s-1", "d-2", DELIVERY_TOPIC, REFERENCE)
    case.acknowledge_supplement("d-2", "accepted", [])
    case.reply(
        "r-2",
        kind=ReplyKind.DECISION,
        dossier=BLOB,
        parts=[_part("bescheid", 4096), _part("anlage", 100)],
        request_digest=DIGEST,
        topic=PORTAL_TOPIC,
        envelope=REFERENCE,
        authority_id=AUTHORITY,
        delivery_id="d-2",
    )
    case.record_portal_callback("reply:r-2", 1, failure="timeout", retry_at=None)
    return case


def _lines(submission: Submission) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for line in timeline(_trail(submission)):
        found.setdefault(line.event, []).append((line.actor, line.details))
    return found


def test_every_event_of_a_case_is_summarised_with_ids_kinds_states_and_deadlines() -> None:
    lines = _lines(_case())
    status, request, decision = lines["Replied"]
    assert status == (
        f"authority {AUTHORITY}",
        "status r-0 to delivery d-1, no parts, unsigned; callback/pull only",
    )
    assert request == (
        f"authority {AUTHORITY}",
        (
            f"request r-1 due {DUE} to delivery d-1, no parts, signed by jc-koeln-sig-1; "
            f"on {PORTAL_TOPIC}"
        ),
    )
    assert decision[1] == (
        f"decision r-2 to delivery d-2, 2 part(s), 4196 bytes, unsigned; on {PORTAL_TOPIC}"
    )
    assert lines["RequestOverdue"] == [
        ("notifier", f"request r-1 overdue (due {DUE}); told {PORTAL_TOPIC}, {DELIVERY_TOPIC}")
    ]
    assert lines["SupplementReceived"] == [
        ("portal portal-a", "supplement s-1, answers request r-1, 1 part(s), 2048 bytes")
    ]
    assert lines["SupplementDispatched"] == [
        (
            "delivery",
            f"supplement s-1 as delivery d-2 (follows d-1) to {AUTHORITY} on {DELIVERY_TOPIC}",
        )
    ]
    assert lines["SupplementAcknowledged"] == [
        (f"authority {AUTHORITY}", "supplement s-1, delivery d-2: accepted")
    ]
    assert lines["PortalNotified"] == [("notifier", "notice reply:r-1, attempt 2: HTTP 204")]
    assert lines["PortalNotificationFailed"] == [
        ("notifier", f"notice reply:r-1, attempt 1: HTTP 503; next {DUE}"),
        ("notifier", "notice reply:r-2, attempt 1: timeout; gave up (dead letter)"),
    ]


def test_the_summaries_name_no_vault_reference_hash_or_envelope() -> None:
    text = " ".join(details for found in _lines(_case()).values() for _, details in found)
    for secret in (BLOB, SHA512, DIGEST, "sha256"):
        assert secret not in text


def test_a_rejected_supplement_and_one_that_answers_nothing() -> None:
    case = dispatched_submission(AUTHORITY, "d-1")
    case.hand_in("s-9", answers=None, dossier=BLOB, parts=[], request_digest=DIGEST)
    case.dispatch_supplement("s-9", "d-9", DELIVERY_TOPIC, REFERENCE)
    problem = {"type": "https://amtsweg.de/problems/unreadable-document", "title": "x"}
    case.acknowledge_supplement("d-9", "rejected", [problem])
    lines = _lines(case)
    assert lines["SupplementReceived"][0][1] == "supplement s-9, answers no request, no parts"
    assert lines["SupplementAcknowledged"][0][1] == (
        "supplement s-9, delivery d-9: rejected: unreadable-document"
    )


def test_an_overdue_request_without_topics_says_where_the_portal_sees_it() -> None:
    case = dispatched_submission(AUTHORITY, "d-1")
    case.reply(
        "r-1",
        kind=ReplyKind.REQUEST,
        authority_id=AUTHORITY,
        delivery_id="d-1",
        dossier=BLOB,
        parts=[],
        request_digest=DIGEST,
        due=DUE,
    )
    case.mark_overdue("r-1", portal_topic=None, authority_topic=None)
    assert _lines(case)["RequestOverdue"][0][1] == (
        f"request r-1 overdue (due {DUE}); told no topic (the portal sees it in its replies)"
    )


def test_a_receipt_names_the_authority_it_was_delivered_to() -> None:
    case = dispatched_submission(AUTHORITY, "d-1")
    case.accept("d-1", "AZ-1")
    assert _lines(case)["Accepted"] == [(f"authority {AUTHORITY}", "delivery d-1, reference AZ-1")]


def test_the_case_lists_its_requests_and_which_are_open() -> None:
    case = _case()
    view = case_view(case.case_id, [(case, _trail(case))])
    assert view.case_id == case.case_id
    assert [(r.reply_id, r.state, r.answered_by, r.due) for r in view.requests] == [
        ("r-1", "answered", "s-1", DUE)
    ]
    assert view.open_requests == []
    (submission,) = view.submissions
    assert submission.deliveries == ["d-1", "d-2"]
    assert submission.replies == {"r-0": "status", "r-1": "request", "r-2": "decision"}
    assert submission.supplements == ["s-1"]

    waiting = dispatched_submission(AUTHORITY, "d-1")
    for reply_id in ("r-1", "r-2"):
        waiting.reply(
            reply_id,
            kind=ReplyKind.REQUEST,
            authority_id=AUTHORITY,
            delivery_id="d-1",
            dossier=BLOB,
            parts=[],
            request_digest=DIGEST,
            due=DUE,
        )
    waiting.mark_overdue("r-2", portal_topic=None, authority_topic=None)
    open_view = case_view(waiting.case_id, [(waiting, _trail(waiting))])
    assert [(r.reply_id, r.state) for r in open_view.open_requests] == [
        ("r-1", "open"),
        ("r-2", "overdue"),
    ]
    answer = open_view.as_json()
    assert set(answer) == {"caseId", "submissions", "openRequests", "requests", "timeline"}
    assert answer["openRequests"][0] == {
        "submissionId": str(waiting.id),
        "replyId": "r-1",
        "deliveryId": "d-1",
        "due": DUE,
        "state": "open",
        "answeredBy": None,
    }
    assert answer["timeline"][-1]["event"] == "RequestOverdue"
    assert answer["timeline"][-1]["submissionId"] == str(waiting.id)


def _at(entries: list[TrailEntry], start: datetime, offsets: list[float]) -> list[TrailEntry]:
    """The entries with timestamps ``start`` + offsets (seconds)."""
    return [
        TrailEntry(
            e.version,
            e.event,
            (start + timedelta(seconds=o)).isoformat(),
            e.prev_hash,
            e.hash,
            e.data,
        )
        for e, o in zip(entries, offsets, strict=True)
    ]


def test_the_submissions_of_a_case_merge_into_one_time_ordered_timeline() -> None:
    first = dispatched_submission(AUTHORITY, "d-1")
    follow_up = new_submission(case_id=first.case_id)
    follow_up.validate("cat-1", "urn:x")
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    # first: Received 0, Validated 10, Routed 20, Dispatched 30 (a second zone: +01:00)
    first_trail = _at(_trail(first), start, [0, 10, 20, 30])
    first_trail[3] = TrailEntry(
        4,
        "Dispatched",
        (start + timedelta(seconds=30)).astimezone().isoformat(),
        first_trail[3].prev_hash,
        first_trail[3].hash,
        first_trail[3].data,
    )
    # the follow-up: Received 10 (ties with the first's Validated), Validated 25
    follow_trail = _at(_trail(follow_up), start, [10, 25])
    view = case_view(first.case_id, [(follow_up, follow_trail), (first, first_trail)])
    assert [s.submission_id for s in view.submissions] == [str(first.id), str(follow_up.id)]
    order = [(e.submission_id == str(first.id), e.event) for e in view.timeline]
    assert order == [
        (True, "Received"),
        (True, "Validated"),  # a tie: the older submission first
        (False, "Received"),
        (True, "Routed"),
        (False, "Validated"),
        (True, "Dispatched"),
    ]
    assert [e.version for e in view.timeline] == [1, 2, 1, 3, 2, 4]


def test_events_of_one_trail_in_the_same_instant_keep_the_trail_order() -> None:
    case = _case()
    trail = _trail(case)
    instant = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    same = _at(trail, instant, [0.0] * len(trail))
    view = case_view(case.case_id, [(case, same)])
    assert [e.version for e in view.timeline] == list(range(1, len(trail) + 1))
