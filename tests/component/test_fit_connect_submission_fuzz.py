"""The Submission API fuzzed from FITKO's ``submission-api.v1.1.3.yaml`` (schemathesis).

Every operation the composition root mounts under ``/fit-connect`` (found in the app's
OpenAPI document, so operations added later are fuzzed without touching this test) gets
requests generated from the spec, schema-conforming (positive) and schema-violating
(negative), sent in process with a valid access token of a sender or a subscriber (the
one the operation's scopes name; either where both may call it). A positive request's
path parameters are, half the time, ids that exist (the destination, its key, a submitted
and an announced submission, its attachment, the case), seeded first by FITKO's Python
client; negative requests keep the ids they were generated with. No answer may be a 5xx;
each must have a status, media type, headers and body the spec documents for the
operation (or be one of FITKO's technical errors answering a request the spec forbids),
and a request the spec forbids must be refused. Bounded and derandomized
(``AMTSWEG_FUZZ_EXAMPLES`` per operation and mode, default 10; ``AMTSWEG_FUZZ_RANDOM``).
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker
from schemathesis import APIOperation, Case, CheckContext, Response
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
from services.fitconnect.destinations import destination_id
from services.fitconnect.http import PREFIX
from services.fitconnect.problems import PROBLEM_JSON
from services.intake.auth import token_hash
from services.ops.app.bootstrap import Core
from tests.support.authority import HANNOVER
from tests.support.delivery import TOKENS as AUTHORITY_TOKENS
from tests.support.fitconnect import access_token
from tests.support.fitconnect_sending import ATTACHMENT, python_client, served
from tests.support.fitconnect_spec import SPEC, spec
from tests.support.pipeline import PORTAL_TOKENS, intake_settings, wiring

MAX_EXAMPLES = int(os.environ.get("AMTSWEG_FUZZ_EXAMPLES", "10"))
DERANDOMIZE = "AMTSWEG_FUZZ_RANDOM" not in os.environ
schemathesis.serializer.alias("application/jose", "text/plain")  # a JWE: compact text
TECHNICAL = {400: "malformed", 405: "method", 415: "media type"}
"""FITKO's technical errors, which its spec does not list per operation ("Technische Fehler
sind nicht explizit in der API-Spec abgebildet"): a request the spec forbids may get one."""


