"""The failover run's load and what it sees: submissions appended to the ledger at a steady
rate, and the relay's notices of them read back from ``amtsweg.submissions.received``."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer

from events.ledger import Ledger
from events.submission import Submission

LEIKA = "99107004000000"
"""A LeiKa key (Leistungskatalog: the national catalogue of administrative services)."""


def received(ledger: Ledger) -> Submission:
    """A new submission as the intake records one (its references name nothing stored)."""
    blob = f"{uuid.uuid4()}/{uuid.uuid4().hex}"
    return Submission.receive(
        uuid.uuid4(),
        chain=ledger.chain_keys,
        portal_id="failover-portal",
        service_identifier=f"urn:de:fim:leika:leistung:{LEIKA}",
        leika_key=LEIKA,
        dossier=blob,
        data={"blob": blob, "sha512": "0" * 128, "size": 0},
        attachments=[],
        request_digest="0" * 64,
        correlation_id="failover",
    )


async def append_steadily(ledger: Ledger, rate: float, stop: asyncio.Event) -> set[str]:
    """Append ``rate`` submissions per second until ``stop``; their ids."""
    appended: set[str] = set()
    started, count = time.monotonic(), 0
    while not stop.is_set():
        submission = received(ledger)
        await asyncio.to_thread(ledger.save, submission)
        appended.add(str(submission.id))
        count += 1
        pause = started + count / rate - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
    return appended


@dataclass
class Published:
    """Every notice read: content per submission, and the producers' timestamps."""

    contents: dict[str, set[bytes]] = field(default_factory=lambda: defaultdict(set))
    records: int = 0
    stamps: list[float] = field(default_factory=list)
    """Each record's create time (seconds since the epoch), as its producer stamped it."""

    def first_after(self, moment: float) -> float | None:
        """The create time of the first record stamped after ``moment``."""
        later = [stamp for stamp in self.stamps if stamp > moment]
        return min(later) if later else None


async def read_published(consumer: AIOKafkaConsumer, published: Published) -> None:
    """Read until cancelled."""
    while True:
        for records in (await consumer.getmany(timeout_ms=200)).values():
            for record in records:
                published.contents[(record.key or b"").decode()].add(record.value or b"")
                published.records += 1
                published.stamps.append(record.timestamp / 1000)
