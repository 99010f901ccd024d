"""``amtsweg docs``: the AsyncAPI and OpenAPI documents, as committed in ``docs/``.

Both are built from the code the processes run (the FastStream handlers and the HTTP
app), on a throwaway ledger; a test fails when the committed files differ.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from events.ledger import Ledger
from events.settings import LedgerSettings
from events.vault import local_vault
from services.delivery.signing import create_key_file
from services.ops.app.bootstrap import Core, Wiring
from services.ops.app.logs import configure_logging
from services.ops.app.settings import Settings
from services.ops.asyncapi.document import asyncapi_document

ASYNCAPI = "asyncapi.json"
OPENAPI = "openapi.json"


def documents() -> dict[str, dict[str, Any]]:
    """File name → document."""
    with tempfile.TemporaryDirectory(prefix="amtsweg-docs-") as folder:
        data_dir = Path(folder)
        configured = Settings.from_environment()
        signing_keys = data_dir / "envelope-signing.jwks.json"
        create_key_file(signing_keys)  # a throwaway key: documents show no key
        settings = dataclasses.replace(
            configured,
            run=configured.run.model_copy(update={"data_dir": data_dir}),
            ledger=LedgerSettings(data_dir=data_dir, ledger_url=None),
            delivery=configured.delivery.model_copy(update={"signing_keys_file": signing_keys}),
        )
        ledger = Ledger(settings.ledger)
        wiring = Wiring(settings, Core(ledger, local_vault(data_dir / "vault")))
        try:
            return {ASYNCAPI: asyncapi_document(wiring), OPENAPI: wiring.http_app().openapi()}
        finally:
            wiring.close()


def render(document: dict[str, Any]) -> str:
    """The file's text: stable, readable JSON."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_documents(out: Path) -> list[Path]:
    """Write every document into ``out``; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in documents().items():
        path = out / name
        path.write_text(render(document), encoding="utf-8")
        written.append(path)
    return written


def docs(
    out: Annotated[Path, typer.Option("--out", help="folder to write into")] = Path("docs"),
) -> None:
    """Write docs/asyncapi.json (Kafka topics) and docs/openapi.json (HTTP API)."""
    configure_logging(level="WARNING")
    for path in write_documents(out):
        typer.echo(f"wrote {path}")
