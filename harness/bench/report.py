"""Figures of ``amtsweg bench pipeline``: percentiles, the rich table, the plot."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from harness.plots import pyplot


@dataclass(frozen=True)
class Latency:
    """Latency percentiles in milliseconds (nearest rank); zeros when nothing was measured."""

    count: int
    p50: float
    p95: float
    p99: float
    max: float


def summarize(values_ms: list[float]) -> Latency:
    """The percentiles of ``values_ms``."""
    if not values_ms:
        return Latency(0, 0.0, 0.0, 0.0, 0.0)
    ordered = sorted(values_ms)

    def rank(share: float) -> float:
        return round(ordered[max(0, math.ceil(share * len(ordered)) - 1)], 1)

    return Latency(len(ordered), rank(0.50), rank(0.95), rank(0.99), round(ordered[-1], 1))


def scenario_table(scenarios: list[dict[str, Any]]) -> Table:
    """One row per scenario and offered rate."""
    table = Table(title="Amtsweg: intake → envelope published on the authority's topic")
    columns = ("scenario", "offered/s", "dispatched", "throughput/s", "p50 ms", "p95 ms")
    cores = ("Amtsweg cores", "CPU ms/sub", "broker+bench", "foreign")
    for column in (*columns, "p99 ms", "max ms", "errors", *cores):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for scenario in scenarios:
        for step in scenario["steps"]:
            latency = step["latencyMs"]
            errors = sum(step["errors"].values())
            table.add_row(
                scenario["name"],
                f"{step['rate']:g}",
                f"{step['dispatched']}/{step['offered']}",
                f"{step['throughput']:,.1f}",
                f"{latency['p50']:,.0f}",
                f"{latency['p95']:,.0f}",
                f"{latency['p99']:,.0f}",
                f"{latency['max']:,.0f}",
                str(errors) if errors else "-",
                _cores(step.get("amtswegCpuShare")),
                _cores(step.get("amtswegCpuMsPerSubmission")),
                _cores(step.get("otherCpuShare")),
                _cores(step.get("foreignCpuShare")),
            )
        table.add_section()
    return table


def _cores(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f}"


def baseline_table(report: dict[str, Any]) -> Table:
    """Raw Kafka and raw ledger rates in the same run."""
    table = Table(title="Baselines: same broker, same kind of data dir")
    for column in ("baseline", "per second", "p99 ms at the offered rates"):
        table.add_column(column, justify="left" if column == "baseline" else "right")
    ledger = report["baselines"]["ledger"]
    for key, label in (("perTransaction1", "1"), ("perTransaction100", "100")):
        table.add_row(
            f"ledger: new submissions, {label} per transaction",
            f"{ledger[key]['perSecond']:,.0f}",
            "",
        )
    for kafka in report["baselines"]["kafka"]:
        size = _size(kafka["messageBytes"])
        table.add_row(
            f"Kafka one hop, {size} messages",
            f"{kafka['capacity']['perSecond']:,.0f}",
            ", ".join(f"{s['rate']:g}/s: {s['latencyMs']['p99']:,.0f}" for s in kafka["steps"]),
        )
        table.add_row(
            f"  … with the relay's producer settings, {size}",
            f"{kafka['capacityWithRelaySettings']['perSecond']:,.0f}",
            "",
        )
    for ceiling in report["baselines"]["ceiling"]:
        capacity = ceiling["capacity"]
        table.add_row(
            f"ceiling: Amtsweg's hops, only their work, {_shape(ceiling)}"
            f" ({_cores(capacity['cpuMsPerMessage'])} CPU ms each)",
            f"{capacity['perSecond']:,.0f}",
            ", ".join(f"{s['rate']:g}/s: {s['latencyMs']['p99']:,.0f}" for s in ceiling["steps"]),
        )
    return table


def _shape(ceiling: dict[str, Any]) -> str:
    """``21 KB`` or ``21 KB + 1.00 MB``."""
    shape = _size(ceiling["dataBytes"])
    return f"{shape} + {_size(ceiling['attachmentBytes'])}" if ceiling["attachmentBytes"] else shape


def ratio_table(scenarios: list[dict[str, Any]]) -> Table:
    """Each scenario's best sustained throughput as a share of each baseline."""
    table = Table(title="Amtsweg's best throughput as a share of the baselines")
    columns = ("scenario", "best/s", "raw Kafka", "ledger, 1/tx", "ledger, 100/tx")
    ceiling = ("Amtsweg / ceiling", "CPU ms/sub: Amtsweg / ceiling")
    for column in (*columns, *ceiling):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for scenario in scenarios:
        ratios = scenario["ratios"]
        table.add_row(
            scenario["name"],
            f"{scenario['bestThroughput']:,.1f}",
            f"{ratios['kafka']:.1%}",
            f"{ratios['ledger1']:.1%}",
            f"{ratios['ledger100']:.1%}",
            f"{ratios['ceiling']:.1%}",
            f"{ratios['ceilingCpu']:.1f}x" if ratios["ceilingCpu"] else "?",
        )
    return table


