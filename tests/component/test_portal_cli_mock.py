"""``amtsweg portal replies | supplement | watch --until decision | confirmation --supplement``
against an httpx MockTransport that answers as the issue's HTTP surface specifies (the
replies and supplements routes are built on other branches; the merge runs them for real).

The fake builds its answers with the contracts (``ReplyEnvelope``, ``SupplementRequest``),
so what the client reads is what the specification allows.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from contracts.messages import Encryption, PayloadPart
from contracts.replies import ReplyContent, ReplyEnvelope, ReplyLinks, SupplementRequest
from services.delivery.crypto import JweSealer
from services.ops.cli import portal
from services.ops.cli import support as cli_support
from services.ops.cli.main import app as cli
from tests.support.authority import encryption_key, public, write_jwk

SUBMISSION = "6f1c8a8e-1f3c-4c4e-9a55-2b1e0c9d7a10"
CASE = "0d9d7b5e-a26e-5e69-8659-bdbc3dfe650d"
TOKEN = "token-of-portal-a"
BESCHEID = b"%PDF-1.7\nBescheid\n%%EOF\n"
DUE = "2030-01-31T23:59:59+00:00"


def _problem(status: int, slug: str, detail: str) -> httpx.Response:
    body = {"type": f"https://amtsweg.de/problems/{slug}", "title": slug, "status": status}
    return httpx.Response(
        status,
        json={**body, "detail": detail},
        headers={"content-type": "application/problem+json"},
    )


@dataclass
class FakeAmtsweg:
    """The portal routes of the issue's HTTP surface, for one submission of portal-a."""

    sealer: JweSealer | None = None
    """The portal's registered key: replies and parts come encrypted to it."""
    corrupt: bool = False
    """Serve the Bescheid with other bytes than its hash names."""
    replies: list[dict[str, Any]] = field(default_factory=list)
    posted: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    supplements: dict[str, str] = field(default_factory=dict)
    polls: int = 0

    def reply(self, reply_id: str, kind: str, *, due: str | None = None) -> None:
        parts = []
        names: dict[str, str] = {}
        if kind == "decision":
            names = {"bescheid": "../../Bescheid 2026.pdf"}  # a name with a path: kept inside
            parts.append(
                PayloadPart(
                    part_id="bescheid",
                    mime_type="application/pdf",
                    size=len(BESCHEID),
                    sha512=hashlib.sha512(BESCHEID).hexdigest(),
                    reference=f"/v1/submissions/{SUBMISSION}/replies/{reply_id}/parts/bescheid",
                )
            )
        content = ReplyContent(subject=f"Ihr Antrag: {kind}", filenames=names)
        sealed = self.sealer is not None
        envelope = ReplyEnvelope(
            reply_id=reply_id,
            submission_id=SUBMISSION,
            case_id=CASE,
            authority_id="jobcenter-koeln",
            kind=kind,
            replied_at=f"2026-03-0{len(self.replies) + 2}T09:00:00+00:00",
            due=due,
            signed=True,
            encryption=Encryption(kid="portal-a-enc-1") if sealed else None,
            content=None if sealed else content,
            encrypted_content=(
                self.sealer.seal(content.model_dump_json(by_alias=True).encode())
                if self.sealer
                else None
            ),
            parts=parts,
            links=ReplyLinks(self_=f"/v1/submissions/{SUBMISSION}/replies/{reply_id}"),
        )
        self.replies.append(envelope.model_dump(by_alias=True, exclude_none=True))

    def requests(self) -> list[dict[str, Any]]:
        answered = {body.get("answers"): sid for sid, body in self.posted}
        return [
            {
                "replyId": r["replyId"],
                "due": r["due"],
                "state": "answered" if r["replyId"] in answered else "open",
                "answeredBy": answered.get(r["replyId"]),
            }
            for r in self.replies
            if r["kind"] == "request"
        ]

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return _problem(401, "unauthorized", "a portal token")
        path = request.url.path
        base = f"/v1/submissions/{SUBMISSION}"
        if not path.startswith(base):
            return _problem(404, "submission-not-found", "No submission.")
        rest = path.removeprefix(base)
        if rest == "":
            self.polls += 1
            return httpx.Response(200, json={"submissionId": SUBMISSION, "status": "accepted"})
        if rest == "/events":
            events = [{"version": 1, "event": "Received", "timestamp": "2026-03-01T09:00:00+00:00"}]
            return httpx.Response(200, json={"totalCount": 1, "events": events})
        if rest == "/replies":
            if self.polls == 2:  # the authority decides while the portal watches
                self.reply("r-2", "decision")
            listing = {"caseId": CASE, "replies": self.replies, "requests": self.requests()}
            return httpx.Response(200, json=listing)
        if rest.startswith("/replies/") and "/parts/" in rest:
            content = b"tampered" if self.corrupt else BESCHEID
            if self.sealer is not None:
                jwe = self.sealer.seal(content)
                return httpx.Response(200, text=jwe, headers={"content-type": "application/jose"})
            return httpx.Response(
                200, content=content, headers={"content-type": "application/octet-stream"}
            )
        if rest == "/supplements" and request.method == "POST":
            return self._supplement(request)
        if rest.startswith("/supplements/") and rest.endswith("/confirmation"):
            claims = {"caseId": CASE, "supplementId": rest.split("/")[2], "receivedAt": "now"}
            payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
            token = f"eyJhbGciOiJFUzI1NiJ9.{payload}.c2ln"
            return httpx.Response(200, text=token, headers={"content-type": "application/jose"})
        return _problem(404, "not-found", path)

    def _supplement(self, request: httpx.Request) -> httpx.Response:
        key = request.headers.get("idempotency-key")
        body = SupplementRequest.model_validate_json(request.content)
        for document in body.attachments:  # the hashes the client declares are the bytes'
            raw = base64.b64decode(document.content)
            assert document.hash.content == hashlib.sha512(raw).hexdigest()
        if key is None:
            return _problem(400, "malformed-request", "Idempotency-Key")
        supplement_id = self.supplements.setdefault(key, f"s-{len(self.supplements) + 1}")
        if all(sid != supplement_id for sid, _ in self.posted):
            self.posted.append((supplement_id, body.model_dump(by_alias=True)))
        links = {"self": f"/v1/submissions/{SUBMISSION}/supplements/{supplement_id}"}
        links["confirmation"] = links["self"] + "/confirmation"
        answer = {"supplementId": supplement_id, "status": "received", "_links": links}
        return httpx.Response(202, json=answer)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeAmtsweg:
    amtsweg = FakeAmtsweg()
    monkeypatch.setattr(portal, "TRANSPORT", httpx.MockTransport(amtsweg.handle))
    monkeypatch.setattr(cli_support, "console", Console(width=200))
    return amtsweg


