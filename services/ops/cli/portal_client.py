"""The reference portal client: a portal's side of a case, over Amtsweg's HTTP API.

Only httpx and the public contracts: what any portal would write. Submit an application
(``POST /v1/submissions``, multipart), follow its status and trail, fetch the authority's
replies and their parts (each part's SHA-512 checked, decrypted when the portal has a key),
hand in documents later (``POST …/supplements``) and fetch the signed proofs of receipt.
Every answer that is not 2xx is a :class:`PortalApiError` carrying its RFC 7807 problem.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from contracts.replies import ReplyEnvelope, SupplementDocument, SupplementRequest
from contracts.submission import Hash

JOSE = "application/jose"
PageLimit = 500


class PortalApiError(Exception):
    """Amtsweg answered with a problem (or not at all)."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        slug = str(problem.get("type") or "").rsplit("/", 1)[-1] or "error"
        detail = problem.get("detail") or ""
        text = f"HTTP {status} {slug}: {problem.get('title') or ''}"
        super().__init__(f"{text}; {detail}" if detail else text)

    @property
    def slug(self) -> str:
        """The last part of the problem's ``type`` (``submission-not-found`` …)."""
        return str(self.problem.get("type") or "").rsplit("/", 1)[-1]


class PartHashError(Exception):
    """A part's bytes do not have the SHA-512 its envelope names."""


@dataclass(frozen=True)
class Upload:
    """A file to send: its name, bytes and media type."""

    filename: str
    content: bytes
    media_type: str

    @classmethod
    def read(cls, path: Path) -> Upload:
        """A file from disk, its media type guessed from its name."""
        guessed, _ = mimetypes.guess_type(path.name)
        return cls(path.name, path.read_bytes(), guessed or "application/octet-stream")

    @property
    def sha512(self) -> str:
        """The hex SHA-512 of the bytes."""
        return hashlib.sha512(self.content).hexdigest()


def fill_hashes(
    metadata: dict[str, Any], data: Upload, attachments: list[Upload]
) -> dict[str, Any]:
    """The metadata with the SHA-512 of the data and of every attachment filled in.

    An attachment the metadata declares under the same ``filename`` gets its hash; one it
    does not declare is added (purpose ``attachment``, its media type and file name, an
    ``attachmentId`` derived from name and hash: the same files again make the same
    metadata, so a retry with the same ``Idempotency-Key`` is the same submission).
    """
    filled: dict[str, Any] = json.loads(json.dumps(metadata))
    structure = filled.setdefault("contentStructure", {})
    structure.setdefault("data", {})["hash"] = {"type": "sha512", "content": data.sha512}
    declared = structure.setdefault("attachments", [])
    by_name = {entry.get("filename"): entry for entry in declared if entry.get("filename")}
    for upload in attachments:
        entry = by_name.get(upload.filename)
        if entry is None:
            entry = {
                "attachmentId": _attachment_id(upload),
                "purpose": "attachment",
                "mimeType": upload.media_type,
                "filename": upload.filename,
            }
            declared.append(entry)
        entry["hash"] = {"type": "sha512", "content": upload.sha512}
    return filled


def _attachment_id(upload: Upload) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"amtsweg-portal:{upload.filename}:{upload.sha512}"))


def supplement_request(
    files: list[Upload], *, answers: str | None = None, note: str | None = None
) -> SupplementRequest:
    """The body of ``POST /v1/submissions/{id}/supplements`` for these files."""
    return SupplementRequest(
        answers=answers,
        note=note,
        attachments=[
            SupplementDocument(
                attachment_id=_attachment_id(f),
                mime_type=f.media_type,
                filename=f.filename,
                hash=Hash(content=f.sha512),
                content=base64.b64encode(f.content).decode("ascii"),
            )
            for f in files
        ],
    )


