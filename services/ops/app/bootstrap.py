"""The composition root: every part of Amtsweg, built from one ``Settings``.

The one place that knows every service (services never import each other): it opens the
ledger and the vault, loads the catalog and the directory, translates the directory
into delivery's recipients, registers the workers on a broker, and assembles the HTTP app,
the ops API, the notifier and the metrics collector. Each part is built once, when first
needed, and given only its own settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from uuid import UUID

import httpx
import structlog
from fastapi import APIRouter, FastAPI
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry, Counter
from pydantic import SecretStr

from contracts import topics
from contracts.cases import case_id_of
from contracts.topics import submission_event_topic
from events.blobs import open_blob_store
from events.checkpoint_keys import PublicKeys
from events.checkpoint_writer import CheckpointWriter
from events.ledger import Ledger
from events.parking import parking_lot
from events.shard_relay_stores import relay_stores
from events.sharded_ledger import open_ledger
from events.submission import Submission
from events.vault import Vault, open_vault
from services.delivery import handler as delivery
from services.delivery.callbacks import HttpCallbackSender
from services.delivery.dev_keys import DevelopmentKeys
from services.delivery.http import create_router
from services.delivery.keys_http import keys_router
from services.delivery.notifier import Notifier
from services.delivery.overdue import OverdueRequests
from services.delivery.portal_callbacks import PortalCallbacks
from services.delivery.portal_sealing import seal_to_portal
from services.delivery.portal_store import PortalProjector, PortalStore
from services.delivery.projector import DeliveryProjector
from services.delivery.recipients import Recipient, Recipients
from services.delivery.replies import ReplyPorts
from services.delivery.reply_http import replies_router
from services.delivery.signing import EnvelopeSigner, envelope_signer
from services.delivery.store import delivery_store
from services.fitconnect.callbacks import FitConnectCallbacks, HttpCallbackPoster
from services.fitconnect.http import mount_fit_connect
from services.fitconnect.routing_api.documents import Instance
from services.fitconnect.routing_api.http import routing_api_router
from services.fitconnect.submission_table import SubmissionTable
from services.intake import handler as intake
from services.intake.confirmation import ConfirmationPorts
from services.intake.http import create_app
from services.intake.replies_http import ReplyPorts as PortalReplyPorts
from services.intake.validations_http import mount_validations
from services.ops.actions.access_log import AccessLog
from services.ops.actions.access_log import access_log as access_log_beside
from services.ops.actions.dead_letter_store import dead_letter_actions
from services.ops.actions.dead_letters import DeadLetters
from services.ops.actions.replay_stages import ReplayContext
from services.ops.actions.retention import RetentionJob, rules_of
from services.ops.app.context import RequestContext
from services.ops.app.fitconnect_intake import fit_connect_intake
from services.ops.app.fitconnect_routing import DirectoryRouting, jws_signer
from services.ops.app.fitconnect_wiring import (
    callback_table,
    fit_connect_ports,
    ledger_trail,
    set_key_set,
    submission_table,
)
from services.ops.app.settings import Settings
from services.ops.app.validation_probe import content_check
from services.ops.console.api import OpsDependencies
from services.ops.console.mount import mount_console
from services.ops.console.scoping import Scoping
from services.ops.console.triage import triage_queue
from services.ops.readmodels.metrics.collector import DeploymentMetrics
from services.ops.readmodels.metrics.figures import SubmissionFigures
from services.ops.readmodels.metrics.kafka import KafkaOffsets
from services.ops.readmodels.metrics.projector import StageProjector
from services.ops.readmodels.metrics.server import mount_metrics
from services.ops.readmodels.metrics.store import metrics_store
from services.ops.readmodels.metrics.tenants import tenant_statuses
from services.ops.readmodels.overview.projector import OverviewProjector
from services.ops.readmodels.overview.store import overview_store
from services.ops.tenants.model import Tenancy
from services.ops.tenants.tenants_file import load_tenancy
from services.ops.tenants.view import TenantView
from services.routing import handler as routing
from services.routing.archive import DirectoryArchive
from services.routing.context import RoutingContext
from services.routing.directory import Directory
from services.routing.directory_file import load_directory
from services.runtime.portals import Portals
from services.validation import handler as validation
from services.validation.catalog import SchemaCatalog, load_catalog

log = structlog.get_logger(__name__)

WORKERS = ("validation", "routing", "delivery")
SERVICES = ("intake", *WORKERS, "relay", "notifier", "retention", "metrics", "checkpoint")
"""What `amtsweg service <name>` runs; `metrics` is the ledger- and broker-wide figures,
`retention` erases content whose retention period has passed, `checkpoint` signs the
ledger's chain heads into the checkpoint directory."""
SIGNING_SERVICES = frozenset({"relay", "intake"})
"""Services that sign envelopes: the relay publishes them, the HTTP API serves them."""
LEDGER_WRITERS = frozenset({"intake", "validation", "routing", "delivery", "notifier", "retention"})
"""Services that append events, so hash them under the chain key (relay and metrics only
read the ledger)."""


