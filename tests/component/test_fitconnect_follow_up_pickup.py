"""Documents handed in later reach an authority that picks up over FIT-Connect.

A portal sends with FITKO's client (PyPI ``fitconnect``) to Hannover, whose channel is
FIT-Connect; the case is delivered by pickup and accepted. The portal hands in a document
later (``POST /v1/submissions/{id}/supplements``); the follow-up worker seals a pickup
document, and Hannover's own client lists the follow-up as a new submission within the
same case (``caseId``), fetches and decrypts it; its accept SET makes the supplement
``accepted``. Answers are checked against the Submission API 1.1.3.
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
from fastapi import FastAPI
from faststream.kafka import KafkaBroker, TestKafkaBroker
from fitconnect import Environment, FITConnectClient  # type: ignore[import-untyped]
from joserfc import jws, jwt
from joserfc.jwk import RSAKey
from jwcrypto import jwk as jwcrypto_jwk  # type: ignore[import-untyped]

from contracts.messages import SubmissionEventMessage
from events.ledger import Ledger
from events.vault import Vault
from services.delivery import handler as delivery
from services.delivery.follow_up import SUPPLEMENT_RECEIVED, follow_up_delivery_id
from services.delivery.handler import dispatch_submission
from services.delivery.pickup import pickup_attachment_id
from services.delivery.projector import DeliveryProjector
from services.delivery.recipients import Recipient, Recipients
from services.delivery.store import delivery_store
from services.fitconnect.destination_directory import directory_of
from services.fitconnect.destinations import destination_id
from services.fitconnect.event_log import ACCEPT, REJECT, SUBMIT
from services.fitconnect.events_http import EventLogPorts
from services.fitconnect.http import mount_fit_connect
from services.fitconnect.set_keys import SetKeys, new_set_key
from services.fitconnect.submission_table import SubmissionTable
from services.intake.http import create_app
from services.ops.actions.erasure import erase
from services.ops.app.fitconnect_pickup import pickup_ports
from services.ops.app.fitconnect_wiring import answer_ports, ledger_trail
from services.runtime.settings import StageSettings
from tests.support.authority import HANNOVER, encryption_key, public, signing_key
from tests.support.delivery import TOKENS as AUTHORITY_TOKENS
from tests.support.delivery import settings as delivery_settings
from tests.support.factories import sha512
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
from tests.support.pipeline import auth, intake_settings

HANNOVER_KEY = encryption_key("hannover-enc-1")
HANNOVER_SIGNING = signing_key("hannover-sig-1")
LATER = b"%PDF-1.7 " + b"Lohnabrechnung (synthetic) " * 300
SUBMISSIONS = "/v1/submissions"
SUBMISSION = "/v1/submissions/{submissionId}"
EVENTS = "/v1/cases/{caseId}/events"


@pytest.fixture
def recipients() -> Recipients:
    hannover = Recipient(
        authority_id=HANNOVER,
        encryption_jwk=json.dumps(public(HANNOVER_KEY)),
        verification_jwk=json.dumps(public(HANNOVER_SIGNING)),
        fit_connect=True,
    )
    return Recipients([hannover])


@pytest.fixture
def app(ledger: Ledger, vault: Vault, tmp_path: Path, recipients: Recipients) -> FastAPI:
    settings = intake_settings(port=0)
    app = create_app(ledger, vault, settings)
    keys = destination_keys(tmp_path)
    table = SubmissionTable.sqlite(tmp_path / "fit-connect.sqlite3")
    set_keys = SetKeys({"keys": [new_set_key()]})
    projector = DeliveryProjector(ledger, delivery_store(ledger.settings), lambda _a: False)
    fit_ports = ports(
        FakeTokens(),
        destinations=directory_of(SERVICES, EVERY),
        keys=lambda: keys,
        sending=sending_ports(ledger, vault, table, settings),
        pickup=pickup_ports(ledger, lambda: vault, lambda: projector, lambda: table),
        answers=answer_ports(lambda: table, ledger, recipients, lambda: projector),
        set_keys=lambda: set_keys,
        event_log=EventLogPorts(
            table=lambda: table, trail=ledger_trail(ledger), issuer="https://amtsweg.test/fc"
        ),
    )
    mount_fit_connect(app, fit_ports)
    return app


async def test_a_supplement_is_a_new_submission_within_the_case_for_the_subscriber(
    app: FastAPI, ledger: Ledger, vault: Vault, recipients: Recipients
) -> None:
    destination = str(destination_id(HANNOVER))
    async with served(app) as base, httpx.AsyncClient(base_url=base) as http:
        sent = await asyncio.to_thread(
            python_client(base).submission,
            destination,
            f"urn:de:fim:leika:leistung:{LEIKA}",
            data=DATA,
            attachments=[ATTACHMENT],
        )
        case_id, submission_id = sent["caseId"], sent["submissionId"]
        _delivered(ledger, vault, recipients, submission_id)
        hannover = await access_token(http, HANNOVER, AUTHORITY_TOKENS[HANNOVER])
        bearer = {"Authorization": f"Bearer {hannover}"}
        first = _set(submission_id, case_id)
        assert (await _post(http, case_id, first, hannover)).status_code == 204

        posted = await http.post(
            f"/v1/submissions/{submission_id}/supplements",
            json=_supplement(),
            headers=auth() | {"Idempotency-Key": "later-1"},
        )
        assert posted.status_code == 202, posted.text
        status_url = posted.json()["_links"]["self"]["href"]
        nothing_yet = await http.get(
            f"/fit-connect{SUBMISSIONS}", params={"destinationId": destination}, headers=bearer
        )
        await _follow_up(ledger, vault, recipients, submission_id)
        follow_up = follow_up_delivery_id(
            uuid.UUID(submission_id), posted.json()["supplementId"], HANNOVER
        )

        client = _subscriber(base)
        listed = await asyncio.to_thread(client.available_submissions)
        picked = await asyncio.to_thread(_retrieve, client, follow_up)
        pickup_list = await http.get(
            f"/fit-connect{SUBMISSIONS}", params={"destinationId": destination}, headers=bearer
        )
        answered = await http.get(f"/fit-connect/v1/submissions/{follow_up}", headers=bearer)
        [attachment_id] = answered.json()["attachments"]
        streamed = await http.get(
            f"/fit-connect/v1/submissions/{follow_up}/attachments/{attachment_id}",
            headers=bearer,
        )
        dispatched = (await http.get(status_url, headers=auth())).json()

        wrong_case = await _post(http, str(uuid.uuid4()), _set(follow_up, case_id), hannover)
        other_txn = await _post(http, case_id, _set(follow_up, str(uuid.uuid4())), hannover)
        forged = _set(follow_up, case_id, key=signing_key("hannover-sig-1-forged"))
        forged_answer = await _post(http, case_id, forged, hannover)
        still_dispatched = (await http.get(status_url, headers=auth())).json()["status"]
        accept = _set(follow_up, case_id)
        accepted = await _post(http, case_id, accept, hannover)
        again = await _post(http, case_id, accept, hannover)
        after = (await http.get(status_url, headers=auth())).json()
        gone = await http.get(f"/fit-connect/v1/submissions/{follow_up}", headers=bearer)
        listed_after = await asyncio.to_thread(client.available_submissions)
        log = await http.get(f"/fit-connect/v1/cases/{case_id}/events", headers=bearer)

    assert assert_answers_as_specified(nothing_yet, SUBMISSIONS)["submissions"] == []
    assert listed == [{"destinationId": destination, "submissionId": follow_up, "caseId": case_id}]
    assert assert_answers_as_specified(pickup_list, SUBMISSIONS)["totalCount"] == 1
    body = assert_answers_as_specified(answered, SUBMISSION)
    assert (body["submissionId"], body["caseId"]) == (follow_up, case_id)
    assert "encryptedData" not in body
    assert streamed.status_code == 200
    assert streamed.headers["content-type"].startswith("application/jose")  # as specified
    assert picked["caseId"] == case_id
    [declared] = picked["metadata"]["contentStructure"]["attachments"]
    assert declared["attachmentId"] == pickup_attachment_id(follow_up, "payslip")
    assert (declared["purpose"], declared["mimeType"]) == ("attachment", "application/pdf")
    assert declared["filename"] == "Lohnabrechnung.pdf"
    assert "data" not in picked["metadata"]["contentStructure"]
    assert list(picked["attachments"].values()) == [LATER]
    assert (dispatched["status"], dispatched["deliveryId"]) == ("dispatched", follow_up)

    assert assert_answers_as_specified(wrong_case, EVENTS, "post")["status"] == 404
    assert assert_answers_as_specified(other_txn, EVENTS, "post")["status"] == 422
    assert assert_answers_as_specified(forged_answer, EVENTS, "post")["status"] == 422
    assert still_dispatched == "dispatched"
    assert (accepted.status_code, again.status_code) == (204, 204)
    assert after["status"] == "accepted"
    acknowledged = [
        e for e in ledger.trail(uuid.UUID(submission_id)) if e.event == "SupplementAcknowledged"
    ]
    assert [(e.data["delivery_id"], e.data["outcome"]) for e in acknowledged] == [
        (follow_up, "accepted")
    ]
    assert acknowledged[0].data["signed_receipt"] == accept
    assert assert_answers_as_specified(gone, SUBMISSION)["status"] == 404
    assert listed_after == []
    tokens = assert_answers_as_specified(log, EVENTS)["eventLog"]
    of_follow_up = [t for t in tokens if _claims(t)["sub"] == f"submission:{follow_up}"]
    assert [list(_claims(t)["events"]) for t in of_follow_up] == [[SUBMIT], [ACCEPT]]
    assert of_follow_up[-1] == accept  # the authority's own SET, as received
    assert {_claims(t)["txn"] for t in tokens} == {f"case:{case_id}"}


async def test_a_rejected_follow_up_and_an_erased_case_are_no_longer_picked_up(
    app: FastAPI, ledger: Ledger, vault: Vault, recipients: Recipients
) -> None:
    destination = str(destination_id(HANNOVER))
    async with served(app) as base, httpx.AsyncClient(base_url=base) as http:
        hannover = await access_token(http, HANNOVER, AUTHORITY_TOKENS[HANNOVER])
        bearer = {"Authorization": f"Bearer {hannover}"}
        follow_ups = []
        for key in ("one", "two"):
            sent = await asyncio.to_thread(
                python_client(base).submission,
                destination,
                f"urn:de:fim:leika:leistung:{LEIKA}",
                data=DATA,
                attachments=[ATTACHMENT],
            )
            _delivered(ledger, vault, recipients, sent["submissionId"])
            posted = await http.post(
                f"/v1/submissions/{sent['submissionId']}/supplements",
                json=_supplement(),
                headers=auth() | {"Idempotency-Key": key},
            )
            assert posted.status_code == 202, posted.text
            await _follow_up(ledger, vault, recipients, sent["submissionId"])
            sid = posted.json()["supplementId"]
            follow_up = follow_up_delivery_id(uuid.UUID(sent["submissionId"]), sid, HANNOVER)
            follow_ups.append((sent["caseId"], sent["submissionId"], follow_up, posted))
        listed = await http.get(f"/fit-connect{SUBMISSIONS}", headers=bearer)
        (case_id, _sub, rejected, posted), (_case, erased, forgotten, _p) = follow_ups
        reject = _set(rejected, case_id, event=REJECT, payload={"problems": [_PROBLEM]})
        answered = await _post(http, case_id, reject, hannover)
        accept_after = await _post(http, case_id, _set(rejected, case_id), hannover)
        status = (await http.get(posted.json()["_links"]["self"]["href"], headers=auth())).json()
        erase(ledger, vault, uuid.UUID(erased), by="operator", legal_basis="test", reason="test")
        listed_after = await http.get(f"/fit-connect{SUBMISSIONS}", headers=bearer)
        gone = await http.get(f"/fit-connect/v1/submissions/{forgotten}", headers=bearer)

    ids = {
        s["submissionId"] for s in assert_answers_as_specified(listed, SUBMISSIONS)["submissions"]
    }
    assert {rejected, forgotten} <= ids
    assert answered.status_code == 204
    assert assert_answers_as_specified(accept_after, EVENTS, "post")["status"] == 409
    assert status["status"] == "rejected"
    after = assert_answers_as_specified(listed_after, SUBMISSIONS)["submissions"]
    assert not {rejected, forgotten} & {s["submissionId"] for s in after}
    assert assert_answers_as_specified(gone, SUBMISSION)["status"] == 404


_PROBLEM = {
    "type": "https://schema.fitko.de/fit-connect/events/problems/technical-error",
    "title": "Nicht lesbar",
    "instance": "attachment",
}


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = json.loads(jws.extract_compact(token.encode()).payload)
    return claims


def _supplement() -> dict[str, Any]:
    return {
        "note": "Nachreichung (synthetic)",
        "attachments": [
            {
                "attachmentId": "payslip",
                "mimeType": "application/pdf",
                "filename": "Lohnabrechnung.pdf",
                "hash": {"type": "sha512", "content": sha512(LATER)},
                "content": base64.b64encode(LATER).decode(),
            }
        ],
    }


def _delivered(ledger: Ledger, vault: Vault, recipients: Recipients, submission_id: str) -> None:
    submission = ledger.get_submission(uuid.UUID(submission_id))
    submission.validate("cat", "u")
    submission.route(HANNOVER, "032410001001", "032410001001", "dir")
    ledger.save(submission)
    assert dispatch_submission(ledger, vault, delivery_settings(), submission.id, recipients)


async def _follow_up(ledger: Ledger, vault: Vault, known: Recipients, submission_id: str) -> None:
    """The follow-up worker, as the ``SupplementReceived`` notice starts it."""
    current = ledger.get_submission(uuid.UUID(submission_id))
    notice = SubmissionEventMessage(
        submission_id=submission_id,
        event="SupplementReceived",
        version=current.version,
        timestamp=current.created_on.isoformat(),
        hash=current.chain_head,
    )
    broker = KafkaBroker()
    stage = StageSettings()
    delivery.register(broker, ledger, vault, delivery_settings(), known, stage_settings=stage)
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(notice.model_dump_json(by_alias=True), SUPPLEMENT_RECEIVED)


def _subscriber(base: str) -> Any:
    client = FITConnectClient(Environment.TESTING, HANNOVER, AUTHORITY_TOKENS[HANNOVER])
    client.token_url = f"{base}/fit-connect/token"
    client.submission_api_url = f"{base}/fit-connect/v1"
    return client


def _retrieve(client: Any, submission_id: str) -> dict[str, Any]:
    """``retrieve_submission`` of FITKO's client without the data a follow-up does not have
    (0.4.2 reads ``encryptedData`` unconditionally): its own calls, in its order."""
    key = jwcrypto_jwk.JWK.from_json(json.dumps(HANNOVER_KEY))
    submission: dict[str, Any] = client._get_submission(submission_id)
    submission["metadata"] = client.decrypt_json(key, submission["encryptedMetadata"])
    client._validate_metadata_schema(submission["metadata"])
    attachments = {}
    for attachment_id in submission["attachments"]:
        path = f"/submissions/{submission_id}/attachments/{attachment_id}"
        jwe = client._authorized_get(path).text
        attachments[attachment_id] = client.decrypt(key, jwe)
        client.verify_metadata_attachment_hash(
            submission["metadata"], attachment_id, attachments[attachment_id]
        )
    submission["attachments"] = attachments
    return submission


def _set(
    submission_id: str,
    case_id: str,
    *,
    key: dict[str, Any] | None = None,
    event: str = ACCEPT,
    payload: dict[str, Any] | None = None,
) -> str:
    claims = {
        "$schema": "https://schema.fitko.de/fit-connect/set-payload/1.2.0/set-payload.schema.json",
        "iss": str(destination_id(HANNOVER)),
        "iat": 1_800_000_000,
        "jti": str(uuid.uuid4()),
        "sub": f"submission:{submission_id}",
        "txn": f"case:{case_id}",
        "events": {event: payload or {}},
    }
    header = {"typ": "secevent+jwt", "alg": "PS512", "kid": "hannover-sig-1"}
    signer = RSAKey.import_key(key or HANNOVER_SIGNING)
    return jwt.encode(header, claims, signer, algorithms=["PS512"])


async def _post(http: httpx.AsyncClient, case_id: str, token: str, bearer: str) -> httpx.Response:
    return await http.post(
        f"/fit-connect/v1/cases/{case_id}/events",
        content=token,
        headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/jose"},
    )
