"""``amtsweg bench tokens``: FIT-Connect access tokens issued and verified per second.

Cases: ``issue`` (one ES256 signature), ``verify`` (one signature check and the claim
checks), ``issue+verify`` (what one client request costs when the client fetches a token
before every request, as FIT-Connect's do), and ``endpoint`` (``POST /fit-connect/token``
through the ASGI app in-process: form parsing, credential hash, signature, JSON; no
network). Figures go to the terminal; benchmarks print figures, they assert nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import platform
import time
from collections.abc import Callable
from typing import Annotated

import httpx
import typer
from fastapi import FastAPI
from rich.console import Console
from rich.table import Table

from harness.bench.validation import measure
from services.fitconnect.clients import Client, ClientCredentials, ClientKind
from services.fitconnect.destination_keys import DestinationKeys
from services.fitconnect.http import FitConnectPorts, mount_fit_connect
from services.fitconnect.scopes import parse_scopes
from services.fitconnect.token_keys import TokenKeys, new_token_key
from services.fitconnect.tokens import Tokens

console = Console()
BATCH = 200
PORTAL, SECRET = "bench-portal", "bench-secret"


def _credentials() -> ClientCredentials:
    expected = hashlib.sha256(SECRET.encode()).hexdigest()

    def check(client_id: str, client_secret: str) -> Client | None:
        presented = hashlib.sha256(client_secret.encode()).hexdigest()
        ok = client_id == PORTAL and presented == expected
        return Client(client_id, ClientKind.SENDER) if ok else None

    return check


def _no_keys() -> DestinationKeys:
    raise NotImplementedError  # the token endpoint needs no destination keys


def _endpoint_rate(tokens: Tokens, requests: int) -> float:
    app = FastAPI()
    ports = FitConnectPorts(
        tokens=lambda: tokens,
        credentials=_credentials(),
        sender_scopes=lambda _: ("send:region:DE",),
        destinations=lambda _: None,
        keys=_no_keys,
    )
    mount_fit_connect(app, ports)
    form = {"grant_type": "client_credentials", "client_id": PORTAL, "client_secret": SECRET}

    async def run() -> float:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            await http.post("/fit-connect/token", data=form)
            start = time.perf_counter()
            for _ in range(requests):
                answer = await http.post("/fit-connect/token", data=form)
                answer.raise_for_status()
            return requests / (time.perf_counter() - start)

    return asyncio.run(run())


def tokens_bench(
    seconds: Annotated[float, typer.Option(help="at least this long per case")] = 2.0,
    requests: Annotated[int, typer.Option(help="token endpoint requests")] = 2000,
) -> None:
    """Access tokens per second: issue, verify, both, and the token endpoint in-process."""
    tokens = Tokens(TokenKeys({"keys": [new_token_key()]}), issuer="bench", lifetime_seconds=300)
    client, scopes = Client(PORTAL, ClientKind.SENDER), parse_scopes("send:region:DE")
    token = tokens.issue(client, scopes).access_token

    def batch(step: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            for _ in range(BATCH):
                step()

        return run

    cases: dict[str, Callable[[], object]] = {
        "issue": lambda: tokens.issue(client, scopes),
        "verify": lambda: tokens.verify(token),
        "issue+verify": lambda: tokens.verify(tokens.issue(client, scopes).access_token),
    }
    table = Table(title=f"FIT-Connect access tokens (ES256) on {platform.processor() or 'cpu'}")
    table.add_column("case")
    table.add_column("per second", justify="right")
    table.add_column("CPU µs each", justify="right")
    for name, step in cases.items():
        rate = measure(batch(step), seconds)
        per_second = rate.docs_per_s * BATCH
        table.add_row(name, f"{per_second:,.0f}", f"{rate.cpu_us_per_doc / BATCH:,.1f}")
    endpoint = _endpoint_rate(tokens, requests)
    table.add_row("POST /fit-connect/token (ASGI)", f"{endpoint:,.0f}", "")
    console.print(table)
