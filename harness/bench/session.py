"""One run of ``amtsweg bench pipeline``: its plan, baselines and measured scenarios."""

from __future__ import annotations

import asyncio
import os
import platform
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from contracts import topics
from deploy.topics import ensure_topics
from harness.bench.baselines import ledger_appends, raw_kafka
from harness.bench.ceiling_bench import ceiling
from harness.bench.load import MAX_MESSAGE_BYTES, Channel, HttpChannel, KafkaChannel
from harness.bench.load import intake_producer as new_intake_producer
from harness.bench.observe import Observer
from harness.bench.payloads import AUTHORITY, Payloads, intake_message
from harness.bench.processes import usage
from harness.bench.steps import Scenario, StepRunner

SCENARIOS = {
    "http": ("HTTP", "http", False),
    "kafka": ("Kafka", "kafka", False),
    "http-attachment": ("HTTP", "http", True),
    "kafka-attachment": ("Kafka", "kafka", True),
}
"""key → (label, channel, with attachment)"""


def scenarios_for(
    keys: list[str], rates: list[float], large_rates: list[float], attachment_bytes: int
) -> list[Scenario]:
    """The scenarios named by ``keys`` (see :data:`SCENARIOS`), in that order."""
    plan = []
    for key in (k.strip() for k in keys if k.strip()):
        if key not in SCENARIOS:
            msg = f"unknown scenario {key!r}; choose from {', '.join(SCENARIOS)}"
            raise ValueError(msg)
        name, channel, attached = SCENARIOS[key]
        size = attachment_bytes if attached else 0
        plan.append(Scenario(key, name, channel, size, large_rates if attached else rates))
    return plan


@dataclass(frozen=True)
class Target:
    """The Amtsweg to load: HTTP intakes, the portal's token, the processes to meter."""

    urls: list[str]
    token: str
    amtsweg_pids: dict[str, int]
    other_pids: dict[str, int]


@dataclass
class Session:
    """The plan of one run and the broker it uses."""

    bootstrap_servers: str
    portal_id: str
    plan: list[Scenario]
    document_bytes: int
    duration: float
    warmup: float
    drain_timeout: float
    max_p99_ms: float
    baseline_seconds: float
    partitions: int
    connections: int
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def payloads(self, scenario: Scenario) -> Payloads:
        """The submission builder of a scenario."""
        return Payloads(self.document_bytes, scenario.attachment_bytes)

    def message_bytes(self, scenario: Scenario) -> int:
        """The size of a scenario's intake message (the JSON form)."""
        return len(intake_message(self.payloads(scenario).build("size")))

    def describe(self) -> dict[str, Any]:
        """The settings, for the report."""
        described = asdict(self)
        described["plan"] = [
            {**asdict(s), "messageBytes": self.message_bytes(s)} for s in self.plan
        ]
        return described

    def baselines(self, scratch: Path, measured: list[dict[str, Any]]) -> dict[str, Any]:
        """Raw ledger appends; raw Kafka for each message size and the ceiling for each
        attachment size, at the rates measured."""
        ledger = ledger_appends(
            scratch / "ledger-baseline", Payloads(self.document_bytes, 0), self.baseline_seconds
        )
        sizes = _rates_by(measured, "messageBytes")
        kafka = [
            asyncio.run(
                raw_kafka(
                    self.bootstrap_servers,
                    size,
                    sorted(rates),
                    self.baseline_seconds,
                    self.partitions,
                )
            )
            for size, rates in sorted(sizes.items())
        ]
        ceilings = [
            asyncio.run(
                ceiling(
                    self.bootstrap_servers,
                    Payloads(self.document_bytes, attachment_bytes),
                    rates=sorted(rates),
                    seconds=self.baseline_seconds,
                    partitions=self.partitions,
                    scratch=scratch / "ceiling",
                )
            )
            for attachment_bytes, rates in sorted(_rates_by(measured, "attachmentBytes").items())
        ]
        return {"ledger": ledger, "kafka": kafka, "ceiling": ceilings}

    def prepare_intake_topic(self) -> None:
        """Create ``amtsweg.intake`` (if missing) to take a 1 MB attachment in base64.

        A topic that exists keeps its limits (a cluster's default is about 1 MB).
        """
        asyncio.run(
            ensure_topics(
                self.bootstrap_servers,
                [topics.INTAKE],
                self.partitions,
                configs={"max.message.bytes": str(MAX_MESSAGE_BYTES)},
            )
        )


def _rates_by(measured: list[dict[str, Any]], figure: str) -> dict[int, list[float]]:
    """The rates the scenarios measured, by a figure of theirs (a size)."""
    found: dict[int, list[float]] = {}
    for scenario in measured:
        rates = found.setdefault(scenario[figure], [])
        rates.extend(s["rate"] for s in scenario["steps"] if s["rate"] not in rates)
    return found


def measure(session: Session, target: Target) -> dict[str, Any]:
    """Every scenario of the plan against ``target``; with each process's usage."""
    return asyncio.run(_measure(session, target))


