"""An authority on FIT-Connect picks up its deliveries with FITKO's client (PyPI ``fitconnect``).

A portal sends with the real client (or the native intake); the submission is validated,
routed to Hannover, whose channel is FIT-Connect, and dispatched in-process; Hannover's
own client (``available_submissions``, ``retrieve_submission``) lists and fetches it,
re-encrypted to Hannover's key, and the decrypted data and attachment are the bytes sent.
Answers are checked against the Submission API 1.1.3.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fitconnect import Environment, FITConnectClient  # type: ignore[import-untyped]
from jwcrypto import jwe as jwcrypto_jwe  # type: ignore[import-untyped]
from jwcrypto import jwk as jwcrypto_jwk

from events.ledger import Ledger
from events.vault import Vault
from services.delivery.handler import dispatch_submission
from services.delivery.projector import DeliveryProjector
from services.delivery.recipients import Recipient, Recipients
from services.delivery.store import delivery_store
from services.fitconnect.destination_directory import directory_of
from services.fitconnect.destinations import destination_id
from services.fitconnect.http import mount_fit_connect
from services.fitconnect.submission_table import SubmissionTable
from services.intake.http import create_app
from services.ops.actions.erasure import erase
from services.ops.app.fitconnect_pickup import pickup_ports
from tests.support.authority import HANNOVER, KOELN, encryption_key, public
from tests.support.delivery import ATTACHMENT_ID
from tests.support.delivery import DATA as XML_DATA
from tests.support.delivery import TOKENS as AUTHORITY_TOKENS
from tests.support.delivery import settings as delivery_settings
from tests.support.factories import sealed_submission
from tests.support.fitconnect import FakeTokens, access_token, client_of, ports
from tests.support.fitconnect_sending import (
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
from tests.support.pipeline import intake_settings

HANNOVER_KEY = encryption_key("hannover-enc-1")
BIG_ATTACHMENT = os.urandom(3 * 1024 * 1024 + 7)  # a few MB, not a multiple of 3 or 16
SUBMISSIONS = "/v1/submissions"
SUBMISSION = "/v1/submissions/{submissionId}"
ATTACHMENT = "/v1/submissions/{submissionId}/attachments/{attachmentId}"


@pytest.fixture
def recipients() -> Recipients:
    hannover = Recipient(
        authority_id=HANNOVER, encryption_jwk=json.dumps(public(HANNOVER_KEY)), fit_connect=True
    )
    return Recipients([hannover])


@pytest.fixture
def projector(ledger: Ledger) -> DeliveryProjector:
    return DeliveryProjector(ledger, delivery_store(ledger.settings), lambda _authority: False)


@pytest.fixture
def app(ledger: Ledger, vault: Vault, tmp_path: Path, projector: DeliveryProjector) -> FastAPI:
    settings = intake_settings(port=0)
    app = create_app(ledger, vault, settings)
    keys = destination_keys(tmp_path)
    table = SubmissionTable.sqlite(tmp_path / "fit-connect.sqlite3")
    fit_ports = ports(
        FakeTokens(),
        destinations=directory_of(SERVICES | {KOELN: SERVICES[HANNOVER]}, EVERY),
        keys=lambda: keys,
        sending=sending_ports(ledger, vault, table, settings),
        pickup=pickup_ports(ledger, lambda: vault, lambda: projector, lambda: table),
    )
    mount_fit_connect(app, fit_ports)
    return app


def delivered(ledger: Ledger, vault: Vault, recipients: Recipients, submission_id: str) -> None:
    """Validation, routing to Hannover and delivery, as the stages record them."""
    submission = ledger.get_submission(uuid.UUID(submission_id))
    submission.validate("cat", "u")
    submission.route(HANNOVER, "032410001001", "032410001001", "dir")
    ledger.save(submission)
    assert dispatch_submission(ledger, vault, delivery_settings(), submission.id, recipients)


def subscriber(base: str, authority: str = HANNOVER) -> Any:
    """FITKO's client for an authority, pointed at the app served at ``base``."""
    client = FITConnectClient(Environment.TESTING, authority, AUTHORITY_TOKENS[authority])
    client.token_url = f"{base}/fit-connect/token"
    client.submission_api_url = f"{base}/fit-connect/v1"
    return client


