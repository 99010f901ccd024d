"""The leader loop on a fake lease: stand by, lead, lose the term, stop, hand the lease back."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from structlog.testing import capture_logs

from events.lease import StaleLeaderError, Tenure
from services.runtime.leadership import Pace, run_as_leader

QUICK = Pace(renew_every=0.01, retry_every=0.01)
GUARD = 5.0
"""Seconds a test waits for something that must happen (a hang fails, not a slow run)."""


@dataclass
class FakeLease:
    """A lease held by someone else while ``taken``; renewals fail once ``revoked``."""

    name: str = "relay"
    holder: str = "host:1:ab"
    taken: bool = False
    revoked: bool = False
    token: int = 0
    held: bool = False
    renewals: int = 0
    terms: list[int] = field(default_factory=list)

    def acquire(self) -> Tenure | None:
        if self.taken or self.held:
            return None
        self.token += 1
        self.held = True
        self.revoked = False
        self.terms.append(self.token)
        return Tenure(self.name, self.holder, self.token)

    def renew(self) -> bool:
        self.renewals += 1
        return self.held and not self.revoked

    def release(self) -> None:
        self.held = False


@dataclass
class Part:
    """A singleton that records its terms and how each ended."""

    started: asyncio.Event = field(default_factory=asyncio.Event)
    ended: list[str] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    fail_with: Exception | None = None

    async def __call__(self, tenure: Tenure, stop: asyncio.Event) -> None:
        self.tokens.append(tenure.token)
        self.started.set()
        try:
            if self.fail_with is not None:
                error, self.fail_with = self.fail_with, None
                raise error
            await stop.wait()
            self.ended.append("stopped")
        except asyncio.CancelledError:
            self.ended.append("cancelled")
            raise

    async def next_term(self) -> None:
        await asyncio.wait_for(self.started.wait(), GUARD)
        self.started.clear()


async def _until(condition: object) -> None:
    async def wait() -> None:
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.005)

    await asyncio.wait_for(wait(), GUARD)


async def test_a_standby_waits_logs_once_and_leads_when_the_holder_lets_go() -> None:
    lease, part, stop = FakeLease(taken=True), Part(), asyncio.Event()
    with capture_logs() as logs:
        loop = asyncio.create_task(run_as_leader(lease, part, stop, pace=QUICK))
        await _until(lambda: lease.renewals == 0 and len(logs) > 0)
        await asyncio.sleep(0.05)  # several attempts while the other holds it
        assert part.tokens == []
        lease.taken = False
        await part.next_term()
        stop.set()
        await asyncio.wait_for(loop, GUARD)
    events = [entry["event"] for entry in logs]
    assert events.count("leader.standby") == 1
    assert "leader.acquired" in events
    acquired = next(entry for entry in logs if entry["event"] == "leader.acquired")
    assert (acquired["lease"], acquired["holder"], acquired["token"]) == ("relay", lease.holder, 1)


async def test_a_failed_renewal_cancels_the_part_at_once_and_stands_by_again() -> None:
    lease, part, stop = FakeLease(), Part(), asyncio.Event()
    with capture_logs() as logs:
        loop = asyncio.create_task(run_as_leader(lease, part, stop, pace=QUICK))
        await part.next_term()
        lease.taken = True  # another holder gets it next
        lease.revoked = True
        await _until(lambda: part.ended == ["cancelled"])
        assert not lease.held
        lease.taken = False
        await part.next_term()
        stop.set()
        await asyncio.wait_for(loop, GUARD)
    assert part.tokens == [1, 2]
    assert part.ended == ["cancelled", "stopped"]
    lost = [entry for entry in logs if entry["event"] == "leader.lost"]
    assert [(entry["token"], entry["reason"]) for entry in lost] == [(1, "renewal failed")]


async def test_a_fenced_write_ends_the_term_and_a_new_one_follows() -> None:
    lease, part, stop = FakeLease(), Part(fail_with=StaleLeaderError("relay")), asyncio.Event()
    with capture_logs() as logs:
        loop = asyncio.create_task(run_as_leader(lease, part, stop, pace=QUICK))
        await part.next_term()  # the fenced one
        await part.next_term()
        stop.set()
        await asyncio.wait_for(loop, GUARD)
    assert part.tokens == [1, 2]
    assert [entry["event"] for entry in logs].count("leader.lost") == 1


async def test_stop_ends_the_part_gently_releases_the_lease_and_tells_the_observer() -> None:
    lease, part, stop = FakeLease(), Part(), asyncio.Event()
    seen: list[int | None] = []
    loop = asyncio.create_task(
        run_as_leader(
            lease,
            part,
            stop,
            pace=QUICK,
            observe=lambda t: seen.append(None if t is None else t.token),
        )
    )
    await part.next_term()
    assert lease.held
    stop.set()
    await asyncio.wait_for(loop, GUARD)
    assert part.ended == ["stopped"]
    assert not lease.held
    assert seen == [1, None]


async def test_a_part_that_fails_by_itself_raises_after_handing_the_lease_back() -> None:
    lease, stop = FakeLease(), asyncio.Event()
    part = Part(fail_with=RuntimeError("broken"))
    with pytest.raises(RuntimeError, match="broken"):
        await asyncio.wait_for(run_as_leader(lease, part, stop, pace=QUICK), GUARD)
    assert not lease.held
    assert lease.terms == [1]


async def test_a_leader_renews_while_it_runs() -> None:
    lease, part, stop = FakeLease(), Part(), asyncio.Event()
    loop = asyncio.create_task(run_as_leader(lease, part, stop, pace=QUICK))
    await part.next_term()
    await _until(lambda: lease.renewals >= 3)
    assert part.ended == []
    stop.set()
    await asyncio.wait_for(loop, GUARD)


def test_the_leader_renews_every_third_and_a_standby_retries_at_most_a_second_apart() -> None:
    assert Pace.of(9.0) == Pace(renew_every=3.0, retry_every=1.0)
    assert Pace.of(1.5) == Pace(renew_every=0.5, retry_every=0.5)