def _portal(*args: str) -> Result:
    env = {"AMTSWEG_PORTAL_API": "http://amtsweg.test", "AMTSWEG_PORTAL_TOKEN": TOKEN}
    return CliRunner().invoke(cli, ["portal", *args], env=env)


def test_replies_are_listed_and_saved_with_their_hashes_checked(
    fake: FakeAmtsweg, tmp_path: Path
) -> None:
    fake.reply("r-1", "request", due=DUE)
    fake.reply("r-2", "decision")
    listed = _portal("replies", SUBMISSION, "--save", str(tmp_path / "inbox"))
    assert listed.exit_code == 0, listed.output
    assert f"case {CASE}: 2 reply(ies)" in listed.output
    assert f"request r-1 due {DUE}, 0 part(s): Ihr Antrag: request" in listed.output
    assert "decision r-2, 1 part(s): Ihr Antrag: decision" in listed.output
    assert f"request r-1 due {DUE}: open" in listed.output
    saved = tmp_path / "inbox" / "r-2" / "Bescheid 2026.pdf"
    assert saved.read_bytes() == BESCHEID
    assert json.loads((tmp_path / "inbox" / "r-1" / "reply.json").read_text())["kind"] == "request"
    assert sorted(p.name for p in (tmp_path / "inbox").rglob("*")) == [
        "Bescheid 2026.pdf",
        "r-1",
        "r-2",
        "reply.json",
        "reply.json",
    ]

    fake.corrupt = True
    refused = _portal("replies", SUBMISSION, "--save", str(tmp_path / "again"))
    assert refused.exit_code == 1
    assert "refused a part: SHA-512" in refused.output
    assert not (tmp_path / "again" / "r-2" / "Bescheid 2026.pdf").exists()


