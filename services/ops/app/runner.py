"""Running Amtsweg's parts in one process: workers, relay and HTTP intake on one loop."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator

import structlog
import uvicorn
from aiokafka.errors import KafkaError
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry

from deploy.topics import await_group_coordinator, ensure_topics
from events.lease import Tenure
from events.parking import parking_lot
from events.relay import Relay
from events.relay_store import relay_store
from events.shards import shard_name
from services.intake.settings import IntakeSettings
from services.ops.app.bootstrap import WORKERS, Wiring, log_key_coverage
from services.ops.app.singletons import Singletons
from services.ops.app.topic_preparer import TopicPreparer
from services.ops.readmodels.metrics.health import Health
from services.ops.readmodels.metrics.registry import (
    RelayFigures,
    broker_middleware,
    process_registry,
)
from services.ops.readmodels.metrics.server import start_metrics_server
from services.runtime.backoff import backoff
from services.runtime.kafka import (
    KafkaPublisher,
    bootstrap_addresses,
    faststream_security,
    relay_producer,
)
from services.runtime.relay_loop import run_relay

log = structlog.get_logger(__name__)

BROKER_RETRY_MIN = 0.5
BROKER_RETRY_MAX = 10.0


def install_stop_signals(stop: asyncio.Event) -> None:
    """Ctrl-C and SIGTERM end the process cleanly."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)


async def serve(
    wiring: Wiring,
    services: set[str],
    bootstrap_servers: str,
    stop: asyncio.Event,
    *,
    ready: asyncio.Event | None = None,
) -> None:
    """Run the named services until ``stop`` is set."""
    settings = wiring.settings
    core = await asyncio.to_thread(lambda: wiring.core)
    registry = process_registry()  # served on /metrics
    security = settings.kafka
    broker = KafkaBroker(
        bootstrap_addresses(bootstrap_servers),
        acks="all",  # the intake's dead letters: on every in-sync replica before committing
        logger=logging.getLogger("amtsweg.broker"),
        # FastStream's "Received"/"Processed" line per batch repeats what each stage logs
        # about each submission, and cost the stages a tenth of their CPU: DEBUG only
        log_level=logging.DEBUG,
        client_id="amtsweg",
        middlewares=[broker_middleware(registry)],
        security=faststream_security(security),
    )
    if services & {"delivery", "intake"}:  # deliveries and receipts: which keys are there
        log_key_coverage(wiring.recipients, development=settings.run.development)
    shared = len(services & {"intake", *WORKERS}) > 1  # stages sharing one process
    needed = wiring.register_workers(broker, services & set(WORKERS), shared=shared)
    if "intake" in services:  # HTTP below; portals that produce to amtsweg.intake here
        needed += wiring.register_intake(broker, shared=shared)
    partitions = settings.run.topic_partitions
    configs = settings.run.topic_configs(settings.intake.portal_topics())  # short retention

    async def prepare_topics() -> None:
        await ensure_topics(
            bootstrap_servers,
            needed,
            partitions=partitions,
            replication_factor=settings.run.topic_replication_factor,
            min_insync_replicas=settings.run.topic_min_insync_replicas,
            topic_configs=configs,
            security=security,
        )
        await await_group_coordinator(bootstrap_servers, security=security)

    health = Health()  # without the HTTP intake: probes beside /metrics, up from here on
    metrics_url, metrics_task, metrics_server = await _start_probes(
        wiring, services, registry, health
    )
    await _until_the_broker_answers(
        prepare_topics, stop, functools.partial(_stop_server, metrics_server, metrics_task)
    )

    async with contextlib.AsyncExitStack() as stack:
        tasks = await _start_background(stack, wiring, services, bootstrap_servers, stop, registry)
        if services & {*WORKERS, "intake"}:
            await broker.start()
            stack.push_async_callback(broker.stop)
        server: uvicorn.Server | None = None
        if "intake" in services:
            app = wiring.http_app(registry, bootstrap_servers=bootstrap_servers)
            server, task = await _start_http(app, settings.intake)
            tasks.append(task)
            app.state.ready = True
            metrics_url = f"http://{server.config.host}:{server.config.port}/metrics"
        if metrics_task is not None:
            health.started(list(tasks))
            tasks.append(metrics_task)
        log.info(
            "amtsweg.ready",
            services=sorted(services),
            kafka=bootstrap_servers,
            http=f"http://{server.config.host}:{server.config.port}" if server else None,
            ledger=str(core.ledger.settings.sqlite_path() or "postgresql"),
            metrics=metrics_url,
        )
        if ready is not None:
            ready.set()
        waiter = asyncio.create_task(_wait(stop))
        done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        for running in (server, metrics_server):
            if running is not None:
                running.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        failures = [t.exception() for t in done if t is not waiter and t.exception() is not None]
        if failures:
            raise RuntimeError("a part of Amtsweg stopped unexpectedly") from failures[0]
    await asyncio.to_thread(wiring.close)
    log.info("amtsweg.stopped")


