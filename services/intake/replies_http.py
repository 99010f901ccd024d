"""The authority's replies, for the portal that submitted: ``GET /v1/submissions/{id}/replies``.

- ``GET /v1/submissions/{id}/replies``: the case id, every reply's envelope as it was
  sealed for the portal (in the order the replies came), and where each request for
  documents stands (``open``, ``answered`` by which supplement, ``overdue``);
- ``GET /v1/submissions/{id}/replies/{replyId}``: one reply's envelope;
- ``GET /v1/submissions/{id}/replies/{replyId}/parts/{partId}``: one document of a reply,
  its bytes as an attachment with the media type the reply named, or, when the portal
  registered an encryption key, a JWE (``application/jose``) of them to that key.

Only the submission's own portal sees them: another portal's submission answers
``404`` like an unknown one. Once the case is erased, ``410`` (``content-erased``).
Reading them records nothing: a portal reading its own replies is no operator read.
"""

import copy
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID

from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from contracts.confirmation import JOSE_MEDIA_TYPE
from contracts.problems import problem_type
from events.blobs import BlobNotFoundError
from events.case import ReplyKind
from events.ledger import Ledger
from events.lifecycle import ContentErasedError
from events.submission import Submission
from events.vault import Vault
from services.intake.errors import ProblemError
from services.intake.openapi import PROBLEM_JSON, problem_responses

SealPart = Callable[[bytes, str, dict[str, Any]], str]
"""``seal(content, media_type, jwk)``: the JWE compact serialization of ``content`` to ``jwk``."""


@dataclass(frozen=True)
class ReplyPorts:
    """What the reply routes need from outside the intake."""

    encryption_key: Callable[[str], dict[str, Any] | None]
    """A portal's registered encryption key (public JWK), or None."""
    seal: SealPart


@dataclass(frozen=True)
class _RecordedReply:
    reply_id: str
    dossier: str
    parts: list[dict[str, Any]]
    envelope: dict[str, Any]


class _Replies:
    """What the routes answer (blocking: run in a thread)."""

    def __init__(
        self,
        ports: ReplyPorts,
        ledger: Ledger,
        vault: Vault,
        owned: Callable[[UUID, str], Submission],
    ) -> None:
        self.ports = ports
        self._ledger = ledger
        self._vault = vault
        self._owned = owned

    def readable(self, submission_id: UUID, portal_id: str) -> Submission:
        """The portal's own submission, unless its content is erased."""
        submission = self._owned(submission_id, portal_id)
        if submission.content_erased:
            raise _erased(submission.id)
        return submission

    def recorded(self, submission: Submission) -> list[_RecordedReply]:
        """The submission's ``Replied`` events, in order."""
        return [
            _RecordedReply(
                str(entry.data["reply_id"]),
                str(entry.data["dossier"]),
                list(entry.data["parts"]),
                dict(entry.data.get("envelope") or {}),
            )
            for entry in self._ledger.trail(submission.id)
            if entry.event == "Replied"
        ]

    def one(self, submission: Submission, reply_id: str) -> _RecordedReply:
        for reply in self.recorded(submission):
            if reply.reply_id == reply_id:
                return reply
        raise _reply_not_found(reply_id)

    def envelope_of(self, submission: Submission, reply: _RecordedReply) -> bytes:
        if not reply.envelope:
            raise _reply_not_found(reply.reply_id)
        envelope = self._vault.envelope(submission.id, reply.envelope)
        if envelope is None:
            raise _erased(submission.id)
        return envelope

    def listing(self, submission_id: UUID, portal_id: str) -> bytes:
        submission = self.readable(submission_id, portal_id)
        envelopes = [
            self.envelope_of(submission, reply)
            for reply in self.recorded(submission)
            if reply.envelope
        ]
        requests = [
            {
                "replyId": reply.reply_id,
                "due": reply.due,
                "state": str(reply.state),
                "answeredBy": reply.answered_by,
            }
            for reply in submission.replies.values()
            if reply.kind is ReplyKind.REQUEST
        ]
        # the envelopes exactly as sealed (their bytes, not a re-serialization)
        return b"".join(
            (
                b'{"caseId":',
                _json(submission.case_id),
                b',"replies":[',
                b",".join(envelopes),
                b'],"requests":',
                _json(requests),
                b"}",
            )
        )

    def single(self, submission_id: UUID, portal_id: str, reply_id: str) -> bytes:
        submission = self.readable(submission_id, portal_id)
        return self.envelope_of(submission, self.one(submission, reply_id))

    def part_of(
        self, submission_id: UUID, portal_id: str, reply_id: str, part_id: str
    ) -> tuple[Submission, dict[str, Any], dict[str, Any]]:
        """The submission, the part as its event recorded it, and as its dossier declares it."""
        submission = self.readable(submission_id, portal_id)
        reply = self.one(submission, reply_id)
        part = next((p for p in reply.parts if p.get("partId") == part_id), None)
        if part is None:
            raise ProblemError.single(
                404, "part-not-found", "Part not found", f"Reply {reply_id} has no part {part_id}."
            )
        try:
            dossier = self._vault.read_document(submission.id, reply.dossier)
        except (ContentErasedError, BlobNotFoundError) as error:
            raise _erased(submission.id) from error
        declared: dict[str, Any] = next(
            (d for d in dossier.get("parts", []) if d.get("partId") == part_id), {}
        )
        return submission, part, declared

    def sealed_part(
        self, submission: Submission, part: dict[str, Any], media_type: str, jwk: dict[str, Any]
    ) -> str:
        try:
            content = self._vault.read(submission.id, str(part["blob"]))
        except (ContentErasedError, BlobNotFoundError) as error:
            raise _erased(submission.id) from error
        return self.ports.seal(content, media_type, jwk)

    def stream(self, submission: Submission, part: dict[str, Any]) -> AsyncIterator[bytes]:
        return self._vault.stream(submission.id, str(part["blob"]))


