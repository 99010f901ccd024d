"""``amtsweg docs``: the committed AsyncAPI and OpenAPI documents are what the code produces."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from contracts import topics
from services.ops.app.bootstrap import submission_event_topics
from services.ops.asyncapi.channels import DELIVERY_CHANNEL
from services.ops.cli.docs import ASYNCAPI, OPENAPI
from services.ops.cli.main import app

COMMITTED = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    result = CliRunner().invoke(app, ["docs", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("name", [ASYNCAPI, OPENAPI])
def test_the_committed_document_is_what_amtsweg_docs_writes(written: Path, name: str) -> None:
    produced = (written / name).read_text(encoding="utf-8")
    committed = (COMMITTED / name).read_text(encoding="utf-8")
    if produced != committed:
        diff = difflib.unified_diff(
            committed.splitlines(), produced.splitlines(), f"docs/{name}", "amtsweg docs", n=2
        )
        excerpt = "\n".join(list(diff)[:60])
        pytest.fail(f"docs/{name} is out of date: run `amtsweg docs --out docs/`\n{excerpt}")


@pytest.mark.parametrize("name", [ASYNCAPI, OPENAPI])
def test_every_reference_in_a_document_resolves(written: Path, name: str) -> None:
    document = json.loads((written / name).read_text(encoding="utf-8"))
    references = list(_references(document))
    assert references
    for reference in references:
        node: Any = document
        for escaped in reference.removeprefix("#/").split("/"):
            part = escaped.replace("~1", "/").replace("~0", "~")
            assert isinstance(node, dict), reference
            assert part in node, reference
            node = node[part]


def test_asyncapi_describes_every_topic_amtsweg_reads_or_writes(written: Path) -> None:
    document = json.loads((written / ASYNCAPI).read_text(encoding="utf-8"))
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses >= {
        topics.INTAKE,
        topics.INTAKE_DLQ,
        topics.RECEIPTS,
        DELIVERY_CHANNEL,
        *submission_event_topics(),
    }
    actions = {(op["action"], op["channel"]["$ref"]) for op in document["operations"].values()}
    for topic in (topics.INTAKE, topics.RECEIVED, topics.VALIDATED, topics.ROUTED):
        assert ("receive", f"#/channels/{topic}") in actions, topic
    assert ("send", f"#/channels/{topics.RECEIVED}") in actions  # the relay, with aiokafka
    assert ("send", f"#/channels/{topics.INTAKE_DLQ}") in actions
    messages = document["components"]["messages"]
    assert messages["SubmissionEvent"]["payload"] == {
        "$ref": "#/components/schemas/SubmissionEventMessage"
    }
    assert messages["IntakeMessage"]["payload"] == {"$ref": "#/components/schemas/IntakeMessage"}
    assert "EmptyPayload" not in document["components"]["schemas"]


def test_openapi_has_the_portals_and_the_authorities_routes(written: Path) -> None:
    document = json.loads((written / OPENAPI).read_text(encoding="utf-8"))
    assert {"/v1/submissions", "/v1/deliveries/{delivery_id}/receipt"} <= set(document["paths"])
    assert "/metrics" not in document["paths"]


def _references(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _references(value)]
    if isinstance(node, list):
        return [r for value in node for r in _references(value)]
    return []
