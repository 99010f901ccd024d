"""Leases on both ledger backends: one holder at a time, takeover after release, death and
expiry, and fencing of the relay's position by the token."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from events.lease import Lease, StaleLeaderError, Tenure
from events.leases import lease_for
from events.relay_store import Witness, relay_store
from events.settings import LedgerSettings

GUARD = 20.0
"""Seconds a takeover may take here before the test fails (it needs far less)."""

_HOLD = """
import json, sys, time
from events.leases import lease_for
from events.settings import LedgerSettings
settings = LedgerSettings(**json.loads(sys.argv[1]))
lease = lease_for(settings, "relay", "child", 30.0)
tenure = lease.acquire()
print("held" if tenure else "refused", flush=True)
time.sleep(600)
"""


def _lease(settings: LedgerSettings, holder: str, seconds: float = 30.0) -> Lease:
    return lease_for(settings, "relay", holder, seconds)


def _eventually(attempt: Callable[[], Tenure | None]) -> Tenure:
    deadline = time.monotonic() + GUARD
    while time.monotonic() < deadline:
        tenure = attempt()
        if tenure is not None:
            return tenure
        time.sleep(0.1)
    pytest.fail(f"no takeover within {GUARD:.0f} s")


def test_only_one_of_two_holders_acquires(ledger_settings: LedgerSettings) -> None:
    first, second = _lease(ledger_settings, "a"), _lease(ledger_settings, "b")
    held = first.acquire()
    assert held is not None
    assert held.holder == "a"
    assert second.acquire() is None
    assert first.renew()
    assert not second.renew()
    first.release()


def test_the_standby_takes_over_when_the_holder_releases(ledger_settings: LedgerSettings) -> None:
    first, second = _lease(ledger_settings, "a"), _lease(ledger_settings, "b")
    held = first.acquire()
    assert held is not None
    first.release()
    taken = second.acquire()
    assert taken is not None
    assert taken.token == held.token + 1
    assert not first.renew()
    assert first.acquire() is None
    second.release()


def test_the_standby_takes_over_when_the_holder_is_killed(ledger_settings: LedgerSettings) -> None:
    settings = ledger_settings.model_dump(include={"data_dir", "ledger_url", "ledger_schema"})
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLD, json.dumps(settings, default=str)],
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"held"
        standby = _lease(ledger_settings, "b")
        assert standby.acquire() is None  # the child holds it, for 30 s
        child.kill()
        child.wait(timeout=30)
        taken = _eventually(standby.acquire)
        assert taken.token == 2
        standby.release()
    finally:
        child.kill()
        child.wait(timeout=30)


def test_a_holder_that_stops_renewing_expires_on_postgres_not_on_sqlite(
    ledger_settings: LedgerSettings,
) -> None:
    stuck, standby = _lease(ledger_settings, "a", seconds=1.0), _lease(ledger_settings, "b")
    held = stuck.acquire()
    assert held is not None
    assert standby.acquire() is None
    if ledger_settings.sqlite_path() is not None:  # a file lock lasts as long as its process
        time.sleep(1.5)
        assert standby.acquire() is None
        assert stuck.renew()
        stuck.release()
        return
    taken = _eventually(standby.acquire)  # after its second, its session is ended
    assert taken.token == held.token + 1
    assert not stuck.renew()
    standby.release()
    stuck.release()


def test_a_stale_holder_cannot_move_the_relay_position(ledger_settings: LedgerSettings) -> None:
    store = relay_store(ledger_settings)
    old, new = _lease(ledger_settings, "a"), _lease(ledger_settings, "b")
    stale = old.acquire()
    assert stale is not None
    store.advance("relay", 5, [Witness("s-1", 1, "h1")], stale.token)
    old.release()  # as if it had been paused past a takeover
    current = new.acquire()
    assert current is not None
    with pytest.raises(StaleLeaderError):
        store.advance("relay", 9, [Witness("s-1", 2, "h2")], stale.token)
    assert store.position("relay") == 5
    assert store.witness("s-1") == Witness("s-1", 1, "h1")
    store.advance("relay", 9, [Witness("s-1", 2, "h2")], current.token)
    assert store.position("relay") == 9
    new.release()


def test_leases_of_other_names_do_not_exclude_each_other(ledger_settings: LedgerSettings) -> None:
    relay = lease_for(ledger_settings, "relay", "a", 30.0)
    notifier = lease_for(ledger_settings, "notifier", "b", 30.0)
    assert relay.acquire() is not None
    assert notifier.acquire() is not None
    relay.release()
    notifier.release()