def _size(size: float) -> str:
    return f"{size / 1e6:.2f} MB" if size >= 1e6 else f"{size / 1e3:.0f} KB"


def process_table(processes: dict[str, dict[str, Any]]) -> Table:
    """CPU seconds and peak resident memory of each process over the whole run."""
    table = Table(title="Processes over the whole run")
    for column in ("process", "pid", "CPU s", "peak RSS (VmHWM) MiB", "RSS at end MiB"):
        table.add_column(column, justify="left" if column == "process" else "right")
    for name, process in processes.items():
        table.add_row(
            name,
            str(process["pid"]),
            f"{process['cpuSeconds']:,.1f}",
            f"{process['vmHwmMiB']:,.0f}",
            f"{process['vmRssMiB']:,.0f}",
        )
    return table


def memory_table(scenarios: list[dict[str, Any]], amtsweg: set[str]) -> Table:
    """Resident memory of Amtsweg's processes per step: first, last, peak, late growth."""
    table = Table(title="Amtsweg's resident memory during each step (VmRSS, sampled)")
    columns = ("scenario", "offered/s", "process", "first MiB", "last MiB", "peak MiB")
    for column in (*columns, "2nd half MiB/min", "KiB per 1,000 subs"):
        table.add_column(column, justify="left" if column in {"scenario", "process"} else "right")
    for scenario in scenarios:
        for step in scenario["steps"]:
            for name, memory in step.get("memory", {}).items():
                if name not in amtsweg:
                    continue
                table.add_row(
                    scenario["name"],
                    f"{step['rate']:g}",
                    name,
                    f"{memory['firstMiB']:,.0f}",
                    f"{memory['lastMiB']:,.0f}",
                    f"{memory['peakMiB']:,.0f}",
                    _signed(memory["secondHalfMiBPerMinute"], "{:+.2f}"),
                    _signed(memory["secondHalfKiBPer1000Submissions"], "{:+,.0f}"),
                )
    return table


def _signed(value: float | None, form: str) -> str:
    return "step too short" if value is None else form.format(value)


def write_plot(report: dict[str, Any], path: Path) -> None:
    """Latency p50/p99 and throughput against offered load, one line per scenario."""
    plt = pyplot()
    from matplotlib.ticker import FuncFormatter  # noqa: PLC0415 - the harness extra

    figure, (latency_axes, throughput_axes) = plt.subplots(1, 2, figsize=(13, 5))
    for scenario in report["scenarios"]:
        steps = scenario["steps"]
        rates = [s["rate"] for s in steps]
        (line,) = latency_axes.plot(
            rates, [s["latencyMs"]["p99"] for s in steps], "o-", label=f"{scenario['name']} p99"
        )
        latency_axes.plot(
            rates,
            [s["latencyMs"]["p50"] for s in steps],
            "o--",
            color=line.get_color(),
            alpha=0.6,
            label=f"{scenario['name']} p50",
        )
        throughput_axes.plot(rates, [s["throughput"] for s in steps], "o-", label=scenario["name"])
    for kafka in report["baselines"]["kafka"]:
        label = f"raw Kafka one hop p99, {_size(kafka['messageBytes'])}"
        _p99(latency_axes, kafka["steps"], ":", label, color="grey")
    for ceiling in report["baselines"]["ceiling"]:
        label = f"ceiling p99, {_shape(ceiling)}"
        _p99(latency_axes, ceiling["steps"], "x-.", label, color="black", alpha=0.6)
        throughput_axes.axhline(
            ceiling["capacity"]["perSecond"],
            linestyle="-.",
            color="black",
            alpha=0.6,
            label=f"ceiling capacity, {_shape(ceiling)}",
        )
    offered = sorted({s["rate"] for sc in report["scenarios"] for s in sc["steps"]})
    throughput_axes.plot(offered, offered, ":", color="grey", label="offered")
    latency_axes.axhline(250, color="red", linewidth=0.8, alpha=0.5, label="250 ms")
    latency_axes.set_yscale("log")
    latency_axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    for axes in (latency_axes, throughput_axes):
        axes.set_xlabel("offered load (submissions/s)")
        axes.set_xlim(left=0)
        axes.grid(visible=True, which="both", alpha=0.3)
        axes.legend(fontsize=7)
    throughput_axes.set_ylim(bottom=0)
    latency_axes.set_ylabel("intake → envelope published (ms)")
    latency_axes.set_title("latency vs offered load")
    throughput_axes.set_ylabel("dispatched per second")
    throughput_axes.set_title("sustained throughput vs offered load")
    machine = report["machine"]
    figure.suptitle(
        f"amtsweg bench pipeline: {machine['cpus']} CPUs, {machine['memoryGiB']:.0f} GiB, "
        f"layout {report['amtsweg']['layout']}, {report['measuredAt']}",
        fontsize=10,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _p99(axes: Any, steps: list[dict[str, Any]], style: str, label: str, **line: Any) -> None:
    """A baseline's p99 latency against its offered rates."""
    rates = [s["rate"] for s in steps]
    axes.plot(rates, [s["latencyMs"]["p99"] for s in steps], style, label=label, **line)
