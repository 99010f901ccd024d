"""What each stage decides again on a replay, and what it had recorded.

Each stage's decision comes from that stage's own pure function (validation's
``decide``, routing's ``decide``, delivery's ``prepare_dispatch``), with the catalog or
directory the replay is run against. A ``Decision`` can compare itself with the recorded
one and append its event to the submission.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any

from events.dossier import Dossier, routing_keys, seal_findings
from events.ledger import TrailEntry
from events.lifecycle import Status
from events.submission import Submission
from events.vault import ContentErasedError, Vault
from services.delivery.handler import Withhold, prepare_dispatch
from services.delivery.recipients import Recipients
from services.delivery.settings import DeliverySettings
from services.routing.context import RoutingContext
from services.routing.decision import decide as decide_route
from services.routing.resolve import Routed
from services.validation.catalog import SchemaCatalog
from services.validation.decide import Declared, Limits, Valid, decide


class Stage(StrEnum):
    """A stage that can be replayed."""

    VALIDATION = "validation"
    ROUTING = "routing"
    DELIVERY = "delivery"


class Against(StrEnum):
    """Which catalog or directory a replay decides with."""

    RECORDED = "recorded"
    CURRENT = "current"


@dataclass(frozen=True)
class Decision:
    """A stage's decision: what it is, a summary for people, and how to record it."""

    kind: str
    summary: str
    identity: tuple[Any, ...]
    """What two equal decisions share (the version used is not part of it)."""
    record: Callable[[Submission], bool]


@dataclass(frozen=True)
class Recorded:
    """The stage's decision as the trail has it."""

    kind: str
    summary: str
    identity: tuple[Any, ...]
    version: str | None


class ReplayContext:
    """What replays decide with; catalog and directories are loaded when first used."""

    def __init__(  # noqa: PLR0917 - its dependencies
        self,
        vault: Vault,
        load_catalog: Callable[[], SchemaCatalog],
        limits: Limits,
        load_routing: Callable[[], RoutingContext],
        archived_routing: Callable[[str], RoutingContext],
        delivery: DeliverySettings,
        recipients: Recipients,
    ) -> None:
        self.vault = vault
        self._load_catalog = load_catalog
        self.limits = limits
        self._load_routing = load_routing
        self._archived_routing = archived_routing
        self.delivery = delivery
        self.recipients = recipients

    @cached_property
    def catalog(self) -> SchemaCatalog:
        """The configured schema catalog."""
        return self._load_catalog()

    @cached_property
    def routing(self) -> RoutingContext:
        """The configured directory and key lists."""
        return self._load_routing()

    def version(self, stage: Stage) -> str:
        """The version of what ``stage`` decides with here (the configured one)."""
        if stage is Stage.VALIDATION:
            return self.catalog.version
        return str(self.routing.version)

    def routing_at(self, version: str) -> RoutingContext:
        """The directory of ``version``: the configured one, or one from routing's archive.

        ``UnknownDirectoryVersionError`` when the archive does not hold it.
        """
        if version == self.routing.version:
            return self.routing
        return self._archived_routing(version)


def _problem_slugs(problems: list[dict[str, Any]]) -> str:
    return ", ".join(str(p.get("type", "?")).rsplit("/", 1)[-1] for p in problems[:5])


_RECORDED: dict[str, Callable[[dict[str, Any]], Recorded]] = {
    "Validated": lambda d: Recorded(
        "validated",
        f"validated (schema {d['schema_uri']})",
        (d["schema_uri"], tuple(d["routing_keys"])),
        d["catalog_version"],
    ),
    "Rejected": lambda d: Recorded(
        "rejected",
        f"rejected: {_problem_slugs(d['problems'])}",
        (d["problems"],),
        d["catalog_version"],
    ),
    "Routed": lambda d: Recorded(
        "routed",
        f"routed to {d['authority_id']} (area {d['area']})",
        (d["authority_id"], d["area"]),
        d["directory_version"],
    ),
    "Unroutable": lambda d: Recorded(
        "unroutable",
        f"unroutable: {d['reason']}",
        (d["reason"], d["detail"]),
        d["directory_version"],
    ),
    "Assigned": lambda d: Recorded(
        "assigned",
        f"assigned to {d['authority_id']} by {d.get('by')}",
        (d["authority_id"],),
        d["directory_version"],
    ),
    "Withheld": lambda d: Recorded(
        "withheld",
        f"withheld from {d['authority_id']}: {d['reason']}",
        (d["authority_id"], d["reason"]),
        None,
    ),
    "Dispatched": lambda d: Recorded(
        "dispatched",
        f"dispatched as delivery {d['delivery_id']} to {d['authority_id']}",
        (d["authority_id"],),
        None,
    ),
}
_RECORDED["Forwarded"] = _RECORDED["Routed"]
_DECIDING = {
    Stage.VALIDATION: ("Validated", "Rejected"),
    Stage.ROUTING: ("Routed", "Unroutable", "Forwarded", "Assigned"),
    Stage.DELIVERY: ("Dispatched", "Withheld"),
}
"""The events in which each stage (or an operator in its place) records a decision."""


