"""Resident memory of every process during a bench step, and whether it grows.

A sampler reads ``VmRSS`` of each process every few seconds while a step runs. Per process
the step reports the first and last sample, the peak, and the growth over the step's
second half as a least-squares slope, in MiB per minute and in KiB per 1,000 submissions
offered: a process that keeps memory per submission (a leak) grows steadily under
constant load, one that only warms up (caches, buffers) flattens out.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from harness.bench.processes import usage

INTERVAL_SECONDS = 5.0
MIN_TREND_SAMPLES = 10
"""Samples in a step's second half below which no growth is reported (a minute at 5 s)."""


@dataclass
class MemorySampler:
    """Samples ``VmRSS`` of ``processes`` (name → pid) until stopped."""

    processes: dict[str, int]
    interval: float = INTERVAL_SECONDS
    samples: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None
    _started: float = 0.0

    def start(self) -> None:
        """Begin sampling (one sample now, then every ``interval`` seconds)."""
        self._started = time.monotonic()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Take a last sample and stop."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._sample()

    async def _run(self) -> None:
        while True:
            self._sample()
            await asyncio.sleep(self.interval)

    def _sample(self) -> None:
        elapsed = time.monotonic() - self._started
        for name, pid in self.processes.items():
            used = usage(pid)
            if used is not None:
                self.samples.setdefault(name, []).append((round(elapsed, 1), used.vm_rss_mib))

    def report(self, submissions: int) -> dict[str, dict[str, Any]]:
        """Per process: first, last and peak MiB, the second half's slope, the samples."""
        figures: dict[str, dict[str, Any]] = {}
        for name, series in self.samples.items():
            half = [point for point in series if point[0] >= series[-1][0] / 2]
            if len(half) < MIN_TREND_SAMPLES:  # a step too short to tell growth from noise
                figures[name] = _levels(series)
                continue
            per_second = slope(half)
            duration = series[-1][0] or 1.0
            per_submission_kib = per_second * duration * 1024 / submissions if submissions else 0
            figures[name] = _levels(series) | {
                "secondHalfMiBPerMinute": round(per_second * 60, 3),
                "secondHalfKiBPer1000Submissions": round(per_submission_kib * 1000, 1),
            }
        return figures


def _levels(series: list[tuple[float, float]]) -> dict[str, Any]:
    return {
        "firstMiB": round(series[0][1], 1),
        "lastMiB": round(series[-1][1], 1),
        "peakMiB": round(max(v for _, v in series), 1),
        "secondHalfMiBPerMinute": None,
        "secondHalfKiBPer1000Submissions": None,
        "samples": [[t, round(v, 1)] for t, v in series],
    }


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of ``points`` (value per second); 0 for fewer than two."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return 0.0
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / spread
