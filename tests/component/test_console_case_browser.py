"""The console's case view in headless Chromium, on the served HTTP app (SQLite ledger, no
broker): from a submission's view to its case, with its requests and one timeline."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from events.case import ReplyKind
from events.ledger import Ledger
from events.vault import Vault
from services.ops.app.bootstrap import Core
from tests.support.browser import Page, headless_page
from tests.support.factories import new_submission
from tests.support.fitconnect_sending import served
from tests.support.pipeline import intake_settings, wiring

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-output" / "console"
OPERATOR_TOKEN = "token-of-erika"
AUTHORITY = "jobcenter-koeln"
DUE = "2030-01-31T23:59:59+00:00"


@pytest.fixture
def operator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    digest = hashlib.sha256(OPERATOR_TOKEN.encode()).hexdigest()
    monkeypatch.setenv("AMTSWEG_OPERATOR_TOKENS", json.dumps({"erika": digest}))


def _case_with_an_overdue_request(ledger: Ledger, vault: Vault) -> tuple[str, str]:
    case = new_submission(chain=ledger.chain_keys)
    case.validate("cat-1", "urn:x")
    case.route(AUTHORITY, "053150000000", "05315", "dir-1")
    envelope = vault.put_envelope(case.id, b"{}")
    case.dispatch("d-1", AUTHORITY, f"amtsweg.delivery.{AUTHORITY}", envelope)
    common: dict[str, Any] = {"authority_id": AUTHORITY, "delivery_id": "d-1", "parts": []}
    case.reply("r-1", kind=ReplyKind.REQUEST, dossier="x", request_digest="a", due=DUE, **common)
    case.mark_overdue("r-1", portal_topic=None, authority_topic=None)
    ledger.save(case)
    return str(case.id), case.case_id


async def _texts(page: Page, selector: str) -> list[str]:
    found: list[str] = await page.evaluate(
        f"[...document.querySelectorAll({json.dumps(selector)})].map(e => e.innerText.trim())"
    )
    return found


@pytest.mark.usefixtures("operator")
async def test_an_operator_opens_a_case_from_its_submission(ledger: Ledger, vault: Vault) -> None:
    submission_id, case_id = _case_with_an_overdue_request(ledger, vault)
    app = wiring(intake_settings(port=0), Core(ledger, vault)).http_app()
    async with served(app) as base, headless_page() as page:
        await page.goto(f"{base}/ops/console/#/submissions/{submission_id}")
        await page.wait_for("!document.querySelector('#login').hidden")
        await page.evaluate(
            f"document.querySelector('#token').value = {json.dumps(OPERATOR_TOKEN)};"
            "document.querySelector('#login-form').requestSubmit(); true"
        )
        await page.wait_for("document.body.dataset.view === 'submission'")
        link = await page.wait_for(
            "document.querySelector('#case-link').getAttribute('href').includes('cases')"
            " && document.querySelector('#case-link').getAttribute('href')"
        )
        assert link == f"#/cases/{case_id}"
        await page.evaluate("document.querySelector('#case-link').click(); true")
        await page.wait_for("document.body.dataset.view === 'case'")
        await page.wait_for("document.querySelectorAll('#case-timeline tbody tr').length >= 6")
        await page.screenshot(ARTIFACTS / "case.png")

        assert (await _texts(page, "#case-id")) == [case_id]
        (row,) = await _texts(page, "#case-submissions tbody tr")
        assert submission_id in row
        assert "dispatched" in row
        (request,) = await _texts(page, "#case-requests tbody tr")
        assert request.split("\t")[:3] == ["r-1", "2030-01-31 23:59:59", "overdue"]
        events = [line.split("\t")[2] for line in await _texts(page, "#case-timeline tbody tr")]
        assert events == [
            "Received",
            "Validated",
            "Routed",
            "Dispatched",
            "Replied",
            "RequestOverdue",
        ]
        replied = (await _texts(page, "#case-timeline tbody tr[data-event='Replied']"))[0]
        assert f"authority {AUTHORITY}" in replied
        assert f"request r-1 due {DUE}" in replied
        assert not await page.evaluate("!document.querySelector('#error').hidden")
