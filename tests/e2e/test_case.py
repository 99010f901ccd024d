"""One whole case on the real broker: submit, a request for a document, the supplement that
answers it, the decision in the portal's hands, and the case's timeline as operations see it.

Every part is the real one: ``amtsweg run``'s services on Kafka, the reference receiver
(``receiver.consume``) taking the delivery and the follow-up delivery, ``amtsweg authority
reply`` sending the request and the decision (signed), the portal's topic, its signed
callback and its pull routes, ``amtsweg case show`` printing the timeline. No plaintext of
the application, the supplement or the decision is on any topic: the portal has a key.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from joserfc import jwe
from joserfc.jwk import RSAKey
from typer.testing import CliRunner

from contracts import topics
from contracts.replies import MESSAGE_HEADER
from deploy.broker import BrokerHandle
from receiver.consume import ReceiverConfig, consume
from receiver.keys import jwe_registry
from services.delivery.auth import token_hash
from services.ops.app.bootstrap import SERVICES, submission_event_topics
from services.ops.cli.main import app as cli
from tests.support.authority import (
    KOELN,
    directory_file,
    encryption_key,
    public,
    signing_key,
    write_jwk,
)
from tests.support.callbacks import callback_receiver
from tests.support.factories import json_request, xdomea_sample
from tests.support.pipeline import auth, messages_on, running, trail_of, until_event

TOKEN = "authority-token-case"
PORTAL = "portal-a"
PORTAL_SECRET = "portal-callback-secret"
PORTAL_KEY = encryption_key("portal-a-enc-1")


@pytest.fixture
def authority(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh authority (its own topic on the shared broker) and the environment."""
    authority_id = f"jobcenter-case-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv(
        "AMTSWEG_DELIVERY_AUTHORITY_TOKENS", json.dumps({authority_id: token_hash(TOKEN)})
    )
    monkeypatch.setenv("AMTSWEG_DELIVERY_TICK_SECONDS", "0.1")
    monkeypatch.setenv("AMTSWEG_DELIVERY_CALLBACK_BACKOFF_SECONDS", "0.2")
    directory = directory_file(
        tmp_path,
        {
            authority_id: {
                "keys": {
                    "encryption": public(encryption_key()),
                    "verification": public(signing_key()),
                }
            }
        },
        rename={KOELN: authority_id},
    )
    monkeypatch.setenv("AMTSWEG_ROUTING_DIRECTORY", str(directory))
    return authority_id


def _portal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, callback_url: str) -> None:
    entry = {"portalId": PORTAL, "callbackUrl": callback_url, "encryptionKey": public(PORTAL_KEY)}
    path = tmp_path / "portals.json"
    path.write_text(json.dumps({"portals": [entry]}))
    monkeypatch.setenv("AMTSWEG_PORTALS_FILE", str(path))
    monkeypatch.setenv("AMTSWEG_PORTALS_CALLBACK_SECRETS", json.dumps({PORTAL: PORTAL_SECRET}))


def _opened(compact: str) -> bytes:
    registry = jwe_registry(4 * 1024 * 1024)
    opened = jwe.decrypt_compact(compact, RSAKey.import_key(PORTAL_KEY), registry=registry)
    return opened.plaintext or b""


async def _cli(*arguments: str) -> str:
    runner = CliRunner(env={"COLUMNS": "100"})  # the width the tables are made for
    result = await asyncio.to_thread(runner.invoke, cli, list(arguments))
    assert result.exit_code == 0, result.output
    return result.output


