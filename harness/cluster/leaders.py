"""Who leads what: pure readings of an admin client's ``describe_topics`` answer.

Each topic of the answer is ``{"topic": …, "error_code": 0, "partitions": [{"partition":
0, "leader": 2, "replicas": [2, 3, 1], "isr": [2, 3, 1]}, …]}`` (aiokafka's Metadata
response as a dict); a partition without a leader has ``leader`` -1.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Described = Sequence[Mapping[str, Any]]


def _partitions(described: Described) -> Iterable[Mapping[str, Any]]:
    for topic in described:
        if topic.get("error_code", 0) == 0:
            yield from topic.get("partitions") or ()


def leaders(described: Described) -> Counter[int]:
    """Node id → how many partitions it leads (leaderless partitions not counted)."""
    return Counter(
        int(partition["leader"])
        for partition in _partitions(described)
        if int(partition.get("leader", -1)) >= 0
    )


def busiest_leader(described: Described, nodes: Iterable[int] = ()) -> int:
    """The node that leads the most partitions; on a tie the lowest id.

    ``nodes`` (the cluster's brokers) take part with zero when they lead nothing, so that
    an answer in which no partition has a leader still names a node when ``nodes`` is
    given; ``ValueError`` when there is nothing to choose from.
    """
    counts = leaders(described)
    candidates = set(counts) | set(nodes)
    if not candidates:
        msg = "no partition has a leader and no node was named"
        raise ValueError(msg)
    return min(candidates, key=lambda node: (-counts[node], node))


def under_replicated(described: Described) -> int:
    """How many partitions have fewer in-sync replicas than replicas (or no leader)."""
    return sum(
        1
        for partition in _partitions(described)
        if int(partition.get("leader", -1)) < 0
        or len(partition.get("isr") or ()) < len(partition.get("replicas") or ())
    )


def replication_factors(described: Described) -> dict[str, int]:
    """Topic → its partitions' smallest number of replicas."""
    return {
        str(topic["topic"]): min(len(p.get("replicas") or ()) for p in topic["partitions"])
        for topic in described
        if topic.get("error_code", 0) == 0 and topic.get("partitions")
    }
