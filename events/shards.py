"""Which ledger shard holds a submission, and the names each shard's readers keep apart.

A sharded ledger splits the submissions over N ledgers of their own (``AMTSWEG_LEDGER_SHARDS``),
each with its own notification log and its own relay, so the one ordered reader per ledger
becomes one per shard. The mapping is a pure function of the submission id and N: every
process, given the same N, finds a submission in the same shard without asking anyone.
"""

from __future__ import annotations

from uuid import UUID


class LedgerShardsError(Exception):
    """The configured number of shards does not fit the ledger on disk."""


def shard_of(submission_id: UUID, shards: int) -> int:
    """The shard holding ``submission_id``: its 128-bit value modulo the number of shards.

    Submission ids are random (UUID 4), so the shards fill evenly.
    """
    if shards < 1:
        msg = f"a ledger has at least one shard, not {shards}"
        raise ValueError(msg)
    return submission_id.int % shards


def shard_name(name: str, shard: int) -> str:
    """The name of a per-shard singleton or reader position: ``name`` for shard 0 (so a
    one-shard ledger keeps its names), ``<name>-shard<k>`` for shard k."""
    return name if shard == 0 else f"{name}-shard{shard}"


def mismatch(recorded: int | None, configured: int, *, has_events: bool) -> str | None:
    """Why ``configured`` shards cannot open a ledger that recorded ``recorded`` (None: it
    recorded none, so it ran with one); None when they fit.

    A changed number would look for existing submissions in the wrong shard.
    """
    if recorded is None:
        recorded = 1 if has_events else None
    if recorded is None or recorded == configured:
        return None
    return (
        f"AMTSWEG_LEDGER_SHARDS is {configured}, but this ledger was written with {recorded} "
        f"shard(s): submissions would be looked for in the wrong shard. Set "
        f"AMTSWEG_LEDGER_SHARDS={recorded} (a ledger's number of shards cannot change; see "
        "README, 'Ledger shards')"
    )