def derived_key(body: bytes) -> str:
    """An idempotency key from the request body: the same documents again are the same
    supplement (a retry after a lost answer changes nothing)."""
    return "sha256-" + hashlib.sha256(body).hexdigest()


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a compact JWS, not verified (to show it; verify with the keys)."""
    try:
        segment = token.strip().split(".")[1]
        payload = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        claims = json.loads(payload)
    except (IndexError, ValueError) as error:
        raise PortalApiError(0, {"title": "not a compact JWS", "detail": str(error)}) from None
    return claims if isinstance(claims, dict) else {}


def check_part(expected_sha512: str, plaintext: bytes) -> None:
    """``PartHashError`` unless ``plaintext`` has the SHA-512 its envelope names."""
    actual = hashlib.sha512(plaintext).hexdigest()
    if actual != expected_sha512:
        msg = f"SHA-512 {actual[:16]}… but the envelope names {expected_sha512[:16]}…"
        raise PartHashError(msg)


Decrypt = Callable[[str], bytes]
"""A JWE compact serialization → its plaintext (the portal's private key)."""


class PortalClient:
    """Amtsweg's portal API for one portal token (blocking; one connection pool)."""

    def __init__(
        self,
        api: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30,
    ) -> None:
        self._http = httpx.Client(
            base_url=api.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            transport=transport,
            timeout=timeout,
        )

    def __enter__(self) -> PortalClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def _send(self, method: str, path: str, **options: Any) -> httpx.Response:
        try:
            answer = self._http.request(method, path, **options)
        except httpx.HTTPError as error:
            problem = {"title": "Amtsweg cannot be reached", "detail": f"{type(error).__name__}"}
            raise PortalApiError(0, problem) from None
        if answer.is_success:
            return answer
        try:
            problem = answer.json()
        except ValueError:
            problem = {}
        if not isinstance(problem, dict):
            problem = {}
        problem.setdefault("title", answer.reason_phrase)
        raise PortalApiError(answer.status_code, problem)

    def _json(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        answer = self._send(method, path, **options).json()
        if not isinstance(answer, dict):
            raise PortalApiError(0, {"title": "unexpected answer", "detail": path})
        return answer

    # -- the submission -------------------------------------------------------------

    def submit(
        self,
        metadata: dict[str, Any],
        data: Upload,
        attachments: list[Upload] = (),  # type: ignore[assignment]
        *,
        routing: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """``POST /v1/submissions`` (multipart): the 202 answer (``submissionId`` …)."""
        fields: dict[str, str] = {"metadata": json.dumps(metadata)}
        if routing is not None:
            fields["routing"] = json.dumps(routing)
        files: list[tuple[str, tuple[str, bytes, str]]] = [
            ("data", (data.filename, data.content, data.media_type)),
            *[("attachment", (a.filename, a.content, a.media_type)) for a in attachments],
        ]
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self._json("POST", "/v1/submissions", data=fields, files=files, headers=headers)

    def status(self, submission_id: str) -> dict[str, Any]:
        """``GET /v1/submissions/{id}``."""
        return self._json("GET", f"/v1/submissions/{submission_id}")

    def events(self, submission_id: str, offset: int = 0) -> list[dict[str, Any]]:
        """The submission's trail from ``offset`` on (every page)."""
        found: list[dict[str, Any]] = []
        while True:
            page = self._json(
                "GET",
                f"/v1/submissions/{submission_id}/events",
                params={"offset": offset + len(found), "limit": PageLimit},
            )
            events = page.get("events") or []
            found.extend(events)
            if not events or offset + len(found) >= int(page.get("totalCount") or 0):
                return found

    def confirmation(self, submission_id: str, supplement_id: str | None = None) -> str:
        """The signed proof of receipt (compact JWS) of the submission or of a supplement."""
        path = f"/v1/submissions/{submission_id}"
        if supplement_id is not None:
            path += f"/supplements/{supplement_id}"
        return self._send("GET", f"{path}/confirmation").text.strip()

    def case_id(self, submission_id: str, status: dict[str, Any] | None = None) -> str | None:
        """The submission's case: from its status when it names it, else from its proof
        of receipt (None when neither is available)."""
        known = (status or {}).get("caseId")
        if known:
            return str(known)
        try:
            claims = unverified_claims(self.confirmation(submission_id))
        except PortalApiError:
            return None
        return str(claims["caseId"]) if claims.get("caseId") else None

    # -- replies ------------------------------------------------------------------------

    def replies(self, submission_id: str) -> dict[str, Any]:
        """``GET /v1/submissions/{id}/replies``: ``caseId``, ``replies``, ``requests``."""
        return self._json("GET", f"/v1/submissions/{submission_id}/replies")

    def reply(self, submission_id: str, reply_id: str) -> ReplyEnvelope:
        """One reply envelope."""
        answer = self._json("GET", f"/v1/submissions/{submission_id}/replies/{reply_id}")
        return ReplyEnvelope.model_validate(answer)

    def part(
        self, submission_id: str, reply_id: str, part_id: str, decrypt: Decrypt | None = None
    ) -> tuple[bytes, bool]:
        """A reply's part: its bytes and whether they are plaintext (False: a JWE kept as
        it came, for want of ``decrypt``)."""
        path = f"/v1/submissions/{submission_id}/replies/{reply_id}/parts/{part_id}"
        answer = self._send("GET", path)
        media_type = answer.headers.get("content-type", "").partition(";")[0].strip()
        if media_type != JOSE:
            return answer.content, True
        if decrypt is None:
            return answer.content, False
        return decrypt(answer.text.strip()), True

    # -- documents handed in later ------------------------------------------------------

    def supplement(
        self, submission_id: str, request: SupplementRequest, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """``POST /v1/submissions/{id}/supplements`` (202: ``supplementId``, ``status``);
        without a key, one derived from the body (the same documents again are the same
        supplement)."""
        body = request.model_dump_json(by_alias=True, exclude_none=True).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": idempotency_key or derived_key(body),
        }
        return self._json(
            "POST", f"/v1/submissions/{submission_id}/supplements", content=body, headers=headers
        )

    def supplement_status(self, submission_id: str, supplement_id: str) -> dict[str, Any]:
        """``GET /v1/submissions/{id}/supplements/{sid}``."""
        return self._json("GET", f"/v1/submissions/{submission_id}/supplements/{supplement_id}")


@dataclass
class Watch:
    """What a watch has shown so far: each event and reply once."""

    versions: set[int] = field(default_factory=set)
    replies: set[str] = field(default_factory=set)
    requests: dict[str, str] = field(default_factory=dict)
    """Request id -> its state as last shown."""

    def new_events(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The events not shown yet (and now counted as shown)."""
        fresh = [e for e in events if int(e.get("version", 0)) not in self.versions]
        self.versions.update(int(e.get("version", 0)) for e in fresh)
        return fresh

    def new_replies(self, listing: dict[str, Any]) -> list[dict[str, Any]]:
        """The replies not shown yet (and now counted as shown)."""
        fresh = [r for r in listing.get("replies") or [] if r.get("replyId") not in self.replies]
        self.replies.update(str(r.get("replyId")) for r in fresh)
        return fresh

    def changed_requests(self, listing: dict[str, Any]) -> list[dict[str, Any]]:
        """The requests whose state changed since last shown (new ones included)."""
        changed = []
        for request in listing.get("requests") or []:
            reply_id, state = str(request.get("replyId")), str(request.get("state"))
            if self.requests.get(reply_id) != state:
                self.requests[reply_id] = state
                changed.append(request)
        return changed


def event_line(event: dict[str, Any]) -> str:
    """One event of the trail as the portal sees it: time, name and its ids."""
    data = event.get("data") or {}
    shown = [
        f"{key}={data[key]}"
        for key in (
            "authority_id",
            "delivery_id",
            "reply_id",
            "kind",
            "due",
            "supplement_id",
            "answers",
            "outcome",
            "reference",
        )
        if data.get(key) not in (None, "", [])
    ]
    return f"{event.get('timestamp')}  {event.get('event')}" + (
        f"  {' '.join(shown)}" if shown else ""
    )


def reply_line(reply: dict[str, Any], decrypt: Decrypt | None = None) -> str:
    """One reply: kind, id, when, deadline, parts and (when readable) its subject."""
    due = f" due {reply.get('due')}" if reply.get("due") else ""
    parts = len(reply.get("parts") or [])
    subject = subject_of(reply, decrypt)
    about = f": {subject}" if subject else ""
    return (
        f"{reply.get('repliedAt')}  {reply.get('kind')} {reply.get('replyId')}{due}, "
        f"{parts} part(s){about}"
    )


def content_of(reply: dict[str, Any], decrypt: Decrypt | None = None) -> dict[str, Any] | None:
    """The reply's content (:class:`contracts.replies.ReplyContent` JSON): plain, or opened
    with ``decrypt``; None when encrypted and no key was given."""
    if isinstance(reply.get("content"), dict):
        content: dict[str, Any] = reply["content"]
        return content
    sealed = reply.get("encryptedContent")
    if isinstance(sealed, str) and decrypt is not None:
        opened = json.loads(decrypt(sealed))
        return opened if isinstance(opened, dict) else None
    return None


def subject_of(reply: dict[str, Any], decrypt: Decrypt | None = None) -> str | None:
    """The reply's subject, when it can be read."""
    content = content_of(reply, decrypt)
    return str(content.get("subject")) if content and content.get("subject") else None


def save_reply(
    client: PortalClient,
    submission_id: str,
    reply: dict[str, Any],
    folder: Path,
    decrypt: Decrypt | None = None,
) -> list[Path]:
    """Save a reply's content (``reply.json``) and its parts into ``folder/<replyId>/``,
    each part's SHA-512 checked (``PartHashError``); a part that stays encrypted for want
    of a key is saved as ``<name>.jwe``, unchecked. The paths written."""
    reply_id = str(reply["replyId"])
    target = folder / _safe(reply_id)
    target.mkdir(parents=True, exist_ok=True)
    content = content_of(reply, decrypt)
    names: dict[str, str] = dict((content or {}).get("filenames") or {})
    written = []
    envelope = target / "reply.json"
    envelope.write_text(
        json.dumps({**reply, "content": content}, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    written.append(envelope)
    for part in reply.get("parts") or []:
        part_id = str(part["partId"])
        payload, plain = client.part(submission_id, reply_id, part_id, decrypt)
        name = _safe(names.get(part_id) or part.get("filename") or part_id)
        if plain:
            check_part(str(part["sha512"]), payload)
        else:
            name += ".jwe"
        path = target / name
        path.write_bytes(payload)
        written.append(path)
    return written


def _safe(name: str) -> str:
    """A file name without directories (a reply names its files; they stay in the folder)."""
    base = Path(name.replace("\\", "/")).name.strip()
    return base if base not in ("", ".", "..") else "part"
