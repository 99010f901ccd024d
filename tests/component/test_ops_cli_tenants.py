"""The CLI's operator (``--actor``/``AMTSWEG_OPERATOR``) gets its tenant scope."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

import pytest
from rich.console import Console
from typer.testing import CliRunner

from events.ledger import Ledger
from events.vault import Vault
from services.ops.cli import main as cli
from services.ops.cli import support as cli_support
from services.ops.cli.main import app
from tests.support.factories import new_submission

KOELN, DESSAU = "053150000000", "150010000000"
TENANTS = {
    "tenants": [
        {"id": "st", "name": "Sachsen-Anhalt", "states": ["15"]},
        {"id": "nw", "name": "Nordrhein-Westfalen", "states": ["05"]},
    ]
}


@pytest.fixture
def amtsweg(tmp_path: Path, vault: Vault, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(cli, "console", Console(width=250))
    monkeypatch.setattr(cli_support, "console", Console(width=250))
    folder = tmp_path / "vault"
    tenants = tmp_path / "tenants.json"
    tenants.write_text(json.dumps(TENANTS))
    return CliRunner(
        env={
            "AMTSWEG_DATA_DIR": str(tmp_path),
            "AMTSWEG_LEDGER_URL": None,
            "AMTSWEG_DEVELOPMENT": None,
            "AMTSWEG_KEK_FILE": str(folder / "kek.json"),
            "AMTSWEG_KEYSTORE_URL": f"sqlite:///{folder / 'keys.sqlite3'}",
            "AMTSWEG_BLOB_URL": (folder / "blobs").as_uri(),
            "AMTSWEG_ROUTING_DIRECTORY": None,
            "KAFKA_BOOTSTRAP_SERVERS": None,
            "AMTSWEG_TENANTS_FILE": str(tenants),
            "AMTSWEG_OPERATOR_SCOPES": json.dumps({"erika": ["st"], "root": ["*"]}),
            "AMTSWEG_OPERATOR": "erika",
        }
    )


def _routed(ledger: Ledger, authority: str, ars: str) -> UUID:
    submission = new_submission(chain=ledger.chain_keys)
    submission.validate("cat-1", "urn:x")
    submission.route(authority, ars, ars[:5], "dir-1")
    ledger.save(submission)
    return submission.id


def test_the_cli_operator_sees_only_its_tenants(amtsweg: CliRunner, ledger: Ledger) -> None:
    dessau = _routed(ledger, "jobcenter-dessau-rosslau", DESSAU)
    koeln = _routed(ledger, "jobcenter-koeln", KOELN)

    own = amtsweg.invoke(app, ["events", "show", str(dessau), "--json"])
    assert own.exit_code == 0, own.output
    foreign = amtsweg.invoke(app, ["events", "show", str(koeln)])
    assert foreign.exit_code == 1
    assert f"No submission {koeln}" in foreign.output
    assert amtsweg.invoke(app, ["verify", str(koeln)]).exit_code == 1
    redeliver = ["redeliver", str(koeln), "--reason", "lost"]
    assert "No submission" in amtsweg.invoke(app, redeliver).output

    listed = amtsweg.invoke(app, ["submissions", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [row["submission_id"] for row in json.loads(listed.stdout)["submissions"]] == [
        str(dessau)
    ]
    everything = amtsweg.invoke(
        app, ["submissions", "list", "--json"], env={"AMTSWEG_OPERATOR": "root"}
    )
    assert json.loads(everything.stdout)["total"] == 2
    acting = amtsweg.invoke(app, ["redeliver", str(koeln), "--reason", "lost", "--actor", "root"])
    assert "No submission" not in acting.output  # --actor names the operator whose scope counts


def test_an_operator_without_a_scope_is_refused(amtsweg: CliRunner, ledger: Ledger) -> None:
    _routed(ledger, "jobcenter-koeln", KOELN)
    refused = amtsweg.invoke(app, ["submissions", "list"], env={"AMTSWEG_OPERATOR": "otto"})
    assert refused.exit_code == 2
    assert "AMTSWEG_OPERATOR_SCOPES" in refused.output
