"""A case's event log: FITKO's client sends a submission, the log answers its SETs.

Every SET verifies with the JWKS Amtsweg publishes, has ``typ: secevent+jwt`` and
``alg: PS512``; ``submit-submission`` carries the received JWEs' authentication tags; a
rejection by validation adds ``reject-submission`` with the problems. Another portal sees
nothing; the destination's subscriber sees the case.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import KeySet

from events.ledger import Ledger
from events.vault import Vault
from services.fitconnect.destination_directory import directory_of
from services.fitconnect.destinations import destination_id
from services.fitconnect.event_log import REJECT, SUBMIT
from services.fitconnect.events_http import EventLogPorts
from services.fitconnect.http import mount_fit_connect
from services.fitconnect.set_keys import SetKeys, new_set_key
from services.fitconnect.submission_table import SubmissionTable
from services.intake.http import create_app
from services.ops.app.fitconnect_wiring import ledger_trail
from tests.support.authority import HANNOVER
from tests.support.delivery import TOKENS as AUTHORITY_TOKENS
from tests.support.fitconnect import FakeTokens, access_token, ports
from tests.support.fitconnect_sending import (
    ATTACHMENT,
    DATA,
    EVERY,
    LEIKA,
    SERVICES,
    destination_keys,
    python_client,
    sending_ports,
    served,
)
from tests.support.fitconnect_spec import assert_answers_as_specified
from tests.support.pipeline import PORTAL_TOKENS, intake_settings
from tests.support.pipeline import auth as native

EVENTS_PATH = "/v1/cases/{caseId}/events"
ISSUER = "https://amtsweg.test/fit-connect"


@pytest.fixture
def app(ledger: Ledger, vault: Vault, tmp_path: Path) -> FastAPI:
    settings = intake_settings(port=0)
    app = create_app(ledger, vault, settings)
    keys = destination_keys(tmp_path)
    table = SubmissionTable.sqlite(tmp_path / "fit-connect.sqlite3")
    set_keys = SetKeys({"keys": [new_set_key()]})
    fit_ports = ports(
        FakeTokens(),
        destinations=directory_of(SERVICES, EVERY),
        keys=lambda: keys,
        sending=sending_ports(ledger, vault, table, settings),
        set_keys=lambda: set_keys,
        event_log=EventLogPorts(table=lambda: table, trail=ledger_trail(ledger), issuer=ISSUER),
    )
    mount_fit_connect(app, fit_ports)
    return app


async def _events(http: httpx.AsyncClient, case_id: str, token: str) -> httpx.Response:
    return await http.get(
        f"/fit-connect/v1/cases/{case_id}/events", headers={"Authorization": f"Bearer {token}"}
    )


async def test_the_event_log_verifies_and_follows_the_ledger(app: FastAPI, ledger: Ledger) -> None:
    destination = str(destination_id(HANNOVER))
    async with served(app) as base, httpx.AsyncClient(base_url=base) as http:
        client = python_client(base)
        answer = await asyncio.to_thread(
            client.submission,
            destination,
            f"urn:de:fim:leika:leistung:{LEIKA}",
            data=DATA,
            attachments=[ATTACHMENT],
        )
        case_id, submission_id = answer["caseId"], answer["submissionId"]
        sender = await access_token(http, "portal-a", PORTAL_TOKENS["portal-a"])
        received = await _events(http, case_id, sender)
        problems = [{"type": "https://amtsweg.de/problems/schema-violation", "title": "Invalid"}]
        ledger.execute(uuid.UUID(submission_id), lambda s: s.reject("catalog-1", problems))
        rejected = await _events(http, case_id, sender)
        again = await _events(http, case_id, sender)
        other = await _events(
            http, case_id, await access_token(http, "portal-b", PORTAL_TOKENS["portal-b"])
        )
        subscriber = await _events(
            http, case_id, await access_token(http, HANNOVER, AUTHORITY_TOKENS[HANNOVER])
        )
        unknown = await _events(http, str(uuid.uuid4()), sender)
        jwks = (await http.get("/fit-connect/.well-known/jwks.json")).json()

    assert received.status_code == 200, received.text
    log = assert_answers_as_specified(received, EVENTS_PATH)
    assert (log["count"], log["totalCount"]) == (1, 1)
    keys = KeySet.import_key_set(jwks)
    assert all("d" not in key for key in jwks["keys"])
    (submit,) = [_verified(token, keys) for token in log["eventLog"]]
    header, claims = submit
    assert header == {"typ": "secevent+jwt", "alg": "PS512", "kid": jwks["keys"][0]["kid"]}
    assert claims["sub"] == f"submission:{submission_id}"
    assert claims["txn"] == f"case:{case_id}"
    assert claims["iss"] == ISSUER
    assert "exp" not in claims
    tags = claims["events"][SUBMIT]["authenticationTags"]
    assert set(tags) == {"metadata", "data", "attachments"}
    assert len(tags["attachments"]) == 1

    log = assert_answers_as_specified(rejected, EVENTS_PATH)
    events = [_verified(token, keys)[1] for token in log["eventLog"]]
    assert [list(event["events"]) for event in events] == [[SUBMIT], [REJECT]]
    reject = events[1]["events"][REJECT]
    assert reject["problems"][0]["title"] == "Invalid"
    assert reject["problems"][0]["type"].startswith("https://schema.fitko.de/fit-connect/events/")
    assert reject["authenticationTags"] == tags
    stable = [_verified(token, keys)[1] for token in again.json()["eventLog"]]
    assert [(e["jti"], e["iat"]) for e in stable] == [(e["jti"], e["iat"]) for e in events]
    assert events[0]["jti"] != events[1]["jti"]

    assert other.status_code == 404
    assert_answers_as_specified(other, EVENTS_PATH)
    assert_answers_as_specified(unknown, EVENTS_PATH)
    assert unknown.status_code == 404
    assert subscriber.status_code == 200
    assert subscriber.json()["totalCount"] == 2


def _verified(token: str, keys: KeySet) -> tuple[dict[str, Any], dict[str, Any]]:
    decoded = jwt.decode(token, keys, algorithms=["PS512"])
    return dict(decoded.header), dict(decoded.claims)


async def test_the_event_log_pages_by_offset_and_limit(app: FastAPI, ledger: Ledger) -> None:
    destination = str(destination_id(HANNOVER))
    async with served(app) as base, httpx.AsyncClient(base_url=base) as http:
        client = python_client(base)
        answer = await asyncio.to_thread(
            client.submission, destination, f"urn:de:fim:leika:leistung:{LEIKA}", data=DATA
        )
        case_id, submission_id = answer["caseId"], answer["submissionId"]
        problems = [{"type": "https://amtsweg.de/problems/schema-violation", "title": "Invalid"}]
        ledger.execute(uuid.UUID(submission_id), lambda s: s.reject("catalog-1", problems))
        sender = await access_token(http, "portal-a", PORTAL_TOKENS["portal-a"])
        auth = {"Authorization": f"Bearer {sender}"}
        path = f"/fit-connect/v1/cases/{case_id}/events"
        pages = [
            await http.get(path, headers=auth, params=query)
            for query in ({"limit": 1}, {"limit": 1, "offset": 1}, {"offset": 2}, {"limit": 500})
        ]
        too_many = await http.get(path, headers=auth, params={"limit": 501})
        keys = KeySet.import_key_set((await http.get("/fit-connect/.well-known/jwks.json")).json())

    first, second, past, whole = (assert_answers_as_specified(p, EVENTS_PATH) for p in pages)
    assert [(p["offset"], p["count"], p["totalCount"]) for p in (first, second, past, whole)] == [
        (0, 1, 2),
        (1, 1, 2),
        (2, 0, 2),
        (0, 2, 2),
    ]
    assert past["eventLog"] == []

    def event_of(token: str) -> list[str]:
        return list(jwt.decode(token, keys, algorithms=["PS512"]).claims["events"])

    assert event_of(first["eventLog"][0]) == [SUBMIT]
    assert event_of(second["eventLog"][0]) == [REJECT]
    assert too_many.status_code == 400  # beyond the spec's maximum of 500


async def test_a_fit_connect_submission_answers_on_the_native_api_with_its_case(
    app: FastAPI,
) -> None:
    """One id answers "where is it" on both APIs: the FIT-Connect submission id is Amtsweg's,
    and the trail names the FIT-Connect case (the correlation id ``fit-connect:<caseId>``)."""
    destination = str(destination_id(HANNOVER))
    async with served(app) as base, httpx.AsyncClient(base_url=base) as http:
        client = python_client(base)
        answer = await asyncio.to_thread(
            client.submission,
            destination,
            f"urn:de:fim:leika:leistung:{LEIKA}",
            data=DATA,
            attachments=[ATTACHMENT],
        )
        submission_id = answer["submissionId"]
        status = await http.get(f"/v1/submissions/{submission_id}", headers=native("portal-a"))
        trail = await http.get(
            f"/v1/submissions/{submission_id}/events", headers=native("portal-a")
        )
        other = await http.get(f"/v1/submissions/{submission_id}", headers=native("portal-b"))

    assert status.status_code == 200, status.text
    assert status.json()["submissionId"] == submission_id
    assert status.json()["status"] == "received"
    assert status.json()["serviceIdentifier"] == f"urn:de:fim:leika:leistung:{LEIKA}"
    (received,) = trail.json()["events"]
    assert received["event"] == "Received"
    assert received["data"]["correlation_id"] == f"fit-connect:{answer['caseId']}"
    assert received["data"]["case_id"] == answer["caseId"]  # the case is recorded
    assert other.status_code == 404


async def _announce(
    http: httpx.AsyncClient, token: str, case_id: str | None, destination: str
) -> httpx.Response:
    body: dict[str, Any] = {
        "destinationId": destination,
        "announcedAttachments": [],
        "serviceType": {"name": "Test", "identifier": f"urn:de:fim:leika:leistung:{LEIKA}"},
    }
    if case_id is not None:
        body["caseId"] = case_id
    return await http.post(
        "/fit-connect/v1/submissions", json=body, headers={"Authorization": f"Bearer {token}"}
    )


async def test_a_submission_in_an_existing_case_comes_only_from_the_sender_that_opened_it(
    app: FastAPI,
) -> None:
    """FIT-Connect's "Reply": a second submission announced with the case's id joins it;
    another sender naming the case is refused, and nothing is announced for it."""
    destination = str(destination_id(HANNOVER))
    async with served(app) as base, httpx.AsyncClient(base_url=base) as http:
        sender = await access_token(http, "portal-a", PORTAL_TOKENS["portal-a"])
        other = await access_token(http, "portal-b", PORTAL_TOKENS["portal-b"])
        first = await _announce(http, sender, None, destination)
        case_id = first.json()["caseId"]
        second = await _announce(http, sender, case_id, destination)
        foreign = await _announce(http, other, case_id, destination)
        log = await _events(http, case_id, other)

    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert second.json()["caseId"] == case_id
    assert second.json()["submissionId"] != first.json()["submissionId"]
    assert foreign.status_code == 403, foreign.text
    assert_answers_as_specified(foreign, "/v1/submissions", "post")
    assert log.status_code == 404  # the other sender sees nothing of the case either
