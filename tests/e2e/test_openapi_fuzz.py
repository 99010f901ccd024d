"""The running intake, fuzzed from its own OpenAPI document (schemathesis).

Real HTTP on a free port, the real broker, a valid portal token. Every operation gets
schema-conforming (positive) and schema-violating (negative) requests, plus the
documented examples; no answer may be a 5xx, and every answer must have a documented
status code, content type, headers and body schema. Bounded: a fixed number of
examples per operation and mode, derandomized, so a run takes well under a minute.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import APIOperation, Case
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode

from deploy.broker import BrokerHandle
from tests.support.pipeline import auth, running

MAX_EXAMPLES = int(os.environ.get("AMTSWEG_FUZZ_EXAMPLES", "60"))
"""Per operation and mode; raise it for a deeper run (``AMTSWEG_FUZZ_EXAMPLES=2000``)."""
DERANDOMIZE = "AMTSWEG_FUZZ_RANDOM" not in os.environ
"""CI runs the same examples every time; set ``AMTSWEG_FUZZ_RANDOM=1`` to explore."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
pytestmark = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module:hypothesis.errors.HypothesisDeprecationWarning"
)  # schemathesis' own strategies, not ours
OPERATIONS = [
    ("POST", "/v1/submissions"),
    ("GET", "/v1/submissions/{submission_id}"),
    ("GET", "/v1/submissions/{submission_id}/events"),
]


@pytest.fixture(scope="module")
async def intake(
    kafka: BrokerHandle, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    data_dir = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AMTSWEG_DATA_DIR", str(data_dir))
        async with running({"intake"}, kafka.bootstrap_servers) as base:
            yield base


def _fuzz(operation: APIOperation[Any, Any, Any, Any], base_url: str, mode: GenerationMode) -> int:
    """Run the checks on ``MAX_EXAMPLES`` generated requests; return how many were sent."""
    sent = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=DERANDOMIZE,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Case[Any]) -> None:
        case.call_and_validate(base_url=base_url, headers=auth(), checks=CHECKS, timeout=30)
        sent.append(case)

    check()
    return len(sent)


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
async def test_the_running_intake_keeps_its_openapi_promises(
    intake: str, method: str, path: str, mode: GenerationMode
) -> None:
    async with httpx.AsyncClient(base_url=intake) as client:
        document = (await client.get("/openapi.json")).raise_for_status().json()
    schema = schemathesis.openapi.from_dict(document)
    operation = schema[path][method]
    sent = await asyncio.to_thread(_fuzz, operation, intake, mode)
    print(f"{method} {path} ({mode.value}): {sent} requests, all checks passed")
    assert sent >= 10