@dataclass(frozen=True)
class Core:
    """What every process needs: the ledger and the vault (key store and blob store)."""

    ledger: Ledger
    vault: Vault


def open_core(settings: Settings) -> Core:
    """Open the ledger (refusing one of an older format) and the vault (refusing a wrong KEK)."""
    ledger = open_ledger(settings.ledger)
    try:
        ledger.check_format()
        blobs = open_blob_store(settings.blobs)
        vault = open_vault(
            settings.vault, settings.ledger, blobs, development=settings.run.development
        )
    except BaseException:
        ledger.close()
        raise
    return Core(ledger, vault)


class Wiring:
    """Amtsweg's parts for one process; ``core`` may be given (tests, documentation)."""

    def __init__(self, settings: Settings, core: Core | None = None) -> None:
        self.settings = settings
        self._core = core

    @property
    def core(self) -> Core:
        """The ledger and the vault (``AMTSWEG_LEDGER_URL``, ``AMTSWEG_BLOB_URL``,
        ``AMTSWEG_KEK_FILE``, ``AMTSWEG_KEYSTORE_URL``)."""
        if self._core is None:
            self._core = open_core(self.settings)
        return self._core

    @property
    def ledger(self) -> Ledger:
        return self.core.ledger

    @property
    def vault(self) -> Vault:
        return self.core.vault

    def close(self) -> None:
        """Close the ledger and the key store, if they were opened."""
        if self._core is not None:
            self._core.ledger.close()
            self._core.vault.keys.close()

    # -- what the stages decide with ------------------------------------------------

    def catalog(self) -> SchemaCatalog:
        """Validation's schema catalog (loaded anew: a replay may run after a change)."""
        return load_catalog(self.settings.validation.catalog, self.settings.validation.regions)

    @cached_property
    def directory_archive(self) -> DirectoryArchive:
        """Routing's archive of directory versions (for replays against a recorded one)."""
        return DirectoryArchive(self.settings.routing.archive_folder(self.settings.run.data_dir))

    def routing_context(self, *, archived: bool = True) -> RoutingContext:
        """Routing's directory with its indexes, as configured; ``archived``: its files are
        kept in the archive, so that a replay can decide against this version later."""
        archive = self.directory_archive if archived else None
        return routing.load(self.settings.routing, archive)

    @cached_property
    def envelope_signer(self) -> EnvelopeSigner:
        """Amtsweg's envelope signing keys (``AMTSWEG_DELIVERY_SIGNING_KEYS_FILE``; made in
        the data dir in development)."""
        settings = self.settings
        return envelope_signer(
            settings.delivery.signing_keys_file,
            settings.run.data_dir,
            development=settings.run.development,
        )

    @cached_property
    def recipients(self) -> Recipients:
        """Delivery's view of the configured directory."""
        return recipients_from(load_directory(self.settings.routing.directory), self.settings)

    @cached_property
    def portals(self) -> Portals:
        """Where replies reach the portals (``AMTSWEG_PORTALS_FILE``; read once)."""
        return self.settings.portals.portals()

    # -- registration on a broker ---------------------------------------------------

    def register_workers(
        self, broker: KafkaBroker, names: set[str], *, shared: bool = False
    ) -> list[str]:
        """Subscribe the named workers; return the topics they and their outputs need.
        ``shared``: the stages share this process (``StageSettings.for_process``)."""
        needed: list[str] = [
            topics.INTAKE,
            topics.INTAKE_DLQ,
            topics.RECEIPTS,
            *topics.INTERNAL_TOPICS,
            *submission_event_topics(),  # reminders, callbacks, refused receipts …
        ]
        settings = self.settings
        stage = settings.stage.for_process(shared=shared)
        if "validation" in names:
            limits = settings.validation.limits()
            validation.register(
                broker, self.ledger, self.vault, self.catalog(), limits, stage_settings=stage
            )
        if "routing" in names:  # delivery topics: created by the relay on first delivery
            routing.register(
                broker, self.ledger, self.vault, self.routing_context(), stage_settings=stage
            )
        if "delivery" in names:
            delivery.register(
                broker,
                self.ledger,
                self.vault,
                settings.delivery,
                self.recipients,
                stage_settings=stage,
                portals=self.portals,
            )
        return needed

    def register_intake(self, broker: KafkaBroker, *, shared: bool = False) -> list[str]:
        """Subscribe the Kafka intake (the portals' topics and ``amtsweg.intake``) and return
        the topics it reads; the HTTP intake is ``http_app``. ``shared`` as for
        ``register_workers``."""
        settings = self.settings
        stage = settings.stage.for_process(shared=shared)
        return intake.register(
            broker, self.ledger, self.vault, settings.intake, stage_settings=stage
        )

    # -- read models and operator actions -------------------------------------------

    def deliveries(self) -> DeliveryProjector:
        """The deliveries read model next to the ledger."""
        store = delivery_store(self.settings.ledger)
        return DeliveryProjector(self.ledger, store, self.recipients.has_callback)

    def overview(self) -> OverviewProjector:
        """The submissions overview next to the ledger."""
        return OverviewProjector(self.ledger, overview_store(self.settings.ledger))

    @cached_property
    def replay_context(self) -> ReplayContext:
        """What replays decide with: the configured catalog, directory, vault and recipients."""
        return ReplayContext(
            self.vault,
            self.catalog,
            self.settings.validation.limits(),
            lambda: self.routing_context(archived=False),
            self.directory_archive.load,
            self.settings.delivery,
            self.recipients,
        )

    def dead_letters(self, bootstrap_servers: str | None) -> DeadLetters:
        """Every kind of dead letter, and what operations did with them."""
        actions = dead_letter_actions(self.settings.ledger)
        parking = parking_lot(self.settings.ledger)
        return DeadLetters(
            actions,
            self.deliveries(),
            bootstrap_servers,
            parking,
            security=self.settings.kafka,
            portals=self.portal_follow_up(),
        )

    @cached_property
    def tenancy(self) -> Tenancy:
        """The platform's tenants (``AMTSWEG_TENANTS_FILE``), read and checked once."""
        return load_tenancy(self.settings.operator.tenants_file)

    def tenants(self, directory: Callable[[], Directory] | None = None) -> TenantView:
        """The tenants with the operators' scopes; ``directory`` gives the authorities'
        states (default: the configured directory, loaded when first needed)."""
        loaded = directory or functools.cache(
            lambda: load_directory(self.settings.routing.directory)
        )
        return TenantView(
            self.tenancy,
            self.settings.operator.operator_scopes,
            loaded,
            development=self.settings.run.development,
        )

    def access_log(self) -> AccessLog:
        """Who read which submission, what and why: the append-only log next to the ledger."""
        return access_log_beside(self.settings.ledger)

    def ops_dependencies(self, bootstrap_servers: str | None) -> OpsDependencies:
        """What the ops API needs."""
        replays = self.replay_context
        return OpsDependencies(
            ledger=self.ledger,
            overview=self.overview(),
            dead_letters=self.dead_letters(bootstrap_servers),
            relay_store=relay_stores(self.ledger),
            replay_context=replays,
            settings=self.settings.operator,
            access_log=self.access_log(),
            scoping=Scoping(self.tenants(lambda: replays.routing.directory), self.ledger),
            triage=triage_queue(self.ledger, lambda: replays.routing.directory),
        )

    @cached_property
    def fit_connect_submissions(self) -> Callable[[], SubmissionTable]:
        """The FIT-Connect submission table (opened on first use), one for every route."""
        return submission_table(self.settings)

    def confirmation_ports(self) -> ConfirmationPorts:
        """The proof of receipt's ports: signed with the envelope signing key, the case
        of a submission sent over FIT-Connect from its table, else the one derived from
        its id (as FIT-Connect pickup names it)."""
        table = self.fit_connect_submissions
        signer = self.envelope_signer

        def case_of(submission_id: UUID) -> str:
            announced = table().get(str(submission_id))
            return announced.case_id if announced else case_id_of(str(submission_id))

        return ConfirmationPorts(sign=signer.sign_confirmation, case_of=case_of)

    def reply_ports(self) -> ReplyPorts:
        """What taking the authorities' replies over HTTP needs."""
        settings = self.settings
        return ReplyPorts(self.ledger, self.vault, self.recipients, self.portals, settings.delivery)

    def portal_reply_ports(self) -> PortalReplyPorts:
        """The portals' reply routes' ports: the portal's encryption key, JWE to it."""
        portals = self.portals
        return PortalReplyPorts(
            encryption_key=lambda portal_id: portals.get(portal_id).encryption_jwk,
            seal=seal_to_portal,
        )

    def portal_follow_up(self) -> PortalProjector:
        """The portals' follow-up read model (callbacks to make, open requests) beside
        the ledger."""
        portals = self.portals
        return PortalProjector(
            self.ledger,
            PortalStore.beside(self.settings.ledger),
            lambda portal_id: bool(portals.get(portal_id).callback_url),
            self.settings.delivery.public_base_url,
        )

    # -- what a process runs ----------------------------------------------------------

    def http_app(
        self, registry: CollectorRegistry | None = None, *, bootstrap_servers: str | None = None
    ) -> FastAPI:
        """The intake API with the authorities' routes, the FIT-Connect API
        (``/fit-connect``), the ops API and console (``/ops``), and ``/metrics`` when given
        a registry. ``bootstrap_servers``: where the ops API
        finds the intake's dead letters (none: it lists only the deliveries' ones)."""
        overloaded = (
            None
            if registry is None
            else Counter(
                "amtsweg_http_overloaded",
                "Write requests the HTTP intake refused 503 overloaded (backpressure)",
                registry=registry,
            )
        )
        app = create_app(
            self.ledger,
            self.vault,
            self.settings.intake,
            self.confirmation_ports(),
            self.portal_reply_ports(),
            on_overload=None if overloaded is None else overloaded.inc,
        )
        probe = content_check(
            functools.cache(self.catalog),
            self.settings.validation.limits(),
            functools.cache(lambda: self.routing_context(archived=False)),
        )
        mount_validations(app, self.settings.intake, probe)
        signer = self.envelope_signer
        deliveries = self.deliveries()
        app.include_router(
            create_router(
                self.ledger,
                self.vault,
                deliveries,
                self.recipients,
                self.settings.delivery,
                signer=signer,
            )
        )
        app.include_router(keys_router(signer))
        app.include_router(replies_router(self.reply_ports()))
        fit_connect = fit_connect_ports(
            self.settings,
            directory=lambda: load_directory(self.settings.routing.directory),
            catalog=self.catalog,
            kek=lambda: self.vault.keys.kek,
            vault=lambda: self.vault,
            intake=fit_connect_intake(self.ledger, self.vault, self.settings.intake),
            trail=ledger_trail(self.ledger),
            pickup=(self.ledger, lambda: deliveries),
            ledger=self.ledger,
            recipients=self.recipients,
            table=self.fit_connect_submissions,
        )
        mount_fit_connect(app, fit_connect)
        app.include_router(self.fit_connect_routing_router())
        mount_console(app, self.ops_dependencies(bootstrap_servers))
        if registry is not None:
            mount_metrics(app, registry)
        app.add_middleware(RequestContext)
        return app

    def fit_connect_routing_router(self) -> APIRouter:
        """FIT-Connect's Routing API over the configured directory (loaded on first use),
        its destination signatures by the case event log's keys (PS512)."""
        directory = DirectoryRouting(lambda: self.routing_context(archived=False))
        instance = Instance(submission_url=self.settings.fit_connect_url())
        return routing_api_router(directory, jws_signer(set_key_set(self.settings)), instance)

    async def start_notifier(
        self, stack: contextlib.AsyncExitStack, stop: asyncio.Event
    ) -> asyncio.Task[None]:
        """Run the notifier (callbacks, reminders, escalations) until ``stop``."""
        projector = await asyncio.to_thread(self.deliveries)
        settings = self.settings.delivery
        timeout = httpx.Timeout(settings.callback_timeout_seconds)
        client = await stack.enter_async_context(
            httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        )
        notifier = Notifier(projector, self.recipients, settings, HttpCallbackSender(client))
        return asyncio.create_task(notifier.run(stop), name="notifier")

    async def start_portal_callbacks(
        self, stack: contextlib.AsyncExitStack, stop: asyncio.Event
    ) -> asyncio.Task[None]:
        """Run the portals' follow-up (request deadlines, callbacks of replies) until ``stop``."""
        projector = await asyncio.to_thread(self.portal_follow_up)
        settings = self.settings.delivery
        timeout = httpx.Timeout(settings.callback_timeout_seconds)
        client = await stack.enter_async_context(
            httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        )
        overdue = OverdueRequests(self.ledger, projector.store, self.portals)
        loop = PortalCallbacks(
            projector, self.portals, settings, HttpCallbackSender(client), overdue=overdue
        )
        return asyncio.create_task(loop.run(stop), name="portal-callbacks")

    async def start_fit_connect_callbacks(
        self, stack: contextlib.AsyncExitStack, stop: asyncio.Event
    ) -> asyncio.Task[None]:
        """Run FIT-Connect's callbacks (new-submissions, new-events) until ``stop``."""
        settings = self.settings
        timeout = httpx.Timeout(settings.delivery.callback_timeout_seconds)
        client = await stack.enter_async_context(
            httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        )
        submissions = await asyncio.to_thread(submission_table(settings))
        callbacks = await asyncio.to_thread(callback_table(settings, lambda: self.vault.keys.kek))
        loop = FitConnectCallbacks(self.ledger, submissions, callbacks, HttpCallbackPoster(client))
        return asyncio.create_task(loop.run(stop), name="fit-connect-callbacks")

    def retention_job(self) -> RetentionJob:
        """The retention job: the catalog's rules over the overview of the ledger."""
        rules = rules_of(self.catalog().services)
        return RetentionJob(self.ledger, self.vault, self.overview(), rules)

    async def start_retention(self, stop: asyncio.Event) -> asyncio.Task[None]:
        """Run the retention job (erasures, orphan sweeps) until ``stop``."""
        job = await asyncio.to_thread(self.retention_job)
        interval = self.settings.run.retention_interval_seconds
        return asyncio.create_task(job.run(stop, interval), name="retention")

    def checkpoint_writer(self, shard: int = 0) -> CheckpointWriter:
        """The checkpoint writer of ledger shard ``shard`` (``AMTSWEG_CHECKPOINT_…``; in
        development in the data dir; shard k>0 in the subdirectory ``shard<k>``).

        It verifies the latest checkpoint before chaining onto it: with its own key, and
        with ``AMTSWEG_CHECKPOINT_PUBLIC_KEYS_FILE`` when set (the keys before a rotation).
        """
        run, settings = self.settings.run, self.settings.checkpoint
        development = run.development
        directory = settings.directory(run.data_dir, development=development, shard=shard)
        signer = settings.signer(run.data_dir, development=development)
        if settings.public_keys_file is not None or development:
            keys = settings.public_keys(run.data_dir, development=development)
        else:
            keys = PublicKeys({})
        return CheckpointWriter(self.ledger.shards[shard], directory, signer, keys)

    async def start_deployment_metrics(
        self,
        stack: contextlib.AsyncExitStack,
        *,
        bootstrap_servers: str,
        registry: CollectorRegistry,
        stop: asyncio.Event,
    ) -> asyncio.Task[None]:
        """Run the ``metrics`` service's collector until ``stop``."""
        figures = SubmissionFigures(registry)
        store = await asyncio.to_thread(metrics_store, self.settings.ledger)
        deliveries = await asyncio.to_thread(self.deliveries)
        relays = await asyncio.to_thread(relay_stores, self.ledger)
        offsets = KafkaOffsets(bootstrap_servers, security=self.settings.kafka)
        await offsets.start()
        stack.push_async_callback(offsets.close)
        stages = StageProjector(self.ledger, store, figures.observe)
        parking = await asyncio.to_thread(parking_lot, self.settings.ledger)
        collector = DeploymentMetrics(
            self.ledger,
            stages,
            deliveries,
            relays,
            offsets=offsets,
            registry=registry,
            parking=parking,
            tenants=await asyncio.to_thread(self.tenant_figures),
        )
        interval = self.settings.metrics.interval_seconds
        return asyncio.create_task(collector.run(stop, interval), name="metrics")

    def tenant_figures(self) -> Callable[[], dict[tuple[str, str], int]] | None:
        """Submissions per (tenant, status) from the caught-up overview; None without a
        tenants file (one tenant: ``amtsweg_submissions`` says it all)."""
        if self.tenancy.digest is None:
            return None
        overview, tenants = self.overview(), self.tenants()

        def figures() -> dict[tuple[str, str], int]:
            overview.catch_up()
            return tenant_statuses(overview.store.owner_counts(), tenants.of)

        return figures


