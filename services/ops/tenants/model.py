"""Tenants: the states and operator organisations that share one platform.

The Sozialplattform is run once, by one state, for every state that reuses it
("gebündelter Betrieb"); a tenant is one of those states (or an operator organisation).
A tenant owns portals (by portal id) and authorities, named explicitly by id or by their
state (Land, the first two digits of the ARS the directory gives an authority). Each
portal, authority and state belongs to at most one tenant. What no tenant claims belongs
to the platform operator's tenant (``Tenancy.operator``): a new portal or authority is
never without one, and its operator is the platform's.

A submission's tenants (:func:`tenants_of`) are the tenant of its portal and the tenant
of the authority it is routed to; an operator scoped to either sees it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

PLATFORM = "platform"
"""The id of the implicit tenant: everything without a tenants file, and what a tenants
file leaves unclaimed when it names no ``operator`` tenant of its own."""


@dataclass(frozen=True)
class Tenant:
    """A reusing state or operator organisation and what it owns."""

    id: str
    name: str
    portals: frozenset[str] = frozenset()
    authorities: frozenset[str] = frozenset()
    """Authorities named by id (they win over another tenant's ``states``)."""
    states: frozenset[str] = frozenset()
    """Two-digit state keys (``15`` Sachsen-Anhalt): every authority of these states."""


@dataclass(frozen=True)
class SubmissionTenants:
    """The tenant of a submission's portal, and of its authority once it has one."""

    portal: str
    authority: str | None

    @property
    def all(self) -> frozenset[str]:
        """Both tenants (one when they are the same or the submission has no authority)."""
        return frozenset({self.portal} | ({self.authority} if self.authority else set()))

    @property
    def billed(self) -> str:
        """Who a submission is counted for in the cost split: its authority's tenant (the
        state whose authority receives it), its portal's while it has no authority."""
        return self.authority or self.portal


@dataclass(frozen=True)
class Tenancy:
    """Every tenant of one platform, with the lookups the tenant function needs."""

    tenants: tuple[Tenant, ...] = ()
    operator: str = PLATFORM
    """The tenant that gets what no tenant claims."""
    digest: str | None = None
    """SHA-256 (hex) of the tenants file (None: no file, one implicit tenant)."""
    _by_portal: dict[str, str] = field(init=False, repr=False, compare=False)
    _by_authority: dict[str, str] = field(init=False, repr=False, compare=False)
    _by_state: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        def index(owned: Callable[[Tenant], Iterable[str]]) -> dict[str, str]:
            return {item: tenant.id for tenant in self.tenants for item in owned(tenant)}

        object.__setattr__(self, "_by_portal", index(lambda t: t.portals))
        object.__setattr__(self, "_by_authority", index(lambda t: t.authorities))
        object.__setattr__(self, "_by_state", index(lambda t: t.states))

    @property
    def ids(self) -> frozenset[str]:
        """Every tenant id, the operator's included."""
        return frozenset({self.operator, *(t.id for t in self.tenants)})

    def name_of(self, tenant_id: str) -> str:
        """The tenant's name (its id for the implicit platform tenant)."""
        return next((t.name for t in self.tenants if t.id == tenant_id), tenant_id)

    def portal_tenant(self, portal_id: str | None) -> str:
        """The tenant that owns the portal (the operator's when none claims it)."""
        return self._by_portal.get(portal_id or "", self.operator)

    def authority_tenant(self, authority_id: str, state: str | None) -> str:
        """The tenant of an authority: by id first, then by its state, else the operator's."""
        named = self._by_authority.get(authority_id)
        if named is not None:
            return named
        return self._by_state.get(state or "", self.operator)

    def claimed_portals(self) -> frozenset[str]:
        """Every portal a tenant names."""
        return frozenset(self._by_portal)

    def portals_of(self, tenant_ids: frozenset[str]) -> frozenset[str]:
        """The portals these tenants name."""
        return frozenset(p for p, t in self._by_portal.items() if t in tenant_ids)


def tenants_of(
    tenancy: Tenancy,
    portal_id: str | None,
    authority_id: str | None,
    state_of: Callable[[str], str | None],
) -> SubmissionTenants:
    """The tenants of a submission from the ledger's facts: ``Received.portal_id`` and the
    authority it is routed to (``Routed``/``Forwarded``/``Assigned``); ``state_of`` gives
    an authority's state from the directory (None: not listed)."""
    portal = tenancy.portal_tenant(portal_id)
    if authority_id is None:
        return SubmissionTenants(portal, None)
    return SubmissionTenants(portal, tenancy.authority_tenant(authority_id, state_of(authority_id)))
