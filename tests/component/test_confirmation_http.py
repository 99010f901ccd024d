"""The proof of receipt over HTTP: posted, fetched by its portal, verified by the CLI."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from events.chain import GENESIS
from events.checkpoint import Checkpoint, Head, signed_document
from events.checkpoint_keys import CheckpointSigner, public_jwk
from events.ledger import Ledger
from events.vault import Vault
from services.ops.app.bootstrap import Core
from services.ops.cli.main import app as cli
from tests.support.factories import xdomea_sample
from tests.support.intake import multipart
from tests.support.pipeline import auth, intake_settings, wiring

DATA = xdomea_sample()


@pytest.fixture
async def client(
    ledger: Ledger, vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AMTSWEG_DEVELOPMENT", "1")
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    app = wiring(intake_settings(port=0), Core(ledger, vault)).http_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_a_portal_gets_a_confirmation_anyone_can_verify(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    posted = await client.post("/v1/submissions", files=multipart(DATA), headers=auth())
    assert posted.status_code == 202
    links = posted.json()["_links"]
    answer = await client.get(links["confirmation"]["href"], headers=auth())
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/jose")
    keys = await client.get("/v1/keys")
    (tmp_path / "receipt.jws").write_text(answer.text)
    (tmp_path / "keys.json").write_text(keys.text)
    result = CliRunner().invoke(
        cli,
        [
            "portal",
            "verify-receipt",
            str(tmp_path / "receipt.jws"),
            "--keys",
            str(tmp_path / "keys.json"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    claims = json.loads(result.output)["claims"]
    assert claims["submissionId"] == posted.json()["submissionId"]
    assert claims["data"]["sha512"] == hashlib.sha512(DATA).hexdigest()
    trail = await client.get(f"/v1/submissions/{claims['submissionId']}/events", headers=auth())
    first = trail.json()["events"][0]
    assert claims["received"] == {"version": 1, "hash": first["hash"]}
    again = await client.get(links["confirmation"]["href"], headers=auth())
    _, payload, _ = again.text.split(".")
    assert payload == answer.text.split(".")[1]  # the same claims, byte for byte


async def test_another_portal_gets_not_found(client: httpx.AsyncClient) -> None:
    posted = await client.post("/v1/submissions", files=multipart(DATA), headers=auth())
    href = posted.json()["_links"]["confirmation"]["href"]
    answer = await client.get(href, headers=auth("portal-b"))
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_a_tampered_confirmation_fails_the_cli(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    posted = await client.post("/v1/submissions", files=multipart(DATA), headers=auth())
    answer = await client.get(posted.json()["_links"]["confirmation"]["href"], headers=auth())
    header, payload, signature = answer.text.split(".")
    (tmp_path / "receipt.jws").write_text(f"{header}.{payload[:-4]}AAAA.{signature}")
    (tmp_path / "keys.json").write_text((await client.get("/v1/keys")).text)
    result = CliRunner().invoke(
        cli,
        [
            "portal",
            "verify-receipt",
            str(tmp_path / "receipt.jws"),
            "--keys",
            str(tmp_path / "keys.json"),
        ],
    )
    assert result.exit_code == 1
    assert "refused" in result.output


async def test_the_cli_follows_the_trail_to_a_signed_checkpoint(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    posted = await client.post("/v1/submissions", files=multipart(DATA), headers=auth())
    submission_id = posted.json()["submissionId"]
    answer = await client.get(posted.json()["_links"]["confirmation"]["href"], headers=auth())
    trail = await client.get(f"/v1/submissions/{submission_id}/events", headers=auth())
    head = trail.json()["events"][-1]
    writer = CheckpointSigner(Ed25519PrivateKey.generate())
    checkpoint = Checkpoint(
        kid=writer.kid,
        sequence=1,
        created_at="2026-03-02T10:00:00+00:00",
        position=1,
        events=head["version"],
        previous=GENESIS,
        heads={submission_id: Head(head["version"], head["hash"])},
    )
    (tmp_path / "checkpoint.json").write_bytes(signed_document(checkpoint, writer.sign))
    (tmp_path / "writer.jwks.json").write_text(json.dumps({"keys": [public_jwk(writer.public)]}))
    (tmp_path / "receipt.jws").write_text(answer.text)
    (tmp_path / "keys.json").write_text((await client.get("/v1/keys")).text)
    (tmp_path / "trail.json").write_text(trail.text)
    arguments = [
        "portal",
        "verify-receipt",
        str(tmp_path / "receipt.jws"),
        "--keys",
        str(tmp_path / "keys.json"),
        "--checkpoint",
        str(tmp_path / "checkpoint.json"),
        "--checkpoint-keys",
        str(tmp_path / "writer.jwks.json"),
    ]
    result = CliRunner().invoke(cli, [*arguments, "--trail", str(tmp_path / "trail.json")])
    assert result.exit_code == 0, result.output
    assert "included in the checkpoints" in result.output
    events = trail.json()
    events["events"][0]["hash"] = "0" * 64
    (tmp_path / "altered.json").write_text(json.dumps(events))
    altered = CliRunner().invoke(cli, [*arguments, "--trail", str(tmp_path / "altered.json")])
    assert altered.exit_code == 1
