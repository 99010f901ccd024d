"""The ops console in headless Chromium, against the running pipeline with a real submission.

A person signs in with an operator token, finds the submission in the list, opens its
timeline and sees its events in order and its status; then redelivers it from the page.
Screenshots are kept in ``test-output/console/`` (not committed).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import httpx
import pytest

from deploy.broker import BrokerHandle
from services.ops.app.bootstrap import SERVICES
from tests.support.browser import Page, headless_page
from tests.support.factories import json_request, xdomea_sample
from tests.support.pipeline import auth, running

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-output" / "console"
OPERATOR_TOKEN = "token-of-erika"
KOELN = "053150000000"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    digest = hashlib.sha256(OPERATOR_TOKEN.encode()).hexdigest()
    monkeypatch.setenv("AMTSWEG_OPERATOR_TOKENS", json.dumps({"erika": digest}))
    return tmp_path


async def _dispatched(client: httpx.AsyncClient) -> str:
    body = json_request(xdomea_sample(), routing={"ars": KOELN})
    posted = await client.post("/v1/submissions", json=body, headers=auth())
    assert posted.status_code == 202, posted.text
    submission_id = str(posted.json()["submissionId"])
    async with asyncio.timeout(60):
        while True:
            status = (await client.get(f"/v1/submissions/{submission_id}", headers=auth())).json()
            if status["status"] == "dispatched":
                return submission_id
            await asyncio.sleep(0.2)


async def _texts(page: Page, selector: str) -> list[str]:
    found: list[str] = await page.evaluate(
        f"[...document.querySelectorAll({json.dumps(selector)})].map(e => e.innerText.trim())"
    )
    return found


async def test_an_operator_follows_a_submission_in_the_console(
    kafka: BrokerHandle, data_dir: Path
) -> None:
    async with (
        running(set(SERVICES), kafka.bootstrap_servers) as base,
        httpx.AsyncClient(base_url=base) as client,
    ):
        submission_id = await _dispatched(client)
        async with headless_page() as page:
            await page.goto(f"{base}/ops/console/")
            await page.wait_for("!document.querySelector('#login').hidden")
            await page.evaluate(
                f"document.querySelector('#token').value = {json.dumps(OPERATOR_TOKEN)};"
                "document.querySelector('#login-form').requestSubmit(); true"
            )
            row = f"#submissions tr[data-submission='{submission_id}']"
            await page.wait_for(f"!!document.querySelector({json.dumps(row)})")
            await page.wait_for("document.querySelectorAll('#throughput polyline').length > 0")
            await page.screenshot(ARTIFACTS / "submissions.png")
            assert "dispatched" in (await _texts(page, row))[0]
            total = await page.wait_for(
                "document.querySelector('[data-counter=\"total\"] b')?.innerText"
            )
            assert int(total) >= 1

            await page.evaluate(f"document.querySelector({json.dumps(row)}).click(); true")
            await page.wait_for("document.body.dataset.view === 'submission'")
            await page.wait_for("document.querySelectorAll('#timeline tbody tr').length >= 4")
            await page.screenshot(ARTIFACTS / "timeline.png")

            assert (await _texts(page, "#submission-id")) == [submission_id]
            assert (await _texts(page, "#status")) == ["dispatched"]
            rows = await _texts(page, "#timeline tbody tr")
            events = [line.split("\t")[2] for line in rows]
            assert events[:4] == ["Received", "Validated", "Routed", "Dispatched"]
            actors = [line.split("\t")[3] for line in rows]
            assert actors[:4] == ["portal portal-a", "validation", "routing", "delivery"]
            assert "jobcenter" in rows[2]  # the authority it was routed to

            await page.evaluate(
                "document.querySelector('#redeliver-form [name=reason]').value = 'lost';"
                "document.querySelector('#redeliver-form').requestSubmit(); true"
            )
            await page.wait_for(
                "[...document.querySelectorAll('#timeline tbody tr')]"
                ".some(r => r.dataset.event === 'Redelivered')"
            )
            redelivered = [
                r for r in await _texts(page, "#timeline tbody tr") if "Redelivered" in r
            ]
            assert "operator erika" in redelivered[0]
            await page.screenshot(ARTIFACTS / "redelivered.png")
            assert not await page.evaluate("!document.querySelector('#error').hidden")