async def test_a_whole_case_from_application_to_decision(
    kafka: BrokerHandle, authority: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = f"case-marker-{uuid.uuid4().hex}"
    payslip = b"%PDF-1.7 Lohnabrechnung " + marker.encode() + b" " * 300_000
    decision = b"%PDF-1.7 Bescheid " + marker.encode() + b"." * 1_000_000
    (tmp_path / "bescheid.pdf").write_bytes(decision)
    sign_with = write_jwk(tmp_path / "signing.jwk", signing_key())
    out = tmp_path / "fachverfahren"
    due = (datetime.now(UTC) + timedelta(days=14)).isoformat(timespec="seconds")
    async with callback_receiver(PORTAL_SECRET, fail_first=1) as endpoint:
        _portal(tmp_path, monkeypatch, endpoint.url)
        async with (
            running(set(SERVICES), kafka.bootstrap_servers) as base,
            httpx.AsyncClient(base_url=base, timeout=30) as client,
        ):
            # 1. The portal submits; the authority's receiver takes the delivery.
            posted = await client.post(
                "/v1/submissions",
                json=json_request(xdomea_sample(), routing={"ars": "053150000000"}),
                headers=auth(),
            )
            assert posted.status_code == 202, posted.text
            submission_id = posted.json()["submissionId"]
            await until_event(client, submission_id, "Dispatched")
            config = ReceiverConfig(
                authority_id=authority,
                bootstrap_servers=kafka.bootstrap_servers,
                out=out,
                decryption_key=encryption_key(),
                signing_key=signing_key(),
                api=base,
                token=TOKEN,
                stop_when_idle=2,
            )
            assert (await consume(config)).handed_over == 1
            await until_event(client, submission_id, "Accepted")

            # 2. The authority asks for a payslip, by a deadline (signed, over HTTP).
            reply_args = ("authority", "reply", submission_id, "--authority", authority)
            common = ("--inbox", str(out), "--api", base, "--token", TOKEN)
            await _cli(
                *reply_args,
                "--kind", "request",
                "--subject", "Lohnabrechnung fehlt",
                "--requested", "Lohnabrechnung Oktober 2026",
                "--due", due,
                "--sign-with", str(sign_with),
                *common,
            )  # fmt: skip
            await until_event(client, submission_id, "PortalNotified")
            replies = await client.get(f"/v1/submissions/{submission_id}/replies", headers=auth())
            (request,) = replies.json()["requests"]
            assert (request["state"], request["due"]) == ("open", due)
            (envelope,) = replies.json()["replies"]
            assert envelope["kind"] == "request"
            assert envelope["signed"] is True
            content = json.loads(_opened(envelope["encryptedContent"]))
            assert content["requested"] == ["Lohnabrechnung Oktober 2026"]

            # 3. The portal hands in the payslip, answering the request.
            supplement = {
                "answers": request["replyId"],
                "note": "Nachreichung",
                "attachments": [
                    {
                        "attachmentId": "payslip-2026-10",
                        "mimeType": "application/pdf",
                        "filename": "Lohnabrechnung.pdf",
                        "hash": {"type": "sha512", "content": hashlib.sha512(payslip).hexdigest()},
                        "content": base64.b64encode(payslip).decode(),
                    }
                ],
            }
            handed = await client.post(
                f"/v1/submissions/{submission_id}/supplements",
                json=supplement,
                headers={**auth(), "Idempotency-Key": "payslip-2026-10"},
            )
            assert handed.status_code == 202, handed.text
            await until_event(client, submission_id, "SupplementDispatched")
            again = await consume(config)
            assert (again.handed_over, again.supplements) == (0, 1)  # a follow-up, no new one
            await until_event(client, submission_id, "SupplementAcknowledged")

            # 4. The decision, with the Bescheid as PDF, into the portal's hands.
            await _cli(
                *reply_args,
                "--kind", "decision",
                "--subject", "Bescheid über Bürgergeld",
                "--part", str(tmp_path / "bescheid.pdf"),
                "--sign-with", str(sign_with),
                *common,
            )  # fmt: skip
            await until_event(client, submission_id, "PortalNotified", count=2)
            replies = await client.get(f"/v1/submissions/{submission_id}/replies", headers=auth())
            assert [r["kind"] for r in replies.json()["replies"]] == ["request", "decision"]
            assert replies.json()["requests"][0]["state"] == "answered"
            final = replies.json()["replies"][1]
            (part,) = final["parts"]
            fetched = await client.get(part["reference"], headers=auth())
            assert fetched.headers["content-type"].startswith("application/jose")
            assert _opened(fetched.text) == decision
            assert hashlib.sha512(decision).hexdigest() == part["sha512"]
            trail = await trail_of(client, submission_id)

            messages = await messages_on(
                kafka.bootstrap_servers,
                [
                    topics.delivery_topic(authority),
                    topics.portal_topic(PORTAL),
                    *submission_event_topics(),
                ],
            )
            timeline = await _cli("case", "show", submission_id)

    print(f"\n$ amtsweg case show {submission_id}\n{timeline}")
    names = [e["event"] for e in trail]
    assert names[: names.index("Accepted") + 1] == [
        "Received",
        "Validated",
        "Routed",
        "Dispatched",
        "Accepted",
    ]
    case_events = [n for n in names if n in _CASE_EVENTS]
    assert case_events == [
        "Replied",
        "SupplementReceived",
        "SupplementDispatched",
        "SupplementAcknowledged",
        "Replied",
    ]
    assert names.count("PortalNotificationFailed") == 1  # the callback's first try: 503
    mine = [
        (topic, value, headers)
        for topic, value, headers in messages
        if topic != topics.portal_topic(PORTAL) or submission_id.encode() in value
    ]
    kinds = [h.get(MESSAGE_HEADER) for t, _, h in mine if t == topics.portal_topic(PORTAL)]
    assert kinds == [b"reply", b"reply"]
    to_authority = [
        h.get(MESSAGE_HEADER) for t, _, h in mine if t == topics.delivery_topic(authority)
    ]
    assert to_authority == [b"delivery", b"supplement"]
    for topic, value, _headers in mine:
        assert marker.encode() not in value, topic
        assert b"Lohnabrechnung Oktober" not in value, topic
    assert all(call.authentic for call in endpoint.calls)
    assert not any(marker.encode() in call.body for call in endpoint.calls)
    for expected in ("Replied", "SupplementReceived", "SupplementAcknowledged"):
        assert expected in timeline or expected.lower() in timeline.lower()


_CASE_EVENTS = {
    "Replied",
    "RequestOverdue",
    "SupplementReceived",
    "SupplementDispatched",
    "SupplementAcknowledged",
}
