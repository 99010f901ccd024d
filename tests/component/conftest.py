"""Fixtures of the component tests: a SQLite ledger and a vault in a temporary folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from events.ledger import Ledger
from events.vault import Vault
from services.intake.http import create_app
from tests.support.intake import ApiClient
from tests.support.pipeline import intake_settings


@pytest.fixture
def api(ledger: Ledger, vault: Vault) -> ApiClient:
    """``async with api(**setting overrides) as client``: the intake app on this ledger."""

    @asynccontextmanager
    async def client(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        settings = intake_settings(port=0).model_copy(update=overrides)
        app = create_app(ledger, vault, settings)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http

    return client


@pytest.fixture
async def client(api: ApiClient) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the intake app with the default settings (portals a and b)."""
    async with api() as http:
        yield http