async def _start_background(  # noqa: PLR0917 - what the background parts need
    stack: contextlib.AsyncExitStack,
    wiring: Wiring,
    services: set[str],
    bootstrap_servers: str,
    stop: asyncio.Event,
    registry: CollectorRegistry,
) -> list[asyncio.Task[None]]:
    """Start the named parts that run beside the workers: relay, notifier, retention,
    checkpoint (singletons: each under its lease), metrics."""
    tasks: list[asyncio.Task[None]] = []
    singletons = Singletons(wiring, registry)
    if "relay" in services:
        figures = RelayFigures()
        registry.register(figures)
        for shard in range(len(wiring.ledger.shards)):  # one ordered reader per shard
            relay = await _start_relay(
                stack, wiring, bootstrap_servers, stop, figures, singletons, shard
            )
            tasks.append(relay)
    if "notifier" in services:
        tasks.append(await singletons.start("notifier", singletons.notifier, stop))
    if "retention" in services:
        tasks.append(await singletons.start("retention", singletons.retention, stop))
    if "checkpoint" in services:
        tasks.append(await singletons.start("checkpoint", await singletons.checkpoint(), stop))
    if "metrics" in services:
        tasks.append(
            await wiring.start_deployment_metrics(
                stack, bootstrap_servers=bootstrap_servers, registry=registry, stop=stop
            )
        )
    return tasks


async def _until_the_broker_answers(
    prepare: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
    give_up: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run ``prepare`` until the broker answers: a service started during a broker outage
    waits for it (logging each attempt) instead of exiting; ``give_up`` runs when it is
    told to stop first."""
    attempt = 0
    while True:
        try:
            await prepare()
        except (KafkaError, OSError) as error:
            pause = backoff(attempt, base=BROKER_RETRY_MIN, cap=BROKER_RETRY_MAX)
            log.warning("amtsweg.broker_unavailable", error=type(error).__name__, retry_in=pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=pause)
            if stop.is_set():  # told to stop while waiting: give up with the broker's error
                if give_up is not None:
                    await give_up()
                raise
            attempt += 1
        else:
            return


async def _start_relay(  # noqa: PLR0917 - what one shard's relay needs
    stack: contextlib.AsyncExitStack,
    wiring: Wiring,
    bootstrap_servers: str,
    stop: asyncio.Event,
    figures: RelayFigures,
    singletons: Singletons,
    shard: int = 0,
) -> asyncio.Task[None]:
    """Run the relay of ledger shard ``shard`` (``relay``, ``relay-shard<k>``): its own
    producer, its position and witness in its shard, parked events beside shard 0."""
    ledger = wiring.ledger.shards[shard]
    name = shard_name("relay", shard)
    producer = relay_producer(
        bootstrap_servers,
        max_message_bytes=wiring.settings.run.kafka_max_message_bytes,
        security=wiring.settings.kafka,
    )
    await producer.start()
    stack.push_async_callback(producer.stop)
    store = await asyncio.to_thread(relay_store, ledger.settings)
    parking = await asyncio.to_thread(parking_lot, wiring.settings.ledger)
    partitions = wiring.settings.run.topic_partitions
    prepare = TopicPreparer(
        bootstrap_servers,
        partitions,
        max_message_bytes=wiring.settings.run.kafka_max_message_bytes,
        replication_factor=wiring.settings.run.topic_replication_factor,
        min_insync_replicas=wiring.settings.run.topic_min_insync_replicas,
        security=wiring.settings.kafka,
    )
    publisher = KafkaPublisher(producer, prepare=prepare)
    relay = Relay(
        ledger,
        store,
        publisher,
        envelopes=wiring.vault.envelope,
        sign_envelopes=wiring.envelope_signer.sign,
        name=name,
        parking=parking,
    )
    figures.add(relay)

    async def publish(tenure: Tenure, part_stop: asyncio.Event) -> None:
        await asyncio.to_thread(relay.resume, tenure.token)
        await run_relay(relay, part_stop)

    return await singletons.start(relay.name, publish, stop, ledger=ledger.settings)


async def _wait(stop: asyncio.Event) -> None:
    await stop.wait()


async def _start_probes(
    wiring: Wiring, services: set[str], registry: CollectorRegistry, health: Health
) -> tuple[str, asyncio.Task[None] | None, uvicorn.Server | None]:
    """``/metrics`` and the probes of a process without the HTTP intake (which answers
    them itself), started before the broker is waited for: alive, not yet ready."""
    if "intake" in services:
        return "", None, None
    return await start_metrics_server(registry, wiring.settings.metrics, health)


async def _stop_server(server: uvicorn.Server | None, task: asyncio.Task[None] | None) -> None:
    """Let ``server`` (if one was started) finish serving."""
    if server is not None and task is not None:
        server.should_exit = True
        await asyncio.gather(task, return_exceptions=True)


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside Amtsweg's loop: signals are the runner's business, not uvicorn's."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _start_http(
    app: FastAPI, settings: IntakeSettings
) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        http="h11",  # explicit: bounds headers that trickle in, whatever else is installed
        h11_max_incomplete_event_size=settings.http_max_header_bytes,
        log_config=None,
        access_log=False,
        lifespan="off",
    )
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(), name="http")
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return server, task