async def _measure(session: Session, target: Target) -> dict[str, Any]:
    processes = {**target.amtsweg_pids, **target.other_pids, "bench client": os.getpid()}
    observer = Observer(session.bootstrap_servers, AUTHORITY, session.partitions)
    producer = new_intake_producer(session.bootstrap_servers)
    runner = StepRunner(
        observer=observer,
        portal_id=session.portal_id,
        run_id=session.run_id,
        processes=processes,
        amtsweg=set(target.amtsweg_pids),
        duration=session.duration,
        warmup=session.warmup,
        drain_timeout=session.drain_timeout,
        max_p99_ms=session.max_p99_ms,
    )
    channels: dict[str, Channel] = {
        "http": HttpChannel(target.urls, target.token, session.connections),
        "kafka": KafkaChannel(producer, session.portal_id),
    }
    results = []
    await producer.start()
    await observer.start()
    try:
        for scenario in session.plan:
            payloads = session.payloads(scenario)
            result = await runner.scenario(scenario, channels[scenario.channel], payloads)
            best = max((s["throughput"] for s in result["steps"]), default=0.0)
            results.append(
                {
                    "key": scenario.key,
                    "name": _name(scenario.name, len(payloads.document), scenario.attachment_bytes),
                    "channel": scenario.channel,
                    "dataBytes": len(payloads.document),
                    "attachmentBytes": scenario.attachment_bytes,
                    "messageBytes": session.message_bytes(scenario),
                    "bestThroughput": best,
                    **result,
                }
            )
    finally:
        await observer.stop()
        await producer.stop()
    used = {}
    for name, pid in processes.items():
        if (now := usage(pid)) is not None:
            used[name] = {"pid": pid, **{_camel(k): round(v, 2) for k, v in asdict(now).items()}}
    return {
        "scenarios": results,
        "processes": used,
        "amtswegProcesses": sorted(target.amtsweg_pids),
    }


def _name(label: str, data_bytes: int, attachment_bytes: int) -> str:
    """``HTTP 21 KB`` or ``Kafka 21 KB + 1 MB``."""
    name = f"{label} {_size(data_bytes)}"
    return f"{name} + {_size(attachment_bytes)}" if attachment_bytes else name


def _size(size: int) -> str:
    return f"{size / 1e6:g} MB" if size >= 1e6 else f"{size / 1e3:.0f} KB"


def _camel(name: str) -> str:
    return {"cpu_seconds": "cpuSeconds", "vm_hwm_mib": "vmHwmMiB", "vm_rss_mib": "vmRssMiB"}[name]


def add_ratios(report: dict[str, Any]) -> None:
    """Each scenario's best throughput as a share of the baselines (``ratios``).

    ``ceiling``: of the ceiling's capacity for the scenario's attachment size;
    ``ceilingCpu``: Amtsweg's CPU per submission in its best step over the ceiling's per
    message at its capacity (saturated, so without the idle polling a slow step spreads
    over few messages).
    """
    ledger = report["baselines"]["ledger"]
    kafka = {  # the better of the two producers: what raw aiokafka reaches here
        k["messageBytes"]: max(
            k["capacity"]["perSecond"], k["capacityWithRelaySettings"]["perSecond"]
        )
        for k in report["baselines"]["kafka"]
    }
    ceilings = {c["attachmentBytes"]: c["capacity"] for c in report["baselines"]["ceiling"]}
    for scenario in report["scenarios"]:
        best = scenario["bestThroughput"]
        ceiling_capacity = ceilings.get(scenario["attachmentBytes"], {})
        scenario["ratios"] = {
            "kafka": _share(best, kafka.get(scenario["messageBytes"], 0.0)),
            "ledger1": _share(best, ledger["perTransaction1"]["perSecond"]),
            "ledger100": _share(best, ledger["perTransaction100"]["perSecond"]),
            "ceiling": _share(best, ceiling_capacity.get("perSecond", 0.0)),
            "ceilingCpu": _share(
                _cpu_at_best(scenario) or 0.0, ceiling_capacity.get("cpuMsPerMessage") or 0.0
            ),
        }


def _cpu_at_best(scenario: dict[str, Any]) -> float | None:
    """Amtsweg's CPU milliseconds per submission in the step of the best throughput."""
    steps = scenario["steps"]
    if not steps:
        return None
    best: float | None = max(steps, key=lambda s: s["throughput"])["amtswegCpuMsPerSubmission"]
    return best


def _share(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole else 0.0


def machine() -> dict[str, Any]:
    """The machine the figures come from."""
    model = ""
    with Path("/proc/cpuinfo").open(encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with Path("/proc/meminfo").open(encoding="utf-8") as meminfo:
        total_kib = int(meminfo.readline().split()[1])
    return {
        "cpus": len(os.sched_getaffinity(0)),
        "cpuModel": model,
        "memoryGiB": round(total_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "loadAverageAtEnd": [round(load, 2) for load in os.getloadavg()],
    }
