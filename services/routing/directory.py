"""The authority directory: who is competent for which service in which area.

A service is named by its LeiKa key (Leistungskatalog der öffentlichen Verwaltung, the
federal catalogue of administrative services; keys have 14 digits and start with
``99``). An area is an ARS prefix of 2, 3, 5, 9 or 12 digits (state, Regierungsbezirk,
district, Gemeindeverband, municipality; see :mod:`services.routing.regions`).

The directory is a JSON file, checked completely when it is loaded; its ``version`` is
recorded with every routing decision.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from services.routing.keys import canonical_jwk, check_callback_url, check_jwk
from services.routing.regions import RegionIndex

LEIKA_KEY_PATTERN = re.compile(r"99[0-9]{12}")
AUTHORITY_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
"""An authority id is also the suffix of its Kafka delivery topic."""
AREA_LENGTHS = (12, 9, 5, 3, 2)
"""ARS prefix lengths, most specific first."""
STATES = frozenset(f"{number:02d}" for number in range(1, 17))
DELIVERY_TOPIC_PREFIX = "amtsweg.delivery."
_AREA_PATTERN = re.compile("|".join(f"[0-9]{{{length}}}" for length in AREA_LENGTHS))


class DirectoryError(Exception):
    """The directory file is not usable; ``problems`` lists every reason found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"authority directory {source} is not usable: " + "; ".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class Contact:
    """How people reach the authority (all optional)."""

    email: str | None = None
    phone: str | None = None
    website: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class Channel:
    """How deliveries reach the authority: its topic, and a callback URL if it wants one."""

    topic: str
    callback_url: str | None = None


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
    """``authority`` handles ``services`` (LeiKa keys) in ``area`` (an ARS prefix)."""

    authority: str
    services: tuple[str, ...]
    area: str


@dataclass(frozen=True)
class Directory:
    """One version of the directory, with an index by (service, area)."""

    version: str
    services: Mapping[str, str] = field(hash=False)
    authorities: tuple[Authority, ...]
    competences: tuple[Competence, ...]
    _index: Mapping[tuple[str, str], tuple[str, ...]] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _by_id: Mapping[str, Authority] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        index: dict[tuple[str, str], tuple[str, ...]] = {}
        for competence in self.competences:
            for service in competence.services:
                key = (service, competence.area)
                index[key] = (*index.get(key, ()), competence.authority)
        object.__setattr__(self, "_index", MappingProxyType(index))
        object.__setattr__(self, "_by_id", MappingProxyType({a.id: a for a in self.authorities}))

    def authority(self, authority_id: str) -> Authority | None:
        """The authority with this id, if listed."""
        return self._by_id.get(authority_id)

    def competent_for(self, service_key: str, area: str) -> tuple[str, ...]:
        """Ids of the authorities competent for ``service_key`` in exactly ``area``."""
        return self._index.get((service_key, area), ())


