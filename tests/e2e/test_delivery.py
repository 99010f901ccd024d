"""Delivery to authorities end to end, on the real broker: encryption, the reference receiver,
signed receipts, callbacks with retries and dead letters, reminders and escalation."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from contracts import topics
from deploy.broker import BrokerHandle
from receiver.consume import ReceiverConfig, consume
from receiver.inbox import Inbox
from receiver.unpack import ReceiverError
from services.delivery.auth import token_hash
from services.ops.app.bootstrap import SERVICES, submission_event_topics
from services.ops.cli.main import app as cli
from tests.support.authority import (
    HANNOVER,
    KOELN,
    directory_file,
    encryption_key,
    public,
    signing_key,
)
from tests.support.callbacks import callback_receiver
from tests.support.factories import json_request, xdomea_sample
from tests.support.pipeline import auth, messages_on, running, trail_of, until_event

SECRET = "callback-secret-e2e"
TOKEN = "authority-token-e2e"


@pytest.fixture
def authority(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh authority id (its own topic on the shared broker), and the environment."""
    authority_id = f"jobcenter-e2e-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv(
        "AMTSWEG_DELIVERY_AUTHORITY_TOKENS", json.dumps({authority_id: token_hash(TOKEN)})
    )
    monkeypatch.setenv("AMTSWEG_DELIVERY_CALLBACK_SECRETS", json.dumps({authority_id: SECRET}))
    monkeypatch.setenv("AMTSWEG_DELIVERY_INLINE_LIMIT_BYTES", "20000")
    monkeypatch.setenv("AMTSWEG_DELIVERY_TICK_SECONDS", "0.1")
    monkeypatch.setenv("AMTSWEG_DELIVERY_CALLBACK_BACKOFF_SECONDS", "0.2")
    return authority_id


def _directory(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    base: str,
    authority: str,
    entry: dict[str, Any],
) -> None:
    path = directory_file(tmp_path, {authority: entry}, rename={base: authority})
    monkeypatch.setenv("AMTSWEG_ROUTING_DIRECTORY", str(path))


def _document(marker: str) -> bytes:
    sample = xdomea_sample()
    declaration, _, rest = sample.partition(b"?>")
    return declaration + b"?>\n<!-- " + marker.encode() + b" -->" + rest


