"""The authority directory: who is competent for which service in which area.

A service is named by its LeiKa key (Leistungskatalog der öffentlichen Verwaltung, the
federal catalogue of administrative services; keys have 14 digits and start with
``99``), or by a named group of keys (``"sozialhilfe-sgb-xii": [102, 107]``). An area is
an ARS prefix of 2, 3, 5, 9 or 12 digits (state, Regierungsbezirk, district,
Gemeindeverband, municipality; see :mod:`services.routing.regions`).

This module is the model and its index; :mod:`services.routing.directory_file` reads and
checks the JSON file and gives the directory its content-derived version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from contracts import linear_regex

LEIKA_KEY_PATTERN = linear_regex.compile(r"99[0-9]{12}")
AUTHORITY_ID_PATTERN = linear_regex.compile(r"[a-z0-9][a-z0-9-]{1,62}")
"""An authority id is also the suffix of its Kafka delivery topic."""
GROUP_PATTERN = linear_regex.compile(r"[a-z][a-z0-9-]{1,62}")
AREA_LENGTHS = (12, 9, 5, 3, 2)
"""ARS prefix lengths, most specific first."""
AREA_LEVELS = {
    12: "municipality",
    9: "association",
    5: "district",
    3: "region",
    2: "state",
}
"""What an ARS prefix of each length names (Gemeinde, Gemeindeverband, Kreis, RB, Land)."""
STATES = frozenset(f"{number:02d}" for number in range(1, 17))
DELIVERY_TOPIC_PREFIX = "amtsweg.delivery."


@dataclass(frozen=True)
class Contact:
    """How people reach the authority (all optional)."""

    email: str | None = None
    phone: str | None = None
    website: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class Handover:
    """Another Amtsweg instance (e.g. another state's backbone) that takes submissions on.

    Delivery posts the submission to ``url`` + ``/v1/submissions`` as portal
    ``portal_id``; the portal token comes from ``AMTSWEG_DELIVERY_HANDOVER_TOKENS``.
    """

    url: str
    portal_id: str


@dataclass(frozen=True)
class Channel:
    """How deliveries reach the authority: its Kafka topic (and a callback URL if it
    wants one), a handover to another Amtsweg instance, or FIT-Connect: the authority
    picks its submissions up with its own FIT-Connect client (``fit_connect``)."""

    topic: str | None = None
    callback_url: str | None = None
    handover: Handover | None = None
    fit_connect: bool = False


@dataclass(frozen=True)
class AuthorityKeys:
    """The authority's public keys as JWK JSON text (see :mod:`services.routing.keys`).

    ``encryption``: deliveries are encrypted to it. ``verification``: receipts must be
    signed with the matching private key.
    """

    encryption: str | None = None
    verification: str | None = None


@dataclass(frozen=True)
class Authority:
    """A receiving authority (Jobcenter, Sozialamt, ...)."""

    id: str
    name: str
    state: str
    contact: Contact
    channel: Channel
    keys: AuthorityKeys = AuthorityKeys()


@dataclass(frozen=True)
class Competence:
    """``authority`` handles ``services`` (LeiKa keys) in ``area`` (an ARS prefix).

    ``named`` are the services as the file wrote them (keys or group names); ``id``
    names the competence in routing decisions (derived unless the file gives one).
    """

    authority: str
    services: tuple[str, ...]
    area: str
    id: str = ""
    named: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.id:
            written = "+".join(self.named or self.services)
            object.__setattr__(self, "id", f"{self.authority}/{written}/{self.area}")

    @property
    def level(self) -> str:
        """``municipality``, ``association``, ``district``, ``region`` or ``state``."""
        return AREA_LEVELS.get(len(self.area), "?")


@dataclass(frozen=True)
class Directory:
    """One version of the directory, with an index by (service, area)."""

    version: str
    services: Mapping[str, str] = field(hash=False)
    authorities: tuple[Authority, ...]
    competences: tuple[Competence, ...]
    groups: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    _index: Mapping[tuple[str, str], tuple[Competence, ...]] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _by_id: Mapping[str, Authority] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        index: dict[tuple[str, str], tuple[Competence, ...]] = {}
        for competence in self.competences:
            for service in competence.services:
                key = (service, competence.area)
                index[key] = (*index.get(key, ()), competence)
        object.__setattr__(self, "_index", MappingProxyType(index))
        object.__setattr__(self, "_by_id", MappingProxyType({a.id: a for a in self.authorities}))

    @property
    def label(self) -> str:
        """The human part of the version (before ``+``)."""
        return self.version.partition("+")[0]

    def authority(self, authority_id: str) -> Authority | None:
        """The authority with this id, if listed."""
        return self._by_id.get(authority_id)

    def competences_at(self, service_key: str, area: str) -> tuple[Competence, ...]:
        """The competences for ``service_key`` in exactly ``area`` (an index lookup)."""
        return self._index.get((service_key, area), ())

    def competent_for(self, service_key: str, area: str) -> tuple[str, ...]:
        """Ids of the authorities competent for ``service_key`` in exactly ``area``."""
        return tuple(c.authority for c in self.competences_at(service_key, area))
