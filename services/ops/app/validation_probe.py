"""What ``POST /v1/validations`` decides with: the pipeline's validation and routing steps
as pure functions, on the same catalog and directory the running stages use, recording
nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.intake.validations_http import Checked, ContentCheck, Probe
from services.routing.context import RoutingContext
from services.routing.decision import decide as route
from services.routing.resolve import Routed, Unroutable
from services.validation.catalog import SchemaCatalog
from services.validation.decide import Declared, Limits, Valid
from services.validation.decide import decide as validate


def content_check(
    catalog: Callable[[], SchemaCatalog],
    limits: Limits,
    routing: Callable[[], RoutingContext],
) -> ContentCheck:
    """The check, its catalog and directory loaded on first use (as the stages load them)."""

    def check(probe: Probe) -> Checked:
        structure = probe.metadata.content_structure
        service = probe.metadata.public_service_type
        declared = Declared(
            leika_key=service.leika_key,
            schema_uri=structure.data.submission_schema.schema_uri,
            mime_type=structure.data.submission_schema.mime_type,
            received_at=probe.received_at,
            assurance=probe.metadata.assurance,
        )
        outcome = validate(catalog(), declared, probe.data, limits)
        if not isinstance(outcome, Valid):
            return Checked(outcome.catalog_version, outcome.problems)
        context = routing()
        hint = probe.routing.model_dump(exclude_none=True) if probe.routing else None
        decision = route(context, service.leika_key, hint, outcome.routing_keys)
        return Checked(
            outcome.catalog_version,
            [],
            schema_uri=outcome.schema_uri,
            directory_version=context.version,
            routing=_routing(context, decision.outcome, decision.region),
        )

    return check


def _routing(context: RoutingContext, outcome: Routed | Unroutable, region: str) -> dict[str, Any]:
    """Where the pipeline would route it: the authority with its name, or why not."""
    if isinstance(outcome, Routed):
        authority = context.directory.authority(outcome.authority_id)
        return {
            "outcome": "routed",
            "authorityId": outcome.authority_id,
            "authorityName": authority.name if authority is not None else None,
            "region": region,
            "area": outcome.area,
        }
    return {"outcome": "unroutable", "reason": outcome.reason_code, "detail": outcome.detail}
