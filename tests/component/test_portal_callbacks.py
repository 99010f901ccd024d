"""Callbacks to portals and request deadlines: signed, retried, in order, once (clock injected)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts import topics
from contracts.callbacks import verify_callback
from events.case import ReplyKind, RequestState
from events.ledger import Ledger
from events.settings import LedgerSettings
from events.submission import Submission
from events.vault import Vault
from services.delivery.callbacks import HttpCallbackSender
from services.delivery.overdue import OverdueRequests
from services.delivery.portal_callbacks import PortalCallbacks
from services.delivery.portal_store import (
    CALLBACK_TYPE,
    DEAD,
    DROPPED,
    PortalProjector,
    PortalStore,
)
from services.delivery.settings import DeliverySettings
from services.ops.actions.dead_letters import PORTAL, NotRetryableError
from services.ops.actions.erasure import erase
from services.ops.app.bootstrap import Core
from services.runtime.portals import Portal, Portals
from tests.support.pipeline import intake_settings, wiring
from tests.support.portal_replies import AUTHORITY, delivered_case, record_reply

SECRET = "portal-a-callback-secret"
URL = "https://portal-a.example/amtsweg/callbacks"
PORTALS = Portals(
    {
        "portal-a": Portal("portal-a", topics.portal_topic("portal-a"), URL, SECRET, None),
        "portal-b": Portal("portal-b", None),
    }
)


class Receiver:
    """The portal's callback endpoint: answers ``statuses`` in turn (then 204), or those
    of ``failing`` for a reply id; checks every signature."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.failing: dict[str, list[int]] = {}
        self.bodies: list[dict[str, Any]] = []
        self.answered: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert str(request.url) == URL
        assert verify_callback(
            SECRET,
            request.headers.get("callback-timestamp"),
            request.headers.get("callback-authentication"),
            request.content,
            time.time(),
        )
        self.bodies.append(json.loads(request.content))
        queue = self.failing.get(self.bodies[-1]["replyId"], self.statuses)
        status = queue.pop(0) if queue else 204
        self.answered.append(status)
        return httpx.Response(status)

    def notices(self) -> list[tuple[str, str]]:
        return [(b["replyId"], b.get("kind") or b["event"]) for b in self.bodies]


class Clock:
    def __init__(self) -> None:
        self.now = time.time() + 1

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
async def client(receiver: Receiver) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as http:
        yield http


Start = Callable[..., PortalCallbacks]


@pytest.fixture
def start(
    ledger: Ledger,
    ledger_settings: LedgerSettings,
    client: httpx.AsyncClient,
    clock: Clock,
) -> Start:
    """A fresh loop over the same tables each call (as after a restart)."""

    def started(max_attempts: int = 8) -> PortalCallbacks:
        store = PortalStore.beside(ledger_settings)
        has_callback = lambda portal_id: bool(PORTALS.get(portal_id).callback_url)  # noqa: E731
        projector = PortalProjector(ledger, store, has_callback, "https://amtsweg.example")
        settings = DeliverySettings(callback_max_attempts=max_attempts)
        return PortalCallbacks(
            projector,
            PORTALS,
            settings,
            HttpCallbackSender(client),
            overdue=OverdueRequests(ledger, store, PORTALS),
            clock=clock,
            jitter=lambda: 0.0,
        )

    return started


def _events(ledger: Ledger, submission: Submission, *names: str) -> list[dict[str, Any]]:
    return [e.data for e in ledger.trail(submission.id) if e.event in names]


async def test_a_reply_is_called_back_signed_naming_ids_only_and_once(
    ledger: Ledger, vault: Vault, receiver: Receiver, start: Start
) -> None:
    case = delivered_case(ledger, vault)
    record_reply(ledger, vault, case.id, "r-1")
    assert await start().tick() == 1
    assert receiver.bodies == [
        {
            "type": CALLBACK_TYPE,
            "submissionId": str(case.id),
            "caseId": case.case_id,
            "replyId": "r-1",
            "kind": "decision",
            "href": f"https://amtsweg.example/v1/submissions/{case.id}/replies/r-1",
        }
    ]
    assert _events(ledger, case, "PortalNotified") == [
        {"notice": "reply:r-1", "attempt": 1, "status_code": 204}
    ]
    restarted = start()
    assert await restarted.tick() == 0
    assert await restarted.tick() == 0
    assert len(receiver.bodies) == 1  # acknowledged once: not sent again


