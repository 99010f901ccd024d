"""Which broker the cluster chaos kills, and when the cluster is whole again."""

from __future__ import annotations

from typing import Any

import pytest

from harness.cluster.leaders import (
    busiest_leader,
    leaders,
    replication_factors,
    under_replicated,
)

ALL = [1, 2, 3]


def _partition(number: int, leader: int, isr: list[int] | None = None) -> dict[str, Any]:
    return {
        "partition": number,
        "leader": leader,
        "replicas": ALL,
        "isr": ALL if isr is None else isr,
    }


def _topic(name: str, *partitions: dict[str, Any], error_code: int = 0) -> dict[str, Any]:
    return {"topic": name, "error_code": error_code, "partitions": list(partitions)}


def test_the_broker_leading_most_partitions_over_all_topics_is_chosen() -> None:
    described = [
        _topic(
            "amtsweg.submissions.received", _partition(0, 1), _partition(1, 2), _partition(2, 3)
        ),
        _topic("amtsweg.intake", _partition(0, 3), _partition(1, 2)),
        _topic("__consumer_offsets", _partition(0, 3)),
    ]

    assert leaders(described) == {1: 1, 2: 2, 3: 3}
    assert busiest_leader(described) == 3


def test_a_tie_goes_to_the_lowest_node_id_and_leaderless_partitions_do_not_count() -> None:
    described = [_topic("t", _partition(0, 3), _partition(1, 2), _partition(2, -1))]

    assert busiest_leader(described) == 2


def test_a_topic_answered_with_an_error_is_left_out() -> None:
    described = [
        _topic("broken", _partition(0, 1), _partition(1, 1), error_code=3),
        _topic("t", _partition(0, 2)),
    ]

    assert busiest_leader(described) == 2


def test_without_any_leader_a_named_node_is_chosen_or_nothing_can_be() -> None:
    leaderless = [_topic("t", _partition(0, -1))]

    assert busiest_leader(leaderless, ALL) == 1
    with pytest.raises(ValueError, match="no partition has a leader"):
        busiest_leader(leaderless)


def test_partitions_short_of_replicas_in_sync_or_without_leader_are_under_replicated() -> None:
    described = [
        _topic(
            "t",
            _partition(0, 1),
            _partition(1, 2, isr=[2, 3]),
            _partition(2, -1, isr=[]),
        )
    ]

    assert under_replicated(described) == 2
    assert under_replicated([_topic("t", _partition(0, 1))]) == 0


def test_each_topic_is_as_replicated_as_its_least_replicated_partition() -> None:
    single = {"partition": 1, "leader": 1, "replicas": [1], "isr": [1]}
    described = [_topic("a", _partition(0, 1)), _topic("b", _partition(0, 1), single)]

    assert replication_factors(described) == {"a": 3, "b": 1}
