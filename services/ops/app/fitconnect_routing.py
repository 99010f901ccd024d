"""FIT-Connect's Routing API ports, implemented over routing's directory and delivery's keys.

:class:`DirectoryRouting` answers :class:`~services.fitconnect.routing_api.ports.RoutingDirectory`
from a :class:`~services.routing.context.RoutingContext`: the directory, the official ARS
list and the postal code list. The context and the area index are built once, on first
use (a process that never answers the Routing API never loads them), under a lock:
requests wait for it rather than build it twice.
:func:`jws_signer` signs with the keys of the case event log (PS512, as FITKO signs
destinations): the same keys, published at ``GET /fit-connect/.well-known/jwks.json``,
verify destination signatures.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from services.fitconnect.routing_api.ports import (
    AreaMatch,
    Contact,
    Office,
    Region,
    SignJws,
    UnknownRegionError,
    UnknownServiceError,
)
from services.fitconnect.set_keys import SetKeys
from services.routing import offices
from services.routing.area_search import AreaIndex
from services.routing.context import RoutingContext
from services.routing.directory import Competence
from services.routing.resolve import InvalidRegionError


class DirectoryRouting:
    """The Routing API's view of the directory."""

    def __init__(self, load: Callable[[], RoutingContext]) -> None:
        self._load = load
        self._lock = threading.RLock()
        self._loaded: RoutingContext | None = None
        self._index: AreaIndex | None = None

    @property
    def _context(self) -> RoutingContext:
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    @property
    def _areas(self) -> AreaIndex:
        with self._lock:
            if self._index is None:
                context = self._context
                self._index = AreaIndex(context.regions, context.postcodes)
            return self._index

    def competent(self, leika_key: str, region: Region) -> Sequence[Office]:
        """The offices whose competence covers the whole region."""
        context = self._context
        kind: offices.RegionKind = "ags" if region.kind == "ags" else "ars"
        try:
            area = offices.area_key(context.regions, kind, region.key)
            found = offices.covering(context.directory, leika_key, area)
        except InvalidRegionError as error:
            raise UnknownRegionError(f"{region.kind} {region.key}: {error}") from None
        except offices.UnknownServiceError as error:
            raise UnknownServiceError(str(error)) from None
        return [self._office(competence) for competence in found]

    def search_areas(self, expressions: Sequence[str]) -> Sequence[AreaMatch]:
        """The matching areas, ordered by name."""
        return [AreaMatch(a.ars, a.name, a.kind) for a in self._areas.search(expressions)]

    def _office(self, competence: Competence) -> Office:
        directory = self._context.directory
        authority = directory.authority(competence.authority)
        if authority is None:  # the directory's checks make every competence's authority known
            msg = f"competence {competence.id} names no authority of the directory"
            raise LookupError(msg)
        contact = authority.contact
        return Office(
            authority_id=authority.id,
            name=authority.name,
            area=competence.area,
            services=competence.services,
            contact=Contact(contact.email, contact.phone, contact.website, contact.address),
            directory_version=directory.version,
        )


def jws_signer(keys: Callable[[], SetKeys]) -> SignJws:
    """Compact JWS (PS512) with the event log's active key, read on first use."""

    def sign(payload: bytes) -> str:
        return keys().sign_compact(payload)

    return sign
