"""The request side of ``amtsweg bench scale``, in this process on one data dir.

- The ops API's list and search pages (``GET /ops/submissions`` with and without filters,
  a first and a deep page, ``GET /ops/counters``): each asked ``repeat`` times, p50 and
  p99 of the answer's time.
- A submission's way in: ``POST /v1/submissions`` (the intake, Received), then the
  validation and routing stages' steps for it, each in its own ledger transaction as a
  stage worker runs one submission (:func:`services.runtime.batch.perform_one`, without
  the broker), one submission after another.

The app is the one ``amtsweg run`` serves (:mod:`harness.bench.inprocess`); figures
include the client's side of httpx.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path
from typing import Any
from uuid import UUID

from events.ledger import Ledger
from harness.bench.inprocess import InProcess, http_app, percentile
from harness.bench.payloads import Payloads, multipart
from services.routing.handler import routing_step
from services.runtime.batch import Step, perform_one
from services.validation.handler import validation_step


def latency(values_ms: list[float]) -> dict[str, float]:
    """n, p50, p99 and max in milliseconds (nearest rank)."""
    return {
        "n": len(values_ms),
        "p50Ms": round(percentile(values_ms, 0.50), 2),
        "p99Ms": round(percentile(values_ms, 0.99), 2),
        "maxMs": round(max(values_ms), 2),
    }


def measure(data_dir: Path, submissions: int, repeat: int, arrivals: int) -> dict[str, Any]:
    """Page and intake/stage latency on the ledger in ``data_dir``."""
    return asyncio.run(_measure(data_dir, submissions, repeat, arrivals))


async def _measure(data_dir: Path, submissions: int, repeat: int, arrivals: int) -> dict[str, Any]:
    async with http_app(data_dir) as app:
        pages = await _pages(app, submissions, repeat) if submissions else {}
        way_in = await _way_in(app, arrivals)
    return {"pages": pages, "wayIn": way_in}


async def _get(app: InProcess, path: str) -> dict[str, Any]:
    answer = await app.http.get(path, headers=app.operator_auth())
    if answer.status_code != 200:
        raise RuntimeError(f"GET {path}: {answer.status_code} {answer.text[:300]}")
    found: dict[str, Any] = answer.json()
    return found


async def _pages(app: InProcess, submissions: int, repeat: int) -> dict[str, dict[str, Any]]:
    """Each page's latency, after one unmeasured request that catches the overview up.

    A deep page is asked for by offset and by ``after`` (the keyset cursor the page just
    before it named)."""
    first = await _get(app, "/ops/submissions?limit=100")
    sample = first["submissions"][len(first["submissions"]) // 2]
    month_start = sample["receivedAt"] - 15 * 86400
    portal = f"/ops/submissions?portal={sample['portalId']}&limit=100"
    deep = await _get(app, f"/ops/submissions?limit=100&offset={submissions // 2 - 100}")
    deep_portal = await _get(app, f"{portal}&offset={submissions // 12 - 100}")
    paths = {
        "first page": "/ops/submissions?limit=100",
        "deep page (offset n/2)": f"/ops/submissions?limit=100&offset={submissions // 2}",
        "deep page (after, n/2)": f"/ops/submissions?limit=100&after={deep['next']}",
        "status=dispatched": "/ops/submissions?status=dispatched&limit=100",
        "status=dispatched, deep": "/ops/submissions?status=dispatched&limit=100&offset=5000",
        "authority": f"/ops/submissions?authority={sample['authorityId']}&limit=100",
        "portal": portal,
        "portal, deep (offset n/12)": f"{portal}&offset={submissions // 12}",
        "portal, deep (after, n/12)": f"{portal}&after={deep_portal['next']}",
        "service, one month": f"/ops/submissions?service={sample['leikaKey']}"
        f"&since={month_start}&until={month_start + 30 * 86400}&limit=100",
        "case": f"/ops/submissions?case={sample['caseId']}",
        "counters": "/ops/counters",
    }
    figures: dict[str, dict[str, Any]] = {}
    for name, path in paths.items():
        times: list[float] = []
        answer = await _get(app, path)  # unmeasured: the first of a kind pays for imports
        for _ in range(repeat):
            started = time.perf_counter()
            answer = await _get(app, path)
            times.append((time.perf_counter() - started) * 1000)
        figures[name] = {"path": path, "total": answer.get("total"), **latency(times)}
    return figures


async def _way_in(app: InProcess, arrivals: int) -> dict[str, dict[str, float]]:
    """Intake, validation and routing latency of ``arrivals`` submissions (5 unmeasured
    first)."""
    assert app.wiring is not None
    wiring = app.wiring
    settings = wiring.settings
    steps: dict[str, Step] = {
        "validation": validation_step(wiring.vault, wiring.catalog(), settings.validation.limits()),
        "routing": routing_step(wiring.vault, wiring.routing_context()),
    }
    payloads = Payloads(20_000, 0)
    times: dict[str, list[float]] = {"intake": [], **{name: [] for name in steps}}
    warmup = 5
    for n in range(warmup + arrivals):
        started = time.perf_counter()
        submission_id = await _post(app, payloads, f"scale-{n}-{secrets.token_hex(4)}")
        took = {"intake": time.perf_counter() - started}
        for name, step in steps.items():
            took[name] = await asyncio.to_thread(_timed, wiring.ledger, submission_id, step)
        if n >= warmup:
            for name, seconds in took.items():
                times[name].append(seconds * 1000)
    return {name: latency(values) for name, values in times.items()}


def _timed(ledger: Ledger, submission_id: UUID, step: Step) -> float:
    """Seconds that one stage step took on the submission (which it must change)."""
    started = time.perf_counter()
    outcome = perform_one(ledger, submission_id, step)
    if outcome is None or not outcome.changed:
        raise RuntimeError(f"submission {submission_id}: the stage recorded nothing")
    return time.perf_counter() - started


async def _post(app: InProcess, payloads: Payloads, key: str) -> UUID:
    submission = payloads.build(key)
    content_type, chunks = multipart(submission)
    answer = await app.http.post(
        "/v1/submissions",
        content=b"".join(chunks),
        headers=app.auth() | {"Content-Type": content_type, "Idempotency-Key": key},
    )
    if answer.status_code != 202:
        raise RuntimeError(f"POST /v1/submissions: {answer.status_code} {answer.text[:300]}")
    return UUID(answer.json()["submissionId"])