def recorded(stage: Stage, trail: list[TrailEntry]) -> Recorded | None:
    """The stage's latest recorded decision, if it made one."""
    entry = next((e for e in reversed(trail) if e.event in _DECIDING[stage]), None)
    return _RECORDED[entry.event](entry.data) if entry else None


def same(decision: Decision, before: Recorded) -> bool:
    """True if ``decision`` is the one recorded.

    A validation compares by its schema and the names of the routing keys it found (their
    values are sealed, and the trail shows none).
    """
    return decision.kind == before.kind and decision.identity == before.identity


def decide_again(
    stage: Stage,
    submission: Submission,
    trail: list[TrailEntry],
    context: ReplayContext,
    directory: RoutingContext | None = None,
) -> Decision:
    """What ``stage`` decides for the submission now (routing: with ``directory``).

    ``ContentErasedError`` once the submission's content is erased: nothing to decide on.
    """
    if submission.content_erased:
        raise ContentErasedError(str(submission.id))
    if stage is Stage.VALIDATION:
        return _validation(submission, context)
    if stage is Stage.ROUTING:
        return _routing(submission, directory or context.routing, context.vault)
    return _delivery(submission, trail, context)


def _validation(submission: Submission, context: ReplayContext) -> Decision:
    vault = context.vault
    dossier = Dossier.of(vault, submission)
    assert dossier.data.schema_uri is not None
    declared = Declared(
        leika_key=submission.leika_key,
        schema_uri=dossier.data.schema_uri,
        mime_type=dossier.data.mime_type,
        received_at=submission.created_on,
        assurance=dossier.assurance,
    )
    data = vault.read(submission.id, submission.data["blob"])
    outcome = decide(context.catalog, declared, data, context.limits)
    if isinstance(outcome, Valid):
        keys = dict(outcome.routing_keys)
        return Decision(
            "validated",
            f"validated (schema {outcome.schema_uri})",
            (outcome.schema_uri, tuple(sorted(keys))),
            lambda s: s.validate(
                outcome.catalog_version,
                outcome.schema_uri,
                list(keys),
                seal_findings(vault, s, keys),
            ),
        )
    problems = [p.model_dump(exclude_none=True) for p in outcome.problems]
    return Decision(
        "rejected",
        f"rejected: {_problem_slugs(problems)}",
        (problems,),
        lambda s: s.reject(outcome.catalog_version, problems),
    )


def _routing(submission: Submission, directory: RoutingContext, vault: Vault) -> Decision:
    hint = Dossier.of(vault, submission).routing
    decided = decide_route(directory, submission.leika_key, hint, routing_keys(vault, submission))
    outcome = decided.outcome
    if isinstance(outcome, Routed):
        return Decision(
            "routed",
            f"routed to {outcome.authority_id} (area {outcome.area})",
            (outcome.authority_id, outcome.area),
            lambda s: s.route(
                outcome.authority_id,
                decided.region,
                outcome.area,
                outcome.directory_version,
                competence=outcome.competence,
                resolution=decided.resolution(),
            ),
        )
    return Decision(
        "unroutable",
        f"unroutable: {outcome.reason_code}",
        (outcome.reason_code, outcome.detail),
        lambda s: s.mark_unroutable(
            outcome.reason_code, outcome.detail, outcome.directory_version, decided.resolution()
        ),
    )


def _delivery(submission: Submission, trail: list[TrailEntry], context: ReplayContext) -> Decision:
    dispatched = next((e for e in reversed(trail) if e.event == "Dispatched"), None)
    if submission.status is not Status.ROUTED and dispatched is not None:
        # delivered already: the same delivery goes to the authority it was routed to
        authority = submission.authority_id or str(dispatched.data["authority_id"])
        delivery_id = str(dispatched.data["delivery_id"])
        summary = f"dispatched as delivery {delivery_id} to {authority}"
        return Decision("dispatched", summary, (authority,), lambda _: False)
    dispatch = prepare_dispatch(submission, context.vault, context.delivery, context.recipients)
    if isinstance(dispatch, Withhold):
        summary = f"withheld from {dispatch.authority_id}: {dispatch.reason}"
        return Decision(
            "withheld", summary, (dispatch.authority_id, dispatch.reason), dispatch.record
        )
    summary = f"dispatched as delivery {dispatch.delivery_id} to {dispatch.authority_id}"
    return Decision("dispatched", summary, (dispatch.authority_id,), dispatch.record)
