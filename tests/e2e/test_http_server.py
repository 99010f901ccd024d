"""The HTTP server as ``amtsweg run`` starts it: header limits and security headers on the wire."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from deploy.broker import BrokerHandle
from tests.support.factories import json_request, xdomea_sample
from tests.support.pipeline import auth, running


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    return tmp_path


async def test_the_server_bounds_headers_and_sends_security_headers(
    kafka: BrokerHandle, data_dir: Path
) -> None:
    async with (
        running({"intake"}, kafka.bootstrap_servers) as base,
        httpx.AsyncClient(base_url=base) as client,
    ):
        health = await client.get("/healthz")
        assert health.status_code == 200
        assert health.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in health.headers["content-security-policy"]

        oversized = {**auth(), "X-Padding": "x" * 20_000}  # beyond the 16 KiB default
        refused = await client.post(
            "/v1/submissions", json=json_request(xdomea_sample()), headers=oversized
        )
        assert refused.status_code == 431
        assert refused.json()["type"].endswith("/headers-too-large")
        assert refused.headers["x-content-type-options"] == "nosniff"

        accepted = await client.post(
            "/v1/submissions", json=json_request(xdomea_sample()), headers=auth()
        )
        assert accepted.status_code == 202, accepted.text
