"""FIT-Connect callbacks to a real local HTTP receiver that checks their HMAC.

A submission announced on the Submission API and dispatched to Hannover calls the
destination's callback (``new-submissions``); the authority's answer calls the sender's
(``new-events``). A receiver that fails is called again after the backoff; a callback
loop built anew over the same tables (a restart) sends what was queued and repeats nothing.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response

from contracts.callbacks import verify_callback
from contracts.cases import case_id_of
from contracts.topics import pickup_channel
from events.ledger import Ledger
from events.vault.kek import LocalKeyFile
from services.fitconnect.callback_table import (
    Callback,
    CallbackTable,
    destination_owner,
    submission_owner,
)
from services.fitconnect.callbacks import (
    NEW_EVENTS,
    NEW_SUBMISSIONS,
    CallbackSettings,
    FitConnectCallbacks,
    HttpCallbackPoster,
)
from services.fitconnect.destinations import destination_id
from services.fitconnect.submission_table import Announcement, SubmissionTable
from tests.support.authority import HANNOVER
from tests.support.factories import routed_submission
from tests.support.fitconnect_sending import served

SUBSCRIBER_SECRET = "subscriber-callback-secret-0123456789abcdef"
SENDER_SECRET = "sender-callback-secret-0123456789abcdefghij"


@dataclass
class Receiver:
    """Takes callbacks whose HMAC verifies with its secret; fails the first ``failing``."""

    secret: str
    failing: int = 0
    taken: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/callback")
        async def callback(request: Request) -> Response:
            body = await request.body()
            if not verify_callback(
                self.secret,
                request.headers.get("callback-timestamp"),
                request.headers.get("callback-authentication"),
                body,
                time.time(),  # fresh: the test's clock runs at most a minute ahead
            ):
                self.refused += 1
                return Response(status_code=401)
            if self.failing:
                self.failing -= 1
                return Response(status_code=503)
            self.taken.append(json.loads(body))
            return Response(status_code=200)

        return app


@dataclass
class Clock:
    """The callback loop's time, moved by the test (from now)."""

    now: float = field(default_factory=time.time)

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def tables(tmp_path: Path) -> tuple[SubmissionTable, CallbackTable]:
    kek = LocalKeyFile.create(tmp_path / "kek.json")
    return (
        SubmissionTable.sqlite(tmp_path / "keys.sqlite3"),
        CallbackTable.sqlite(tmp_path / "keys.sqlite3", kek),
    )


async def test_new_submissions_and_new_events_reach_receivers_that_check_the_hmac(
    ledger: Ledger, tables: tuple[SubmissionTable, CallbackTable]
) -> None:
    submissions, callbacks = tables
    subscriber = Receiver(SUBSCRIBER_SECRET, failing=1)
    sender = Receiver(SENDER_SECRET)
    clock = Clock()
    settings = CallbackSettings(retry_base_seconds=10.0, retry_cap_seconds=60.0)
    submission_id, case_id = _announced_and_routed(ledger, submissions)
    destination = str(destination_id(HANNOVER))
    async with (
        served(subscriber.app()) as subscriber_base,
        served(sender.app()) as sender_base,
        httpx.AsyncClient() as client,
    ):
        callbacks.set_callback(
            destination_owner(destination),
            Callback(f"{subscriber_base}/callback", SUBSCRIBER_SECRET),
        )
        callbacks.set_callback(
            submission_owner(submission_id), Callback(f"{sender_base}/callback", SENDER_SECRET)
        )
        loop = FitConnectCallbacks(
            ledger, submissions, callbacks, HttpCallbackPoster(client), settings, clock=clock
        )
        assert await loop.tick() == 0  # routed, not dispatched: nothing to call back
        ledger.execute(
            uuid.UUID(submission_id),
            lambda s: s.dispatch("d-1", HANNOVER, f"amtsweg.delivery.{HANNOVER}", {}),
        )
        first = await loop.tick()  # the receiver fails: retried after the backoff
        too_soon = await loop.tick()
        clock.now += 11
        restarted = FitConnectCallbacks(
            ledger, submissions, callbacks, HttpCallbackPoster(client), settings, clock=clock
        )
        delivered = await restarted.tick()
        again = await restarted.tick()
        ledger.execute(uuid.UUID(submission_id), lambda s: s.accept("d-1", "AZ-1"))
        answered = await restarted.tick()

    assert (first, too_soon, delivered, again, answered) == (0, 0, 1, 0, 1)
    assert subscriber.refused == sender.refused == 0
    expected = {"destinationId": destination, "submissionId": submission_id, "caseId": case_id}
    assert subscriber.taken == [
        {"type": NEW_SUBMISSIONS, "submissionIds": [submission_id], "submissions": [expected]}
    ]
    assert sender.taken == [
        {"type": NEW_EVENTS, "submissionIds": [submission_id], "submissions": [expected]}
    ]


