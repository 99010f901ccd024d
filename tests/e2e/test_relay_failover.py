"""Two relay processes on one ledger: one publishes, the other stands by; SIGKILL the
active one and the standby publishes the rest, nothing twice with a different content."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from contracts import topics
from deploy.broker import BrokerHandle
from events.ledger import Ledger
from events.settings import LedgerSettings
from tests.support.factories import CHAIN_KEYS_ENV, new_submission

BATCH = 25
GUARD = 90.0
"""Seconds a step may take before the test fails (a takeover needs a few)."""


class RelayProcess:
    """``amtsweg service relay`` as a child process with its own log."""

    def __init__(self, name: str, bootstrap: str, data_dir: Path) -> None:
        self._env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "AMTSWEG_DATA_DIR": str(data_dir),
            "AMTSWEG_METRICS_PORT": "0",
            "AMTSWEG_LEASE_SECONDS": "3",
        }
        self.log = data_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.ops.cli", "service", "relay"],
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def logged(self, marker: str) -> int:
        return self.log.read_bytes().count(f'"{marker}"'.encode()) if self.log.exists() else 0

    async def until_logged(self, marker: str, count: int = 1) -> None:
        deadline = time.monotonic() + GUARD
        while self.logged(marker) < count:
            assert self.process is not None
            assert self.process.poll() is None, self.log.read_text()[-2000:]
            if time.monotonic() > deadline:
                pytest.fail(f"no {marker} in {self.log.name} within {GUARD:.0f} s")
            await asyncio.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    for name, value in CHAIN_KEYS_ENV.items():  # services outside development need them
        monkeypatch.setenv(name, value)
    return tmp_path


@pytest.fixture
def relays(kafka: BrokerHandle, data_dir: Path) -> Iterator[tuple[RelayProcess, RelayProcess]]:
    pair = (
        RelayProcess("relay-a", kafka.bootstrap_servers, data_dir),
        RelayProcess("relay-b", kafka.bootstrap_servers, data_dir),
    )
    yield pair
    for relay in pair:
        relay.stop()


def _append(ledger: Ledger, count: int) -> set[str]:
    submissions = [new_submission(chain=ledger.chain_keys) for _ in range(count)]
    ledger.save(*submissions)
    return {str(s.id) for s in submissions}


async def _read_until(
    consumer: AIOKafkaConsumer, seen: dict[str, set[bytes]], copies: list[int], wanted: set[str]
) -> None:
    deadline = time.monotonic() + GUARD
    while not wanted <= seen.keys():
        if time.monotonic() > deadline:
            pytest.fail(f"{len(wanted - seen.keys())} submissions not published")
        for records in (await consumer.getmany(timeout_ms=500)).values():
            for record in records:
                assert record.key is not None
                assert record.value is not None
                seen[record.key.decode()].add(record.value)
                copies[0] += 1


async def test_the_standby_relay_takes_over_when_the_active_one_is_killed(
    kafka: BrokerHandle, data_dir: Path, relays: tuple[RelayProcess, RelayProcess]
) -> None:
    first, second = relays
    ledger = Ledger(LedgerSettings())
    consumer = AIOKafkaConsumer(
        topics.RECEIVED,
        bootstrap_servers=kafka.bootstrap_servers,
        auto_offset_reset="earliest",
        group_id=None,
    )
    seen: dict[str, set[bytes]] = defaultdict(set)
    copies = [0]
    first.start()
    await first.until_logged("leader.acquired")
    second.start()
    await second.until_logged("leader.standby")
    await consumer.start()
    try:
        published = _append(ledger, BATCH)
        await _read_until(consumer, seen, copies, published)
        assert second.logged("leader.acquired") == 0  # one relay published, the other waited

        first.kill()
        published |= _append(ledger, BATCH)
        await _read_until(consumer, seen, copies, published)
        await second.until_logged("leader.acquired")

        first.start()  # back as the standby; then the other way round
        await first.until_logged("leader.standby")
        second.kill()
        published |= _append(ledger, BATCH)
        await _read_until(consumer, seen, copies, published)
        await first.until_logged("leader.acquired", count=2)
    finally:
        await consumer.stop()
        ledger.close()
    ours = {key: contents for key, contents in seen.items() if key in published}
    assert ours.keys() == published  # the topic is the session broker's: other tests' too
    assert all(len(contents) == 1 for contents in ours.values())  # same key, same content
    assert copies[0] >= len(published)
