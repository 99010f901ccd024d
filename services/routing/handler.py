"""Routing worker: Validated → Routed | Unroutable; Declined → Forwarded | Unroutable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import structlog
from faststream.kafka import KafkaBroker

from contracts import topics
from events.dossier import Dossier, routing_keys
from events.ledger import Ledger
from events.lifecycle import Status
from events.submission import Submission
from events.vault import Vault
from services.routing.archive import DirectoryArchive
from services.routing.context import RoutingContext, Sources, build_context
from services.routing.decision import Decision, decide
from services.routing.resolve import Routed
from services.routing.settings import RoutingSettings
from services.runtime.batch import Outcome, Step, perform_one
from services.runtime.settings import StageSettings
from services.runtime.worker import BatchWorker, subscription

log = structlog.get_logger(__name__)

GROUP = "amtsweg-routing"


def load(settings: RoutingSettings, archive: DirectoryArchive | None = None) -> RoutingContext:
    """Load and check the key lists and the directory (once per process); keep the version.

    With an archive, the files behind the version are kept there, so that a replay can
    decide against this version later.
    """
    sources = Sources.read(settings.directory, settings.regions, settings.postcodes)
    context = build_context(sources)
    if archive is not None:
        archive.keep(context, sources)
    log.info("routing.directory_loaded", directory_version=context.version)
    return context


def route_submission(
    ledger: Ledger, vault: Vault, context: RoutingContext, submission_id: UUID
) -> bool:
    """Route one submission; False if it was already routed (a repeated message)."""
    outcome = perform_one(ledger, submission_id, routing_step(vault, context))
    return outcome is not None and outcome.changed


def forward_submission(
    ledger: Ledger, vault: Vault, context: RoutingContext, submission_id: UUID
) -> bool:
    """Route a declined submission anew without the authorities that declined it."""
    outcome = perform_one(ledger, submission_id, forwarding_step(vault, context))
    return outcome is not None and outcome.changed


def routing_step(vault: Vault, context: RoutingContext) -> Step:
    """Routed or Unroutable for a validated submission; None once it is decided."""

    def step(submission: Submission) -> Outcome | None:
        if submission.status is not Status.VALIDATED or submission.content_erased:
            return None
        hint, keys = _where(vault, submission)
        decision = decide(context, submission.leika_key, hint, keys)
        return _record(submission.route, submission, decision, "routing.decided")

    return step


def forwarding_step(vault: Vault, context: RoutingContext) -> Step:
    """Forwarded (to the next competent authority) or Unroutable for a declined submission."""

    def step(submission: Submission) -> Outcome | None:
        if submission.status is not Status.DECLINED or submission.content_erased:
            return None
        hint, keys = _where(vault, submission)
        decision = decide(
            context, submission.leika_key, hint, keys, exclude=frozenset(submission.declined_by)
        )
        return _record(submission.forward, submission, decision, "routing.forwarded")

    return step


def _where(vault: Vault, submission: Submission) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The routing hint and the routing keys found in the data, from the vault."""
    return Dossier.of(vault, submission).routing, routing_keys(vault, submission)


def _record(
    routed: Callable[..., bool], submission: Submission, decision: Decision, name: str
) -> Outcome:
    """Record the decision: ``routed`` (route or forward) or Unroutable."""
    outcome = decision.outcome
    if isinstance(outcome, Routed):
        changed = routed(
            outcome.authority_id,
            decision.region,
            outcome.area,
            outcome.directory_version,
            competence=outcome.competence,
            resolution=decision.resolution(),
        )
    else:
        changed = submission.mark_unroutable(
            outcome.reason_code, outcome.detail, outcome.directory_version, decision.resolution()
        )
    return Outcome(
        name,
        changed,
        {
            "outcome": "routed" if isinstance(outcome, Routed) else "unroutable",
            "authority_id": getattr(outcome, "authority_id", None),
            "reason": getattr(outcome, "reason_code", None),
            "directory_version": outcome.directory_version,
        },
    )


def register(
    broker: KafkaBroker,
    ledger: Ledger,
    vault: Vault,
    context: RoutingContext,
    *,
    stage_settings: StageSettings,
) -> None:
    """Subscribe the routing worker: decisions on Validated, forwarding on Declined."""
    steps = {
        "Validated": routing_step(vault, context),
        "Declined": forwarding_step(vault, context),
    }
    broker.subscriber(
        topics.VALIDATED,
        topics.DECLINED,
        group_id=GROUP,
        auto_offset_reset="earliest",
        **subscription(stage_settings),
    )(BatchWorker(ledger, "routing", lambda message: steps.get(message.event)).handle)
