"""A local Kafka cluster of three KRaft nodes, run from Apache Kafka's own jars.

The three-node variant of :class:`~deploy.local_kafka.LocalKafka`: each node is a
combined broker and controller (node ids 1 … 3, a controller quorum of three), with its
own ports and storage under ``<data_dir>/node-<id>`` and one shared cluster id; topics
get three replicas and ``min.insync.replicas`` 2 (:mod:`deploy.kafka_quorum`). A node can
be killed and started again on its ports and storage while the other two keep serving.
The nodes start together: none answers before a majority of the quorum is up.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import structlog

from deploy.kafka_config import log4j2_properties
from deploy.kafka_quorum import QuorumNode, bootstrap_servers, quorum_properties
from deploy.local_kafka import LocalKafka, LocalKafkaError
from deploy.net import free_tcp_port

_log = structlog.get_logger(__name__)

NODES = 3


class QuorumMember(LocalKafka):
    """One node of a :class:`LocalKafkaCluster`: a :class:`LocalKafka` with the quorum's
    configuration and the cluster's id."""

    def __init__(
        self,
        data_dir: Path,
        node: QuorumNode,
        nodes: tuple[QuorumNode, ...],
        cluster_id: str,
        *,
        partitions: int = 3,
        cache_dir: Path | None = None,
        ready_timeout: float = 120.0,
    ) -> None:
        """Describe ``node`` of ``nodes`` under ``data_dir``; nothing runs before start()."""
        super().__init__(
            data_dir,
            port=node.port,
            partitions=partitions,
            cache_dir=cache_dir,
            ready_timeout=ready_timeout,
            stop_timeout=20.0,
        )
        self._controller_port = node.controller_port
        self.node = node
        self._nodes = nodes
        self._shared_cluster_id = cluster_id

    def _write_config(self) -> None:
        self.layout.root.mkdir(parents=True, exist_ok=True)
        self.layout.server_properties.write_text(
            quorum_properties(self.layout, self.node, self._nodes, partitions=self._partitions),
            encoding="utf-8",
        )
        self.layout.log4j_config.write_text(log4j2_properties(self.layout), encoding="utf-8")

    def _cluster_id(self) -> str:
        return self._shared_cluster_id


class LocalKafkaCluster:
    """Three local KRaft nodes; ports, storage and cluster id fixed at construction."""

    def __init__(
        self, data_dir: Path, *, partitions: int = 3, cache_dir: Path | None = None
    ) -> None:
        """Describe the cluster under ``data_dir`` (free ports now); start() runs it."""
        nodes = tuple(
            QuorumNode(node_id, free_tcp_port(), free_tcp_port()) for node_id in range(1, NODES + 1)
        )
        cluster_id = "-"
        while cluster_id.startswith("-"):  # a leading "-" reads as an option (as Kafka's Uuid)
            cluster_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode()
        self.nodes = nodes
        self.members = {
            node.node_id: QuorumMember(
                data_dir / f"node-{node.node_id}",
                node,
                nodes,
                cluster_id,
                partitions=partitions,
                cache_dir=cache_dir,
            )
            for node in nodes
        }

    @property
    def bootstrap_servers(self) -> str:
        """Every node's client address, comma-separated."""
        return bootstrap_servers(self.nodes)

    def start(self) -> None:
        """Start every node that is not running, together; return once each answers."""
        stopped = [member for member in self.members.values() if not member.running]
        _log.info("kafka.cluster.starting", nodes=[m.node.node_id for m in stopped])
        try:
            self._each(stopped, LocalKafka.start)
        except BaseException:
            self.stop()
            raise
        _log.info("kafka.cluster.ready", bootstrap_servers=self.bootstrap_servers)

    def stop(self) -> None:
        """Stop every node, together (one alone would wait for a quorum that is leaving)."""
        self._each(list(self.members.values()), LocalKafka.stop)

    def kill(self, node_id: int) -> None:
        """SIGKILL node ``node_id``."""
        self._member(node_id).kill()

    def start_node(self, node_id: int) -> None:
        """Start node ``node_id`` again on its ports and storage; return once it answers."""
        self._member(node_id).start()

    def running(self, node_id: int) -> bool:
        """Whether node ``node_id`` runs."""
        return self._member(node_id).running

    def _member(self, node_id: int) -> QuorumMember:
        if node_id not in self.members:
            msg = f"no node {node_id} in this cluster (nodes {sorted(self.members)})"
            raise LocalKafkaError(msg)
        return self.members[node_id]

    @staticmethod
    def _each(members: list[QuorumMember], action: Callable[[LocalKafka], None]) -> None:
        if not members:
            return
        with ThreadPoolExecutor(max_workers=len(members), thread_name_prefix="kafka-node") as pool:
            for done in [pool.submit(action, member) for member in members]:
                done.result()
