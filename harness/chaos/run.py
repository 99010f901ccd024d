"""One run of ``amtsweg chaos`` on a running Amtsweg: load and faults, quiet, facts, verdict."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from rich.console import Console

from events.settings import LedgerSettings
from events.shard_relay_stores import relay_stores
from events.sharded_ledger import open_ledger
from harness.bench.load import offer
from harness.chaos.check import Facts, check
from harness.chaos.facts import ledger_facts, read_deliveries, wait_until_quiet
from harness.chaos.faults import Fault, FaultRunner
from harness.chaos.load import (
    ChaosPayloads,
    MixedChannel,
    RetryingHttp,
    RetryingKafka,
    Tally,
    portal_producer,
)
from harness.chaos.processes import ChaosProcesses
from services.ops.actions.intake_dlq import waiting_count

HTTP_CONNECTIONS = 64
EXPECTED = {"valid": "Dispatched", "invalid": "Rejected", "unroutable": "Unroutable"}


@dataclass(frozen=True)
class Plan:
    """The load of one run."""

    rate: float
    duration: float
    channels: list[str]
    invalid_share: float
    unroutable_share: float
    document_bytes: int
    retry_budget: float
    settle_timeout: float
    portal_id: str
    run_id: str
    seed: int


async def run_chaos(
    plan: Plan,
    processes: ChaosProcesses,
    *,
    runner: FaultRunner,
    faults: list[Fault],
    token: str,
    progress: Console,
    ledger_settings: LedgerSettings | None = None,
) -> dict[str, Any]:
    """Offer the load while the faults happen; wait for quiet; check; the report.

    ``ledger_settings``: the ledger the processes write (None: SQLite in their data dir).
    """
    servers = processes.bootstrap_servers
    producer = portal_producer(servers)
    http = RetryingHttp(processes.urls[0], token, HTTP_CONNECTIONS, plan.retry_budget)
    available: dict[str, RetryingHttp | RetryingKafka] = {
        "http": http,
        "kafka": RetryingKafka(producer, plan.portal_id, plan.retry_budget),
    }
    channel = MixedChannel({name: available[name] for name in plan.channels})
    payloads = ChaosPayloads(
        plan.document_bytes,
        seed=plan.seed,
        invalid_share=plan.invalid_share,
        unroutable_share=plan.unroutable_share,
    )
    keys: dict[str, str] = {}
    stop_watching = asyncio.Event()
    await producer.start()
    try:
        watcher = asyncio.create_task(runner.watch(stop_watching), name="chaos-watchdog")
        loop = asyncio.get_running_loop()
        faulting = asyncio.create_task(runner.run(faults, loop.time()), name="chaos-faults")
        sent = await offer(
            channel,
            payloads,
            rate=plan.rate,
            duration=plan.duration,
            key_prefix=f"chaos-{plan.run_id}",
            portal_id=plan.portal_id,
            expect=lambda submission_id, key, _due: keys.__setitem__(submission_id, key),
        )
        progress.print(f"load done: {len(sent.accepted)} of {len(sent.scheduled)} accepted")
        await faulting
        http.close()
        ledger = open_ledger(
            ledger_settings or LedgerSettings(data_dir=processes.data_dir, ledger_url=None)
        )
        store = relay_stores(ledger)
        progress.print("faults done; waiting until quiet")
        reached, waited = await wait_until_quiet(ledger, store, sent.accepted, plan.settle_timeout)
        stop_watching.set()
        await watcher
        progress.print("reading the ledger and the delivery topics")
        trails, head, position = await asyncio.to_thread(
            ledger_facts, ledger, store, set(sent.accepted)
        )
        ledger.close()
        deliveries = await read_deliveries(servers)
        dead_letters = await waiting_count(servers)
    finally:
        stop_watching.set()
        await producer.stop()
    tally = channel.tally
    facts = Facts(
        accepted={s: tally.channel_of[keys[s]] for s in sent.accepted},
        ledger=trails,
        deliveries=deliveries,
        relay_position=position,
        ledger_head=head,
        expected={s: EXPECTED[tally.kind_of[k]] for s, k in keys.items() if k in tally.kind_of},
    )
    verdict = check(facts)
    return {
        "seed": plan.seed,
        "plan": asdict(plan),
        "load": _load(plan, keys, sent.accepted, tally),
        "quiet": {"reached": reached, "seconds": waited},
        "checks": verdict.as_dict(),
        "intakeDeadLetters": dead_letters,
        "deliveryMessages": len(deliveries),
    }


def _load(plan: Plan, keys: dict[str, str], accepted: set[str], tally: Tally) -> dict[str, Any]:
    offered_by = Counter(tally.channel_of[key] for key in keys.values() if key in tally.channel_of)
    accepted_by = Counter(tally.channel_of[keys[s]] for s in accepted)
    per_channel = {
        name: {
            "offered": offered_by[name],
            "accepted": accepted_by[name],
            "refused": sum(v for k, v in tally.refused.items() if k.startswith(name)),
            "gaveUp": sum(v for k, v in tally.gave_up.items() if k.startswith(name)),
            "retries": sum(v for k, v in tally.retries.items() if k.startswith(name)),
        }
        for name in plan.channels
    }
    return {
        "rate": plan.rate,
        "duration": plan.duration,
        "offered": len(keys),
        "accepted": len(accepted),
        "kinds": dict(Counter(tally.kind_of.values())),
        "channels": per_channel,
        "retries": dict(tally.retries),
        "refused": dict(tally.refused),
        "gaveUp": dict(tally.gave_up),
    }
