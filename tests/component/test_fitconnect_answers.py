"""Authorities answer on the Submission API with SETs they sign, and they become receipts.

FITKO's client sends a submission to Hannover's destination; once it is dispatched, the
subscriber's ``accept-submission`` SET records ``Accepted`` (the SET its proof) and the
case's event log shows that SET as sent; a ``reject-submission`` records
``RefusedByAuthority`` with its problems. Every wrong answer is refused with the spec's
status and records nothing.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from contracts.cases import case_id_of
from contracts.topics import pickup_channel
from events.ledger import Ledger
from events.vault import Vault
from services.delivery.recipients import Recipient, Recipients
from services.fitconnect.certificates import InstanceCA
from services.fitconnect.destination_directory import directory_of
from services.fitconnect.destinations import ROUTING_DESTINATION, destination_id
from services.fitconnect.event_log import ACCEPT, REJECT, SUBMIT
from services.fitconnect.events_http import EventLogPorts
from services.fitconnect.http import mount_fit_connect
from services.fitconnect.set_keys import SetKeys, new_set_key
from services.fitconnect.submission_table import SubmissionTable
from services.intake.http import create_app
from services.ops.app.fitconnect_wiring import answer_ports, ledger_trail, signing_keys
from tests.support.authority import HANNOVER, KOELN, public, signing_key
from tests.support.delivery import TOKENS as AUTHORITY_TOKENS
from tests.support.factories import routed_submission
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

EVENTS_PATH = "/v1/cases/{caseId}/events"
KEY_PATH = "/v1/destinations/{destinationId}/keys/{keyId}"
ISSUER = "https://amtsweg.test/fit-connect"
HANNOVER_KEY = RSAKey.generate_key(4096, parameters={"kid": "hannover-sig-1"}).as_dict(
    private=True
)  # 4096 bits, as FIT-Connect requires of a key the keys endpoint answers
FORGED_KEY = signing_key("hannover-sig-1-forged")


@pytest.fixture
def table(tmp_path: Path) -> SubmissionTable:
    return SubmissionTable.sqlite(tmp_path / "fit-connect.sqlite3")


@pytest.fixture
def app(ledger: Ledger, vault: Vault, table: SubmissionTable, tmp_path: Path) -> FastAPI:
    settings = intake_settings(port=0)
    app = create_app(ledger, vault, settings)
    keys = destination_keys(tmp_path)
    set_keys = SetKeys({"keys": [new_set_key()]})
    ca = InstanceCA.generate()
    known = Recipients(
        [
            Recipient(HANNOVER, verification_jwk=_json(public(HANNOVER_KEY))),
            Recipient(KOELN, verification_jwk=_json(public(signing_key()))),
        ]
    )
    fit_ports = ports(
        FakeTokens(),
        destinations=directory_of(SERVICES, EVERY),
        keys=lambda: keys,
        sending=sending_ports(ledger, vault, table, settings),
        set_keys=lambda: set_keys,
        event_log=EventLogPorts(table=lambda: table, trail=ledger_trail(ledger), issuer=ISSUER),
        answers=answer_ports(lambda: table, ledger, known),
        signing_keys=signing_keys(known, lambda: ca, 30),
    )
    mount_fit_connect(app, fit_ports)
    return app


async def test_an_accept_set_becomes_the_receipt_and_shows_in_the_event_log(
    app: FastAPI, ledger: Ledger, table: SubmissionTable
) -> None:
    async with served(app) as base, httpx.AsyncClient(base_url=base) as http:
        case_id, submission_id = await _sent(base)
        tags = _tags(table, submission_id)
        accept = _set(HANNOVER_KEY, submission_id, case_id, ACCEPT, {"authenticationTags": tags})
        hannover = await access_token(http, HANNOVER, AUTHORITY_TOKENS[HANNOVER])
        sender = await access_token(http, "portal-a", PORTAL_TOKENS["portal-a"])
        koeln = await access_token(http, KOELN, AUTHORITY_TOKENS[KOELN])

        too_early = await _post(http, case_id, accept, hannover)
        _dispatch(ledger, submission_id)
        before = len(ledger.trail(uuid.UUID(submission_id)))
        wrong = {
            "sender": await _post(http, case_id, accept, sender),
            "other authority": await _post(http, case_id, accept, koeln),
            "unknown case": await _post(http, str(uuid.uuid4()), accept, hannover),
            "not a JWS": await _post(http, case_id, "not-a-token", hannover),
            "other case": await _post(
                http,
                case_id,
                _set(HANNOVER_KEY, submission_id, str(uuid.uuid4()), ACCEPT, {}),
                hannover,
            ),
            "not in case": await _post(
                http, case_id, _set(HANNOVER_KEY, str(uuid.uuid4()), case_id, ACCEPT, {}), hannover
            ),
            "forged": await _post(
                http,
                case_id,
                _set(FORGED_KEY, submission_id, case_id, ACCEPT, {}, kid="hannover-sig-1"),
                hannover,
            ),
            "other ciphertexts": await _post(
                http,
                case_id,
                _set(
                    HANNOVER_KEY,
                    submission_id,
                    case_id,
                    ACCEPT,
                    {"authenticationTags": tags | {"metadata": "AAAAAAAAAAAAAAAAAAAAAA"}},
                ),
                hannover,
            ),
        }
        unchanged = len(ledger.trail(uuid.UUID(submission_id)))
        accepted = await _post(http, case_id, accept, hannover)
        again = await _post(http, case_id, accept, hannover)
        reject = _set(HANNOVER_KEY, submission_id, case_id, REJECT, {"problems": [_PROBLEM]})
        conflict = await _post(http, case_id, reject, hannover)
        log = await http.get(
            f"/fit-connect/v1/cases/{case_id}/events", headers={"Authorization": f"Bearer {sender}"}
        )
        jwks = (await http.get("/fit-connect/.well-known/jwks.json")).json()
        published = await http.get(
            f"/fit-connect/v1/destinations/{destination_id(HANNOVER)}/keys/{HANNOVER_KEY['kid']}"
        )

    assert too_early.status_code == 409, too_early.text
    statuses = {name: answer.status_code for name, answer in wrong.items()}
    assert statuses == {
        "sender": 403,
        "other authority": 404,
        "unknown case": 404,
        "not a JWS": 400,
        "other case": 422,
        "not in case": 422,
        "forged": 422,
        "other ciphertexts": 422,
    }
    for answer in [too_early, *wrong.values(), conflict]:
        assert_answers_as_specified(answer, EVENTS_PATH, "post")
    assert unchanged == before
    assert (accepted.status_code, again.status_code) == (204, 204), accepted.text
    assert conflict.status_code == 409
    submission = ledger.get_submission(uuid.UUID(submission_id))
    assert submission.status == "accepted"
    events = [entry.event for entry in ledger.trail(uuid.UUID(submission_id))]
    assert events.count("Accepted") == 1
    assert "ReceiptRefused" not in events
    (entry,) = [e for e in ledger.trail(uuid.UUID(submission_id)) if e.event == "Accepted"]
    assert entry.data["signed_receipt"] == accept

    body = assert_answers_as_specified(log, EVENTS_PATH)
    tokens = body["eventLog"]
    assert tokens[-1] == accept
    amtsweg_keys = KeySet.import_key_set(jwks)
    signing = assert_answers_as_specified(published, KEY_PATH)
    assert signing["key_ops"] == ["verify"]
    assert signing["n"] == HANNOVER_KEY["n"]
    leaf = x509.load_der_x509_certificate(base64.b64decode(signing["x5c"][0]))
    certified = leaf.public_key()
    assert isinstance(certified, rsa.RSAPublicKey)
    assert certified.public_numbers() == _numbers(HANNOVER_KEY)
    authority_key = RSAKey.import_key(signing)  # the SETs verify with published keys only
    verified = [
        jwt.decode(token, authority_key if token == accept else amtsweg_keys, algorithms=["PS512"])
        for token in tokens
    ]
    assert [list(v.claims["events"]) for v in verified] == [[SUBMIT], [ACCEPT]]
    assert verified[-1].claims["sub"] == f"submission:{submission_id}"


async def test_a_reject_set_refuses_with_its_problems(
    app: FastAPI, ledger: Ledger, table: SubmissionTable
) -> None:
    async with served(app) as base, httpx.AsyncClient(base_url=base) as http:
        case_id, submission_id = await _sent(base)
        _dispatch(ledger, submission_id)
        hannover = await access_token(http, HANNOVER, AUTHORITY_TOKENS[HANNOVER])
        empty = _set(HANNOVER_KEY, submission_id, case_id, REJECT, {"problems": []})
        reject = _set(HANNOVER_KEY, submission_id, case_id, REJECT, {"problems": [_PROBLEM]})
        without_problems = await _post(http, case_id, empty, hannover)
        rejected = await _post(http, case_id, reject, hannover)
        accept = _set(HANNOVER_KEY, submission_id, case_id, ACCEPT, {})
        conflict = await _post(http, case_id, accept, hannover)

    assert without_problems.status_code == 422
    assert rejected.status_code == 204, rejected.text
    assert conflict.status_code == 409
    submission = ledger.get_submission(uuid.UUID(submission_id))
    assert submission.status == "refused"
    assert submission.problems[0]["title"] == _PROBLEM["title"]
    (entry,) = [
        e for e in ledger.trail(uuid.UUID(submission_id)) if e.event == "RefusedByAuthority"
    ]
    assert entry.data["signed_receipt"] == reject
    assert entry.data["outcome"] == "rejected"


async def test_a_submission_routed_to_the_authority_is_its_to_answer_and_to_read(
    app: FastAPI, ledger: Ledger
) -> None:
    async with served(app) as base, httpx.AsyncClient(base_url=base) as http:
        case_id, submission_id = await _sent(base, ROUTING_DESTINATION)
        hannover = await access_token(http, HANNOVER, AUTHORITY_TOKENS[HANNOVER])
        accept = _set(HANNOVER_KEY, submission_id, case_id, ACCEPT, {})
        before = await _post(http, case_id, accept, hannover)
        unseen = await _log(http, case_id, hannover)
        _dispatch(ledger, submission_id)
        accepted = await _post(http, case_id, accept, hannover)
        seen = await _log(http, case_id, hannover)

    assert (before.status_code, unseen.status_code) == (404, 404)
    assert accepted.status_code == 204, accepted.text
    assert seen.status_code == 200
    assert seen.json()["eventLog"][-1] == accept


async def test_a_submission_not_sent_over_fit_connect_is_answered_in_its_pickup_case(
    app: FastAPI, ledger: Ledger
) -> None:
    submission = routed_submission(HANNOVER)
    ledger.save(submission)
    submission_id = str(submission.id)
    case_id = case_id_of(submission_id)
    ledger.execute(
        submission.id, lambda s: s.dispatch("d-7", HANNOVER, pickup_channel(HANNOVER), {})
    )
    async with served(app) as base, httpx.AsyncClient(base_url=base) as http:
        hannover = await access_token(http, HANNOVER, AUTHORITY_TOKENS[HANNOVER])
        koeln = await access_token(http, KOELN, AUTHORITY_TOKENS[KOELN])
        accept = _set(HANNOVER_KEY, submission_id, case_id, ACCEPT, {})
        elsewhere = await _post(
            http,
            str(uuid.uuid4()),
            _set(HANNOVER_KEY, submission_id, str(uuid.uuid4()), ACCEPT, {}),
            hannover,
        )
        not_koelns = await _post(http, case_id, accept, koeln)
        accepted = await _post(http, case_id, accept, hannover)

    assert (elsewhere.status_code, not_koelns.status_code) == (404, 404)
    assert accepted.status_code == 204, accepted.text
    (entry,) = [e for e in ledger.trail(submission.id) if e.event == "Accepted"]
    assert entry.data["signed_receipt"] == accept


_PROBLEM = {
    "type": "https://schema.fitko.de/fit-connect/events/problems/technical-error",
    "title": "Technischer Fehler",
    "detail": "Die Einreichung konnte nicht verarbeitet werden.",
    "instance": "submission",
}


async def _sent(base: str, destination: uuid.UUID | None = None) -> tuple[str, str]:
    client = python_client(base)
    answer = await asyncio.to_thread(
        client.submission,
        str(destination or destination_id(HANNOVER)),
        f"urn:de:fim:leika:leistung:{LEIKA}",
        data=DATA,
        attachments=[ATTACHMENT],
    )
    return answer["caseId"], answer["submissionId"]


def _dispatch(ledger: Ledger, submission_id: str) -> None:
    def dispatch(submission: Any) -> None:
        submission.validate("cat-1", "urn:x")
        submission.route(HANNOVER, "032410001001", "03241", "dir-1")
        submission.dispatch("d-1", HANNOVER, f"amtsweg.delivery.{HANNOVER}", {"deliveryId": "d-1"})

    ledger.execute(uuid.UUID(submission_id), dispatch)


def _tags(table: SubmissionTable, submission_id: str) -> dict[str, Any]:
    announcement = table.get(submission_id)
    assert announcement is not None
    assert announcement.authentication_tags is not None
    return announcement.authentication_tags.as_event()


def _set(
    key: dict[str, Any],
    submission_id: str,
    case_id: str,
    event: str,
    payload: dict[str, Any],
    *,
    kid: str | None = None,
) -> str:
    claims = {
        "$schema": "https://schema.fitko.de/fit-connect/set-payload/1.2.0/set-payload.schema.json",
        "iss": str(destination_id(HANNOVER)),
        "iat": 1_800_000_000,
        "jti": str(uuid.uuid4()),
        "sub": f"submission:{submission_id}",
        "txn": f"case:{case_id}",
        "events": {event: payload},
    }
    header = {"typ": "secevent+jwt", "alg": "PS512", "kid": kid or key["kid"]}
    return jwt.encode(header, claims, RSAKey.import_key(key), algorithms=["PS512"])


async def _log(http: httpx.AsyncClient, case_id: str, bearer: str) -> httpx.Response:
    return await http.get(
        f"/fit-connect/v1/cases/{case_id}/events", headers={"Authorization": f"Bearer {bearer}"}
    )


async def _post(http: httpx.AsyncClient, case_id: str, token: str, bearer: str) -> httpx.Response:
    return await http.post(
        f"/fit-connect/v1/cases/{case_id}/events",
        content=token,
        headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/jose"},
    )


def _numbers(jwk: dict[str, Any]) -> Any:
    key = RSAKey.import_key(public(jwk)).raw_value
    assert isinstance(key, rsa.RSAPublicKey)
    return key.public_numbers()


def _json(jwk: dict[str, Any]) -> str:
    return json.dumps(jwk)
