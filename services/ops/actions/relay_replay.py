"""Publishing ledger events to Kafka again from a position, under a relay name of its own.

The main relay is never moved back: a replay is a second relay (``replay-…``) whose
stored position starts just before ``start`` and which stops at ``until``. Its messages
are the same the main relay published (same keys, values, delivery ids), so consumers
downstream see repeated messages: the services' state machines and the receivers' dedupe by
delivery id make them change nothing. The chain witness only ever moves forward, so a
replay of older events leaves it as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from events.ledger import Ledger
from events.outbox import OpenEnvelope, SignEnvelope
from events.publisher import Publisher
from events.relay import Relay
from events.relay_store import RelayStore

MAIN_RELAY = "relay"


def replay_name(start: int) -> str:
    """A fresh relay name for a replay from ``start``."""
    return f"replay-{start}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}"


async def replay_relay(
    ledger: Ledger,
    store: RelayStore,
    publisher: Publisher,
    *,
    envelopes: OpenEnvelope,
    sign_envelopes: SignEnvelope,
    start: int,
    until: int,
    name: str,
    progress: Callable[[int], None] = lambda _: None,
) -> int:
    """Publish the events at positions ``start`` … ``until``; return how many."""
    if name == MAIN_RELAY:
        raise ValueError("a replay never moves the main relay; give it another name")
    store.advance(name, max(0, start - 1), [])
    relay = Relay(
        ledger,
        store,
        publisher,
        envelopes=envelopes,
        sign_envelopes=sign_envelopes,
        name=name,
        stop_at=until,
    )
    while relay.position < until and await relay.publish_batch():
        progress(relay.position)
    return relay.published
