"""The tenants as the ops API, console and CLI apply them: the tenancy, the operators'
scopes, and the directory that gives each authority its state."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from services.ops.tenants.among import Among, among
from services.ops.tenants.model import SubmissionTenants, Tenancy, tenants_of
from services.ops.tenants.scope import OperatorScope, check_scopes, scope_of
from services.routing.directory import Directory


class TenantView:
    """Which tenants a submission has and whether an operator sees it."""

    def __init__(
        self,
        tenancy: Tenancy,
        scopes: Mapping[str, Sequence[str]],
        directory: Callable[[], Directory],
        *,
        development: bool,
    ) -> None:
        check_scopes(scopes, tenancy)
        self.tenancy = tenancy
        self._scopes = dict(scopes)
        self._directory = directory
        self._development = development

    def scope(self, operator: str) -> OperatorScope:
        """The operator's scope (``ScopeMissingError`` when it has none but needs one)."""
        return scope_of(operator, self._scopes, self.tenancy, development=self._development)

    def state_of(self, authority_id: str) -> str | None:
        """The authority's state (Land) as the directory gives it; None: not listed."""
        if self.tenancy.digest is None:
            return None  # one tenant: the directory need not be read
        authority = self._directory().authority(authority_id)
        return authority.state if authority else None

    def of(self, portal_id: str | None, authority_id: str | None) -> SubmissionTenants:
        """The tenants of a submission (or dead letter) with this portal and authority."""
        return tenants_of(self.tenancy, portal_id, authority_id, self.state_of)

    def sees(self, scope: OperatorScope, portal_id: str | None, authority_id: str | None) -> bool:
        """Whether ``scope`` covers a submission with this portal and authority."""
        return scope.everything or scope.sees(self.of(portal_id, authority_id))

    def among(self, scope: OperatorScope) -> Among | None:
        """The overview selection of ``scope`` (None: everything)."""
        if scope.everything:
            return None
        listed = [(a.id, a.state) for a in self._directory().authorities]
        return among(scope, self.tenancy, listed)
