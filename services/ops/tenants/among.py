"""What a scope sees, in the terms the submissions overview selects by: portals and
authorities (so a list is filtered in the database, not after a full read)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.ops.tenants.model import Tenancy
from services.ops.tenants.scope import OperatorScope


@dataclass(frozen=True)
class Among:
    """Rows whose portal is in ``portals`` or whose authority is in ``authorities``; with
    ``claimed_portals``/``claimed_authorities`` (the scope holds the platform operator's
    tenant) also rows whose portal or authority no tenant claims."""

    portals: frozenset[str] = frozenset()
    authorities: frozenset[str] = frozenset()
    claimed_portals: frozenset[str] | None = None
    claimed_authorities: frozenset[str] | None = None


def among(
    scope: OperatorScope, tenancy: Tenancy, listed: Iterable[tuple[str, str]]
) -> Among | None:
    """The selection of ``scope`` (None: it sees everything); ``listed``: (authority id,
    state) of every authority in the directory."""
    if scope.tenants is None:
        return None
    wanted = scope.tenants
    named = {(a, "") for t in tenancy.tenants for a in t.authorities}
    owner = {a: tenancy.authority_tenant(a, state) for a, state in {*listed, *named}}
    authorities = frozenset(a for a, tenant in owner.items() if tenant in wanted)
    if tenancy.operator not in wanted:
        return Among(tenancy.portals_of(wanted), authorities)
    claimed = frozenset(a for a, tenant in owner.items() if tenant != tenancy.operator)
    return Among(tenancy.portals_of(wanted), authorities, tenancy.claimed_portals(), claimed)
