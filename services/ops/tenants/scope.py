"""Operators scoped to tenants: ``AMTSWEG_OPERATOR_SCOPES`` (operator name → tenant ids).

``["*"]`` is the platform operator: every tenant. An operator of Sachsen-Anhalt
(``{"erika": ["st"]}``) sees and acts only on submissions one of whose tenants
(:func:`services.ops.tenants.model.tenants_of`) is ``st``; anything else answers as if
it did not exist. Without a tenants file there is one tenant and every operator sees all.
With one, an operator without a scope is refused outside development mode (there it sees
all), and a scope naming an unknown tenant refuses to start.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from services.ops.tenants.model import SubmissionTenants, Tenancy
from services.ops.tenants.tenants_file import TenantConfigError

ALL = "*"
SETTING = "AMTSWEG_OPERATOR_SCOPES"


class ScopeMissingError(Exception):
    """An operator has no scope although tenants are configured (outside development)."""


@dataclass(frozen=True)
class OperatorScope:
    """The tenants one operator may see; ``tenants`` None: all of them."""

    operator: str
    tenants: frozenset[str] | None = None

    @property
    def everything(self) -> bool:
        """The platform operator's scope."""
        return self.tenants is None

    def sees(self, tenants: SubmissionTenants) -> bool:
        """Whether a submission (or a dead letter) with these tenants is in scope."""
        return self.tenants is None or bool(tenants.all & self.tenants)

    def label(self) -> str:
        """The scope as text: ``*`` or the tenant ids."""
        return ALL if self.tenants is None else ",".join(sorted(self.tenants))


def scope_of(
    operator: str,
    scopes: Mapping[str, Sequence[str]],
    tenancy: Tenancy,
    *,
    development: bool,
) -> OperatorScope:
    """The scope of ``operator``; ``ScopeMissingError`` naming the setting when it has none
    although a tenants file is configured (outside development mode)."""
    if tenancy.digest is None:
        return OperatorScope(operator)
    configured = scopes.get(operator)
    if configured is None:
        if development:
            return OperatorScope(operator)
        msg = (
            f"operator {operator!r} has no scope although AMTSWEG_TENANTS_FILE names tenants:"
            f' set {SETTING}, e.g. {{"{operator}": ["<tenant id>"]}} or ["*"] for the'
            " platform operator"
        )
        raise ScopeMissingError(msg)
    if ALL in configured:
        return OperatorScope(operator)
    return OperatorScope(operator, frozenset(configured))


def check_scopes(scopes: Mapping[str, Sequence[str]], tenancy: Tenancy) -> None:
    """``TenantConfigError`` when a scope names a tenant the tenants file does not have."""
    problems = [
        f"{operator}: {tenant!r}"
        for operator, tenants in sorted(scopes.items())
        for tenant in tenants
        if tenant != ALL and tenant not in tenancy.ids
    ]
    if problems:
        known = ", ".join(sorted(tenancy.ids))
        msg = f"{SETTING} names unknown tenants ({'; '.join(problems)}); known: {known}"
        raise TenantConfigError(msg)


def unscoped(operators: Iterable[str], scopes: Mapping[str, Sequence[str]]) -> list[str]:
    """The operators that have a token but no scope."""
    return sorted(set(operators) - set(scopes))