async def test_the_subscribers_own_client_picks_up_what_the_senders_client_sent(
    app: FastAPI, ledger: Ledger, vault: Vault, recipients: Recipients
) -> None:
    destination = str(destination_id(HANNOVER))
    async with served(app) as base:
        sender = python_client(base)
        sent = await asyncio.to_thread(
            sender.submission,
            destination,
            f"urn:de:fim:leika:leistung:{LEIKA}",
            data=DATA,
            attachments=[BIG_ATTACHMENT],
        )
        delivered(ledger, vault, recipients, sent["submissionId"])
        client = subscriber(base)
        listed = await asyncio.to_thread(client.available_submissions)
        picked = await asyncio.to_thread(
            client.retrieve_submission, sent["submissionId"], HANNOVER_KEY
        )

    assert listed == [
        {
            "destinationId": destination,
            "submissionId": sent["submissionId"],
            "caseId": sent["caseId"],
        }
    ]
    assert picked["caseId"] == sent["caseId"]
    assert picked["data_json"] == DATA
    [attachment] = picked["attachments"].values()
    assert attachment == BIG_ATTACHMENT
    declared = picked["metadata"]["contentStructure"]["attachments"][0]["hash"]["content"]
    assert declared == hashlib.sha512(BIG_ATTACHMENT).hexdigest()


async def test_answers_are_as_specified_and_another_authority_sees_nothing(
    app: FastAPI, ledger: Ledger, vault: Vault, recipients: Recipients
) -> None:
    submission = native_submission(ledger, vault, recipients)
    path = f"/fit-connect/v1/submissions/{submission}"
    async with client_of(app) as http:
        hannover = await _auth(http, HANNOVER)
        koeln = await _auth(http, KOELN)
        sender = await _auth(http, "portal-a", "token-of-portal-a")
        listed = await http.get("/fit-connect/v1/submissions", headers=hannover)
        filtered = await http.get(
            "/fit-connect/v1/submissions",
            headers=hannover,
            params={"destinationId": str(destination_id(HANNOVER)), "offset": 1, "limit": 5},
        )
        got = await http.get(path, headers=hannover)
        part = await http.get(f"{path}/attachments/{ATTACHMENT_ID}", headers=hannover)
        others_list = await http.get("/fit-connect/v1/submissions", headers=koeln)
        others_filter = await http.get(
            "/fit-connect/v1/submissions",
            headers=koeln,
            params={"destinationId": str(destination_id(HANNOVER))},
        )
        others_get = await http.get(path, headers=koeln)
        others_part = await http.get(f"{path}/attachments/{ATTACHMENT_ID}", headers=koeln)
        senders = await http.get(path, headers=sender)
        unknown = await http.get(f"/fit-connect/v1/submissions/{uuid.uuid4()}", headers=hannover)
        no_part = await http.get(f"{path}/attachments/{uuid.uuid4()}", headers=hannover)
        anonymous = await http.get("/fit-connect/v1/submissions")

    body = assert_answers_as_specified(listed, SUBMISSIONS)
    assert body == {
        "count": 1,
        "offset": 0,
        "totalCount": 1,
        "submissions": [
            {
                "destinationId": str(destination_id(HANNOVER)),
                "submissionId": submission,
                "caseId": body["submissions"][0]["caseId"],
            }
        ],
    }
    assert assert_answers_as_specified(filtered, SUBMISSIONS)["submissions"] == []
    document = assert_answers_as_specified(got, SUBMISSION)
    assert document["attachments"] == [ATTACHMENT_ID]
    assert document["caseId"] == body["submissions"][0]["caseId"]
    metadata = json.loads(_decrypt(document["encryptedMetadata"]))
    assert _decrypt(document["encryptedData"]) == XML_DATA
    assert part.status_code == 200
    assert part.headers["content-type"] == "application/jose"
    attachment = _decrypt(part.text)
    declared = metadata["contentStructure"]["attachments"][0]["hash"]["content"]
    assert declared == hashlib.sha512(attachment).hexdigest()
    assert assert_answers_as_specified(others_list, SUBMISSIONS)["submissions"] == []
    assert assert_answers_as_specified(others_filter, SUBMISSIONS)["type"].endswith("/forbidden")
    for answer in (others_get, unknown):
        assert assert_answers_as_specified(answer, SUBMISSION)["type"].endswith(
            "/submission-not-found"
        )
    assert assert_answers_as_specified(others_part, ATTACHMENT)["status"] == 404
    assert assert_answers_as_specified(no_part, ATTACHMENT)["type"].endswith(
        "/attachment-not-found"
    )
    assert assert_answers_as_specified(senders, SUBMISSION)["status"] == 403
    assert assert_answers_as_specified(anonymous, SUBMISSIONS)["status"] == 401


