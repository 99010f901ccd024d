"""The relay stores of every ledger shard behind the one ``RelayStore`` interface.

Each shard's relay keeps its position and chain witness in its own shard. Readers that
check a submission against the witness (``verify``, the ops API) or watch the relays'
positions (metrics) ask this: a submission's witness comes from its shard's store, the
position of ``relay-shard<k>`` from shard k's; any other relay name (a replay) is shard 0's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from uuid import UUID

from events.ledger import Ledger
from events.relay_store import RelayStore, Witness, relay_store
from events.shards import shard_name, shard_of

MAIN_RELAY = "relay"


class ShardRelayStores:
    """One relay store per shard, shard 0 first."""

    def __init__(self, stores: Sequence[RelayStore]) -> None:
        self._stores = tuple(stores)
        self._by_relay = {shard_name(MAIN_RELAY, k): store for k, store in enumerate(stores)}

    def relays(self) -> tuple[str, ...]:
        """The names of the shards' relays, shard 0's first."""
        return tuple(self._by_relay)

    def position(self, relay: str) -> int:
        return self._by_relay.get(relay, self._stores[0]).position(relay)

    def advance(
        self, relay: str, position: int, witnesses: Iterable[Witness], token: int | None = None
    ) -> None:
        self._by_relay.get(relay, self._stores[0]).advance(relay, position, witnesses, token)

    def witness(self, submission_id: str) -> Witness | None:
        index = shard_of(UUID(submission_id), len(self._stores))
        return self._stores[index].witness(submission_id)


def relay_stores(ledger: Ledger) -> ShardRelayStores:
    """The relay stores of ``ledger``'s shards (one alone when it is not sharded)."""
    return ShardRelayStores([relay_store(shard.settings) for shard in ledger.shards])
