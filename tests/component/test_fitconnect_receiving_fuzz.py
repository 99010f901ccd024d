"""The receiving side of the Submission API fuzzed from FITKO's spec (schemathesis), in
process: ``send-case-event``, destination management and ``get-info``.

The vendored ``submission-api.v1.1.3.yaml`` generates the requests (schema-conforming and,
where there is input to violate, schema-violating ones), sent with a subscriber's token of
Hannover to the HTTP app as the composition root assembles it. No answer may be a 5xx;
every answer must have a status code, media type, headers and body the spec documents.
Bounded and derandomized like the other fuzz tests (``AMTSWEG_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode

from events.ledger import Ledger
from events.vault import Vault
from services.fitconnect.destinations import destination_id
from services.intake.auth import token_hash
from services.ops.app.bootstrap import Core
from tests.support.authority import HANNOVER
from tests.support.delivery import TOKENS as AUTHORITY_TOKENS
from tests.support.fitconnect_spec import SPEC
from tests.support.pipeline import intake_settings, wiring

DESTINATION = str(destination_id(HANNOVER))
MAX_EXAMPLES = int(os.environ.get("AMTSWEG_FUZZ_EXAMPLES", "25"))
DERANDOMIZE = "AMTSWEG_FUZZ_RANDOM" not in os.environ
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
pytestmark = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module:hypothesis.errors.HypothesisDeprecationWarning"
)
schemathesis.openapi.media_type(
    "application/jose",
    st.one_of(
        st.binary(max_size=300),
        st.from_regex(r"\A[A-Za-z0-9_-]{1,60}\.[A-Za-z0-9_-]{1,200}\.[A-Za-z0-9_-]{0,60}\Z").map(
            str.encode
        ),
    ),
)  # a SET's shape (and any bytes): signatures do not verify, so nothing is recorded
RUNS = [
    ("/v1/info", "GET", GenerationMode.POSITIVE),
    ("/v1/cases/{caseId}/events", "POST", GenerationMode.POSITIVE),
    ("/v1/cases/{caseId}/events", "POST", GenerationMode.NEGATIVE),
    ("/v1/destinations", "GET", GenerationMode.POSITIVE),
    ("/v1/destinations", "POST", GenerationMode.POSITIVE),
    ("/v1/destinations/{destinationId}", "PATCH", GenerationMode.POSITIVE),
    ("/v1/destinations/{destinationId}", "PUT", GenerationMode.POSITIVE),
    ("/v1/destinations/{destinationId}", "DELETE", GenerationMode.POSITIVE),
    ("/v1/destinations/{destinationId}/keys", "POST", GenerationMode.POSITIVE),
]


@pytest.fixture
def app(ledger: Ledger, vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(
        "AMTSWEG_DELIVERY_AUTHORITY_TOKENS",
        json.dumps({HANNOVER: token_hash(AUTHORITY_TOKENS[HANNOVER])}),
    )
    return wiring(intake_settings(port=0), Core(ledger, vault)).http_app()


def _token(app: FastAPI) -> str:
    with TestClient(app) as client:
        answer = client.post(
            "/fit-connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": HANNOVER,
                "client_secret": AUTHORITY_TOKENS[HANNOVER],
            },
        )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def _own(case: Case[Any]) -> Case[Any]:
    """The case about Hannover's own destination, so that more than ``404`` is answered."""
    if isinstance(case.path_parameters, dict) and "destinationId" in case.path_parameters:
        case.path_parameters["destinationId"] = DESTINATION
    return case


def _fuzz(
    operation: APIOperation[Any, Any, Any, Any], mode: GenerationMode, token: str
) -> dict[int, int]:
    statuses: dict[int, int] = {}
    cases = operation.as_strategy(generation_mode=mode)
    if mode is GenerationMode.POSITIVE:
        cases = cases.map(_own)

    @given(case=cases)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=DERANDOMIZE,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Case[Any]) -> None:
        response = case.call_and_validate(
            base_url="http://localhost/fit-connect",
            headers={"Authorization": f"Bearer {token}"},
            checks=CHECKS,
        )
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    check()
    return statuses


@pytest.mark.parametrize(
    ("path", "method", "mode"), RUNS, ids=[f"{m} {p} {g.value}" for p, m, g in RUNS]
)
def test_the_receiving_side_keeps_the_specs_promises(
    app: FastAPI, path: str, method: str, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_path(SPEC)
    schema.app = app
    statuses = _fuzz(schema[path][method], mode, _token(app))
    print(f"{method} {path} ({mode.value}): {sum(statuses.values())} requests {statuses}")
    assert sum(statuses.values()) >= 1