async def test_an_attachment_is_the_same_jwe_at_every_download(
    app: FastAPI, ledger: Ledger, vault: Vault, recipients: Recipients
) -> None:
    submission = native_submission(ledger, vault, recipients)
    path = f"/fit-connect/v1/submissions/{submission}/attachments/{ATTACHMENT_ID}"
    async with client_of(app) as http:
        hannover = await _auth(http, HANNOVER)
        first = await http.get(path, headers=hannover)
        second = await http.get(path, headers=hannover)

    assert first.text == second.text
    header = json.loads(_b64(first.text.split(".")[0]))
    assert header == {
        "alg": "RSA-OAEP-256",
        "enc": "A256GCM",
        "kid": "hannover-enc-1",
        "cty": "application/pdf",
    }


async def test_answered_and_erased_submissions_are_no_longer_picked_up(
    app: FastAPI, ledger: Ledger, vault: Vault, recipients: Recipients
) -> None:
    answered = native_submission(ledger, vault, recipients)
    erased = native_submission(ledger, vault, recipients)
    ledger.execute(
        uuid.UUID(answered),
        lambda s: s.accept(s.delivery_id or "", "AZ-1"),
    )
    erase(ledger, vault, uuid.UUID(erased), by="operator", legal_basis="test", reason="test")
    async with client_of(app) as http:
        hannover = await _auth(http, HANNOVER)
        listed = await http.get("/fit-connect/v1/submissions", headers=hannover)
        gone = await http.get(f"/fit-connect/v1/submissions/{erased}", headers=hannover)
        gone_part = await http.get(
            f"/fit-connect/v1/submissions/{erased}/attachments/{ATTACHMENT_ID}", headers=hannover
        )
        accepted = await http.get(f"/fit-connect/v1/submissions/{answered}", headers=hannover)

    assert assert_answers_as_specified(listed, SUBMISSIONS)["totalCount"] == 0
    problem = assert_answers_as_specified(gone, SUBMISSION)
    assert problem["status"] == 404
    assert "erased" in problem["detail"]
    assert assert_answers_as_specified(gone_part, ATTACHMENT)["status"] == 404
    assert assert_answers_as_specified(accepted, SUBMISSION)["status"] == 404
    assert ledger.verify(uuid.UUID(answered)) is None  # the trails verify
    assert ledger.verify(uuid.UUID(erased)) is None


def native_submission(ledger: Ledger, vault: Vault, recipients: Recipients) -> str:
    """A submission as the native intake records it, delivered to Hannover."""
    attachment = b"%PDF-1.7 " + b"Nachweis (synthetic) " * 5000
    submission = sealed_submission(
        vault, XML_DATA, attachments=[(ATTACHMENT_ID, attachment)], chain=ledger.chain_keys
    )
    ledger.save(submission)
    delivered(ledger, vault, recipients, str(submission.id))
    return str(submission.id)


async def _auth(
    http: httpx.AsyncClient, client_id: str, secret: str | None = None
) -> dict[str, str]:
    token = await access_token(http, client_id, secret or AUTHORITY_TOKENS[client_id])
    return {"Authorization": f"Bearer {token}"}


def _decrypt(compact: str) -> bytes:
    """Decrypted as the authority's client would (jwcrypto, the PyPI client's library)."""
    token = jwcrypto_jwe.JWE()
    token.deserialize(compact, key=jwcrypto_jwk.JWK(**HANNOVER_KEY))
    payload: bytes = token.payload
    return payload


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