def load_directory(path: Path, regions: RegionIndex | None = None) -> Directory:
    """Read and check a directory file; with ``regions``, every area must exist in it."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DirectoryError(path.name, [str(error)]) from error
    return parse_directory(document, regions, source=path.name)


def parse_directory(
    document: object, regions: RegionIndex | None = None, source: str = "document"
) -> Directory:
    """Check a decoded directory document and build the :class:`Directory`."""
    checker = _Checker(regions)
    directory = checker.directory(document)
    if checker.problems or directory is None:
        raise DirectoryError(source, checker.problems or ["no directory"])
    return directory


class _Checker:
    """Collects every problem of a document instead of stopping at the first."""

    def __init__(self, regions: RegionIndex | None) -> None:
        self.regions = regions
        self.problems: list[str] = []

    def fail(self, where: str, problem: str) -> None:
        self.problems.append(f"{where}: {problem}")

    def directory(self, document: object) -> Directory | None:
        if not isinstance(document, dict):
            self.fail("$", "must be an object")
            return None
        version = document.get("version")
        if not isinstance(version, str) or not version:
            self.fail("version", "must be a non-empty string")
        services = self.services(document.get("services"))
        authorities = [
            a
            for i, item in enumerate(self.array(document, "authorities"))
            if (a := self.authority(f"authorities[{i}]", item)) is not None
        ]
        known: set[str] = set()
        for i, authority in enumerate(authorities):
            if authority.id in known:
                self.fail(f"authorities[{i}].id", f"duplicate id {authority.id!r}")
            known.add(authority.id)
        competences = {
            f"competences[{i}]": c
            for i, item in enumerate(self.array(document, "competences"))
            if (c := self.competence(f"competences[{i}]", item, known, services)) is not None
        }
        self.overlaps(competences)
        return Directory(str(version), services, tuple(authorities), tuple(competences.values()))

    def array(self, document: dict[str, Any], key: str) -> list[Any]:
        value = document.get(key)
        if not isinstance(value, list):
            self.fail(key, "must be an array")
            return []
        return value

    def services(self, value: object) -> Mapping[str, str]:
        if not isinstance(value, dict):
            self.fail("services", "must be an object of LeiKa key to service name")
            return MappingProxyType({})
        for key, name in value.items():
            if not LEIKA_KEY_PATTERN.fullmatch(key):
                self.fail(f"services.{key}", "not a LeiKa key (14 digits starting with 99)")
            if not isinstance(name, str) or not name:
                self.fail(f"services.{key}", "name must be a non-empty string")
        return MappingProxyType({str(k): str(v) for k, v in value.items()})

    def authority(self, where: str, item: object) -> Authority | None:
        if not isinstance(item, dict):
            self.fail(where, "must be an object")
            return None
        authority_id, name, state = item.get("id"), item.get("name"), item.get("state")
        before = len(self.problems)
        if not isinstance(authority_id, str) or not AUTHORITY_ID_PATTERN.fullmatch(authority_id):
            self.fail(f"{where}.id", f"{authority_id!r} must match {AUTHORITY_ID_PATTERN.pattern}")
        if not isinstance(name, str) or not name:
            self.fail(f"{where}.name", "must be a non-empty string")
        if state not in STATES:
            self.fail(f"{where}.state", f"{state!r} is not a state key 01-16")
        contact = self.contact(f"{where}.contact", item.get("contact", {}))
        channel = item.get("channel")
        topic = channel.get("topic") if isinstance(channel, dict) else None
        if topic is None:
            self.fail(f"{where}.channel", "missing delivery channel (channel.topic)")
        elif topic != f"{DELIVERY_TOPIC_PREFIX}{authority_id}":
            self.fail(f"{where}.channel.topic", f"must be {DELIVERY_TOPIC_PREFIX}{authority_id}")
        callback = channel.get("callbackUrl") if isinstance(channel, dict) else None
        for problem in check_callback_url(callback) if callback is not None else []:
            self.fail(f"{where}.channel.callbackUrl", problem)
        keys = self.keys(f"{where}.keys", item.get("keys", {}))
        if len(self.problems) > before or contact is None or keys is None:
            return None
        return Authority(
            str(authority_id),
            str(name),
            str(state),
            contact,
            Channel(str(topic), callback),
            keys,
        )

    def keys(self, where: str, item: object) -> AuthorityKeys | None:
        if not isinstance(item, dict) or set(item) - {"encryption", "verification"}:
            self.fail(where, "must be an object with optional 'encryption' and 'verification'")
            return None
        found: dict[str, str] = {}
        for purpose, jwk in item.items():
            problems = check_jwk(jwk, purpose)
            for problem in problems:
                self.fail(f"{where}.{purpose}", problem)
            if not problems:
                found[purpose] = canonical_jwk(jwk)
        return AuthorityKeys(**found)

    def contact(self, where: str, item: object) -> Contact | None:
        fields = ("email", "phone", "website", "address")
        if not isinstance(item, dict) or not all(
            isinstance(item.get(f), str | None) for f in fields
        ):
            self.fail(where, f"must be an object with optional string fields {fields}")
            return None
        return Contact(**{f: item.get(f) for f in fields})

    def competence(
        self, where: str, item: object, known: set[str], services: Mapping[str, str]
    ) -> Competence | None:
        if not isinstance(item, dict):
            self.fail(where, "must be an object")
            return None
        before = len(self.problems)
        authority, keys, area = item.get("authority"), item.get("services"), item.get("area")
        if authority not in known:
            self.fail(f"{where}.authority", f"unknown authority {authority!r}")
        if not isinstance(keys, list) or not keys:
            self.fail(f"{where}.services", "must be a non-empty array of LeiKa keys")
            keys = []
        for key in keys:
            if not isinstance(key, str) or not LEIKA_KEY_PATTERN.fullmatch(key):
                self.fail(f"{where}.services", f"{key!r} is not a LeiKa key (99 + 12 digits)")
            elif key not in services:
                self.fail(f"{where}.services", f"{key} is not listed in 'services'")
        if not isinstance(area, str) or not _AREA_PATTERN.fullmatch(area):
            self.fail(f"{where}.area", f"{area!r} is not an ARS prefix of 2, 3, 5, 9 or 12 digits")
        elif self.regions is not None and not self.regions.covers(area):
            self.fail(f"{where}.area", f"{area} is not in the ARS list {self.regions.version}")
        if len(self.problems) > before:
            return None
        return Competence(str(authority), tuple(keys), str(area))

    def overlaps(self, competences: Mapping[str, Competence]) -> None:
        """Two competences for one service and the identical area would be ambiguous."""
        owner: dict[tuple[str, str], str] = {}
        for where, competence in competences.items():
            for service in competence.services:
                key = (service, competence.area)
                if key in owner:
                    self.fail(
                        where,
                        f"service {service} in area {competence.area} is already assigned "
                        f"to {owner[key]!r}",
                    )
                owner.setdefault(key, competence.authority)
