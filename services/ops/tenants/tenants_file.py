"""``AMTSWEG_TENANTS_FILE``: the tenants of the platform as a JSON document, checked at start.

::

    {"operator": "st",
     "tenants": [
       {"id": "st", "name": "Sachsen-Anhalt", "portals": ["sozialplattform"], "states": ["15"]},
       {"id": "by", "name": "Bayern", "states": ["09"], "authorities": ["jobcenter-passau"]}]}

``operator`` names the platform operator's tenant, which gets every portal and authority
no tenant claims (default: an implicit tenant ``platform``). A portal, an authority id or
a state named by two tenants is an error, as is an unknown state key: the file is
refused with a message naming the setting and the entry. The file's SHA-256 is kept so a
usage report can say which tenants it was computed with.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.ops.tenants.model import PLATFORM, Tenancy, Tenant
from services.routing.directory import STATES

SETTING = "AMTSWEG_TENANTS_FILE"
_ID = r"^[a-z0-9][a-z0-9-]{0,62}$"


class TenantConfigError(Exception):
    """The tenants file (or the operators' scopes) cannot be used as configured."""


class TenantEntry(BaseModel):
    """One tenant in the file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=200)
    portals: list[str] = Field(default_factory=list)
    authorities: list[str] = Field(default_factory=list)
    states: list[str] = Field(default_factory=list)


class TenantsFile(BaseModel):
    """The document ``AMTSWEG_TENANTS_FILE`` names."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    operator: str | None = Field(default=None, pattern=_ID)
    tenants: list[TenantEntry] = Field(min_length=1)


def load_tenancy(path: Path | None) -> Tenancy:
    """The tenants of ``path``; without a file, the one implicit tenant that owns all."""
    if path is None:
        return Tenancy()
    try:
        raw = path.read_bytes()
        document = TenantsFile.model_validate(json.loads(raw))
    except (OSError, ValueError, ValidationError) as error:
        raise TenantConfigError(f"{SETTING} ({path}): {_first_line(error)}") from error
    problems = _conflicts(document)
    if problems:
        raise TenantConfigError(f"{SETTING} ({path}): " + "; ".join(problems))
    tenants = tuple(
        Tenant(e.id, e.name, frozenset(e.portals), frozenset(e.authorities), frozenset(e.states))
        for e in document.tenants
    )
    return Tenancy(tenants, document.operator or PLATFORM, hashlib.sha256(raw).hexdigest())


def _conflicts(document: TenantsFile) -> list[str]:
    """Every entry that makes the file ambiguous (not only the first)."""
    problems = _twice("tenant id", ((t.id, t.id) for t in document.tenants))
    for kind, field in (("portal", "portals"), ("authority", "authorities"), ("state", "states")):
        owned = ((item, t.id) for t in document.tenants for item in getattr(t, field))
        problems += _twice(kind, owned)
    problems += [
        f"tenant {t.id}: state {state!r} is not a state key 01-16"
        for t in document.tenants
        for state in t.states
        if state not in STATES
    ]
    ids = {t.id for t in document.tenants}
    if document.operator is not None and document.operator not in ids:
        problems.append(f"operator {document.operator!r} is none of the tenants")
    return problems


def _twice(kind: str, owned: Iterable[tuple[str, str]]) -> list[str]:
    first: dict[str, str] = {}
    problems = []
    for item, tenant in owned:
        if item in first:
            problems.append(f"{kind} {item!r} belongs to {first[item]} and {tenant}")
        else:
            first[item] = tenant
    return problems


def _first_line(error: Exception) -> str:
    if isinstance(error, ValidationError):
        details = error.errors()[0]
        where = ".".join(str(part) for part in details["loc"])
        return f"{where}: {details['msg']}"
    return str(error).splitlines()[0]
