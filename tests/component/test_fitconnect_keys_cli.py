"""``amtsweg keys list-destination-keys | rotate-destination-key | retire-destination-key``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from events.vault import Vault
from services.fitconnect.destinations import destination_id
from services.ops.cli import main as cli
from services.ops.cli import support as cli_support
from services.ops.cli.main import app
from tests.support.authority import HANNOVER


@pytest.fixture
def amtsweg(tmp_path: Path, vault: Vault, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """``amtsweg`` on the vault in ``tmp_path`` (the destinations' keys beside its key
    store), the bundled directory and catalog, a wide console."""
    monkeypatch.setattr(cli, "console", Console(width=250))
    monkeypatch.setattr(cli_support, "console", Console(width=250))
    folder = tmp_path / "vault"
    return CliRunner(
        env={
            "AMTSWEG_DATA_DIR": str(tmp_path),
            "AMTSWEG_LEDGER_URL": None,
            "AMTSWEG_DEVELOPMENT": None,
            "AMTSWEG_KEK_FILE": str(folder / "kek.json"),
            "AMTSWEG_KEYSTORE_URL": f"sqlite:///{folder / 'keys.sqlite3'}",
            "AMTSWEG_BLOB_URL": (folder / "blobs").as_uri(),
            "AMTSWEG_ROUTING_DIRECTORY": None,
        }
    )


def _run(amtsweg: CliRunner, *args: str) -> Result:
    return amtsweg.invoke(app, ["keys", *args])


def _listed(amtsweg: CliRunner, destination: str) -> list[dict[str, object]]:
    result = _run(amtsweg, "list-destination-keys", "--destination", destination, "--json")
    assert result.exit_code == 0, result.output
    keys: list[dict[str, object]] = json.loads(result.output)["keys"]
    return keys


def test_rotate_publishes_a_new_key_and_retire_refuses_until_forced(amtsweg: CliRunner) -> None:
    destination = str(destination_id(HANNOVER))
    assert _listed(amtsweg, HANNOVER) == []  # by authority id too
    first = _run(amtsweg, "rotate-destination-key", "--destination", destination, "--json")
    assert first.exit_code == 0, first.output
    second = _run(amtsweg, "rotate-destination-key", "--destination", HANNOVER)
    assert second.exit_code == 0, second.output
    assert "generation 2" in second.output
    old = json.loads(first.output)["kid"]

    listed = _listed(amtsweg, destination)
    assert [key["generation"] for key in listed] == [2, 1]
    assert [key["published"] for key in listed] == [True, False]
    assert listed[1]["kid"] == old
    assert listed[1]["supersededAt"] == listed[0]["createdAt"]

    published = _run(
        amtsweg,
        "retire-destination-key",
        "--destination",
        destination,
        "--kid",
        str(listed[0]["kid"]),
    )
    assert published.exit_code == 1
    assert "rotate first" in published.output
    refused = _run(amtsweg, "retire-destination-key", "--destination", destination, "--kid", old)
    assert refused.exit_code == 1
    assert "not retired" in refused.output
    assert "--force" in refused.output
    assert _listed(amtsweg, destination)[1]["retiredAt"] is None
    forced = _run(
        amtsweg, "retire-destination-key", "--destination", destination, "--kid", old, "--force"
    )
    assert forced.exit_code == 0, forced.output
    assert "retired anyway" in forced.output
    assert _listed(amtsweg, destination)[1]["retiredAt"] is not None
    text = _run(amtsweg, "list-destination-keys", "--destination", destination)
    assert "published" in text.output
    assert "retired" in text.output


def test_an_unknown_destination_is_refused(amtsweg: CliRunner) -> None:
    result = _run(amtsweg, "rotate-destination-key", "--destination", "no-such-authority")
    assert result.exit_code == 1
    assert "no destination 'no-such-authority'" in result.output
