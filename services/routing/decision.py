"""The routing decision for a submission: a pure function of its keys and one context.

``decide(context, leika_key, hint, data_keys, exclude)`` locates the applicant's region
(:mod:`services.routing.locate`) and routes it (:mod:`services.routing.resolve`). The
same inputs and the same directory version always give the same decision, which is why
a replay against an archived version reproduces what was decided then.

A postal code that spans several municipalities is routed when all of them lead to the
same authority through the same competence (the region is then their common ARS
prefix); otherwise the decision is ``ambiguous-region`` and the submission goes to
triage.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from services.routing.context import RoutingContext
from services.routing.locate import Location, NoRegionError, locate
from services.routing.resolve import (
    AMBIGUOUS_REGION,
    INVALID_REGION,
    NO_REGION,
    InvalidRegionError,
    Routed,
    Unroutable,
    route,
)


@dataclass(frozen=True)
class Decision:
    """The outcome, the region it was decided for, and how that region was found."""

    outcome: Routed | Unroutable
    region: str
    """The ARS, or the common ARS prefix of a postal code's municipalities ("" if none)."""
    location: Location | None = None

    def resolution(self) -> dict[str, Any] | None:
        """What the routing event records about the region's source."""
        return self.location.record() if self.location else None


def decide(
    context: RoutingContext,
    leika_key: str,
    hint: Mapping[str, Any] | None,
    data_keys: Mapping[str, Any] | None = None,
    exclude: Collection[str] = (),
) -> Decision:
    """Route a submission: the portal's hint first, then the keys found in its data."""
    version = context.version
    try:
        location = locate(context.regions, context.postcodes, hint, data_keys)
    except NoRegionError as error:
        return Decision(Unroutable(NO_REGION, str(error), version), "")
    except InvalidRegionError as error:
        return Decision(Unroutable(INVALID_REGION, str(error), version), "")
    outcomes = {
        ars: route(context.directory, leika_key, ars, exclude) for ars in location.candidates
    }
    first = next(iter(outcomes.values()))
    if len(outcomes) == 1:
        return Decision(first, location.candidates[0], location)
    if isinstance(first, Routed) and all(o == first for o in outcomes.values()):
        return Decision(first, _common_prefix(location.candidates), location)
    regions = ", ".join(outcomes)
    if isinstance(first, Unroutable) and all(
        isinstance(o, Unroutable) and o.reason_code == first.reason_code for o in outcomes.values()
    ):
        detail = f"the postal code ({regions}): for each, {first.detail}"
        return Decision(Unroutable(first.reason_code, detail, version), "", location)
    targets = sorted(
        {o.authority_id if isinstance(o, Routed) else o.reason_code for o in outcomes.values()}
    )
    detail = (
        f"the postal code spans {len(outcomes)} municipalities ({regions}) "
        f"that lead to different outcomes ({', '.join(targets)}); "
        "give the ARS, the AGS or the municipality"
    )
    return Decision(Unroutable(AMBIGUOUS_REGION, detail, version), "", location)


def _common_prefix(keys: tuple[str, ...]) -> str:
    """The longest ARS prefix all ``keys`` share (digit by digit)."""
    prefix = keys[0]
    for key in keys[1:]:
        while not key.startswith(prefix):
            prefix = prefix[:-1]
    return prefix