async def _post(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
    answer = await client.post("/v1/submissions", json=body, headers=auth())
    assert answer.status_code == 202, answer.text
    submission_id: str = answer.json()["submissionId"]
    return submission_id


async def test_encrypted_delivery_is_received_checked_and_accepted_with_a_signed_receipt(
    kafka: BrokerHandle, authority: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = f"plaintext-marker-{uuid.uuid4().hex}"
    document = _document(marker)
    large = b"%PDF-1.7 " + marker.encode() + b" Kontoauszug" * 3000  # beyond the inline limit
    small = b"%PDF-1.7 " + marker.encode() + b" Mietvertrag"
    attachments = [(str(uuid.uuid4()), small), (str(uuid.uuid4()), large)]
    async with callback_receiver(SECRET, fail_first=2) as endpoint:
        _directory(
            tmp_path,
            monkeypatch,
            KOELN,
            authority,
            {
                "keys": {
                    "encryption": public(encryption_key()),
                    "verification": public(signing_key()),
                },
                "channel": {"callbackUrl": endpoint.url},
            },
        )
        async with (
            running(set(SERVICES), kafka.bootstrap_servers) as base,
            httpx.AsyncClient(base_url=base, timeout=30) as client,
        ):
            submission_id = await _post(
                client,
                json_request(document, routing={"ars": "053150000000"}, attachments=attachments),
            )
            await until_event(client, submission_id, "CallbackDelivered")

            messages = await messages_on(
                kafka.bootstrap_servers,
                [topics.delivery_topic(authority), *submission_event_topics()],
            )
            secrets = [marker.encode(), base64.b64encode(document), base64.b64encode(small)]
            for topic, value, _headers in messages:
                assert not any(secret in value for secret in secrets), topic
            envelopes = [
                json.loads(v) for t, v, _ in messages if t == topics.delivery_topic(authority)
            ]
            assert [e["submissionId"] for e in envelopes] == [submission_id]
            assert envelopes[0]["encryption"]["kid"] == encryption_key()["kid"]

            out = tmp_path / "fachverfahren"
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
            summary = await consume(config)
            assert (summary.handed_over, summary.rejected, summary.duplicates) == (1, 0, 0)
            trail = await until_event(client, submission_id, "Accepted")

            again = await consume(
                ReceiverConfig(**{**config.__dict__, "group_id": "second-reading"})
            )
            assert (again.handed_over, again.duplicates) == (0, 1)  # deduped by delivery id

            with pytest.raises(ReceiverError, match="cannot decrypt"):
                await consume(
                    ReceiverConfig(
                        **{
                            **config.__dict__,
                            "out": tmp_path / "wrong",
                            "group_id": "wrong-key",
                            "decryption_key": encryption_key("not-ours"),
                        }
                    )
                )
            await asyncio.sleep(1)
            final = await trail_of(client, submission_id)

    folder = out / envelopes[0]["deliveryId"]
    assert (folder / "data.xml").read_bytes() == document
    assert (folder / "attachments" / f"{attachments[0][0]}.pdf").read_bytes() == small
    assert (folder / "attachments" / f"{attachments[1][0]}.pdf").read_bytes() == large
    assert Inbox(out).count() == 1
    assert [p.name for p in (tmp_path / "wrong").iterdir()] == [".amtsweg-receiver.sqlite3"]

    names = [e["event"] for e in final]
    assert names == [
        "Received",
        "Validated",
        "Routed",
        "Dispatched",
        "CallbackFailed",
        "CallbackFailed",
        "CallbackDelivered",
        "Accepted",
    ]
    assert final == trail  # the second receipt and the wrong key changed nothing
    assert final[-1]["data"]["signed_receipt"].count(".") == 2
    assert [c.answered for c in endpoint.calls] == [503, 503, 200]
    assert all(c.authentic for c in endpoint.calls)
    notice = json.loads(endpoint.calls[-1].body)
    assert notice["deliveries"][0]["deliveryId"] == envelopes[0]["deliveryId"]
    assert marker.encode() not in endpoint.calls[-1].body

    ledger_files = list((tmp_path / "var").glob("ledger.sqlite3*"))
    assert ledger_files
    for path in ledger_files:
        content = path.read_bytes()
        assert not any(secret in content for secret in secrets), path.name


async def test_unanswered_delivery_dead_letters_its_callback_is_reminded_and_escalated(
    kafka: BrokerHandle, authority: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMTSWEG_DELIVERY_CALLBACK_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("AMTSWEG_DELIVERY_REMIND_AFTER_SECONDS", "[2]")
    monkeypatch.setenv("AMTSWEG_DELIVERY_ESCALATE_AFTER_SECONDS", "6")
    async with callback_receiver(SECRET, fail_first=1000) as endpoint:
        _directory(
            tmp_path, monkeypatch, HANNOVER, authority, {"channel": {"callbackUrl": endpoint.url}}
        )
        async with (
            running(set(SERVICES), kafka.bootstrap_servers) as base,
            httpx.AsyncClient(base_url=base, timeout=30) as client,
        ):
            submission_id = await _post(
                client, json_request(xdomea_sample(), routing={"ars": "032410001001"})
            )
            trail = await until_event(client, submission_id, "Escalated", timeout=60)
            await asyncio.sleep(1)  # nothing follows an escalation
            final = await trail_of(client, submission_id)
            messages = await messages_on(
                kafka.bootstrap_servers, [topics.delivery_topic(authority)]
            )

    names = [e["event"] for e in final]
    assert names[:6] == [
        "Received",
        "Validated",
        "Routed",
        "Dispatched",
        "CallbackFailed",
        "DeliveryFailed",
    ]
    assert (names.count("Reminded"), names.count("Escalated")) == (1, 1)
    assert names.index("Reminded") < names.index("Escalated")
    assert names.count("DeliveryFailed") == 2  # the first notice and the reminder's
    assert "Escalated" in [e["event"] for e in trail]
    dead_letter = final[5]["data"]
    assert (dead_letter["attempts"], dead_letter["reason"], dead_letter["notice"]) == (
        2,
        "HTTP 503",
        0,
    )
    assert [e["data"]["stage"] for e in final if e["event"] == "Reminded"] == [1]

    assert len(messages) == 2  # the dispatch, and the reminder's re-notification
    (_, first_value, first_headers), (_, second_value, second_headers) = messages
    assert first_value == second_value  # the same envelope, the same delivery id
    assert (first_headers["amtsweg-notice"], second_headers["amtsweg-notice"]) == (b"0", b"1")
    assert len(endpoint.calls) == 4
    assert all(c.authentic for c in endpoint.calls)

    listed = CliRunner().invoke(cli, ["deliveries", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = [r for r in json.loads(listed.output) if r["submission_id"] == submission_id]
    assert len(rows) == 1
    assert (rows[0]["escalated"], rows[0]["dead_letter"], rows[0]["reminders"]) == (True, True, 1)
