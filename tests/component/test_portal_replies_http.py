"""The portal pulls its replies: the list, one envelope, a part (plain or JWE to its key)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwe
from joserfc.jwk import RSAKey

from events.case import ReplyKind
from events.ledger import Ledger
from events.vault import Vault
from services.delivery.crypto import JWE_ALGORITHMS
from services.ops.actions.erasure import erase
from services.ops.app.bootstrap import Core
from tests.support.authority import encryption_key, public
from tests.support.pipeline import auth, intake_settings, wiring
from tests.support.portal_replies import ReplyPart, delivered_case, record_reply

BESCHEID = ReplyPart("bescheid", "application/pdf", "Bescheid März.pdf", b"%PDF-1.7 Bescheid" * 300)
PORTAL_B_KEY = encryption_key("portal-b-enc-1")


@pytest.fixture
async def client(
    ledger: Ledger, vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    directory = {"portals": [{"portalId": "portal-b", "encryptionKey": public(PORTAL_B_KEY)}]}
    (tmp_path / "portals.json").write_text(json.dumps(directory))
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AMTSWEG_DEVELOPMENT", "1")
    monkeypatch.setenv("AMTSWEG_PORTALS_FILE", str(tmp_path / "portals.json"))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    app = wiring(intake_settings(port=0), Core(ledger, vault)).http_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def _base(submission_id: object) -> str:
    return f"/v1/submissions/{submission_id}/replies"


async def test_the_portal_lists_its_replies_as_sealed_with_the_requests(
    client: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    case = delivered_case(ledger, vault)
    due = "2026-03-16T23:59:59+01:00"
    first = record_reply(ledger, vault, case.id, "r-1", kind=ReplyKind.REQUEST, due=due)
    second = record_reply(ledger, vault, case.id, "r-2", parts=(BESCHEID,))
    answer = await client.get(_base(case.id), headers=auth())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["caseId"] == case.case_id
    assert body["replies"] == [json.loads(first), json.loads(second)]
    assert body["requests"] == [{"replyId": "r-1", "due": due, "state": "open", "answeredBy": None}]
    one = await client.get(f"{_base(case.id)}/r-2", headers=auth())
    assert one.status_code == 200
    assert one.content == second  # the envelope byte for byte as sealed


async def test_a_part_comes_as_an_attachment_whose_hash_matches(
    client: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    case = delivered_case(ledger, vault)
    envelope = json.loads(record_reply(ledger, vault, case.id, "r-1", parts=(BESCHEID,)))
    reference = envelope["parts"][0]["reference"]
    answer = await client.get(reference, headers=auth())
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="bescheid"')
    assert "filename*=UTF-8''Bescheid%20M%C3%A4rz.pdf" in disposition
    assert hashlib.sha512(answer.content).hexdigest() == envelope["parts"][0]["sha512"]
    assert answer.content == BESCHEID.content


async def test_a_portal_with_a_key_gets_the_part_as_jwe_only_it_can_open(
    client: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    case = delivered_case(ledger, vault, portal_id="portal-b")
    record_reply(ledger, vault, case.id, "r-1", parts=(BESCHEID,))
    answer = await client.get(f"{_base(case.id)}/r-1/parts/bescheid", headers=auth("portal-b"))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/jose")
    assert BESCHEID.content not in answer.content
    key = RSAKey.import_key(PORTAL_B_KEY)
    opened = jwe.decrypt_compact(answer.text, key, algorithms=list(JWE_ALGORITHMS))
    assert opened.plaintext == BESCHEID.content
    assert opened.protected["cty"] == "application/pdf"
    assert opened.protected["kid"] == "portal-b-enc-1"


@pytest.mark.parametrize("path", ["", "/r-1", "/r-1/parts/bescheid"], ids=["list", "reply", "part"])
async def test_another_portals_submission_is_not_found_like_an_unknown_one(
    client: httpx.AsyncClient, ledger: Ledger, vault: Vault, path: str
) -> None:
    case = delivered_case(ledger, vault)
    record_reply(ledger, vault, case.id, "r-1", parts=(BESCHEID,))
    foreign = await client.get(_base(case.id) + path, headers=auth("portal-b"))
    unknown = await client.get(
        _base("0b9d8a36-5c1e-4c70-8b35-0a3fd1b0c001") + path, headers=auth("portal-b")
    )
    assert foreign.status_code == unknown.status_code == 404
    assert _without_id(foreign.json()) == _without_id(unknown.json())
    assert foreign.json()["type"].endswith("submission-not-found")


def _without_id(problem: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in problem.items() if k not in ("detail", "instance")}


async def test_an_unknown_reply_or_part_is_not_found(
    client: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    case = delivered_case(ledger, vault)
    record_reply(ledger, vault, case.id, "r-1", parts=(BESCHEID,))
    reply = await client.get(f"{_base(case.id)}/r-9", headers=auth())
    part = await client.get(f"{_base(case.id)}/r-1/parts/other", headers=auth())
    assert (reply.status_code, part.status_code) == (404, 404)
    assert reply.json()["type"].endswith("reply-not-found")
    assert part.json()["type"].endswith("part-not-found")


async def test_without_a_token_nothing_is_answered(
    client: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    case = delivered_case(ledger, vault)
    record_reply(ledger, vault, case.id, "r-1")
    answer = await client.get(_base(case.id))
    assert answer.status_code == 401


@pytest.mark.parametrize("path", ["", "/r-1", "/r-1/parts/bescheid"], ids=["list", "reply", "part"])
async def test_an_erased_case_answers_content_erased(
    client: httpx.AsyncClient, ledger: Ledger, vault: Vault, path: str
) -> None:
    case = delivered_case(ledger, vault)
    record_reply(ledger, vault, case.id, "r-1", parts=(BESCHEID,))
    erase(ledger, vault, case.id, by="op", legal_basis="SGB X § 84", reason="test")
    answer = await client.get(_base(case.id) + path, headers=auth())
    assert answer.status_code == 410
    assert answer.json()["type"].endswith("content-erased")


async def test_reading_replies_records_nothing(
    client: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    case = delivered_case(ledger, vault)
    record_reply(ledger, vault, case.id, "r-1", parts=(BESCHEID,))
    before = len(ledger.trail(case.id))
    for path in ("", "/r-1", "/r-1/parts/bescheid"):
        assert (await client.get(_base(case.id) + path, headers=auth())).status_code == 200
    assert len(ledger.trail(case.id)) == before


async def test_a_case_without_replies_lists_none_and_an_answered_request_names_its_answer(
    client: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    case = delivered_case(ledger, vault)
    empty = await client.get(_base(case.id), headers=auth())
    assert empty.json() == {"caseId": case.case_id, "replies": [], "requests": []}
    due = "2026-03-16T23:59:59+01:00"
    record_reply(ledger, vault, case.id, "r-1", kind=ReplyKind.REQUEST, due=due)
    ledger.execute(
        case.id,
        lambda s: s.hand_in(
            "s-1", answers="r-1", dossier=f"{case.id}/x", parts=[], request_digest="e" * 64
        ),
    )
    answered = await client.get(_base(case.id), headers=auth())
    assert answered.json()["requests"] == [
        {"replyId": "r-1", "due": due, "state": "answered", "answeredBy": "s-1"}
    ]