def recipients_from(directory: Directory, settings: Settings) -> Recipients:
    """Delivery's view of the directory, with callback secrets and handover tokens from
    the environment (so delivery never imports routing). In development, authorities
    without keys get development keys in the data dir, made on first need."""

    def secret(values: dict[str, SecretStr], authority_id: str) -> str | None:
        found = values.get(authority_id)
        return found.get_secret_value() if found else None

    delivery_settings = settings.delivery
    development = settings.run.development
    recipients = Recipients(
        (
            Recipient(
                authority_id=authority.id,
                encryption_jwk=authority.keys.encryption,
                verification_jwk=authority.keys.verification,
                callback_url=authority.channel.callback_url,
                callback_secret=secret(delivery_settings.callback_secrets, authority.id),
                handover_url=handover.url if (handover := authority.channel.handover) else None,
                handover_portal=handover.portal_id if handover else None,
                handover_token=secret(delivery_settings.handover_tokens, authority.id),
                fit_connect=authority.channel.fit_connect,
            )
            for authority in directory.authorities
        ),
        development_keys=(
            DevelopmentKeys(settings.run.development_keys_folder()) if development else None
        ),
        accept_unsigned_receipts=development,
    )
    recipients.check()
    return recipients


def log_key_coverage(recipients: Recipients, *, development: bool) -> None:
    """Say at start-up how many authorities the directory gives no keys (counts only)."""
    coverage = recipients.coverage()
    figures = {
        "authorities": coverage.authorities,
        "without_encryption_key": coverage.without_encryption,
        "without_verification_key": coverage.without_verification,
    }
    if development:
        log.info("recipients.development_keys", **figures)
    elif coverage.without_encryption or coverage.without_verification:
        log.warning("recipients.keys_missing", **figures)


def submission_event_topics() -> list[str]:
    """``amtsweg.submissions.<event>`` for every event of the Submission aggregate."""
    return [
        submission_event_topic(name)
        for name, value in vars(Submission).items()
        if isinstance(value, type)
        and issubclass(value, Submission.Event)
        and name not in {"Event", "Created"}  # the base, and eventsourcing's generated class
    ]
