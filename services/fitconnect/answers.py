"""An authority's answer on the Submission API: a Security Event Token it signed.

A subscriber accepts or rejects a submission with ``POST /v1/cases/{caseId}/events``
(``send-case-event``), its body a SET (RFC 8417) as FIT-Connect makes them: header
``typ: secevent+jwt``, ``alg: PS512``, ``kid``; claims ``iss``, ``iat``, ``jti``,
``sub`` = ``submission:<id>``, ``txn`` = ``case:<caseId>`` and ``events`` with exactly one
of ``…/events/accept-submission`` (``authenticationTags``) or ``…/events/reject-submission``
(``problems``, maybe ``authenticationTags``). :func:`parse_answer` reads it without trusting
it; :func:`verify_answer` checks the signature with the authority's verification key from
the directory. Amtsweg then records it as it records a native receipt (``Accepted`` or
``RefusedByAuthority``), the SET kept as the receipt's proof.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from events.lifecycle import Status
from events.submission import Submission
from services.fitconnect.event_log import ACCEPT, REJECT, SET_TYPE
from services.fitconnect.set_keys import SET_ALG
from services.fitconnect.submission_table import AuthenticationTags

MAX_SET_BYTES = 64 * 1024
_OUTCOMES = {ACCEPT: "accepted", REJECT: "rejected"}


class AnswerError(ValueError):
    """The body is not a SET an authority may answer with; ``malformed``: not even a JWS."""

    def __init__(self, detail: str, *, malformed: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.malformed = malformed


@dataclass(frozen=True)
class AuthorityAnswer:
    """A parsed SET: which submission of which case, accepted or rejected, and why."""

    compact: str
    kid: str
    jti: str
    submission_id: str
    case_id: str
    outcome: str
    """``accepted`` or ``rejected`` (Amtsweg's receipt outcomes)."""
    problems: tuple[dict[str, Any], ...]
    authentication_tags: dict[str, Any] | None

    def matches(self, tags: AuthenticationTags | None) -> bool:
        """Whether the SET names the ciphertexts Amtsweg received (when it names any)."""
        if self.authentication_tags is None or tags is None:
            return True
        return self.authentication_tags == tags.as_event()


def parse_answer(raw: bytes) -> AuthorityAnswer:
    """The SET's claims, its signature not yet checked; ``AnswerError`` saying what is wrong."""
    if len(raw) > MAX_SET_BYTES:
        raise AnswerError(f"The SET is larger than {MAX_SET_BYTES} bytes.", malformed=True)
    try:
        compact = raw.decode("ascii").strip()
        token = jws.extract_compact(compact.encode("ascii"))
        header, claims = token.protected, json.loads(token.payload)
    except (UnicodeDecodeError, JoseError, ValueError):
        raise AnswerError("The body is not a JWS compact serialization.", malformed=True) from None
    if header.get("typ") != SET_TYPE or header.get("alg") != SET_ALG:
        raise AnswerError(f"A SET has typ {SET_TYPE} and alg {SET_ALG}.")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid or not isinstance(claims, dict):
        raise AnswerError("A SET names its signing key (kid) and has JSON claims.")
    for name in ("iss", "jti"):
        if not isinstance(claims.get(name), str) or not claims[name]:
            raise AnswerError(f"The SET has no {name}.")
    if not isinstance(claims.get("iat"), int) or isinstance(claims["iat"], bool):
        raise AnswerError("The SET has no iat (seconds since the epoch).")
    submission_id = _prefixed_uuid(claims.get("sub"), "submission:")
    case_id = _prefixed_uuid(claims.get("txn"), "case:")
    events = claims.get("events")
    if not isinstance(events, dict) or len(events) != 1:
        raise AnswerError("A SET carries exactly one event.")
    ((uri, payload),) = events.items()
    if uri not in _OUTCOMES or not isinstance(payload, dict):
        raise AnswerError("An authority answers with accept-submission or reject-submission.")
    tags = payload.get("authenticationTags")
    if tags is not None and not isinstance(tags, dict):
        raise AnswerError("authenticationTags is an object.")
    problems = payload.get("problems", [])
    if uri == REJECT and (not isinstance(problems, list) or not problems):
        raise AnswerError("reject-submission names its problems.")
    if not isinstance(problems, list) or not all(_is_problem(p) for p in problems):
        raise AnswerError("Each problem has a type and a title.")
    return AuthorityAnswer(
        compact=compact,
        kid=kid,
        jti=claims["jti"],
        submission_id=submission_id,
        case_id=case_id,
        outcome=_OUTCOMES[uri],
        problems=tuple(problems),
        authentication_tags=tags,
    )


def verify_answer(answer: AuthorityAnswer, jwk: dict[str, Any]) -> bool:
    """Whether ``jwk`` (the authority's verification key) signed the SET (PS512 only)."""
    if jwk.get("kty") != "RSA" or ("kid" in jwk and jwk["kid"] != answer.kid):
        return False
    try:
        key = RSAKey.import_key(jwk)
        jws.deserialize_compact(answer.compact, key, algorithms=[SET_ALG])
    except (JoseError, ValueError):
        return False
    return True


def answered_before(submission: Submission) -> str | None:
    """``accepted`` or ``rejected`` if the authority answered already, else None."""
    if submission.status is Status.ACCEPTED:
        return "accepted"
    if submission.status is Status.REFUSED:
        return "rejected"
    return None


def available_for_pickup(submission: Submission, authority_id: str) -> bool:
    """Whether the submission waits at the authority's destination: dispatched to it and
    neither accepted nor refused yet."""
    return submission.status is Status.DISPATCHED and submission.authority_id == authority_id


def _prefixed_uuid(value: Any, prefix: str) -> str:
    if not isinstance(value, str) or not value.startswith(prefix):
        raise AnswerError(f"The SET names no {prefix}<uuid>.")
    try:
        return str(uuid.UUID(value.removeprefix(prefix)))
    except ValueError:
        raise AnswerError(f"The SET names no {prefix}<uuid>.") from None


def _is_problem(problem: Any) -> bool:
    return (
        isinstance(problem, dict)
        and isinstance(problem.get("type"), str)
        and isinstance(problem.get("title"), str)
    )
