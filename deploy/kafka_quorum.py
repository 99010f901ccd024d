"""Configuration of a local KRaft quorum: several combined broker+controller nodes.

Each node is a broker and one of the controller quorum's voters, with its own client and
controller ports and its own storage; all share one cluster id. Topics get three replicas
by default and a write needs two in sync (``min.insync.replicas``), the internal topics
(consumer offsets, transactions, share groups) too: losing any one node loses nothing
acknowledged with ``acks=all``, and the cluster keeps serving with two of three.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from deploy.kafka_config import KafkaLayout

REPLICATION_FACTOR = 3
MIN_INSYNC_REPLICAS = 2


@dataclass(frozen=True)
class QuorumNode:
    """One node of the quorum: its id (1, 2, 3 …) and its two ports on 127.0.0.1."""

    node_id: int
    port: int
    controller_port: int

    @property
    def bootstrap_server(self) -> str:
        """``host:port`` of its client listener."""
        return f"127.0.0.1:{self.port}"


def quorum_voters(nodes: Sequence[QuorumNode]) -> str:
    """``controller.quorum.voters``: ``id@host:port`` of every node."""
    return ",".join(f"{node.node_id}@127.0.0.1:{node.controller_port}" for node in nodes)


def bootstrap_servers(nodes: Sequence[QuorumNode]) -> str:
    """Every node's client address, comma-separated, as Kafka clients take them."""
    return ",".join(node.bootstrap_server for node in nodes)


def quorum_properties(
    layout: KafkaLayout, node: QuorumNode, nodes: Sequence[QuorumNode], *, partitions: int = 3
) -> str:
    """Render ``server.properties`` of ``node`` in the quorum of ``nodes``."""
    if node not in nodes:
        msg = f"node {node.node_id} is not one of the quorum's nodes"
        raise ValueError(msg)
    replicas = str(min(REPLICATION_FACTOR, len(nodes)))
    insync = str(min(MIN_INSYNC_REPLICAS, len(nodes)))
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.voters": quorum_voters(nodes),
        "listeners": (
            f"PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}"
        ),
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(layout.log_dir),
        "num.partitions": str(partitions),
        "default.replication.factor": replicas,
        "min.insync.replicas": insync,
        "offsets.topic.replication.factor": replicas,
        "transaction.state.log.replication.factor": replicas,
        "transaction.state.log.min.isr": insync,
        "share.coordinator.state.topic.replication.factor": replicas,
        "share.coordinator.state.topic.min.isr": insync,
        "unclean.leader.election.enable": "false",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "true",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())
