"""The routing decision for one ARS: which authority receives a submission.

``route`` is a pure function of (directory, LeiKa service key, ARS): the most specific
competence wins, i.e. the longest matching ARS prefix (12 > 9 > 5 > 3 > 2 digits), found
with at most five index lookups. Authorities in ``exclude`` (those that declared
themselves not responsible) do not count, so the next less specific one wins. See
:mod:`services.routing.directory` for LeiKa and :mod:`services.routing.regions` for ARS
and AGS.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Final, Literal

from services.routing.directory import AREA_LENGTHS, LEIKA_KEY_PATTERN, Competence, Directory
from services.routing.regions import (
    AGS_PATTERN,
    ARS_PATTERN,
    RegionIndex,
    default_region_index,
)

ReasonCode = Literal[
    "no-competence",
    "ambiguous",
    "invalid-region",
    "invalid-service",
    "no-region",
    "ambiguous-region",
]
NO_COMPETENCE: Final = "no-competence"
AMBIGUOUS: Final = "ambiguous"
INVALID_REGION: Final = "invalid-region"
INVALID_SERVICE: Final = "invalid-service"
NO_REGION: Final = "no-region"
AMBIGUOUS_REGION: Final = "ambiguous-region"


@dataclass(frozen=True)
class Routed:
    """The submission goes to ``authority_id``, competent for the ARS prefix ``area``."""

    authority_id: str
    area: str
    directory_version: str
    competence: str = ""
    """The id of the competence that matched."""


@dataclass(frozen=True)
class Unroutable:
    """No single competent authority; ``reason_code`` is stable, ``detail`` for humans."""

    reason_code: ReasonCode
    detail: str
    directory_version: str


class InvalidRegionError(ValueError):
    """A routing hint is neither a known 12-digit ARS nor a known 8-digit AGS."""

    reason_code: Final = INVALID_REGION


def route(
    directory: Directory, service_key: str, ars: str, exclude: Collection[str] = ()
) -> Routed | Unroutable:
    """Find the authority competent for ``service_key`` at the 12-digit ``ars``."""
    version = directory.version
    if not LEIKA_KEY_PATTERN.fullmatch(service_key):
        return Unroutable(INVALID_SERVICE, f"{service_key!r} is not a LeiKa key", version)
    if not ARS_PATTERN.fullmatch(ars):
        return Unroutable(INVALID_REGION, f"{ars!r} is not a 12-digit ARS", version)
    for length in AREA_LENGTHS:
        area = ars[:length]
        found = _competent(directory, service_key, area, exclude)
        authorities = sorted({c.authority for c in found})
        if len(authorities) > 1:
            detail = f"{', '.join(authorities)} are all competent for {service_key} in {area}"
            return Unroutable(AMBIGUOUS, detail, version)
        if found:
            return Routed(authorities[0], area, version, found[0].id)
    if service_key not in directory.services:
        detail = f"service {service_key} is not offered by any authority in the directory"
    elif exclude:
        detail = (
            f"no authority is competent for {service_key} at {ars} "
            f"apart from those that declined ({', '.join(sorted(exclude))})"
        )
    else:
        detail = f"no authority is competent for {service_key} at {ars}"
    return Unroutable(NO_COMPETENCE, detail, version)


def _competent(
    directory: Directory, service_key: str, area: str, exclude: Collection[str]
) -> tuple[Competence, ...]:
    found = directory.competences_at(service_key, area)
    return tuple(c for c in found if c.authority not in exclude) if exclude else found


def matching_competences(directory: Directory, service_key: str, ars: str) -> list[Competence]:
    """Every competence for the service whose area contains ``ars``, most specific first.

    The first is the winner (unless its level is ambiguous); the rest are the runners-up
    that would decide if it were missing or declined.
    """
    if not ARS_PATTERN.fullmatch(ars):
        return []
    return [
        competence
        for length in AREA_LENGTHS
        for competence in directory.competences_at(service_key, ars[:length])
    ]


def normalise_region(hint: str, regions: RegionIndex | None = None) -> str:
    """Turn a routing hint (12-digit ARS or 8-digit AGS) into a known 12-digit ARS.

    Spaces are ignored (``"05 3 15 0000 000"``). Raises :class:`InvalidRegionError`.
    ``regions`` defaults to the vendored official list.
    """
    index = regions if regions is not None else default_region_index()
    key = "".join(hint.split())
    if ARS_PATTERN.fullmatch(key):
        if index.exists(key):
            return key
        msg = f"the given ARS is not in the regional key list {index.version}"
        raise InvalidRegionError(msg)
    if AGS_PATTERN.fullmatch(key):
        ars = index.ars_for_ags(key)
        if ars is not None:
            return ars
        msg = f"the given AGS is not in the regional key list {index.version}"
        raise InvalidRegionError(msg)
    msg = "the given region key is neither a 12-digit ARS nor an 8-digit AGS"
    raise InvalidRegionError(msg)
