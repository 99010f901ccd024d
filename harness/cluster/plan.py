"""The fault plan of ``amtsweg cluster chaos``, and the recovery times read from its log.

Every service process is SIGKILLed ``kills`` times (as :func:`harness.chaos.faults.plan_faults`
plans it); the broker that leads the most partitions is SIGKILLed once early in the load
(20-35 %) and PostgreSQL stopped at once later (55-70 %), so that the two outages do not
overlap and each one's effect can be seen on its own.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from harness.chaos.faults import Fault, plan_faults

KAFKA_LEADER = "kafka-leader"
POSTGRES = "postgresql"
OUTAGE_WINDOWS = {KAFKA_LEADER: (0.20, 0.35), POSTGRES: (0.55, 0.70)}


def plan_cluster_faults(
    rng: random.Random,
    children: list[str],
    *,
    kills: int,
    duration: float,
    pause: tuple[float, float],
) -> list[Fault]:
    """Every fault of a run, in time order (repeatable with the same seed)."""
    faults = plan_faults(rng, children, kills=kills, duration=duration, pause=pause, broker=False)
    for target, (earliest, latest) in OUTAGE_WINDOWS.items():
        faults.append(Fault(round(rng.uniform(earliest, latest) * duration, 2), target, 0.0))
    return sorted(faults, key=lambda fault: (fault.at, fault.target))


def recovery_seconds(timeline: Iterable[Mapping[str, Any]]) -> dict[str, list[float]]:
    """Child → seconds from each SIGKILL until it was ready again, in order.

    A kill without a later ``ready`` of the same child (the run ended first) is left out.
    """
    killed: dict[str, float] = {}
    found: defaultdict[str, list[float]] = defaultdict(list)
    for entry in timeline:
        target, what = str(entry["target"]), entry["what"]
        if what == "kill":
            killed[target] = float(entry["t"])
        elif what == "ready" and target in killed:
            found[target].append(round(float(entry["t"]) - killed.pop(target), 2))
    return dict(found)
