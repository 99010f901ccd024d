"""The FIT-Connect API on a test app: known clients, a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from services.fitconnect.destination_keys import DestinationKeys
from services.fitconnect.http import FitConnectPorts
from services.fitconnect.problems import PROBLEM_JSON, fit_connect_problem_type
from services.fitconnect.token_keys import TokenKeys, new_token_key
from services.fitconnect.tokens import Tokens
from services.intake.auth import token_hash
from services.ops.app.fitconnect_wiring import client_credentials
from tests.support.delivery import TOKENS as AUTHORITY_TOKENS
from tests.support.pipeline import PORTAL_TOKENS

TOKEN_URL = "/fit-connect/token"


@dataclass
class Clock:
    """Seconds since the epoch, moved by the test."""

    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeTokens:
    """One token key set and a clock for a test."""

    clock: Clock = field(default_factory=Clock)
    keys: TokenKeys = field(default_factory=lambda: TokenKeys({"keys": [new_token_key()]}))

    def service(self) -> Tokens:
        return Tokens(self.keys, issuer="amtsweg-test", lifetime_seconds=300, clock=self.clock)


def _no_keys() -> DestinationKeys:
    raise AssertionError("this test uses no destination keys")


def ports(tokens: FakeTokens, **overrides: Any) -> FitConnectPorts:
    """The ports with the test's portals and authorities as clients."""
    service = tokens.service()
    values: dict[str, Any] = {
        "tokens": lambda: service,
        "credentials": client_credentials(
            {portal: token_hash(token) for portal, token in PORTAL_TOKENS.items()},
            {authority: token_hash(token) for authority, token in AUTHORITY_TOKENS.items()},
        ),
        "sender_scopes": lambda portal: ("send:region:DE",),
        "destinations": lambda destination: None,
        "keys": _no_keys,
    }
    values.update(overrides)
    return FitConnectPorts(**values)


@asynccontextmanager
async def client_of(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of ``app`` (no network)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def access_token(http: httpx.AsyncClient, client_id: str, secret: str, **form: str) -> str:
    """A token from the token endpoint (asserting that it answers one)."""
    answer = await http.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        | form,
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def assert_fit_connect_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """The response is a FIT-Connect problem with this status and slug (FITKO's type where
    FITKO names the problem, Amtsweg's otherwise); returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem: dict[str, Any] = response.json()
    assert problem["type"] == fit_connect_problem_type(slug), problem
    assert problem["status"] == status
    assert problem["title"]
    return problem
