"""Reading a directory file: every problem is collected, and the version is content-derived.

The file's ``version`` is a human label; the directory's version is that label plus the
first 16 hex digits of a SHA-256 over the canonical JSON of the whole document and over
the key lists resolution uses (``basis``), e.g. ``2026.11-national+3f9c0a…``. Any change
to the directory or to those lists is a new version, and two workers with the same
version decide alike.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from contracts import linear_regex
from services.routing.directory import (
    AREA_LENGTHS,
    AUTHORITY_ID_PATTERN,
    DELIVERY_TOPIC_PREFIX,
    GROUP_PATTERN,
    LEIKA_KEY_PATTERN,
    STATES,
    Authority,
    AuthorityKeys,
    Channel,
    Competence,
    Contact,
    Directory,
    Handover,
)
from services.routing.keys import canonical_jwk, check_callback_url, check_jwk
from services.routing.regions import RegionIndex

_AREA_PATTERN = linear_regex.compile("|".join(f"[0-9]{{{length}}}" for length in AREA_LENGTHS))
_LABEL_PATTERN = linear_regex.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_CHANNEL_KINDS = ("topic", "amtsweg", "fitConnect")


class DirectoryError(Exception):
    """The directory file is not usable; ``problems`` lists every reason found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"authority directory {source} is not usable: " + "; ".join(problems))
        self.problems = tuple(problems)


def directory_version(label: str, document: object, basis: str = "") -> str:
    """``<label>+<16 hex digits>`` over the canonical document and ``basis``."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode() + b"\0" + basis.encode()).hexdigest()
    return f"{label}+{digest[:16]}"


def load_directory(path: Path, regions: RegionIndex | None = None, basis: str = "") -> Directory:
    """Read and check a directory file; with ``regions``, every area must exist in it."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DirectoryError(path.name, [str(error)]) from error
    return parse_directory(document, regions, source=path.name, basis=basis)


