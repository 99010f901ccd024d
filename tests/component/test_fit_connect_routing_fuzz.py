"""The Routing API fuzzed from FITKO's ``routing-api.yaml`` (schemathesis), in process.

The spec, not Amtsweg's own OpenAPI document, generates the requests: schema-conforming
(positive) and schema-violating (negative) ones, plus its examples, sent to the HTTP app
as the composition root assembles it (ASGI, mounted at ``/fit-connect/routing/v1``). No
answer may be a 5xx; every answer must have a status code, media type, headers and body
the spec documents, and a request the spec forbids must be refused. Bounded and
derandomized like the intake's fuzz test (``AMTSWEG_FUZZ_EXAMPLES``, ``AMTSWEG_FUZZ_RANDOM``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode

from events.ledger import Ledger
from events.vault import Vault
from services.fitconnect.routing_api.http import PREFIX
from services.ops.app.bootstrap import Core
from tests.support.fit_connect_routing import SPEC_PATH
from tests.support.pipeline import intake_settings, wiring

MAX_EXAMPLES = int(os.environ.get("AMTSWEG_FUZZ_EXAMPLES", "100"))
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
SERVICES = [f"999000000001{n:02d}" for n in range(1, 8)]
AREAS = ["05315", "053150000000", "05", "11", "110010001001", "02", "01001"]
RUNS = [
    (path, mode)
    for path in ("/routes", "/areas", "/info")
    for mode in GenerationMode
    if path != "/info" or mode is GenerationMode.POSITIVE  # /info has no input to violate
]


@pytest.fixture
def app(ledger: Ledger, vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    return wiring(intake_settings(port=0), Core(ledger, vault)).http_app()


def _known(case: Case[Any], service: str, area: str) -> Case[Any]:
    """The case with a service of the directory and, for a region it names, a known one."""
    query = case.query if isinstance(case.query, dict) else {}
    query["leikaKey"] = service
    for name in ("ars", "ags", "areaId"):
        if name in query:
            query[name] = area if name != "ags" else area[:5]
    case.query = query
    return case


def _fuzz(
    operation: APIOperation[Any, Any, Any, Any], mode: GenerationMode, *, known: bool = False
) -> dict[int, int]:
    """Run the checks on generated requests; return how many got each status. ``known``:
    with the directory's services and known areas, so that routes are found."""
    statuses: dict[int, int] = {}
    checks = [*CHECKS, negative_data_rejection] if mode is GenerationMode.NEGATIVE else CHECKS
    cases = operation.as_strategy(generation_mode=mode)
    if known:
        cases = st.builds(_known, cases, st.sampled_from(SERVICES), st.sampled_from(AREAS))

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
        response = case.call_and_validate(base_url=f"http://localhost{PREFIX}", checks=checks)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    check()
    return statuses


@pytest.mark.parametrize(("path", "mode"), RUNS, ids=[f"{p}-{m.value}" for p, m in RUNS])
def test_the_routing_api_keeps_the_specs_promises(
    app: FastAPI, path: str, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_path(SPEC_PATH)
    schema.app = app
    operation = schema[path]["GET"]
    statuses = _fuzz(operation, mode)
    print(f"GET {path} ({mode.value}): {sum(statuses.values())} requests {statuses}")
    assert sum(statuses.values()) >= 1


def test_routes_found_keep_the_specs_promises(app: FastAPI) -> None:
    """Positive requests with the directory's services and known areas: routes are found
    (signed, with destination ids) and every answer is as the spec says."""
    schema = schemathesis.openapi.from_path(SPEC_PATH)
    schema.app = app
    statuses = _fuzz(schema["/routes"]["GET"], GenerationMode.POSITIVE, known=True)
    print(f"GET /routes (positive, known services and areas): {statuses}")
    assert statuses.get(200, 0) >= 10