def mount_replies(
    app: FastAPI,
    ports: ReplyPorts,
    *,
    ledger: Ledger,
    vault: Vault,
    portal: Callable[..., str],
    owned: Callable[[UUID, str], Submission],
) -> None:
    """Add the reply routes; ``portal`` authenticates, ``owned`` finds the portal's own
    submission (or raises its not-found problem)."""
    replies = _Replies(ports, ledger, vault, owned)

    @app.get(
        "/v1/submissions/{submission_id}/replies",
        response_class=Response,
        responses={
            200: {
                "description": "The case's replies (ReplyEnvelope, as sealed for the portal) "
                "and where each request for documents stands.",
                "content": {"application/json": {"example": _LIST_EXAMPLE}},
            },
            **_PROBLEM_RESPONSES,
        },
    )
    async def get_replies(
        submission_id: UUID, portal_id: Annotated[str, Depends(portal)]
    ) -> Response:
        """The authority's replies to this submission's case, oldest first."""
        body = await run_in_threadpool(replies.listing, submission_id, portal_id)
        return Response(body, media_type="application/json", headers=_NO_STORE)

    @app.get(
        "/v1/submissions/{submission_id}/replies/{reply_id}",
        response_class=Response,
        responses={
            200: {"description": "The reply's envelope (ReplyEnvelope), as sealed for the portal."},
            **_PROBLEM_RESPONSES,
        },
    )
    async def get_reply(
        submission_id: UUID, reply_id: str, portal_id: Annotated[str, Depends(portal)]
    ) -> Response:
        """One reply: its envelope, with the parts by reference."""
        body = await run_in_threadpool(replies.single, submission_id, portal_id, reply_id)
        return Response(body, media_type="application/json", headers=_NO_STORE)

    @app.get(
        "/v1/submissions/{submission_id}/replies/{reply_id}/parts/{part_id}",
        response_class=Response,
        responses={
            200: {
                "description": "The part's bytes (media type as the reply named it), or a "
                "JWE of them (application/jose) to the portal's encryption key.",
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                    JOSE_MEDIA_TYPE: {"schema": {"type": "string"}},
                },
            },
            **_PROBLEM_RESPONSES,
        },
    )
    async def get_reply_part(
        submission_id: UUID,
        reply_id: str,
        part_id: str,
        portal_id: Annotated[str, Depends(portal)],
    ) -> Response:
        """One document of a reply (e.g. the Bescheid): check its ``sha512`` from the
        envelope against the plaintext."""
        submission, part, declared = await run_in_threadpool(
            replies.part_of, submission_id, portal_id, reply_id, part_id
        )
        media_type = str(declared.get("mediaType") or "application/octet-stream")
        filename = declared.get("filename")
        jwk = ports.encryption_key(portal_id)
        if jwk is not None:
            token = await run_in_threadpool(replies.sealed_part, submission, part, media_type, jwk)
            headers = {**_NO_STORE, **_disposition(part_id, None, ".jwe")}
            return Response(token, media_type=JOSE_MEDIA_TYPE, headers=headers)
        chunks = replies.stream(submission, part)
        try:
            first = await anext(chunks, b"")
        except (ContentErasedError, BlobNotFoundError) as error:
            raise _erased(submission.id) from error
        headers = {
            **_NO_STORE,
            **_disposition(part_id, filename if isinstance(filename, str) else None, ""),
            "Content-Length": str(part["size"]),
        }
        return StreamingResponse(_then(first, chunks), media_type=media_type, headers=headers)


