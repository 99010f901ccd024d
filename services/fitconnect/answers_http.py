"""``POST /v1/cases/{caseId}/events`` (under ``/fit-connect``): an authority's answer.

The subscriber sends a SET it signed (:mod:`answers`) accepting or rejecting a submission
of the case that was dispatched to it. In this order, each answer recording nothing:

1. a sender, or a subscriber without its destination's scope: ``403``;
2. a case without a submission the subscriber may see: ``404`` (a submission not sent over
   FIT-Connect has the case :func:`~contracts.cases.case_id_of` gives it,
   as its pickup answers);
3. not a JWS: ``400``; not a SET of accept- or reject-submission, ``txn`` naming another
   case, ``sub`` a submission not in the case: ``422``;
4. the submission dispatched to another authority: ``403``;
5. answered before: the same answer is ``204`` again (idempotent), another one ``409``;
   not (yet) dispatched: ``409``;
6. authentication tags that are not those of the ciphertexts received, no verification
   key in the directory, a signature the key does not verify: ``422``.

Then the answer is recorded as a native receipt would be (``record``: ``Accepted`` or
``RefusedByAuthority`` with the problems, the SET as the receipt's proof) and answered
``204``. A refusal of that recording (another delivery meanwhile) is ``409``.

A SET whose ``sub`` is a follow-up delivery picked up over FIT-Connect (documents handed
in later, a submission of its own within the case) answers that follow-up: the same
checks in the same order, then recorded as its native receipt would be
(``SupplementAcknowledged`` on the case's submission); the same answer again is ``204``.
"""

# No ``from __future__ import annotations``: FastAPI must see the dependency ``access``.
import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from contracts.cases import case_id_of
from events.submission import Submission
from services.fitconnect.answers import (
    MAX_SET_BYTES,
    AnswerError,
    AuthorityAnswer,
    answered_before,
    available_for_pickup,
    parse_answer,
    verify_answer,
)
from services.fitconnect.clients import ClientKind
from services.fitconnect.destinations import destination_id
from services.fitconnect.problems import FitConnectProblemError, forbidden, not_found
from services.fitconnect.scopes import DestinationScope
from services.fitconnect.submission_table import Announcement, SubmissionTable
from services.fitconnect.tokens import Access

log = structlog.get_logger(__name__)

RecordAnswer = Callable[[AuthorityAnswer, str, str], str | None]
"""(answer, authority id, delivery id) -> why the receipt was not taken, or None."""


@dataclass(frozen=True)
class FollowUpAnswered:
    """What the answer route needs to know of a follow-up delivery picked up."""

    submission_id: str
    """The submission (Amtsweg's) whose case it belongs to."""
    case_id: str
    authority_id: str
    outcome: str | None
    """``accepted`` or ``rejected`` once answered."""


@dataclass(frozen=True)
class AnswerPorts:
    """What the answer route needs of the ledger and the directory."""

    table: Callable[[], SubmissionTable]
    submission: Callable[[uuid.UUID], Submission | None]
    """The submission in the ledger, or None while it knows nothing of it."""
    verification_key: Callable[[str], dict[str, Any] | None]
    """Authority id -> its verification JWK in the directory, or None."""
    record: RecordAnswer
    follow_up: Callable[[uuid.UUID], FollowUpAnswered | None] = lambda _id: None
    """A follow-up delivery on the pickup channel by its id, or None."""


def answers_router(access: Callable[..., Access], ports: AnswerPorts) -> APIRouter:
    """The answer route (mounted under ``/fit-connect``)."""
    router = APIRouter(tags=["FIT-Connect: receiving"])

    @router.post("/v1/cases/{caseId}/events", status_code=204)
    async def send_case_event(
        caseId: str,  # noqa: N803 - the spec's name
        request: Request,
        granted: Annotated[Access, Depends(access)],
    ) -> Response:
        """Accept or reject a submission with a SET signed by the authority."""
        authority = _subscriber(granted)
        announcements = await asyncio.to_thread(_case, ports, caseId, authority)
        given = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if given != "application/jose":
            raise _problem(400, "bad-request", "Bad request", "Send the SET as application/jose.")
        answer = _parsed(await _body(request))
        follow_up = await asyncio.to_thread(ports.follow_up, uuid.UUID(answer.submission_id))
        if follow_up is not None:
            return await _follow_up(
                ports, answer, follow_up, announcements, case_text=caseId, authority=authority
            )
        submission = await asyncio.to_thread(ports.submission, uuid.UUID(answer.submission_id))
        announcement = _in_case(announcements, answer, submission, caseId, authority)
        if submission is None or submission.authority_id is None:
            raise _conflict("The submission is not dispatched yet.")
        if submission.authority_id != authority:
            raise forbidden("The submission is not dispatched to this authority.")
        before = answered_before(submission)
        if before == answer.outcome:
            return Response(status_code=204)  # the same answer again: nothing changes
        if before is not None:
            raise _conflict(f"The submission was {before} before.")
        if not available_for_pickup(submission, authority) or submission.delivery_id is None:
            raise _conflict("The submission is not dispatched.")
        if announcement is not None and not answer.matches(announcement.authentication_tags):
            raise _unprocessable(
                "authentication-tags-mismatch", "The SET names other ciphertexts than received."
            )
        key = ports.verification_key(authority)
        if key is None:
            raise _unprocessable("no-verification-key", "The directory holds no key for the SET.")
        if not verify_answer(answer, key):
            log.warning("fit_connect.answer_refused", reason="signature-invalid")
            raise _unprocessable("signature-invalid", "The SET's signature does not verify.")
        refusal = await asyncio.to_thread(ports.record, answer, authority, submission.delivery_id)
        if refusal is not None:
            raise _conflict(f"The answer was not taken ({refusal}).")
        return Response(status_code=204)

    return router