def test_encrypted_replies_are_opened_with_the_portals_key(
    fake: FakeAmtsweg, tmp_path: Path
) -> None:
    private = encryption_key("portal-a-enc-1")
    fake.sealer = JweSealer(public(private))
    fake.reply("r-2", "decision")
    key = write_jwk(tmp_path / "portal-a.jwk", private)

    sealed = _portal("replies", SUBMISSION, "--save", str(tmp_path / "sealed"))
    assert sealed.exit_code == 0, sealed.output
    assert "Ihr Antrag" not in sealed.output  # no key: the subject cannot be read
    kept = tmp_path / "sealed" / "r-2" / "bescheid.jwe"
    assert kept.read_text().count(".") == 4  # the JWE as it came

    opened = _portal("replies", SUBMISSION, "--save", str(tmp_path / "opened"), "--key", str(key))
    assert opened.exit_code == 0, opened.output
    assert "decision r-2, 1 part(s): Ihr Antrag: decision" in opened.output
    assert (tmp_path / "opened" / "r-2" / "Bescheid 2026.pdf").read_bytes() == BESCHEID

    another = {k: v for k, v in encryption_key("someone-else").items() if k != "kid"}
    wrong = _portal("replies", SUBMISSION, "--key", str(write_jwk(tmp_path / "x.jwk", another)))
    assert wrong.exit_code == 1
    assert "cannot decrypt" in wrong.output


def test_a_supplement_answers_a_request_and_a_retry_is_the_same_supplement(
    fake: FakeAmtsweg, tmp_path: Path
) -> None:
    fake.reply("r-1", "request", due=DUE)
    payslip = tmp_path / "lohnabrechnung.pdf"
    payslip.write_bytes(b"%PDF-1.4 Lohnabrechnung")
    args = ("supplement", SUBMISSION, str(payslip), "--answers", "r-1", "--note", "wie erbeten")
    first = _portal(*args)
    assert first.exit_code == 0, first.output
    assert f"supplement s-1 to submission {SUBMISSION}: received" in first.output
    again = _portal(*args)
    assert "supplement s-1" in again.output
    assert len(fake.posted) == 1
    (_, body) = fake.posted[0]
    assert body["answers"] == "r-1"
    assert body["note"] == "wie erbeten"
    assert body["attachments"][0]["filename"] == "lohnabrechnung.pdf"
    assert body["attachments"][0]["mimeType"] == "application/pdf"
    other = _portal("supplement", SUBMISSION, str(payslip), "--idempotency-key", "k-2")
    assert "supplement s-2" in other.output

    listed = _portal("replies", SUBMISSION, "--json")
    assert json.loads(listed.stdout)["requests"][0]["state"] == "answered"

    proof = tmp_path / "s-1.jws"
    fetched = _portal("confirmation", SUBMISSION, "--supplement", "s-1", "--out", str(proof))
    assert fetched.exit_code == 0, fetched.output
    assert f"supplement s-1 (case {CASE})" in fetched.output
    assert proof.read_text().startswith("eyJ")


def test_watch_until_a_decision_prints_each_reply_once(fake: FakeAmtsweg) -> None:
    fake.reply("r-1", "request", due=DUE)
    watched = _portal("watch", SUBMISSION, "--interval", "0", "--timeout", "10")
    assert watched.exit_code == 0, watched.output
    lines = watched.output.splitlines()
    assert lines.count("2026-03-01T09:00:00+00:00  Received") == 1
    assert sum("reply" in line and "r-1" in line for line in lines) == 1
    assert sum("decision r-2" in line for line in lines) == 1
    assert f"request r-1 due {DUE}: open" in lines
    assert lines[-1] == f"decision: submission {SUBMISSION} is accepted"
    assert fake.polls == 2


def test_an_unknown_submission_is_the_problem_amtsweg_answers(fake: FakeAmtsweg) -> None:
    for command in ("status", "replies", "watch"):
        answer = _portal(command, "7d0e0c7e-0000-4000-8000-000000000000")
        assert answer.exit_code == 1, answer.output
        assert "HTTP 404 submission-not-found" in answer.output
    no_token = CliRunner().invoke(
        cli, ["portal", "status", SUBMISSION], env={"AMTSWEG_PORTAL_TOKEN": None}
    )
    assert no_token.exit_code == 2
