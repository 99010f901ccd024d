"""Realistic sizes through the reference receiver, on the real broker: a 200 KB document
inline and a 5 MB attachment fetched over HTTP, both encrypted, both opened and checked;
beside them on the topic, envelopes not signed by Amtsweg, which it refuses."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import uuid
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from contracts import topics
from contracts.envelope_signature import SIGNATURE_HEADER
from deploy.broker import BrokerHandle
from receiver.consume import ReceiverConfig, consume
from services.delivery.auth import token_hash
from services.ops.app.bootstrap import SERVICES
from tests.support.authority import KOELN, directory_file, encryption_key, public, signing_key
from tests.support.factories import json_request, xdomea_sample
from tests.support.pipeline import auth, running, topic_reader

TOKEN = "authority-token-sizes"
KB = 1024


def _document(size: int) -> bytes:
    """The xdomea sample grown to ``size`` bytes by a comment (still a valid document)."""
    declaration, _, rest = xdomea_sample().partition(b"?>")
    padding = base64.b64encode(os.urandom(size))[: size - len(declaration) - len(rest) - 12]
    return declaration + b"?>\n<!-- " + padding + b" -->" + rest


async def _trail(client: httpx.AsyncClient, submission_id: str) -> list[str]:
    page = await client.get(f"/v1/submissions/{submission_id}/events", headers=auth())
    return [e["event"] for e in page.json()["events"]]


async def _delivered(bootstrap: str, authority: str) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The envelope the relay published on the authority's topic, with its headers."""
    async with topic_reader(bootstrap, topics.delivery_topic(authority)) as reader:
        async with asyncio.timeout(60):
            while not (batch := await reader.getmany(timeout_ms=500)):
                pass
    (record,) = [r for records in batch.values() for r in records]
    return record.value, list(record.headers)


async def _forge(
    bootstrap: str, authority: str, genuine: tuple[bytes, list[tuple[str, bytes]]]
) -> None:
    """What anyone with write access to the topic could add: the same envelope pointing
    its attachment at another host, once unsigned and once with the genuine signature."""
    value, headers = genuine
    assert SIGNATURE_HEADER in dict(headers)
    envelope = json.loads(value)
    reference = envelope["attachments"][0]["reference"]
    envelope["attachments"][0]["reference"] = "https://attacker.example" + reference[-80:]
    envelope["deliveryId"] = str(uuid.uuid4())
    forged = json.dumps(envelope).encode()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=8 * 1024 * 1024)
    await producer.start()
    try:
        topic = topics.delivery_topic(authority)
        await producer.send_and_wait(topic, forged)
        await producer.send_and_wait(topic, forged, headers=headers)
    finally:
        await producer.stop()


async def test_a_200_kb_document_and_a_5_mb_attachment_arrive_and_forgeries_are_refused(
    kafka: BrokerHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    authority = f"jobcenter-sizes-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv(
        "AMTSWEG_DELIVERY_AUTHORITY_TOKENS", json.dumps({authority: token_hash(TOKEN)})
    )
    keys = {"encryption": public(encryption_key()), "verification": public(signing_key())}
    path = directory_file(tmp_path, {authority: {"keys": keys}}, rename={KOELN: authority})
    monkeypatch.setenv("AMTSWEG_ROUTING_DIRECTORY", str(path))
    document = _document(200 * KB)
    attachment = b"%PDF-1.7\n" + os.urandom(5 * KB * KB)
    attachment_id = str(uuid.uuid4())
    body = json_request(
        document, routing={"ars": "053150000000"}, attachments=[(attachment_id, attachment)]
    )

    async with (
        running(set(SERVICES), kafka.bootstrap_servers) as base,
        httpx.AsyncClient(base_url=base, timeout=60) as client,
    ):
        answer = await client.post("/v1/submissions", json=body, headers=auth())
        assert answer.status_code == 202, answer.text
        submission_id = answer.json()["submissionId"]
        genuine = await _delivered(kafka.bootstrap_servers, authority)
        await _forge(kafka.bootstrap_servers, authority, genuine)
        out = tmp_path / "fachverfahren"
        config = ReceiverConfig(
            authority_id=authority,
            bootstrap_servers=kafka.bootstrap_servers,
            out=out,
            decryption_key=encryption_key(),
            signing_key=signing_key(),
            api=base,
            token=TOKEN,
            stop_when_idle=5,
        )
        summary = await consume(config)  # idle only once the one delivery is handled
        async with asyncio.timeout(60):
            while "Accepted" not in await _trail(client, submission_id):
                await asyncio.sleep(0.1)

    assert (summary.handed_over, summary.rejected, summary.skipped) == (1, 0, 0)
    assert summary.refused == 2  # the unsigned one and the tampered one
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    delivered = json.loads((folder / "delivery.json").read_text())
    files = {part["partId"]: folder / part["file"] for part in delivered["parts"]}
    received_document = files[delivered["parts"][0]["partId"]].read_bytes()
    received_attachment = files[attachment_id].read_bytes()
    assert len(received_document) == len(document) > 200 * KB - 100
    assert hashlib.sha512(received_document).digest() == hashlib.sha512(document).digest()
    assert len(received_attachment) == len(attachment) > 5 * KB * KB
    assert hashlib.sha512(received_attachment).digest() == hashlib.sha512(attachment).digest()
    assert [p["sha512"] for p in delivered["parts"]] == [
        hashlib.sha512(document).hexdigest(),
        hashlib.sha512(attachment).hexdigest(),
    ]