@schemathesis.check
def status_as_specified(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """The status is one the spec lists for the operation, or a technical error (a problem
    document) answering a request the spec forbids."""
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    if negative and response.status_code in TECHNICAL:
        assert response.headers["content-type"][0].startswith(PROBLEM_JSON)
        errors = list(_error_schema().iter_errors(response.json()))
        assert not errors, errors
        return True
    answer: bool | None = status_code_conformance(ctx, response, case)
    return answer


def _error_schema() -> Draft202012Validator:
    schema = spec()["components"]["schemas"]["Error"]
    return Draft202012Validator(schema, format_checker=FormatChecker())


CHECKS = [
    not_a_server_error,
    status_as_specified,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
NOT_IN_THE_SPEC = {"/token"}
"""Mounted under ``/fit-connect`` but specified elsewhere (OAuth 2.0 token endpoint)."""
pytestmark = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module:hypothesis.errors.HypothesisDeprecationWarning"
)


@dataclass(frozen=True)
class Seeded:
    """Ids that exist and the tokens to use them with."""

    sender: str
    subscriber: str
    service: str
    """The destination's service (``serviceType.identifier``)."""
    ids: dict[str, list[str]]
    """path or query parameter name -> values that exist"""


@pytest.fixture
def app(ledger: Ledger, vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    hashes = {authority: token_hash(token) for authority, token in AUTHORITY_TOKENS.items()}
    monkeypatch.setenv("AMTSWEG_DELIVERY_AUTHORITY_TOKENS", json.dumps(hashes))
    # the national directory has no e-mails; the spec's ContactInformation requires one
    monkeypatch.setenv("AMTSWEG_FITCONNECT_CONTACT_EMAIL", "poststelle@amtsweg.example")
    return wiring(intake_settings(port=0), Core(ledger, vault)).http_app()


def mounted(app: FastAPI) -> list[tuple[str, str]]:
    """The operations (spec path, method) the app documents under ``/fit-connect`` (every
    FIT-Connect route is in the app's OpenAPI document), but the token and Routing API's."""
    found: list[tuple[str, str]] = []
    for full, operations in app.openapi()["paths"].items():
        path = full.removeprefix(PREFIX)
        if path == full or path in NOT_IN_THE_SPEC or path.startswith("/routing/"):
            continue
        found.extend((path, method) for method in sorted(operations))
    return found


async def _seed(app: FastAPI) -> Seeded:
    """A submitted submission (by FITKO's client) and an announced one with an attachment."""
    destination = str(destination_id(HANNOVER))
    async with served(app) as base, httpx.AsyncClient(base_url=base, timeout=120) as http:
        sender = await access_token(http, "portal-a", PORTAL_TOKENS["portal-a"])
        subscriber = await access_token(http, HANNOVER, AUTHORITY_TOKENS[HANNOVER])
        info = (  # the first read makes the destination's key (RSA 4096: seconds)
            await http.get(
                f"{PREFIX}/v1/destinations/{destination}",
                headers={"Authorization": f"Bearer {sender}"},
            )
        ).json()
        service = info["services"][0]
        schema_uri = service["submissionSchemas"][0]["schemaUri"]
        client = python_client(base)
        submitted = await asyncio.to_thread(
            client.submission,
            destination,
            service["identifier"],
            data={"$schema": schema_uri, "antrag": "Fuzz"},
            attachments=[ATTACHMENT],
        )
        announced = await asyncio.to_thread(
            client.create_submission, destination, service["identifier"], 1
        )
        attachment = announced["announcedAttachments"][0]
        await asyncio.to_thread(
            client.upload_attachment,
            destination,
            announced["submissionId"],
            attachment,
            attachment=ATTACHMENT,
        )
    return Seeded(
        sender=sender,
        subscriber=subscriber,
        service=service["identifier"],
        ids={
            "destinationId": [destination],
            "keyId": [info["encryptionKid"]],
            "submissionId": [submitted["submissionId"], announced["submissionId"]],
            "attachmentId": [attachment],
            "caseId": [submitted["caseId"], announced["caseId"]],
        },
    )


def _tokens(path: str, method: str, seeded: Seeded) -> list[str | None]:
    """The tokens of the clients the operation's scopes name (none: it is public)."""
    operation = spec()["paths"][path][method]
    requirements = operation.get("security", [])
    scopes = [scope for named in requirements for scope in named.get("OAuth2", [])]
    tokens: list[str | None] = []
    if any(scope.startswith("send:") for scope in scopes):
        tokens.append(seeded.sender)
    if any(scope.startswith(("subscribe:", "manage:", "create:")) for scope in scopes):
        tokens.append(seeded.subscriber)  # authorities manage their own destinations
    return tokens or [None]


def _with_ids(case: Case[Any], known: bool, pick: int, seeded: Seeded) -> Case[Any]:
    """A positive case with existing ids for its path parameters and ``destinationId``
    (query or body), and the destination's service as ``serviceType``. A negative case
    stays as generated: what it violates may be just such a value."""
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    if not known or negative:
        return case
    for name, values in seeded.ids.items():
        for part in (case.path_parameters, case.query, case.body):
            if isinstance(part, dict) and name in part:
                part[name] = values[pick % len(values)]
    service = case.body.get("serviceType") if isinstance(case.body, dict) else None
    if isinstance(service, dict) and "identifier" in service:
        service["identifier"] = seeded.service
    return case


def _fuzz(
    operation: APIOperation[Any, Any, Any, Any],
    mode: GenerationMode,
    tokens: list[str | None],
    seeded: Seeded,
) -> dict[int, int]:
    statuses: dict[int, int] = {}
    checks = [*CHECKS, negative_data_rejection] if mode is GenerationMode.NEGATIVE else CHECKS
    cases = st.builds(
        lambda case, known, pick: _with_ids(case, known, pick, seeded),
        operation.as_strategy(generation_mode=mode),
        st.booleans(),
        st.integers(0, 1),
    )

    @given(case=cases, token=st.sampled_from(tokens))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=DERANDOMIZE,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Case[Any], token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = case.call_and_validate(
            base_url=f"http://localhost{PREFIX}", checks=checks, headers=headers
        )
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    check()
    return statuses


def test_every_mounted_operation_keeps_the_specs_promises(app: FastAPI) -> None:
    operations = mounted(app)
    missing = [(p, m) for p, m in operations if m not in spec()["paths"].get(p, {})]
    assert not missing, f"mounted under {PREFIX} but not in the Submission API: {missing}"
    assert {("/v1/submissions", "post"), ("/v1/cases/{caseId}/events", "get")} <= set(operations)
    seeded = asyncio.run(_seed(app))
    schema = schemathesis.openapi.from_path(SPEC)
    schema.app = app
    failures = []
    for path, method in operations:
        specified = spec()["paths"][path][method]
        inputs = {"parameters", "requestBody"} & ({*specified, *spec()["paths"][path]})
        for mode in GenerationMode if inputs else [GenerationMode.POSITIVE]:
            try:
                statuses = _fuzz(
                    schema[path][method.upper()], mode, _tokens(path, method, seeded), seeded
                )
            except (Exception, BaseExceptionGroup) as error:  # every operation's findings at once
                failures.append(f"{method.upper()} {path} ({mode.value}): {error}")
                continue
            print(f"{method.upper()} {path} ({mode.value}): {statuses}")
            assert sum(statuses.values()) >= 1
    assert not failures, "\n\n".join(failures)
