"""The three local KRaft nodes' configuration: one quorum, three replicas, two in sync."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.kafka_config import KafkaLayout
from deploy.kafka_quorum import QuorumNode, bootstrap_servers, quorum_properties

NODES = (QuorumNode(1, 19092, 19093), QuorumNode(2, 29092, 29093), QuorumNode(3, 39092, 39093))


def _properties(node: QuorumNode, nodes: tuple[QuorumNode, ...] = NODES) -> dict[str, str]:
    layout = KafkaLayout(Path("cluster") / f"node-{node.node_id}" / "kafka")
    text = quorum_properties(layout, node, nodes)
    return dict(line.split("=", 1) for line in text.splitlines())


def test_every_node_is_broker_and_voter_of_the_same_quorum_on_its_own_ports() -> None:
    configs = [_properties(node) for node in NODES]

    assert [c["node.id"] for c in configs] == ["1", "2", "3"]
    assert {c["process.roles"] for c in configs} == {"broker,controller"}
    assert {c["controller.quorum.voters"] for c in configs} == {
        "1@127.0.0.1:19093,2@127.0.0.1:29093,3@127.0.0.1:39093"
    }
    assert configs[1]["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert configs[1]["advertised.listeners"] == "PLAINTEXT://127.0.0.1:29092"
    assert len({c["log.dirs"] for c in configs}) == 3


def test_topics_internal_ones_too_get_three_replicas_and_need_two_in_sync() -> None:
    config = _properties(NODES[0])

    for key in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "share.coordinator.state.topic.replication.factor",
    ):
        assert config[key] == "3", key
    for key in (
        "min.insync.replicas",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.min.isr",
    ):
        assert config[key] == "2", key
    assert config["unclean.leader.election.enable"] == "false"


def test_a_smaller_quorum_never_asks_more_replicas_than_it_has() -> None:
    config = _properties(NODES[0], NODES[:1])

    assert (config["default.replication.factor"], config["min.insync.replicas"]) == ("1", "1")


def test_a_node_outside_the_quorum_is_refused() -> None:
    with pytest.raises(ValueError, match="node 4"):
        _properties(QuorumNode(4, 49092, 49093))


def test_clients_get_every_node_comma_separated() -> None:
    assert bootstrap_servers(NODES) == "127.0.0.1:19092,127.0.0.1:29092,127.0.0.1:39092"
