"""``amtsweg bench ledger``: a ledger of many made-up submissions, made quickly.

The trails (:mod:`harness.bench.trails`) are spread evenly over the months before now,
in order of receipt; each chunk of submissions is encoded by the ledger's own mapper
(its transcoder, and its cipher or compressor if configured) and written by the ledger's
own recorder in one transaction, the chunk's events in time order as the pipeline would
have interleaved them. SQLite by default (``<data dir>/ledger.sqlite3``), PostgreSQL
when ``AMTSWEG_LEDGER_URL`` names it. Only an empty ledger is filled: made-up
submissions never mix with real ones. No content is sealed: the blob store and key store
stay empty, so the trails verify, list and count, but no stage can open their content.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from eventsourcing.persistence import StoredEvent
from rich.console import Console

from events.ledger import Ledger
from events.settings import LedgerSettings
from harness.bench.trails import TrailMaker

console = Console()
CHUNK = 20_000
"""Submissions per transaction."""


@dataclass(frozen=True)
class Filled:
    """What a fill wrote, and how fast."""

    submissions: int
    events: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


class LedgerNotEmptyError(Exception):
    """The ledger already holds events: made-up submissions go into an empty one only."""


def fill_ledger(
    ledger: Ledger,
    submissions: int,
    *,
    months: int = 12,
    seed: int = 18,
    end: datetime | None = None,
    chunk: int = CHUNK,
    workers: int = 1,
    progress: Callable[[int], None] = lambda _: None,
) -> Filled:
    """Write ``submissions`` trails into the empty ``ledger``, received evenly over the
    ``months`` (of 30 days) before ``end`` (now); ``workers`` processes make and encode
    the chunks (1: this one), this one writes them in order."""
    if ledger.recorder.max_notification_id():
        raise LedgerNotEmptyError("the ledger holds events already: fill an empty one")
    last = end or datetime.now(UTC) - timedelta(days=6)  # the last one's receipt is in the past
    first = last - timedelta(days=30 * months)
    step = (last - first) / max(1, submissions)
    chunks = [
        _Chunk(seed * 1_000_003 + n, first + step * start, step, min(chunk, submissions - start))
        for n, start in enumerate(range(0, submissions, chunk))
    ]
    started = time.perf_counter()
    events = written = 0
    for stored in _encoded(ledger, chunks, workers):
        ledger.recorder.insert_events(stored)
        events += len(stored)
        written = min(submissions, written + chunk)
        progress(written)
    return Filled(submissions, events, time.perf_counter() - started)


@dataclass(frozen=True)
class _Chunk:
    """Submissions received one ``step`` apart from ``start``, made from ``seed``."""

    seed: int
    start: datetime
    step: timedelta
    count: int


def _encoded(ledger: Ledger, chunks: list[_Chunk], workers: int) -> Iterator[list[StoredEvent]]:
    """Each chunk's stored events, in order of the chunks."""
    if workers <= 1:
        for chunk in chunks:
            yield _encode(ledger, chunk)
        return
    with ProcessPoolExecutor(workers) as pool:
        waiting = [pool.submit(_encode_apart, ledger.settings, c) for c in chunks[:workers]]
        for following in [*chunks[workers:], *([None] * workers)]:
            done = waiting.pop(0)
            if following is not None:
                waiting.append(pool.submit(_encode_apart, ledger.settings, following))
            yield done.result()


def _encode_apart(settings: LedgerSettings, chunk: _Chunk) -> list[StoredEvent]:
    """``_encode`` in a worker process, with a ledger of its own (for its mapper)."""
    ledger = Ledger(settings)
    try:
        return _encode(ledger, chunk)
    finally:
        ledger.close()


def _encode(ledger: Ledger, chunk: _Chunk) -> list[StoredEvent]:
    """The chunk's trails, encoded by the ledger's mapper, in time order."""
    chain_kid, chain_key = ledger.chain_keys.for_new()
    maker = TrailMaker(chunk.seed, chain_kid, chain_key)
    events = [e for n in range(chunk.count) for e in maker.trail(chunk.start + chunk.step * n)]
    events.sort(key=lambda event: event.timestamp)
    return [ledger.mapper.to_stored_event(event) for event in events]


def ledger_bench(
    submissions: Annotated[int, typer.Option(help="how many submissions")] = 1_000_000,
    data_dir: Annotated[
        Path, typer.Option(help="where the SQLite ledger goes (AMTSWEG_LEDGER_URL: elsewhere)")
    ] = Path("var/scale"),
    months: Annotated[int, typer.Option(min=1, help="received over this many months")] = 12,
    seed: Annotated[int, typer.Option(help="the same seed makes the same ledger")] = 18,
    workers: Annotated[
        int, typer.Option(min=1, help="processes that make the trails (default: one per core)")
    ] = os.cpu_count() or 1,
) -> None:
    """Fill an empty ledger with made-up, complete, verifiable trails; print the rate."""
    ledger = Ledger(LedgerSettings(data_dir=data_dir))
    try:
        with console.status("filling") as status:
            filled = fill_ledger(
                ledger,
                submissions,
                months=months,
                seed=seed,
                workers=workers,
                progress=lambda n: status.update(f"filling: {n:,} of {submissions:,}"),
            )
    except LedgerNotEmptyError as error:
        raise typer.BadParameter(str(error), param_hint="--data-dir") from None
    finally:
        ledger.close()
    console.print(
        f"wrote {filled.submissions:,} submissions ({filled.events:,} events) in "
        f"{filled.seconds:,.1f} s: {filled.events_per_second:,.0f} events/s, "
        f"{filled.submissions / filled.seconds:,.0f} submissions/s"
    )
