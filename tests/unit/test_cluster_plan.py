"""The cluster chaos's plan: every service, one broker and PostgreSQL, apart in time."""

from __future__ import annotations

import random

from harness.chaos.faults import service_of
from harness.cluster.plan import KAFKA_LEADER, POSTGRES, plan_cluster_faults, recovery_seconds

CHILDREN = ["intake#1", "validation#1", "routing#1", "delivery#1", "relay", "relay#2", "notifier"]


def test_every_process_is_killed_and_the_two_outages_come_apart_within_the_load() -> None:
    faults = plan_cluster_faults(random.Random(3), CHILDREN, kills=1, duration=100, pause=(0.5, 3))

    kills = [f for f in faults if f.target in CHILDREN]
    assert sorted(f.target for f in kills) == sorted(CHILDREN)
    assert {service_of(f.target) for f in kills} >= {"relay", "intake", "notifier"}
    (broker,) = [f for f in faults if f.target == KAFKA_LEADER]
    (database,) = [f for f in faults if f.target == POSTGRES]
    assert 20 <= broker.at <= 35 < 55 <= database.at <= 70
    assert [f.at for f in faults] == sorted(f.at for f in faults)
    assert (
        plan_cluster_faults(random.Random(3), CHILDREN, kills=1, duration=100, pause=(0.5, 3))
        == faults
    )


def test_recovery_is_from_each_kill_to_the_next_ready_of_the_same_process() -> None:
    timeline = [
        {"t": 1.0, "what": "kill", "target": "relay"},
        {"t": 2.0, "what": "kill", "target": "intake#1"},
        {"t": 4.5, "what": "ready", "target": "relay"},
        {"t": 5.0, "what": "outage", "target": KAFKA_LEADER},
        {"t": 9.0, "what": "kill", "target": "relay"},
        {"t": 12.25, "what": "ready", "target": "relay"},
        {"t": 13.0, "what": "ready", "target": "notifier"},  # a crash restarted: no kill
        {"t": 20.0, "what": "kill", "target": "routing#1"},  # the run ended first
    ]

    assert recovery_seconds(timeline) == {"relay": [3.5, 3.25]}
