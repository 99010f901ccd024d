"""README's example for FIT-Connect senders, run as written against a served Amtsweg.

The block after ``<!-- example: fit-connect-sender -->`` is executed unchanged with the
environment it reads (Amtsweg's URL, the portal's credentials, a destination id) and a
``nachweis.pdf`` in its working directory; it must print the submission id and status,
and Amtsweg must have recorded the submission with the attachment as sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from pathlib import Path

import pytest
from fastapi import FastAPI

from events.ledger import Ledger
from events.vault import Vault
from services.fitconnect.destination_directory import directory_of
from services.fitconnect.destinations import destination_id
from services.fitconnect.http import mount_fit_connect
from services.fitconnect.submission_table import SubmissionTable
from services.intake.http import create_app
from tests.support.authority import HANNOVER
from tests.support.fitconnect import FakeTokens, ports
from tests.support.fitconnect_sending import (
    EVERY,
    SERVICES,
    destination_keys,
    sending_ports,
    served,
)
from tests.support.pipeline import PORTAL_TOKENS, intake_settings

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- example: fit-connect-sender -->"


def example() -> str:
    text = README.read_text(encoding="utf-8")
    after = text[text.index(MARKER) + len(MARKER) :]
    fence = after.index("```python\n") + len("```python\n")
    return after[fence : after.index("```\n", fence)]


@pytest.fixture
def app(ledger: Ledger, vault: Vault, tmp_path: Path) -> FastAPI:
    settings = intake_settings(port=0)
    app = create_app(ledger, vault, settings)
    keys = destination_keys(tmp_path)
    table = SubmissionTable.sqlite(tmp_path / "fit-connect.sqlite3")
    fit_ports = ports(
        FakeTokens(),
        destinations=directory_of(SERVICES, EVERY),
        keys=lambda: keys,
        sending=sending_ports(ledger, vault, table, settings),
    )
    mount_fit_connect(app, fit_ports)
    return app


async def test_the_readme_example_sends_a_submission_amtsweg_records(
    app: FastAPI,
    ledger: Ledger,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    attachment = b"%PDF-1.4\n" + b"Einkommensnachweis " * 5000 + b"\n%%EOF\n"
    (tmp_path / "nachweis.pdf").write_bytes(attachment)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PORTAL_ID", "portal-a")
    monkeypatch.setenv("PORTAL_TOKEN", PORTAL_TOKENS["portal-a"])
    monkeypatch.setenv("DESTINATION_ID", str(destination_id(HANNOVER)))
    code = compile(example(), "README.md (fit-connect-sender)", "exec")

    async with served(app) as base:
        monkeypatch.setenv("AMTSWEG_URL", base)
        await asyncio.to_thread(exec, code, {"__name__": "readme_example"})

    printed = capsys.readouterr().out.split()
    submission_id, status = uuid.UUID(printed[0]), printed[1]
    assert status == "received"
    received = ledger.trail(submission_id)[0].data
    assert received["portal_id"] == "portal-a"
    assert [a["sha512"] for a in received["attachments"]] == [
        hashlib.sha512(attachment).hexdigest()
    ]
