"""Destination management: a subscriber sets its callback and contact, nothing else.

The directory stays the source of destinations and keys: asking for another status,
other services or a key Amtsweg did not make is ``403``; creating and deleting
destinations too. The callback's secret is write-only and sealed at rest. A sender's
callback given at announce is kept for its submission.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from events.ledger import Ledger
from events.vault import Vault
from events.vault.kek import LocalKeyFile
from services.fitconnect.callback_table import CallbackTable, destination_owner, submission_owner
from services.fitconnect.destination_admin_http import API_VERSION, DestinationAdminPorts
from services.fitconnect.destination_directory import directory_of
from services.fitconnect.destinations import destination_id
from services.fitconnect.http import mount_fit_connect
from services.fitconnect.submission_table import SubmissionTable
from services.intake.http import create_app
from tests.support.authority import HANNOVER, KOELN, public, signing_key
from tests.support.delivery import TOKENS as AUTHORITY_TOKENS
from tests.support.fitconnect import FakeTokens, access_token, ports
from tests.support.fitconnect_sending import (
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

DESTINATION = str(destination_id(HANNOVER))
ONE = "/v1/destinations/{destinationId}"
SECRET = "a-callback-secret-of-hannover-0123456789"
CONTACT = {
    "legalName": "Jobcenter Region Hannover",
    "address": "Vahrenwalder Str. 245, 30179 Hannover",
    "phone": "+49 511 12345",
    "email": "poststelle@jobcenter.example",
}
HANNOVER_SIGNING = public(signing_key("hannover-sig-1"))


@pytest.fixture
def callbacks(tmp_path: Path) -> CallbackTable:
    return CallbackTable.sqlite(tmp_path / "callbacks.sqlite3", LocalKeyFile.create(tmp_path / "k"))


@pytest.fixture
def app(ledger: Ledger, vault: Vault, callbacks: CallbackTable, tmp_path: Path) -> FastAPI:
    settings = intake_settings(port=0)
    app = create_app(ledger, vault, settings)
    keys = destination_keys(tmp_path)
    table = SubmissionTable.sqlite(tmp_path / "fit-connect.sqlite3")
    sending = dataclasses.replace(
        sending_ports(ledger, vault, table, settings),
        callbacks=lambda: callbacks,
        insecure_callbacks=True,
    )
    admin = DestinationAdminPorts(
        callbacks=lambda: callbacks,
        contact=lambda authority: CONTACT,
        verification_key=lambda authority: HANNOVER_SIGNING if authority == HANNOVER else None,
    )
    fit_ports = ports(
        FakeTokens(),
        destinations=directory_of(SERVICES, EVERY),
        keys=lambda: keys,
        sending=sending,
        destination_admin=admin,
    )
    mount_fit_connect(app, fit_ports)
    return app


async def test_a_subscriber_sets_its_callback_and_contact_and_nothing_else(
    app: FastAPI, callbacks: CallbackTable, tmp_path: Path
) -> None:
    callback = {"url": "https://fachverfahren.example/callbacks/fit-connect", "secret": SECRET}
    async with served(app) as base, httpx.AsyncClient(base_url=base) as http:
        token = await access_token(http, HANNOVER, AUTHORITY_TOKENS[HANNOVER])
        auth = {"Authorization": f"Bearer {token}"}
        info = await http.get("/fit-connect/v1/info")
        listed = await http.get("/fit-connect/v1/destinations", headers=auth)
        patched = await http.patch(
            f"/fit-connect/v1/destinations/{DESTINATION}", json={"callback": callback}, headers=auth
        )
        current = patched.json()
        refused = {
            "inactive": await _patch(http, auth, {"status": "inactive"}),
            "services": await _patch(
                http, auth, {"services": [{"identifier": "urn:de:fim:leika:leistung:1"}]}
            ),
            "key": await _patch(http, auth, {"encryptionKid": str(uuid.uuid4())}),
        }
        bad = {
            "http callback": await _patch(
                http,
                auth,
                {"callback": {"url": "http://fachverfahren.example/cb", "secret": SECRET}},
            ),
            "short secret": await _patch(http, auth, {"callback": callback | {"secret": "short"}}),
            "not JSON": await http.patch(
                f"/fit-connect/v1/destinations/{DESTINATION}", content=b"[", headers=auth
            ),
        }
        same = {k: current[k] for k in ("services", "encryptionKid", "metadataVersions")}
        put = await http.put(
            f"/fit-connect/v1/destinations/{DESTINATION}",
            json=same | {"status": "active", "contactInformation": CONTACT | {"unit": "IT"}},
            headers=auth,
        )
        incomplete = await http.put(
            f"/fit-connect/v1/destinations/{DESTINATION}", json={"status": "active"}, headers=auth
        )
        activated = await asyncio.to_thread(_activate, base)
        key = await http.get(
            f"/fit-connect/v1/destinations/{DESTINATION}/keys/{current['encryptionKid']}"
        )
        known_key = await http.post(
            f"/fit-connect/v1/destinations/{DESTINATION}/keys", json=key.json(), headers=auth
        )
        signing = await http.post(
            f"/fit-connect/v1/destinations/{DESTINATION}/keys", json=HANNOVER_SIGNING, headers=auth
        )
        foreign = await http.post(
            f"/fit-connect/v1/destinations/{DESTINATION}/keys",
            json=public(signing_key("someone-else-1")),
            headers=auth,
        )
        created = await http.post("/fit-connect/v1/destinations", json={}, headers=auth)
        deleted = await http.delete(f"/fit-connect/v1/destinations/{DESTINATION}", headers=auth)
        unknown = await http.patch(
            f"/fit-connect/v1/destinations/{uuid.uuid4()}", json={"status": "active"}, headers=auth
        )
        koeln = await access_token(http, KOELN, AUTHORITY_TOKENS[KOELN])
        other = await _patch(http, {"Authorization": f"Bearer {koeln}"}, {"status": "active"})
        sender = await access_token(http, "portal-a", PORTAL_TOKENS["portal-a"])
        senders = await http.get(
            "/fit-connect/v1/destinations", headers={"Authorization": f"Bearer {sender}"}
        )

    assert assert_answers_as_specified(info, "/v1/info") == {"version": API_VERSION}
    body = assert_answers_as_specified(listed, "/v1/destinations")
    assert [d["destinationId"] for d in body["destinations"]] == [DESTINATION]
    assert body["destinations"][0]["contactInformation"] == CONTACT
    assert "callback" not in body["destinations"][0]
    assert patched.status_code == 200, patched.text
    assert_answers_as_specified(patched, ONE, "patch")
    assert current["callback"] == {"url": callback["url"]}  # the secret is write-only
    assert {k: r.status_code for k, r in refused.items()} == dict.fromkeys(refused, 403)
    assert {k: r.status_code for k, r in bad.items()} == dict.fromkeys(bad, 400)
    for answer in [*refused.values(), *bad.values()]:
        assert_answers_as_specified(answer, ONE, "patch")
    assert put.status_code == 200, put.text
    replaced = assert_answers_as_specified(put, ONE, "put")
    assert "callback" not in replaced  # PUT without a callback removes it
    assert replaced["contactInformation"]["unit"] == "IT"
    assert incomplete.status_code == 400
    assert activated == 200
    assert_answers_as_specified(known_key, "/v1/destinations/{destinationId}/keys", "post")
    assert (known_key.status_code, signing.status_code, foreign.status_code) == (201, 201, 403)
    assert known_key.headers["Location"].endswith(current["encryptionKid"])
    assert created.status_code == 403
    assert_answers_as_specified(created, "/v1/destinations", "post")
    assert deleted.status_code == 403
    assert_answers_as_specified(deleted, ONE, "delete")
    assert unknown.status_code == 404
    assert other.status_code == 403
    assert senders.status_code == 403
    assert_answers_as_specified(senders, "/v1/destinations")
    assert callbacks.callback(destination_owner(DESTINATION)) is None
    assert SECRET.encode() not in (tmp_path / "callbacks.sqlite3").read_bytes()


async def test_the_secret_is_kept_sealed_and_a_sender_may_give_a_callback_at_announce(
    app: FastAPI, callbacks: CallbackTable, tmp_path: Path
) -> None:
    callback = {"url": "http://127.0.0.1:9/portal-callback", "secret": SECRET}
    async with served(app) as base, httpx.AsyncClient(base_url=base) as http:
        token = await access_token(http, HANNOVER, AUTHORITY_TOKENS[HANNOVER])
        https = callback | {"url": "https://fachverfahren.example/cb"}
        await _patch(http, {"Authorization": f"Bearer {token}"}, {"callback": https})
        sender = await access_token(http, "portal-a", PORTAL_TOKENS["portal-a"])
        announced = await http.post(
            "/fit-connect/v1/submissions",
            json={
                "destinationId": DESTINATION,
                "announcedAttachments": [],
                "serviceType": {"name": "Test", "identifier": f"urn:de:fim:leika:leistung:{LEIKA}"},
                "callback": callback,
            },
            headers={"Authorization": f"Bearer {sender}"},
        )

    assert announced.status_code == 201, announced.text
    submission_id = announced.json()["submissionId"]
    kept = callbacks.callback(submission_owner(submission_id))
    assert kept is not None
    assert (kept.url, kept.secret) == (callback["url"], SECRET)
    subscriber = callbacks.callback(destination_owner(DESTINATION))
    assert subscriber is not None
    assert subscriber.secret == SECRET
    assert SECRET.encode() not in (tmp_path / "callbacks.sqlite3").read_bytes()


async def _patch(
    http: httpx.AsyncClient, auth: dict[str, str], body: dict[str, Any]
) -> httpx.Response:
    return await http.patch(f"/fit-connect/v1/destinations/{DESTINATION}", json=body, headers=auth)


def _activate(base: str) -> int:
    """FITKO's client activates its destination (``PATCH {"status": "active"}``)."""
    client = python_client(base)
    client.client_id, client.client_secret = HANNOVER, AUTHORITY_TOKENS[HANNOVER]
    client._refresh_access_token()
    status: int = client.activate_destination(DESTINATION).status_code
    return status
