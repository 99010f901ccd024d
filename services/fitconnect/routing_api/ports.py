"""What the Routing API needs from elsewhere: the directory and a signing key.

The composition root implements :class:`RoutingDirectory` over routing's directory and
key lists, and gives a :data:`SignJws` made from Amtsweg's signing keys, so this package
imports neither routing nor delivery.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

RegionKind = Literal["ars", "ags", "areaId"]


@dataclass(frozen=True)
class Region:
    """The area a route is asked for, as given: an ARS, an AGS or an area id (the ARS)."""

    kind: RegionKind
    key: str


@dataclass(frozen=True)
class Contact:
    """How people reach an authority, as the directory lists it (all optional)."""

    email: str | None = None
    phone: str | None = None
    website: str | None = None
    address: str | None = None
    """One line, ``"Street 1, 12345 City"``."""


@dataclass(frozen=True)
class Office:
    """An authority competent for a service in an area."""

    authority_id: str
    name: str
    area: str
    """The ARS prefix its competence is for (it covers the area asked for)."""
    services: tuple[str, ...]
    """The LeiKa keys of that competence."""
    contact: Contact
    directory_version: str


@dataclass(frozen=True)
class AreaMatch:
    """An area found by a search: its id (the 12-digit ARS), official name and kind."""

    id: str
    name: str
    type: str


class UnknownServiceError(LookupError):
    """The LeiKa key is not a service of the directory."""


class UnknownRegionError(LookupError):
    """The region key names no area of the official key list."""


class RoutingDirectory(Protocol):
    """The directory as the Routing API asks it."""

    def competent(self, leika_key: str, region: Region) -> Sequence[Office]:
        """The offices competent for the service in the whole region (none: no route);
        raises :class:`UnknownServiceError` or :class:`UnknownRegionError`."""

    def search_areas(self, expressions: Sequence[str]) -> Sequence[AreaMatch]:
        """The areas matching every expression (words, ``*`` wildcards), in a stable order."""


SignJws = Callable[[bytes], str]
"""Sign a payload with Amtsweg's active key: the JWS compact serialization (RFC 7515)."""
