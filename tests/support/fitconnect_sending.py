"""Sending over FIT-Connect in tests: a served app, destination keys, the real client.

The app (intake plus FIT-Connect API) is served by uvicorn on a free port, and FITKO's
Python client (PyPI ``fitconnect``, unmodified) is pointed at it by its own attributes
(``token_url``, ``submission_api_url``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fitconnect import Environment, FITConnectClient  # type: ignore[import-untyped]

from events.ledger import Ledger
from events.vault import LocalKeyFile, Vault
from services.fitconnect.certificates import InstanceCA, x5c_of
from services.fitconnect.destination_directory import DestinationService, SubmissionSchema
from services.fitconnect.destination_keys import DestinationKeys
from services.fitconnect.key_table import KeyTable
from services.fitconnect.submission_table import SubmissionTable
from services.fitconnect.submissions_http import SendingPorts
from services.intake.settings import IntakeSettings
from services.ops.app.fitconnect_intake import fit_connect_intake
from tests.support.authority import HANNOVER
from tests.support.pipeline import PORTAL_TOKENS, free_port

LEIKA = "99900000000102"
SCHEMA = SubmissionSchema(
    "https://schema.fitko.de/fim/s00000122_1.0.0.schema.json", "application/json"
)
SERVICES: dict[str, tuple[DestinationService, ...]] = {
    HANNOVER: (DestinationService(LEIKA, ("03241",), (SCHEMA,)),)
}
EVERY = (DestinationService(LEIKA, (), (SCHEMA,)),)
DATA = {"$schema": SCHEMA.schema_uri, "antragsteller": {"name": "Erika Mustermann"}}
ATTACHMENT = b"%PDF-1.4\n" + b"Anlage " * 2000 + b"\n%%EOF\n"


class _QuietServer(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """``app`` on a free local port until the block ends; its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def destination_keys(folder: Path) -> DestinationKeys:
    """Destination keys in ``folder``, certified by a fresh instance CA."""
    ca = InstanceCA.generate()

    def material(destination: uuid.UUID) -> tuple[rsa.RSAPrivateKey, list[x509.Certificate]]:
        private = rsa.generate_private_key(65537, 4096)
        return private, ca.certify(private.public_key(), destination, days=30)

    kek = LocalKeyFile.create(folder / "kek.json")
    return DestinationKeys(KeyTable.sqlite(folder / "keys.sqlite3"), kek, material, x5c_of)


def sending_ports(
    ledger: Ledger, vault: Vault, table: SubmissionTable, settings: IntakeSettings
) -> SendingPorts:
    """The sending routes' ports over the intake of ``ledger`` and ``vault``."""
    return SendingPorts(
        table=lambda: table,
        vault=lambda: vault,
        intake=fit_connect_intake(ledger, vault, settings),
        max_part_bytes=settings.max_attachment_bytes,
        max_metadata_bytes=settings.max_metadata_bytes,
        max_attachments=settings.max_attachments,
    )


def python_client(base: str, portal: str = "portal-a") -> Any:
    """FITKO's client for ``portal``, pointed at the app served at ``base``."""
    client = FITConnectClient(Environment.TESTING, portal, PORTAL_TOKENS[portal])
    client.token_url = f"{base}/fit-connect/token"
    client.submission_api_url = f"{base}/fit-connect/v1"
    return client
