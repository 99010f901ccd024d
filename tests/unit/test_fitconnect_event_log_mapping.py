"""Which ledger events become which FIT-Connect events, and what they carry."""

from __future__ import annotations

import uuid
from typing import Any

from events.ledger import TrailEntry
from services.fitconnect.event_log import ACCEPT, PROBLEMS, REJECT, SUBMIT, case_events
from services.fitconnect.submission_table import Announcement, AuthenticationTags

TAGS = AuthenticationTags("tag-m", "tag-d", {"b": "tag-b", "a": "tag-a"})
SUBMISSION = str(uuid.uuid4())


def _entry(version: int, event: str, minute: int, **data: Any) -> TrailEntry:
    return TrailEntry(version, event, f"2026-12-03T10:{minute:02d}:00+00:00", "p", "h", data)


def _announcement(
    tags: AuthenticationTags | None = TAGS, submission_id: str = SUBMISSION
) -> Announcement:
    return Announcement(
        submission_id=submission_id,
        destination_id=str(uuid.uuid4()),
        client_id="portal-a",
        case_id=str(uuid.uuid4()),
        service_type={"name": "x", "identifier": "urn:de:fim:leika:leistung:99900000000102"},
        announced=("a", "b"),
        submitted={},
        authentication_tags=tags,
    )


def test_received_accepted_and_refused_map_to_submit_accept_and_reject() -> None:
    trail = [
        _entry(1, "Received", 0),
        _entry(2, "Validated", 1, catalog_version="c", schema_uri="s", routing_keys=[]),
        _entry(3, "Routed", 2, authority_id="jobcenter-koeln"),
        _entry(4, "Accepted", 3, delivery_id="d-1", reference="AZ-1"),
    ]
    events = case_events([_announcement()], lambda _: trail)

    assert [(e.uri, e.version) for e in events] == [(SUBMIT, 1), (ACCEPT, 4)]
    expected = {"metadata": "tag-m", "data": "tag-d", "attachments": {"a": "tag-a", "b": "tag-b"}}
    assert all(e.payload["authenticationTags"] == expected for e in events)
    assert list(events[1].payload) == ["authenticationTags"]


def test_a_refusal_by_the_authority_is_a_technical_reject_with_its_problems() -> None:
    problems = [{"type": "x", "title": "Not responsible", "detail": "Another office is."}, {}]
    trail = [
        _entry(1, "Received", 0),
        _entry(
            5, "RefusedByAuthority", 9, delivery_id="d-1", outcome="rejected", problems=problems
        ),
    ]
    (submit, reject) = case_events([_announcement()], lambda _: trail)

    assert submit.uri == SUBMIT
    assert reject.uri == REJECT
    assert reject.payload["problems"] == [
        {
            "type": PROBLEMS + "technical-error",
            "title": "Not responsible",
            "instance": "submission",
            "detail": "Another office is.",
        },
        {
            "type": PROBLEMS + "technical-error",
            "title": "Submission rejected",
            "instance": "submission",
        },
    ]


def test_a_rejection_by_validation_names_the_data() -> None:
    trail = [_entry(1, "Received", 0), _entry(2, "Rejected", 1, problems=[{"title": "Invalid"}])]
    (_, reject) = case_events([_announcement(None)], lambda _: trail)

    assert reject.payload == {
        "problems": [
            {"type": PROBLEMS + "data-schema-violation", "title": "Invalid", "instance": "data"}
        ]
    }  # before the submit's tags are known: none


def test_events_of_a_case_come_oldest_first_across_its_submissions() -> None:
    first = _announcement(submission_id=str(uuid.uuid4()))
    second = _announcement(submission_id=str(uuid.uuid4()))
    trails = {
        first.submission_id: [_entry(1, "Received", 5)],
        second.submission_id: [_entry(1, "Received", 1), _entry(2, "Accepted", 7)],
    }

    events = case_events([first, second], lambda s: trails[str(s)])

    assert [(e.submission_id, e.uri) for e in events] == [
        (second.submission_id, SUBMIT),
        (first.submission_id, SUBMIT),
        (second.submission_id, ACCEPT),
    ]
