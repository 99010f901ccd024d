"""Whether an authority's reply counts: the pure checks and the parsing of the wire form."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.replies import ReplyMessage
from contracts.reply_wire import MalformedReplyError, ReplyTooLargeError, is_reply, parse_reply
from events.case import ReplyKind
from events.submission import Submission
from services.delivery.recipients import Recipients
from services.delivery.reply_checks import (
    Refused,
    ReplyLimits,
    ReplyRefusal,
    check_addressing,
    check_due,
    check_repeat,
    check_signature,
    check_status,
    decode_parts,
    reply_digest,
)
from services.delivery.settings import REPLY_MEDIA_TYPES
from tests.support.authority import HANNOVER, KOELN
from tests.support.delivery import koeln, recipients
from tests.support.factories import dispatched_submission, routed_submission
from tests.support.replies import BESCHEID, NOW, encoded, part, reply, request, signed

LIMITS = ReplyLimits.of(3, 64 * 1024, REPLY_MEDIA_TYPES)


def _message(body: dict[str, Any]) -> ReplyMessage:
    return ReplyMessage.model_validate(body)


def _refusal(outcome: object) -> ReplyRefusal | None:
    return outcome.refusal if isinstance(outcome, Refused) else None


def _delivered() -> Submission:
    return dispatched_submission(KOELN, "d-1")


@pytest.mark.parametrize(
    ("overrides", "sender", "expected"),
    [
        ({}, KOELN, None),
        ({}, None, None),  # on Kafka: no token, the claim must match the addressee
        ({"deliveryId": "d-other"}, KOELN, ReplyRefusal.DELIVERY_NOT_FOUND),
        ({"submissionId": "00000000-0000-4000-8000-000000000000"}, KOELN, "not-found"),
        ({"authorityId": HANNOVER}, HANNOVER, ReplyRefusal.WRONG_AUTHORITY),
        ({}, HANNOVER, ReplyRefusal.WRONG_AUTHORITY),  # the token is another authority's
    ],
)
def test_a_reply_must_answer_the_submissions_delivery_from_its_addressee(
    overrides: dict[str, Any], sender: str | None, expected: object
) -> None:
    submission = _delivered()
    outcome = check_addressing(submission, _message(reply(submission, **overrides)), sender)
    wanted = ReplyRefusal.DELIVERY_NOT_FOUND if expected == "not-found" else expected
    assert _refusal(outcome) == wanted


def test_an_erased_case_takes_no_reply() -> None:
    submission = _delivered()
    submission.erase(by="erika", rule=None, legal_basis="x", reason="y", destroyed={})
    outcome = check_addressing(submission, _message(reply(submission)), KOELN)
    assert _refusal(outcome) is ReplyRefusal.CONTENT_ERASED


def test_only_a_delivered_case_takes_replies() -> None:
    delivered = _delivered()
    assert check_status(delivered) is None
    delivered.accept("d-1", "AZ-1")
    assert check_status(delivered) is None
    refused = _delivered()
    refused.refuse("d-1", "rejected", [])
    assert _refusal(check_status(refused)) is ReplyRefusal.NOT_DELIVERED
    assert _refusal(check_status(routed_submission(KOELN))) is ReplyRefusal.NOT_DELIVERED


@pytest.mark.parametrize(
    ("due", "fits"),
    [
        ((NOW + timedelta(days=14)).isoformat(), True),
        ("2026-12-17T12:00:00+01:00", True),
        ("2026-12-17T12:00:00Z", True),
        ("2026-12-17T12:00:00", False),  # no zone
        ("2026-12-17", False),  # a date, no time and no zone
        ("in zwei Wochen", False),
        ((NOW - timedelta(seconds=1)).isoformat(), False),
        (NOW.isoformat(), False),  # due now is due already
    ],
)
def test_a_requests_deadline_is_a_future_date_time_with_zone(due: str, fits: bool) -> None:
    message = _message(request(_delivered(), due=due))
    outcome = check_due(message, NOW)
    assert (outcome is None) == fits
    if not fits:
        assert _refusal(outcome) is ReplyRefusal.DUE_INVALID


def test_other_replies_have_no_deadline_to_check() -> None:
    assert check_due(_message(reply(_delivered())), NOW) is None


def test_documents_are_decoded_once_type_size_and_hash_fit() -> None:
    submission = _delivered()
    parts = [part(), part(b"<x/>", "anlage", "Application/XML", filename=None)]
    assert decode_parts(_message(reply(submission, parts=parts)), LIMITS) == [BESCHEID, b"<x/>"]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (part(b"PK zip", "archiv", "application/zip"), ReplyRefusal.MEDIA_TYPE),
        (part(b"x" * (64 * 1024 + 1)), ReplyRefusal.PART_TOO_LARGE),
        (part(b"x" * (200 * 1024)), ReplyRefusal.PART_TOO_LARGE),  # refused before decoding
        ({**part(), "content": "not base64!"}, ReplyRefusal.MALFORMED),
        ({**part(), "content": base64.b64encode(b"other bytes").decode()}, "hash"),
    ],
)
def test_a_document_that_does_not_fit_refuses_the_reply(
    document: dict[str, Any], expected: object
) -> None:
    message = _message(reply(_delivered(), parts=[part(b"fine", "ok"), document]))
    wanted = ReplyRefusal.HASH_MISMATCH if expected == "hash" else expected
    outcome = decode_parts(message, LIMITS)
    assert _refusal(outcome) == wanted
    assert isinstance(outcome, Refused)
    assert "fine" not in outcome.detail  # the detail names parts, never content


def test_at_most_the_configured_number_of_documents() -> None:
    parts = [part(b"%d" % n, f"p{n}") for n in range(4)]
    outcome = decode_parts(_message(reply(_delivered(), parts=parts)), LIMITS)
    assert _refusal(outcome) is ReplyRefusal.TOO_MANY_PARTS


def test_the_same_reply_again_is_a_repeat_other_content_a_conflict() -> None:
    submission = _delivered()
    message = _message(reply(submission))
    digest = reply_digest(encoded(reply(submission)))
    assert check_repeat(submission, message, digest) is False
    submission.reply(
        "r-1",
        kind=ReplyKind.DECISION,
        authority_id=KOELN,
        delivery_id="d-1",
        dossier=f"{submission.id}/dossier",
        parts=[],
        request_digest=digest,
    )
    assert check_repeat(submission, message, digest) is True
    other = check_repeat(submission, message, reply_digest(b"{}"))
    assert _refusal(other) is ReplyRefusal.CONFLICT


def test_with_a_verification_key_only_a_correctly_signed_reply_counts() -> None:
    known = recipients()
    submission = _delivered()
    body = reply(submission)
    genuine = signed(body).decode()
    assert check_signature(known, KOELN, genuine, 10**6) == "koeln-sig-1"
    assert _refusal(check_signature(known, KOELN, None, 10**6)) is ReplyRefusal.SIGNATURE_REQUIRED
    forged = signed(body, key="intruder").decode()
    assert _refusal(check_signature(known, KOELN, forged, 10**6)) is ReplyRefusal.SIGNATURE_INVALID


def test_without_a_verification_key_a_plain_reply_counts_unsigned() -> None:
    known = Recipients([koeln(signed=False)])
    assert check_signature(known, KOELN, None, 10**6) is None


def test_a_reply_arrives_as_json_or_as_jws_and_is_recognised_by_its_payload() -> None:
    submission = _delivered()
    body = reply(submission)
    plain = parse_reply(encoded(body), 1024 * 1024)
    assert plain.jws is None
    assert plain.payload == encoded(body)
    jws = parse_reply(signed(body), 1024 * 1024)
    assert jws.jws is not None
    assert jws.message == plain.message
    assert reply_digest(jws.payload) == reply_digest(plain.payload)  # signing again: the same


def test_a_malformed_reply_is_refused_without_echoing_its_content() -> None:
    submission = _delivered()
    with pytest.raises(ReplyTooLargeError):
        parse_reply(encoded(reply(submission)), 100)
    with pytest.raises(MalformedReplyError) as caught:
        parse_reply(encoded(reply(submission, kind="status", due="2027-01-01T00:00:00Z")), 10**6)
    assert "due" in str(caught.value)
    with pytest.raises(MalformedReplyError) as caught:
        parse_reply(encoded(reply(submission, subject="", text="Geheimnis")), 10**6)
    assert "subject" in str(caught.value)
    assert "Geheimnis" not in str(caught.value)
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256"}).encode()).rstrip(b"=")
    with pytest.raises(MalformedReplyError):
        parse_reply(header + b".e30.c2ln", 10**6)  # a MAC is no signature of an authority
    with pytest.raises(MalformedReplyError):
        parse_reply(b"\xff\xfe", 10**6)


@pytest.mark.parametrize("unsafe", ["..", ".", "a/b", "-x", ""])
def test_reply_and_part_ids_are_single_safe_path_segments(unsafe: str) -> None:
    submission = _delivered()
    with pytest.raises(ValidationError):
        _message(reply(submission, replyId=unsafe))
    with pytest.raises(ValidationError):
        _message(reply(submission, parts=[part(part_id=unsafe)]))


def test_on_the_receipts_topic_a_reply_is_told_from_a_receipt() -> None:
    submission = _delivered()
    body = reply(submission)
    receipt = encoded({"deliveryId": "d-1", "submissionId": str(submission.id)})
    assert is_reply(encoded(body), None)
    assert is_reply(signed(body), None)
    assert is_reply(receipt, "reply")  # the header decides
    assert not is_reply(encoded(body), "receipt")
    assert not is_reply(receipt, None)
    assert not is_reply(signed({"outcome": "accepted"}), None)
    assert not is_reply(b"\xff not json", None)