async def _follow_up(
    ports: AnswerPorts,
    answer: AuthorityAnswer,
    follow_up: FollowUpAnswered,
    announcements: list[Announcement],
    *,
    case_text: str,
    authority: str,
) -> Response:
    """The answer to a follow-up delivery (documents handed in later) of the case."""
    case_id = str(uuid.UUID(case_text))
    if follow_up.case_id != case_id or (not announcements and follow_up.authority_id != authority):
        if not announcements:
            raise not_found("case-not-found", "Case not found", f"No case {case_text!r}.")
        raise _unprocessable("submission-not-in-case", "The SET's sub is not in this case.")
    if answer.case_id != case_id:
        raise _unprocessable("case-mismatch", "The SET's txn names another case.")
    if follow_up.authority_id != authority:
        raise forbidden("The submission is not dispatched to this authority.")
    if follow_up.outcome == answer.outcome:
        return Response(status_code=204)  # the same answer again: nothing changes
    if follow_up.outcome is not None:
        raise _conflict(f"The submission was {follow_up.outcome} before.")
    key = ports.verification_key(authority)
    if key is None:
        raise _unprocessable("no-verification-key", "The directory holds no key for the SET.")
    if not verify_answer(answer, key):
        log.warning("fit_connect.answer_refused", reason="signature-invalid")
        raise _unprocessable("signature-invalid", "The SET's signature does not verify.")
    delivery_id = answer.submission_id  # a follow-up's submissionId is its delivery id
    of_case = replace(answer, submission_id=follow_up.submission_id)
    refusal = await asyncio.to_thread(ports.record, of_case, authority, delivery_id)
    if refusal is not None:
        raise _conflict(f"The answer was not taken ({refusal}).")
    return Response(status_code=204)


def _subscriber(granted: Access) -> str:
    """The authority behind a subscriber token with its own destination's scope."""
    authority = granted.client.client_id
    own = DestinationScope("subscribe", destination_id(authority))
    if granted.client.kind is not ClientKind.SUBSCRIBER or own not in granted.scopes:
        raise forbidden("Only a destination's subscriber answers its submissions.")
    return authority


def _case(ports: AnswerPorts, text: str, authority: str) -> list[Announcement]:
    """The case's submissions sent over FIT-Connect, if the authority may see one (at its
    destination or dispatched to it); none for a case of a submission not sent over
    FIT-Connect (:func:`_own_case` decides on that one once the SET names it)."""
    try:
        case_id = str(uuid.UUID(text))
    except ValueError:
        raise not_found("case-not-found", "Case not found", f"No case {text!r}.") from None
    announcements = ports.table().of_case(case_id)
    own = str(destination_id(authority))
    if announcements and not any(
        a.destination_id == own or _dispatched(ports, a, authority) for a in announcements
    ):
        raise not_found("case-not-found", "Case not found", f"No case {text!r}.")
    return announcements


def _in_case(
    announcements: list[Announcement],
    answer: AuthorityAnswer,
    submission: Submission | None,
    case_text: str,
    authority: str,
) -> Announcement | None:
    """The SET's submission as announced in the case (None: not sent over FIT-Connect);
    ``404`` or ``422`` if the SET does not belong to this case."""
    in_case = answer.case_id == str(uuid.UUID(case_text))
    if not announcements and not (in_case and _own_case(submission, answer, authority)):
        raise not_found("case-not-found", "Case not found", f"No case {case_text!r}.")
    if not in_case:
        raise _unprocessable("case-mismatch", "The SET's txn names another case.")
    announcement = next((a for a in announcements if a.submission_id == answer.submission_id), None)
    if announcement is None and announcements:
        raise _unprocessable("submission-not-in-case", "The SET's sub is not in this case.")
    return announcement


def _own_case(submission: Submission | None, answer: AuthorityAnswer, authority: str) -> bool:
    """Whether the case is that of a submission not sent over FIT-Connect (one submission,
    one case) and the submission is the authority's."""
    return (
        submission is not None
        and submission.authority_id == authority
        and case_id_of(answer.submission_id) == answer.case_id
    )


def _dispatched(ports: AnswerPorts, announcement: Announcement, authority: str) -> bool:
    submission = ports.submission(uuid.UUID(announcement.submission_id))
    return submission is not None and submission.authority_id == authority


async def _body(request: Request) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_SET_BYTES:
            raise _problem(400, "bad-request", "Bad request", "The SET is too large.")
    return body


def _parsed(raw: bytes) -> AuthorityAnswer:
    try:
        return parse_answer(raw)
    except AnswerError as error:
        if error.malformed:
            raise _problem(400, "bad-request", "Bad request", error.detail) from None
        raise _unprocessable("event-invalid", error.detail) from None


def _problem(status: int, slug: str, title: str, detail: str) -> FitConnectProblemError:
    return FitConnectProblemError(status, slug, title, detail)


def _unprocessable(slug: str, detail: str) -> FitConnectProblemError:
    return _problem(422, slug, "Security Event Token not accepted", detail)


def _conflict(detail: str) -> FitConnectProblemError:
    return _problem(409, "invalid-state-transition", "Invalid state transition", detail)
