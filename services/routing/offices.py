"""Who is competent for a service in an area: the answer of FIT-Connect's ``/routes``.

:func:`services.routing.resolve.route` decides for one municipality and one submission;
here the question is asked for an area of any size (state, Regierungsbezirk, district,
Gemeindeverband or municipality, given as ARS or AGS). The answer is the competences
that cover the *whole* area, at the most specific level that has any: the area's own
key first, then each shorter ARS prefix. A competence for only a part of the area (one
municipality of a district) is not an answer for the district; asked for that
municipality, it is. Several authorities at the winning level are all named (an
ambiguity the directory's checks report; a sender sees every candidate).
"""

from __future__ import annotations

from typing import Literal

from services.routing.directory import AREA_LENGTHS, Competence, Directory
from services.routing.regions import RegionIndex
from services.routing.resolve import InvalidRegionError

RegionKind = Literal["ars", "ags"]
ARS_LENGTHS = frozenset(AREA_LENGTHS)
AGS_LENGTHS = frozenset({2, 3, 5, 8})
"""An AGS of 2, 3 or 5 digits is the same prefix as the ARS; of 8, a municipality."""


class UnknownServiceError(LookupError):
    """The LeiKa key is not a service of the directory."""


def area_key(regions: RegionIndex, kind: RegionKind, key: str) -> str:
    """The ARS prefix an ARS or AGS names; ``InvalidRegionError`` unless the list has it."""
    if not key.isascii() or not key.isdigit():
        raise InvalidRegionError(f"the {kind.upper()} must consist of digits")
    if kind == "ags" and len(key) == len("05315000"):
        ars = regions.ars_for_ags(key)
        if ars is None:
            raise InvalidRegionError(f"the AGS is not in the regional key list {regions.version}")
        return ars
    lengths = ARS_LENGTHS if kind == "ars" else AGS_LENGTHS
    if len(key) not in lengths:
        allowed = ", ".join(str(n) for n in sorted(lengths))
        raise InvalidRegionError(f"an {kind.upper()} has {allowed} digits")
    if not regions.covers(key):
        raise InvalidRegionError(f"no area of the regional key list {regions.version} has it")
    return key


def covering(directory: Directory, service_key: str, area: str) -> tuple[Competence, ...]:
    """The competences for ``service_key`` covering all of ``area``, most specific level.

    Raises :class:`UnknownServiceError` for a service no authority offers.
    """
    if service_key not in directory.services:
        raise UnknownServiceError(f"service {service_key} is not in the directory")
    for length in AREA_LENGTHS:
        if length <= len(area):
            found = directory.competences_at(service_key, area[:length])
            if found:
                return tuple(sorted(found, key=lambda c: (c.authority, c.id)))
    return ()
