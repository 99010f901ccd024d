"""``amtsweg authority reply``: the reference receiver replies over HTTP (a served app)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner, Result

from events.ledger import Ledger
from events.reply_dossier import ReplyDossier
from events.vault import Vault
from receiver.inbox import Inbox
from services.delivery.http import create_router
from services.delivery.projector import DeliveryProjector
from services.delivery.reply_http import replies_router
from services.delivery.store import delivery_store
from services.intake.http import create_app
from services.ops.cli.main import app as cli
from tests.support.authority import KOELN, amtsweg_signer, signing_key, write_jwk
from tests.support.delivery import TOKENS, recipients, settings
from tests.support.instances import serving
from tests.support.pipeline import intake_settings
from tests.support.replies import BESCHEID, delivered, ports


@pytest.fixture
async def served(ledger: Ledger, vault: Vault) -> AsyncIterator[str]:
    known = recipients()
    app: FastAPI = create_app(ledger, vault, intake_settings(port=0))
    projector = DeliveryProjector(ledger, delivery_store(ledger.settings), known.has_callback)
    app.include_router(
        create_router(ledger, vault, projector, known, settings(), signer=amtsweg_signer())
    )
    app.include_router(replies_router(ports(ledger, vault, known)))
    async with serving(app) as url:
        yield url


async def _reply(*arguments: str, env: dict[str, str | None] | None = None) -> Result:
    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, cli, ["authority", "reply", *arguments], env=env)


async def test_a_decision_with_its_pdf_goes_signed_and_again_changes_nothing(
    served: str, ledger: Ledger, vault: Vault, tmp_path: Path
) -> None:
    submission = delivered(ledger, vault, recipients())
    assert submission.delivery_id is not None
    pdf = tmp_path / "Bescheid 2026.pdf"
    pdf.write_bytes(BESCHEID)
    key = write_jwk(tmp_path / "signing.jwk.json", signing_key())
    arguments = [
        submission.delivery_id,
        "--authority",
        KOELN,
        "--kind",
        "decision",
        "--subject",
        "Ihr Bescheid (synthetic)",
        "--part",
        str(pdf),
        "--sign-with",
        str(key),
        "--reply-id",
        "bescheid-1",
        "--api",
        served,
        "--token",
        TOKENS[KOELN],
    ]
    first = await _reply(*arguments)
    assert first.exit_code == 0, first.output
    assert "bescheid-1: recorded" in first.output
    replied = ledger.trail(submission.id)[-1]
    assert replied.event == "Replied"
    assert replied.data["signed_by"] == signing_key()["kid"]
    [part] = replied.data["parts"]
    assert part["sha512"] == hashlib.sha512(BESCHEID).hexdigest()
    dossier = ReplyDossier.of(vault, submission.id, replied.data["dossier"])
    assert [(p.part_id, p.mime_type, p.filename) for p in dossier.parts] == [
        ("Bescheid-2026.pdf", "application/pdf", "Bescheid 2026.pdf")
    ]
    again = await _reply(*arguments)
    assert again.exit_code == 0, again.output
    assert "recorded before" in again.output
    assert len(ledger.trail(submission.id)) == replied.version


async def test_a_request_for_a_submission_the_inbox_knows(
    served: str, ledger: Ledger, vault: Vault, tmp_path: Path
) -> None:
    submission = delivered(ledger, vault, recipients())
    assert submission.delivery_id is not None
    inbox = Inbox(tmp_path / "antraege")
    inbox.record(submission.delivery_id, str(submission.id), "accepted", b"{}")
    inbox.close()
    key = write_jwk(tmp_path / "signing.jwk.json", signing_key())
    result = await _reply(
        str(submission.id),
        "--authority",
        KOELN,
        "--kind",
        "request",
        "--subject",
        "Unterlagen fehlen (synthetic)",
        "--requested",
        "Gehaltsnachweis",
        "--requested",
        "Mietvertrag",
        "--due",
        "2099-01-31T23:59:59+01:00",
        "--inbox",
        str(tmp_path / "antraege"),
        "--sign-with",
        str(key),
        "--api",
        served,
        "--token",
        TOKENS[KOELN],
    )
    assert result.exit_code == 0, result.output
    [request] = ledger.get_submission(submission.id).open_requests()
    assert request.due == "2099-01-31T23:59:59+01:00"
    dossier = ReplyDossier.of(vault, submission.id, ledger.trail(submission.id)[-1].data["dossier"])
    assert dossier.requested == ("Gehaltsnachweis", "Mietvertrag")


async def test_a_refused_reply_stops_with_the_problem(
    served: str, ledger: Ledger, vault: Vault, tmp_path: Path
) -> None:
    submission = delivered(ledger, vault, recipients())
    assert submission.delivery_id is not None
    inbox = Inbox(tmp_path / "antraege")
    inbox.record(submission.delivery_id, str(submission.id), "accepted", b"{}")
    inbox.close()
    events = len(ledger.trail(submission.id))
    common = ["--authority", KOELN, "--kind", "status", "--subject", "In Bearbeitung"]
    where = ["--inbox", str(tmp_path / "antraege"), "--api", served]
    unsigned = await _reply(str(submission.id), *common, *where, "--token", TOKENS[KOELN])
    assert unsigned.exit_code == 1  # Köln has a verification key: unsigned does not count
    assert "HTTP 403" in unsigned.output
    wrong = await _reply(str(submission.id), *common, *where, "--token", "not-a-token")
    assert wrong.exit_code == 1
    assert "HTTP 401" in wrong.output
    assert len(ledger.trail(submission.id)) == events


async def test_over_kafka_a_large_decision_is_refused_before_connecting(
    ledger: Ledger, vault: Vault, tmp_path: Path
) -> None:
    submission = delivered(ledger, vault, recipients())
    assert submission.delivery_id is not None
    inbox = Inbox(tmp_path / "antraege")
    inbox.record(submission.delivery_id, str(submission.id), "accepted", b"{}")
    inbox.close()
    pdf = tmp_path / "Bescheid.pdf"
    pdf.write_bytes(b"%PDF-1.7 " + b"x" * (2 * 1024 * 1024))
    common = ["--authority", KOELN, "--kind", "decision", "--subject", "Bescheid"]
    result = await _reply(
        str(submission.id),
        *common,
        "--part",
        str(pdf),
        "--inbox",
        str(tmp_path / "antraege"),
        "--kafka",
        "--bootstrap-servers",
        "127.0.0.1:1",  # nothing listens: a connection attempt would fail differently
    )
    assert result.exit_code == 1
    assert "over HTTP" in result.output
    without = await _reply(
        str(submission.id), *common, "--kafka", env={"KAFKA_BOOTSTRAP_SERVERS": None}
    )
    assert without.exit_code == 2  # a usage error: --kafka needs a bootstrap server
    assert "bootstrap" in without.output