async def test_a_failed_callback_is_retried_after_its_backoff(
    ledger: Ledger, vault: Vault, receiver: Receiver, start: Start, clock: Clock
) -> None:
    receiver.statuses = [503]
    case = delivered_case(ledger, vault)
    record_reply(ledger, vault, case.id, "r-1")
    loop = start()
    await loop.tick()
    [failed] = _events(ledger, case, "PortalNotificationFailed")
    assert (failed["notice"], failed["attempt"], failed["reason"]) == ("reply:r-1", 1, "HTTP 503")
    retry_at = datetime.fromisoformat(failed["retry_at"]).timestamp()
    assert retry_at > clock.now
    await start().tick()  # not due yet, also after a restart
    assert receiver.answered == [503]
    clock.now = retry_at + 0.001
    await start().tick()
    assert receiver.answered == [503, 204]
    assert _events(ledger, case, "PortalNotified") == [
        {"notice": "reply:r-1", "attempt": 2, "status_code": 204}
    ]


async def test_after_the_last_attempt_it_gives_up_as_a_dead_letter(
    ledger: Ledger,
    vault: Vault,
    receiver: Receiver,
    start: Start,
    clock: Clock,
    ledger_settings: LedgerSettings,
) -> None:
    receiver.statuses = [500, 500, 500]
    case = delivered_case(ledger, vault)
    record_reply(ledger, vault, case.id, "r-1")
    for _ in range(4):
        await start(max_attempts=2).tick()
        clock.now += 7200
    assert receiver.answered == [500, 500]
    failures = _events(ledger, case, "PortalNotificationFailed")
    assert [(f["attempt"], f["retry_at"] is None) for f in failures] == [(1, False), (2, True)]
    [dead] = PortalStore.beside(ledger_settings).dead_letters(10)
    assert (dead.submission_id, dead.notice, dead.state) == (str(case.id), "reply:r-1", DEAD)


async def test_a_cases_second_notice_waits_for_its_first(
    ledger: Ledger, vault: Vault, receiver: Receiver, start: Start, clock: Clock
) -> None:
    receiver.failing = {"r-1": [503]}
    case = delivered_case(ledger, vault)
    other = delivered_case(ledger, vault)
    record_reply(ledger, vault, case.id, "r-1", kind=ReplyKind.STATUS)
    record_reply(ledger, vault, case.id, "r-2")
    record_reply(ledger, vault, other.id, "o-1")
    await start().tick()
    assert sorted(receiver.notices()) == [("o-1", "decision"), ("r-1", "status")]  # not r-2
    clock.now += 3600
    await start().tick()
    assert receiver.notices()[2:] == [("r-1", "status")]
    await start().tick()
    assert receiver.notices()[3:] == [("r-2", "decision")]


async def test_a_portal_without_a_callback_is_not_called(
    ledger: Ledger, vault: Vault, receiver: Receiver, start: Start
) -> None:
    case = delivered_case(ledger, vault, portal_id="portal-b")
    record_reply(ledger, vault, case.id, "r-1")
    assert await start().tick() == 0
    assert receiver.bodies == []
    assert _events(ledger, case, "PortalNotified", "PortalNotificationFailed") == []


async def test_an_erased_case_drops_its_pending_notices(
    ledger: Ledger,
    vault: Vault,
    receiver: Receiver,
    start: Start,
    clock: Clock,
    ledger_settings: LedgerSettings,
) -> None:
    receiver.statuses = [503]
    case = delivered_case(ledger, vault)
    record_reply(ledger, vault, case.id, "r-1")
    await start().tick()
    erase(ledger, vault, case.id, by="op", legal_basis="SGB X § 84", reason="test")
    clock.now += 7200
    await start().tick()
    assert receiver.answered == [503]
    [notice] = PortalStore.beside(ledger_settings).notices_of(str(case.id))
    assert notice.state == DROPPED