_NO_STORE = {"Cache-Control": "no-store"}


def _problem_responses() -> dict[int | str, dict[str, Any]]:
    """400, 401, 404 as everywhere, and 410 once the case is erased."""
    responses = problem_responses(400, 401, 404)
    gone = copy.deepcopy(responses[404])
    gone["description"] = "The case was erased: its replies are gone."
    gone["content"][PROBLEM_JSON]["example"] = {
        "type": problem_type("content-erased"),
        "title": "Content erased",
        "status": 410,
        "detail": "The case of 0b9d8a36-5c1e-4c70-8b35-0a3fd1b0c001 was erased.",
    }
    responses[410] = gone
    return responses


_PROBLEM_RESPONSES = _problem_responses()
_LIST_EXAMPLE = {
    "caseId": "8c3f6a0e-0d6b-4b39-9a51-6f2f3f1b2c01",
    "replies": [
        {
            "schemaVersion": 1,
            "type": "reply",
            "replyId": "r-1",
            "submissionId": "0b9d8a36-5c1e-4c70-8b35-0a3fd1b0c001",
            "caseId": "8c3f6a0e-0d6b-4b39-9a51-6f2f3f1b2c01",
            "authorityId": "jc-koeln",
            "kind": "request",
            "repliedAt": "2026-03-02T09:00:00+00:00",
            "due": "2026-03-16T23:59:59+01:00",
            "signed": False,
            "content": {"subject": "Unterlagen fehlen", "requested": ["Lohnabrechnung"]},
            "parts": [],
            "_links": {"self": "/v1/submissions/0b9d8a36-5c1e-4c70-8b35-0a3fd1b0c001/replies/r-1"},
        }
    ],
    "requests": [
        {"replyId": "r-1", "due": "2026-03-16T23:59:59+01:00", "state": "open", "answeredBy": None}
    ],
}


def _erased(submission_id: UUID) -> ProblemError:
    return ProblemError.single(
        410, "content-erased", "Content erased", f"The case of {submission_id} was erased."
    )


def _reply_not_found(reply_id: str) -> ProblemError:
    return ProblemError.single(404, "reply-not-found", "Reply not found", f"No reply {reply_id}.")


def _disposition(part_id: str, filename: str | None, suffix: str) -> dict[str, str]:
    """``Content-Disposition: attachment``: the part id as the plain file name (it is
    plain ASCII), the authority's file name as ``filename*`` (RFC 6266, RFC 8187)."""
    value = f'attachment; filename="{part_id}{suffix}"'
    if filename:
        value += f"; filename*=UTF-8''{quote(filename + suffix, safe='')}"
    return {"Content-Disposition": value}


async def _then(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for chunk in rest:
        yield chunk


def _json(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
