"""The fault plan of `amtsweg chaos`, and when it may restart the broker."""

from __future__ import annotations

import random

from harness.chaos.faults import BROKER, plan_faults, service_of
from harness.chaos.processes import BrokerControl


def test_the_fault_plan_kills_every_process_within_the_load_and_repeats_with_its_seed() -> None:
    children = ["intake#1", "validation#1", "routing#1", "delivery#1", "relay", "notifier"]

    def plan(seed: int) -> list[object]:
        return list(
            plan_faults(
                random.Random(seed), children, kills=2, duration=60, pause=(0.5, 3), broker=True
            )
        )

    faults = plan_faults(
        random.Random(7), children, kills=2, duration=60, pause=(0.5, 3), broker=True
    )

    assert plan(7) == faults
    assert plan(8) != faults
    kills = [f for f in faults if f.target != BROKER]
    assert sorted({service_of(f.target) for f in kills}) == sorted(map(service_of, children))
    assert all(sum(f.target == c for f in kills) == 2 for c in children)
    assert [f.target for f in faults].count(BROKER) == 1
    assert all(6 <= f.at <= 51 and 0.5 <= f.pause <= 3 for f in kills)
    assert [f.at for f in faults] == sorted(f.at for f in faults)


def test_an_external_broker_is_restarted_only_with_a_command_of_the_operators() -> None:
    external = BrokerControl("kafka-1.example:9092")
    with_command = BrokerControl("kafka-1.example:9092", command="systemctl restart kafka")

    reason = external.why_not()

    assert reason is not None
    assert "--broker-restart-command" in reason
    assert with_command.why_not() is None
