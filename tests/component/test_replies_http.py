"""``POST /v1/deliveries/{deliveryId}/replies`` on a SQLite ledger: what counts, what not."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from contracts.replies import ReplyEnvelope
from events.ledger import Ledger
from events.reply_dossier import ReplyDossier
from events.submission import Submission
from events.vault import Vault
from services.delivery.recipients import Recipients
from services.delivery.reply_http import replies_router
from services.intake.http import create_app
from services.runtime.portals import Portal, Portals
from tests.support.authority import HANNOVER, KOELN, encryption_key, public
from tests.support.delivery import TOKENS, recipients
from tests.support.intake import assert_problem
from tests.support.pipeline import intake_settings
from tests.support.replies import delivered, encoded, part, ports, reply, request, signed

Client = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]
EMAIL = {"eMail": {"address": "erika.mustermann@example.org"}}


def bearer(authority: str = KOELN) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[authority]}"}


def jose(authority: str = KOELN) -> dict[str, str]:
    return {**bearer(authority), "content-type": "application/jose"}


@pytest.fixture
def api(ledger: Ledger, vault: Vault) -> Client:
    @asynccontextmanager
    async def client(
        known: Recipients, portals: Portals | None = None, **settings: object
    ) -> AsyncIterator[httpx.AsyncClient]:
        app: FastAPI = create_app(ledger, vault, intake_settings(port=0))
        config = ports(ledger, vault, known, portals, overrides=settings)
        app.include_router(replies_router(config))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http

    return client


def _path(submission: Submission, delivery_id: str | None = None) -> str:
    return f"/v1/deliveries/{delivery_id or submission.delivery_id}/replies"


def _blobs(vault: Vault, submission: Submission) -> set[str]:
    folder = vault.blobs.path(f"{submission.id}/probe").parent  # type: ignore[attr-defined]
    return {p.name for p in Path(folder).iterdir()}


async def test_a_signed_decision_with_a_2_mb_pdf_reaches_the_portal_sealed(
    api: Client, ledger: Ledger, vault: Vault
) -> None:
    known = recipients()
    submission = delivered(ledger, vault, known, reply_channel=EMAIL)
    pdf = b"%PDF-1.7\n" + os.urandom(2 * 1024 * 1024)
    body = reply(submission, parts=[part(pdf)])
    async with api(known) as client:
        answer = await client.post(_path(submission), content=signed(body), headers=jose())
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"replyId": "r-1", "recorded": True}
    replied = ledger.trail(submission.id)[-1]
    assert replied.event == "Replied"
    data = replied.data
    assert data["signed_by"] == "koeln-sig-1"
    assert data["topic"] == "amtsweg.portal.portal-a"
    assert data["request_digest"] == hashlib.sha256(encoded(body)).hexdigest()
    for secret in ("Bescheid", "bewilligt", "AZ-2026-17", "erika"):
        assert secret not in json.dumps(data)  # facts only, content sealed
    [sealed] = data["parts"]
    assert sealed["partId"] == "bescheid"
    assert sealed["size"] == len(pdf)
    assert sealed["sha512"] == hashlib.sha512(pdf).hexdigest()
    assert vault.read(submission.id, sealed["blob"]) == pdf
    dossier = ReplyDossier.of(vault, submission.id, data["dossier"])
    assert dossier.subject == body["subject"]
    assert dossier.reference == "AZ-2026-17"
    assert [(p.part_id, p.mime_type, p.filename) for p in dossier.parts] == [
        ("bescheid", "application/pdf", "Bescheid.pdf")
    ]
    published = vault.envelope(submission.id, data["envelope"])
    assert published is not None
    envelope = ReplyEnvelope.model_validate_json(published)
    assert envelope.signed
    assert envelope.reply_channel == "eMail"  # its name, never the address
    assert b"erika.mustermann" not in published
    assert envelope.case_id == submission.case_id
    assert envelope.content is not None
    assert envelope.content.subject == body["subject"]
    assert envelope.parts[0].reference == (
        f"/v1/submissions/{submission.id}/replies/r-1/parts/bescheid"
    )


async def test_for_a_portal_with_a_key_the_envelope_is_encrypted(
    api: Client, ledger: Ledger, vault: Vault
) -> None:
    known = recipients()
    submission = delivered(ledger, vault, known)
    key = public(encryption_key("portal-enc-1"))
    portals = Portals({"portal-a": Portal("portal-a", None, encryption_jwk=key)})
    async with api(known, portals) as client:
        answer = await client.post(
            _path(submission), content=signed(reply(submission)), headers=jose()
        )
    assert answer.status_code == 201, answer.text
    data = ledger.trail(submission.id)[-1].data
    assert data["topic"] is None  # the portal takes no replies on a topic
    published = vault.envelope(submission.id, data["envelope"])
    assert published is not None
    envelope = ReplyEnvelope.model_validate_json(published)
    assert envelope.encryption is not None
    assert envelope.encryption.kid == "portal-enc-1"
    assert envelope.content is None
    assert b"Bescheid" not in published


async def test_the_same_reply_again_answers_200_and_changes_nothing(
    api: Client, ledger: Ledger, vault: Vault
) -> None:
    known = recipients()
    submission = delivered(ledger, vault, known)
    body = reply(submission)
    async with api(known) as client:
        first = await client.post(_path(submission), content=signed(body), headers=jose())
        assert first.status_code == 201
        events, blobs = len(ledger.trail(submission.id)), _blobs(vault, submission)
        again = await client.post(_path(submission), content=signed(body), headers=jose())
    assert again.status_code == 200  # signed again (another signature), the same reply
    assert again.json() == {"replyId": "r-1", "recorded": False}
    assert len(ledger.trail(submission.id)) == events
    assert _blobs(vault, submission) == blobs


async def test_a_reply_id_used_for_another_reply_is_a_conflict(
    api: Client, ledger: Ledger, vault: Vault
) -> None:
    known = recipients()
    submission = delivered(ledger, vault, known)
    async with api(known) as client:
        first = await client.post(
            _path(submission), content=signed(reply(submission)), headers=jose()
        )
        assert first.status_code == 201
        events, blobs = len(ledger.trail(submission.id)), _blobs(vault, submission)
        other = reply(submission, subject="Ein anderer Bescheid (synthetic)")
        answer = await client.post(_path(submission), content=signed(other), headers=jose())
    assert_problem(answer, 409, "reply-conflict")
    assert len(ledger.trail(submission.id)) == events
    assert _blobs(vault, submission) == blobs


@dataclass(frozen=True)
class Post:
    """How a refused reply is posted."""

    body: dict[str, Any] = field(default_factory=dict)
    """Changes to the reply (or, with ``kind``, the whole reply)."""
    content: bytes | None = None
    """The body as sent, instead of the signed reply."""
    headers: dict[str, str] | None = None
    path: str | None = None
    settings: dict[str, object] = field(default_factory=dict)


REFUSALS: dict[str, tuple[Callable[[Submission], Post], int, str]] = {
    "no token": (lambda s: Post(headers={"content-type": "application/jose"}), 401, "unauthorized"),
    "another authority's token": (lambda s: Post(headers=jose(HANNOVER)), 403, "wrong-authority"),
    "naming another authority": (
        lambda s: Post(body={"authorityId": HANNOVER}),
        403,
        "wrong-authority",
    ),
    "unsigned": (
        lambda s: Post(content=encoded(reply(s)), headers=bearer()),
        403,
        "reply-signature-required",
    ),
    "forged": (
        lambda s: Post(content=signed(reply(s), "intruder")),
        403,
        "reply-signature-invalid",
    ),
    "not JSON": (lambda s: Post(content=b"{not json", headers=bearer()), 400, "malformed-reply"),
    "a request without due": (
        lambda s: Post(body={"kind": "request", "requested": ["x"]}),
        400,
        "malformed-reply",
    ),
    "unknown delivery": (
        lambda s: Post(body={"deliveryId": "d-unknown"}, path=_path(s, "d-unknown")),
        404,
        "delivery-not-found",
    ),
    "unknown submission": (
        lambda s: Post(body={"submissionId": "00000000-0000-4000-8000-000000000000"}),
        404,
        "delivery-not-found",
    ),
    "path and body differ": (
        lambda s: Post(path=_path(s, "d-other")),
        422,
        "delivery-id-mismatch",
    ),
    "hash mismatch": (
        lambda s: Post(body={"parts": [{**part(), "hash": part(b"other")["hash"]}]}),
        422,
        "hash-mismatch",
    ),
    "media type": (
        lambda s: Post(body={"parts": [part(b"MZ", "programm", "application/x-msdownload")]}),
        422,
        "media-type-not-allowed",
    ),
    "due passed": (
        lambda s: Post(body=request(s, due="2020-01-01T00:00:00Z")),
        422,
        "due-invalid",
    ),
    "part too large": (
        lambda s: Post(
            body={"parts": [part(b"x" * 2048)]}, settings={"reply_max_part_bytes": 1024}
        ),
        413,
        "part-too-large",
    ),
    "too many parts": (
        lambda s: Post(
            body={"parts": [part(), part(part_id="b")]}, settings={"reply_max_parts": 1}
        ),
        413,
        "too-many-parts",
    ),
    "reply too large": (lambda s: Post(settings={"reply_max_bytes": 1000}), 413, "reply-too-large"),
}


@pytest.mark.parametrize("case", REFUSALS)
async def test_a_refused_reply_records_nothing_and_keeps_nothing(
    api: Client, ledger: Ledger, vault: Vault, case: str
) -> None:
    known = recipients()
    submission = delivered(ledger, vault, known)
    build, status, slug = REFUSALS[case]
    post = build(submission)
    whole = "kind" in post.body
    content = post.content or signed(post.body if whole else reply(submission, **post.body))
    events, blobs = len(ledger.trail(submission.id)), _blobs(vault, submission)
    async with api(known, **post.settings) as client:
        answer = await client.post(
            post.path or _path(submission), content=content, headers=post.headers or jose()
        )
    assert_problem(answer, status, slug)
    assert len(ledger.trail(submission.id)) == events
    assert _blobs(vault, submission) == blobs


async def test_a_case_that_was_not_taken_or_is_erased_takes_no_reply(
    api: Client, ledger: Ledger, vault: Vault
) -> None:
    known = recipients()
    rejected = delivered(ledger, vault, known)
    delivery_id = rejected.delivery_id
    assert delivery_id is not None
    ledger.execute(rejected.id, lambda s: s.refuse(delivery_id, "rejected", []))
    erased = delivered(ledger, vault, known)
    ledger.execute(
        erased.id,
        lambda s: s.erase(by="erika", rule=None, legal_basis="x", reason="y", destroyed={}),
    )
    vault.erase(erased.id)
    async with api(known) as client:
        not_taken = await client.post(
            _path(rejected), content=signed(reply(rejected)), headers=jose()
        )
        gone = await client.post(_path(erased), content=signed(reply(erased)), headers=jose())
    assert_problem(not_taken, 409, "not-delivered")
    assert_problem(gone, 410, "content-erased")
    assert ledger.trail(rejected.id)[-1].event == "RefusedByAuthority"
    assert ledger.trail(erased.id)[-1].event == "ContentErased"


async def test_an_authority_without_verification_key_may_reply_unsigned(
    api: Client, ledger: Ledger, vault: Vault
) -> None:
    known = recipients(signed=False)
    submission = delivered(ledger, vault, known)
    async with api(known) as client:
        answer = await client.post(
            _path(submission), content=encoded(request(submission)), headers=bearer()
        )
    assert answer.status_code == 201, answer.text
    replied = ledger.trail(submission.id)[-1].data
    assert replied["signed_by"] is None
    assert replied["kind"] == "request"
    assert replied["due"] == request(submission)["due"]
    assert ledger.get_submission(submission.id).open_requests()[0].reply_id == "q-1"


def test_the_route_is_documented_with_its_bodies_and_answers(ledger: Ledger, vault: Vault) -> None:
    app = create_app(ledger, vault, intake_settings(port=0))
    app.include_router(replies_router(ports(ledger, vault, recipients())))
    operation = app.openapi()["paths"]["/v1/deliveries/{delivery_id}/replies"]["post"]
    body = operation["requestBody"]["content"]
    assert set(body) == {"application/json", "application/jose"}
    assert "$defs" not in json.dumps(body)  # sub-models written in place
    assert body["application/json"]["schema"]["properties"]["parts"]["items"]["properties"]
    answers = {int(status) for status in operation["responses"]}
    assert answers == {200, 201, 400, 401, 403, 404, 409, 410, 413, 422}
