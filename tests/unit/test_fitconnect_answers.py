"""Reading an authority's SET: what makes it an answer, and whose signature it carries."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from services.fitconnect.answers import AnswerError, parse_answer, verify_answer
from services.fitconnect.event_log import ACCEPT, REJECT, SUBMIT
from services.fitconnect.submission_table import AuthenticationTags
from tests.support.authority import public, signing_key

KEY = signing_key("unit-sig-1")
SUBMISSION = str(uuid.uuid4())
CASE = str(uuid.uuid4())
TAGS = {"metadata": "bWV0YQ", "data": "ZGF0YQ"}
PROBLEM = {"type": "https://schema.fitko.de/fit-connect/events/problems/x", "title": "X"}


def _claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": "destination",
        "iat": 1_800_000_000,
        "jti": str(uuid.uuid4()),
        "sub": f"submission:{SUBMISSION}",
        "txn": f"case:{CASE}",
        "events": {ACCEPT: {"authenticationTags": TAGS}},
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(claims: dict[str, Any], **header: str) -> bytes:
    protected = {"typ": "secevent+jwt", "alg": "PS512", "kid": KEY["kid"]} | header
    return jwt.encode(protected, claims, RSAKey.import_key(KEY), algorithms=["PS512"]).encode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> bytes:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part(header)}.{part(claims)}.c2ln".encode()


def test_an_accept_names_submission_case_and_tags() -> None:
    answer = parse_answer(_signed(_claims()))

    assert (answer.submission_id, answer.case_id, answer.outcome) == (SUBMISSION, CASE, "accepted")
    assert answer.matches(AuthenticationTags("bWV0YQ", "ZGF0YQ", {}))
    assert not answer.matches(AuthenticationTags("b3RoZXI", "ZGF0YQ", {}))
    assert verify_answer(answer, public(KEY))
    assert not verify_answer(answer, public(signing_key("unit-sig-1-other")) | {"kid": KEY["kid"]})
    assert not verify_answer(answer, public(KEY) | {"kid": "another-kid"})


def test_a_reject_carries_its_problems() -> None:
    answer = parse_answer(_signed(_claims(events={REJECT: {"problems": [PROBLEM]}})))

    assert answer.outcome == "rejected"
    assert answer.problems == (PROBLEM,)
    assert answer.matches(None)


@pytest.mark.parametrize(
    ("raw", "malformed"),
    [
        (b"not a token", True),
        (b"a.b", True),
        (b"\xff\xfe.x.y", True),
        (_signed(_claims(), typ="JWT"), False),
        (_unsigned({"typ": "secevent+jwt", "alg": "none", "kid": "k"}, _claims()), False),
        (_unsigned({"typ": "secevent+jwt", "alg": "PS512"}, _claims()), False),
        (_signed(_claims(iss=None)), False),
        (_signed(_claims(iat="yesterday")), False),
        (_signed(_claims(sub=f"case:{SUBMISSION}")), False),
        (_signed(_claims(sub="submission:not-a-uuid")), False),
        (_signed(_claims(txn=None)), False),
        (_signed(_claims(events={})), False),
        (_signed(_claims(events={SUBMIT: {}})), False),
        (_signed(_claims(events={ACCEPT: {}, REJECT: {"problems": [PROBLEM]}})), False),
        (_signed(_claims(events={REJECT: {}})), False),
        (_signed(_claims(events={REJECT: {"problems": [{"title": "no type"}]}})), False),
        (_signed(_claims(events={ACCEPT: {"authenticationTags": "tags"}})), False),
        (b"x" * (64 * 1024 + 1), True),
    ],
    ids=[
        "not-jws",
        "two-parts",
        "not-ascii",
        "typ-jwt",
        "alg-none",
        "no-kid",
        "no-iss",
        "iat-text",
        "sub-not-submission",
        "sub-not-uuid",
        "no-txn",
        "no-event",
        "submit-event",
        "two-events",
        "reject-without-problems",
        "problem-without-type",
        "tags-not-object",
        "too-large",
    ],
)
def test_anything_else_is_refused_saying_why(raw: bytes, malformed: bool) -> None:
    with pytest.raises(AnswerError) as refused:
        parse_answer(raw)

    assert refused.value.malformed is malformed
    assert refused.value.detail
