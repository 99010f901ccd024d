"""Reading Prometheus' text format in tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Sample name and labels → value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """One sample's value (None when there is no such sample)."""
    return samples.get((name, frozenset(labels.items())))


def names(samples: Samples) -> set[str]:
    return {name for name, _ in samples}


async def scrape(client: httpx.AsyncClient, url: str = "/metrics") -> Samples:
    answer = await client.get(url)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return parse(answer.text)


async def until(
    read: Callable[[], Awaitable[Samples]],
    holds: Callable[[Samples], bool],
    timeout: float = 60,
) -> Samples:
    """Scrape until ``holds`` (the last scrape either way)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        samples = await read()
        if holds(samples) or asyncio.get_running_loop().time() > deadline:
            return samples
        await asyncio.sleep(0.2)