async def test_a_callback_given_up_after_its_last_attempt_and_secrets_sealed(
    ledger: Ledger, tables: tuple[SubmissionTable, CallbackTable], tmp_path: Path
) -> None:
    submissions, callbacks = tables
    subscriber = Receiver("another-secret-than-the-one-amtsweg-holds-0000")
    clock = Clock()
    settings = CallbackSettings(retry_base_seconds=1.0, retry_cap_seconds=1.0, max_attempts=2)
    submission_id, _ = _announced_and_routed(ledger, submissions)
    async with served(subscriber.app()) as base, httpx.AsyncClient() as client:
        owner = destination_owner(destination_id(HANNOVER))
        callbacks.set_callback(owner, Callback(f"{base}/callback", SUBSCRIBER_SECRET))
        loop = FitConnectCallbacks(
            ledger, submissions, callbacks, HttpCallbackPoster(client), settings, clock=clock
        )
        ledger.execute(
            uuid.UUID(submission_id),
            lambda s: s.dispatch("d-1", HANNOVER, f"amtsweg.delivery.{HANNOVER}", {}),
        )
        for _ in range(4):
            await loop.tick()
            clock.now += 2

    assert subscriber.refused == 2  # wrong HMAC for the receiver: refused, twice, then no more
    assert subscriber.taken == []
    notice = callbacks.notice(f"Dispatched:{submission_id}:4")
    assert notice is not None
    assert (notice.attempts, notice.done, notice.failure) == (2, True, "HTTP 401")
    stored = (tmp_path / "keys.sqlite3").read_bytes()
    assert SUBSCRIBER_SECRET.encode() not in stored


async def test_a_submission_not_sent_over_fit_connect_is_announced_to_its_pickup(
    ledger: Ledger, tables: tuple[SubmissionTable, CallbackTable]
) -> None:
    submissions, callbacks = tables
    subscriber = Receiver(SUBSCRIBER_SECRET)
    native = routed_submission(HANNOVER)
    on_kafka = routed_submission(HANNOVER)
    ledger.save(native, on_kafka)
    async with served(subscriber.app()) as base, httpx.AsyncClient() as client:
        owner = destination_owner(destination_id(HANNOVER))
        callbacks.set_callback(owner, Callback(f"{base}/callback", SUBSCRIBER_SECRET))
        loop = FitConnectCallbacks(ledger, submissions, callbacks, HttpCallbackPoster(client))
        ledger.execute(
            native.id, lambda s: s.dispatch("d-1", HANNOVER, pickup_channel(HANNOVER), {})
        )
        ledger.execute(
            on_kafka.id, lambda s: s.dispatch("d-2", HANNOVER, f"amtsweg.delivery.{HANNOVER}", {})
        )
        sent = await loop.tick()

    assert sent == 1  # the Kafka delivery is not FIT-Connect's to announce
    (taken,) = subscriber.taken
    assert taken["submissions"] == [
        {
            "destinationId": str(destination_id(HANNOVER)),
            "submissionId": str(native.id),
            "caseId": case_id_of(str(native.id)),
        }
    ]


def _announced_and_routed(ledger: Ledger, submissions: SubmissionTable) -> tuple[str, str]:
    submission = routed_submission(HANNOVER)
    ledger.save(submission)
    case_id = str(uuid.uuid4())
    submissions.announce(
        Announcement(
            submission_id=str(submission.id),
            destination_id=str(destination_id(HANNOVER)),
            client_id="portal-a",
            case_id=case_id,
            service_type={"name": "Test", "identifier": "urn:de:fim:leika:leistung:1"},
            announced=(),
            submitted=None,
        )
    )
    return str(submission.id), case_id