def parse_directory(
    document: object,
    regions: RegionIndex | None = None,
    source: str = "document",
    basis: str = "",
) -> Directory:
    """Check a decoded directory document and build the :class:`Directory`."""
    checker = _Checker(regions)
    directory = checker.directory(document, basis)
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

    def directory(self, document: object, basis: str) -> Directory | None:
        if not isinstance(document, dict):
            self.fail("$", "must be an object")
            return None
        label = document.get("version")
        if not isinstance(label, str) or not label:
            self.fail("version", "must be a non-empty string")
        elif not _LABEL_PATTERN.fullmatch(label):
            self.fail("version", f"{label!r} must match {_LABEL_PATTERN.pattern}")
        services = self.services(document.get("services"))
        groups = self.groups(document.get("groups", {}), services)
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
            if (c := self.competence(f"competences[{i}]", item, known, services, groups))
            is not None
        }
        self.overlaps(competences)
        version = directory_version(str(label), document, basis)
        return Directory(version, services, tuple(authorities), tuple(competences.values()), groups)

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

    def groups(self, value: object, services: Mapping[str, str]) -> Mapping[str, tuple[str, ...]]:
        if not isinstance(value, dict):
            self.fail("groups", "must be an object of group name to LeiKa keys")
            return MappingProxyType({})
        found: dict[str, tuple[str, ...]] = {}
        for name, keys in value.items():
            where = f"groups.{name}"
            if not GROUP_PATTERN.fullmatch(name):
                self.fail(where, f"a group name must match {GROUP_PATTERN.pattern}")
            if not isinstance(keys, list) or not keys:
                self.fail(where, "must be a non-empty array of LeiKa keys")
                continue
            unlisted = [k for k in keys if k not in services]
            if unlisted:
                self.fail(where, f"{unlisted} are not listed in 'services'")
            found[name] = tuple(str(k) for k in keys)
        return MappingProxyType(found)

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
        channel = self.channel(f"{where}.channel", item.get("channel"), authority_id)
        keys = self.keys(f"{where}.keys", item.get("keys", {}))
        if len(self.problems) > before or contact is None or keys is None or channel is None:
            return None
        return Authority(str(authority_id), str(name), str(state), contact, channel, keys)

    def channel(self, where: str, item: object, authority_id: object) -> Channel | None:
        channel = item if isinstance(item, dict) else {}
        kinds = [kind for kind in _CHANNEL_KINDS if channel.get(kind) is not None]
        if not kinds:
            self.fail(where, "missing delivery channel (channel.topic, .amtsweg or .fitConnect)")
            return None
        if len(kinds) > 1:
            self.fail(where, f"give one of channel.topic, .amtsweg or .fitConnect, not {kinds}")
            return None
        topic, remote = channel.get("topic"), channel.get("amtsweg")
        if remote is not None:
            return self.handover(f"{where}.amtsweg", remote, channel)
        if topic is None:
            return self.fit_connect(f"{where}.fitConnect", channel)
        if topic != f"{DELIVERY_TOPIC_PREFIX}{authority_id}":
            self.fail(f"{where}.topic", f"must be {DELIVERY_TOPIC_PREFIX}{authority_id}")
            return None
        callback = channel.get("callbackUrl")
        problems = check_callback_url(callback) if callback is not None else []
        for problem in problems:
            self.fail(f"{where}.callbackUrl", problem)
        return None if problems else Channel(str(topic), callback)

    def handover(self, where: str, remote: object, channel: dict[str, Any]) -> Channel | None:
        if not isinstance(remote, dict) or set(remote) != {"url", "portalId"}:
            self.fail(where, "must be an object with 'url' (intake API) and 'portalId'")
            return None
        url, portal = remote["url"], remote["portalId"]
        problems = check_callback_url(url)
        for problem in problems:
            self.fail(f"{where}.url", problem)
        if not isinstance(portal, str) or not 0 < len(portal) <= 255:
            self.fail(f"{where}.portalId", "must be a non-empty string")
            return None
        if "callbackUrl" in channel:
            self.fail(where, "a handover has no callbackUrl (the other instance calls back)")
            return None
        return None if problems else Channel(handover=Handover(str(url).rstrip("/"), portal))

    def fit_connect(self, where: str, channel: dict[str, Any]) -> Channel | None:
        if channel["fitConnect"] != {}:
            self.fail(where, "must be an empty object (the authority picks up with its client)")
            return None
        if "callbackUrl" in channel:
            self.fail(where, "a FIT-Connect receiver has no channel.callbackUrl")
            return None
        return Channel(fit_connect=True)

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
        self,
        where: str,
        item: object,
        known: set[str],
        services: Mapping[str, str],
        groups: Mapping[str, tuple[str, ...]],
    ) -> Competence | None:
        if not isinstance(item, dict):
            self.fail(where, "must be an object")
            return None
        before = len(self.problems)
        authority, named, area = item.get("authority"), item.get("services"), item.get("area")
        competence_id = item.get("id", "")
        if authority not in known:
            self.fail(f"{where}.authority", f"unknown authority {authority!r}")
        if not isinstance(named, list) or not named:
            self.fail(f"{where}.services", "must be a non-empty array of LeiKa keys or groups")
            named = []
        keys: list[str] = []
        for key in named:
            if isinstance(key, str) and key in groups:
                keys.extend(groups[key])
            elif not isinstance(key, str) or not LEIKA_KEY_PATTERN.fullmatch(key):
                self.fail(f"{where}.services", f"{key!r} is neither a LeiKa key nor a group")
            elif key not in services:
                self.fail(f"{where}.services", f"{key} is not listed in 'services'")
            else:
                keys.append(key)
        if not isinstance(area, str) or not _AREA_PATTERN.fullmatch(area):
            self.fail(f"{where}.area", f"{area!r} is not an ARS prefix of 2, 3, 5, 9 or 12 digits")
        elif self.regions is not None and not self.regions.covers(area):
            self.fail(f"{where}.area", f"{area} is not in the ARS list {self.regions.version}")
        if not isinstance(competence_id, str):
            self.fail(f"{where}.id", "must be a string")
        if len(self.problems) > before:
            return None
        return Competence(
            str(authority),
            tuple(dict.fromkeys(keys)),
            str(area),
            str(competence_id),
            tuple(str(n) for n in named),
        )

    def overlaps(self, competences: Mapping[str, Competence]) -> None:
        """Two competences for one service and the identical area would be ambiguous."""
        owner: dict[tuple[str, str], str] = {}
        ids: dict[str, str] = {}
        for where, competence in competences.items():
            if competence.id in ids:
                self.fail(where, f"competence id {competence.id!r} is used by {ids[competence.id]}")
            ids.setdefault(competence.id, where)
            for service in competence.services:
                key = (service, competence.area)
                if key in owner:
                    self.fail(
                        where,
                        f"service {service} in area {competence.area} is already assigned "
                        f"to {owner[key]!r}",
                    )
                owner.setdefault(key, competence.authority)
