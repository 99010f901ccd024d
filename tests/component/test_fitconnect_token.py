"""``POST /fit-connect/token`` and the access dependency, through the HTTP app."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import Depends, FastAPI

from events.ledger import Ledger
from events.vault import Vault
from services.fitconnect.access import bearer_access
from services.fitconnect.destinations import destination_id
from services.fitconnect.http import mount_fit_connect
from services.fitconnect.tokens import Access
from services.intake.http import create_app
from services.ops.app.bootstrap import Core
from tests.support.authority import KOELN
from tests.support.delivery import TOKENS as AUTHORITY_TOKENS
from tests.support.fitconnect import (
    TOKEN_URL,
    FakeTokens,
    access_token,
    assert_fit_connect_problem,
    client_of,
    ports,
)
from tests.support.pipeline import PORTAL_TOKENS, intake_settings, wiring

PROBE = "/fit-connect/probe"


def _app(ledger: Ledger, vault: Vault, tokens: FakeTokens, **overrides: object) -> FastAPI:
    app = create_app(ledger, vault, intake_settings(port=0))
    fit_ports = ports(tokens, **overrides)
    mount_fit_connect(app, fit_ports)
    access = bearer_access(fit_ports.tokens)

    @app.get(PROBE)
    async def probe(granted: Access = Depends(access)) -> dict[str, object]:  # noqa: B008
        return {
            "client": granted.client.client_id,
            "kind": granted.client.kind.value,
            "scopes": [str(s) for s in granted.scopes],
        }

    return app


@pytest.fixture
def tokens() -> FakeTokens:
    return FakeTokens()


@pytest.fixture
async def http(
    ledger: Ledger, vault: Vault, tokens: FakeTokens
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(_app(ledger, vault, tokens)) as client:
        yield client


def _form(client_id: str, secret: str, **extra: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": secret,
    } | extra


async def test_a_portal_gets_a_sender_token_that_opens_fit_connect_routes(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.post(TOKEN_URL, data=_form("portal-a", PORTAL_TOKENS["portal-a"]))

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "send:region:DE"
    assert answer.headers["cache-control"] == "no-store"
    probe = await http.get(PROBE, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert probe.json() == {"client": "portal-a", "kind": "sender", "scopes": ["send:region:DE"]}


async def test_an_authority_gets_a_subscriber_token_for_its_own_destination(
    http: httpx.AsyncClient,
) -> None:
    token = await access_token(http, KOELN, AUTHORITY_TOKENS[KOELN])

    probe = await http.get(PROBE, headers={"Authorization": f"Bearer {token}"})
    assert probe.json() == {
        "client": KOELN,
        "kind": "subscriber",
        "scopes": [
            f"subscribe:destination:{destination_id(KOELN)}",
            f"manage:destination:{destination_id(KOELN)}",
        ],
    }


async def test_http_basic_client_authentication_works_too(http: httpx.AsyncClient) -> None:
    basic = base64.b64encode(f"portal-b:{PORTAL_TOKENS['portal-b']}".encode()).decode()
    answer = await http.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [
        ("portal-a", "wrong"),
        ("portal-a", PORTAL_TOKENS["portal-b"]),  # another portal's token
        (KOELN, PORTAL_TOKENS["portal-a"]),
        ("nobody", "anything"),
        ("portal-a", ""),
    ],
)
async def test_wrong_credentials_are_invalid_client(
    http: httpx.AsyncClient, client_id: str, secret: str
) -> None:
    answer = await http.post(TOKEN_URL, data=_form(client_id, secret))

    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert "access_token" not in answer.text


@pytest.mark.parametrize(
    ("form", "error"),
    [
        (
            {"grant_type": "password", "client_id": "portal-a", "client_secret": "x"},
            "unsupported_grant_type",
        ),
        ({"client_id": "portal-a", "client_secret": PORTAL_TOKENS["portal-a"]}, "invalid_request"),
    ],
)
async def test_other_grants_and_missing_grant_type_are_refused(
    http: httpx.AsyncClient, form: dict[str, str], error: str
) -> None:
    answer = await http.post(TOKEN_URL, data=form)
    assert answer.status_code == 400
    assert answer.json()["error"] == error


async def test_a_parameter_given_twice_or_a_json_body_is_invalid_request(
    http: httpx.AsyncClient,
) -> None:
    twice = await http.post(
        TOKEN_URL,
        content=f"grant_type=client_credentials&client_id=portal-a&client_id=portal-b"
        f"&client_secret={PORTAL_TOKENS['portal-a']}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    as_json = await http.post(TOKEN_URL, json=_form("portal-a", PORTAL_TOKENS["portal-a"]))
    assert twice.status_code == as_json.status_code == 400
    assert twice.json()["error"] == as_json.json()["error"] == "invalid_request"


async def test_a_sender_may_narrow_its_scope_but_not_widen_it(
    ledger: Ledger, vault: Vault, tokens: FakeTokens
) -> None:
    app = _app(ledger, vault, tokens, sender_scopes=lambda portal: ("send:region:DE09",))
    secret = PORTAL_TOKENS["portal-a"]
    async with client_of(app) as http:
        narrow = await http.post(
            TOKEN_URL, data=_form("portal-a", secret, scope="send:region:DE0916")
        )
        wide = await http.post(TOKEN_URL, data=_form("portal-a", secret, scope="send:region:DE"))
        other = await http.post(
            TOKEN_URL,
            data=_form("portal-a", secret, scope=f"subscribe:destination:{destination_id(KOELN)}"),
        )
        garbage = await http.post(TOKEN_URL, data=_form("portal-a", secret, scope="openid"))

    assert narrow.status_code == 200
    assert narrow.json()["scope"] == "send:region:DE0916"
    for refused in (wide, other, garbage):
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_scope"


async def test_an_authority_cannot_ask_for_another_destination(http: httpx.AsyncClient) -> None:
    other = destination_id("jobcenter-region-hannover")
    answer = await http.post(
        TOKEN_URL,
        data=_form(KOELN, AUTHORITY_TOKENS[KOELN], scope=f"subscribe:destination:{other}"),
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_scope"


async def test_a_token_stops_working_when_it_expires(
    http: httpx.AsyncClient, tokens: FakeTokens
) -> None:
    token = await access_token(http, "portal-a", PORTAL_TOKENS["portal-a"])
    headers = {"Authorization": f"Bearer {token}"}

    tokens.clock.now += 299
    assert (await http.get(PROBE, headers=headers)).status_code == 200
    tokens.clock.now += 1
    expired = await http.get(PROBE, headers=headers)

    assert_fit_connect_problem(expired, 401, "unauthorized")
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": f"Bearer {PORTAL_TOKENS['portal-a']}"},
    ],
)
async def test_without_an_access_token_a_route_answers_401(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    answer = await http.get(PROBE, headers=headers)
    assert_fit_connect_problem(answer, 401, "unauthorized")
    assert answer.headers["www-authenticate"].startswith("Bearer")


async def test_the_composed_http_app_serves_the_token_endpoint(
    ledger: Ledger, vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    app = wiring(intake_settings(port=0), Core(ledger, vault)).http_app()
    async with client_of(app) as http:
        answer = await http.post(TOKEN_URL, data=_form("portal-a", PORTAL_TOKENS["portal-a"]))
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "send:region:DE"