def _in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def test_a_passed_deadline_is_recorded_once_and_told_to_both_sides(
    ledger: Ledger, vault: Vault, receiver: Receiver, start: Start, clock: Clock
) -> None:
    case = delivered_case(ledger, vault)
    record_reply(ledger, vault, case.id, "r-1", kind=ReplyKind.REQUEST, due=_in(3600))
    await start().tick()
    assert _events(ledger, case, "RequestOverdue") == []  # not due yet
    clock.now += 3601
    await start().tick()
    [overdue] = _events(ledger, case, "RequestOverdue")
    assert overdue["reply_id"] == "r-1"
    assert overdue["portal_topic"] == topics.portal_topic("portal-a")
    assert overdue["authority_topic"] == f"amtsweg.delivery.{AUTHORITY}"
    assert ledger.get_submission(case.id).replies["r-1"].state is RequestState.OVERDUE
    await start().tick()
    await start().tick()
    assert len(_events(ledger, case, "RequestOverdue")) == 1
    assert receiver.notices() == [("r-1", "request"), ("r-1", "request-overdue")]


async def test_an_answered_request_is_not_overdue(
    ledger: Ledger, vault: Vault, start: Start, clock: Clock
) -> None:
    case = delivered_case(ledger, vault)
    record_reply(ledger, vault, case.id, "r-1", kind=ReplyKind.REQUEST, due=_in(60))
    await start().tick()
    ledger.execute(
        case.id,
        lambda s: s.hand_in(
            "s-1", answers="r-1", dossier=f"{case.id}/x", parts=[], request_digest="e" * 64
        ),
    )
    clock.now += 120
    await start().tick()
    assert _events(ledger, case, "RequestOverdue") == []
    assert ledger.get_submission(case.id).replies["r-1"].state is RequestState.ANSWERED


async def test_a_pickup_channel_gets_no_overdue_topic(
    ledger: Ledger, vault: Vault, start: Start, clock: Clock, tmp_path: Path
) -> None:
    case = delivered_case(
        ledger, vault, portal_id="portal-b", topic=topics.pickup_channel(AUTHORITY)
    )
    record_reply(ledger, vault, case.id, "r-1", kind=ReplyKind.REQUEST, due=_in(60))
    clock.now += 120
    await start().tick()
    [overdue] = _events(ledger, case, "RequestOverdue")
    assert (overdue["portal_topic"], overdue["authority_topic"]) == (None, None)


async def test_two_processes_record_a_passed_deadline_once(
    ledger: Ledger, vault: Vault, start: Start, clock: Clock
) -> None:
    case = delivered_case(ledger, vault)
    record_reply(ledger, vault, case.id, "r-1", kind=ReplyKind.REQUEST, due=_in(60))
    clock.now += 120
    await asyncio.gather(start().tick(), start().tick())
    assert len(_events(ledger, case, "RequestOverdue")) == 1


async def test_amtsweg_run_starts_the_portals_follow_up(
    ledger: Ledger, vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AMTSWEG_DEVELOPMENT", "1")
    case = delivered_case(ledger, vault, portal_id="portal-b")
    record_reply(ledger, vault, case.id, "r-1", kind=ReplyKind.REQUEST, due=_in(-1))
    stop = asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        task = await wiring(intake_settings(port=0), Core(ledger, vault)).start_portal_callbacks(
            stack, stop
        )
        for _ in range(100):
            if _events(ledger, case, "RequestOverdue"):
                break
            await asyncio.sleep(0.05)
        stop.set()
        await task
    [overdue] = _events(ledger, case, "RequestOverdue")
    assert overdue["portal_topic"] == topics.portal_topic("portal-b")


async def test_a_given_up_callback_is_an_ops_dead_letter_to_drop(
    ledger: Ledger,
    vault: Vault,
    receiver: Receiver,
    start: Start,
    clock: Clock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AMTSWEG_DEVELOPMENT", "1")
    receiver.statuses = [500]
    case = delivered_case(ledger, vault)
    record_reply(ledger, vault, case.id, "r-1")
    await start(max_attempts=1).tick()
    letters = wiring(intake_settings(port=0), Core(ledger, vault)).dead_letters(None)
    [letter] = await letters.waiting(PORTAL)
    assert (letter.submission_id, letter.portal_id, letter.retryable) == (
        str(case.id),
        "portal-a",
        False,
    )
    assert (await letters.counts())[PORTAL] == 1
    with pytest.raises(NotRetryableError):
        await letters.retry(letter.letter_id, actor="op", reason="test")
    await letters.drop(letter.letter_id, actor="op", reason="portal told by phone")
    assert await letters.waiting(PORTAL) == []
