"""Submissions by tenant and status, for the gauge ``amtsweg_tenant_submissions``.

A submission counts for each of its tenants (its portal's and its authority's, see
:func:`services.ops.tenants.model.tenants_of`), as each tenant's operators see it, so
the sum over tenants can exceed the number of submissions. The label's values are the
tenant ids of the tenants file (and the platform operator's): bounded by configuration,
never by traffic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from services.ops.tenants.model import SubmissionTenants

OwnerCount = tuple[str, str, str | None, int]
"""(status, portal id, authority id, submissions) from the submissions overview."""


def tenant_statuses(
    counts: Iterable[OwnerCount], tenants_of: Callable[[str, str | None], SubmissionTenants]
) -> dict[tuple[str, str], int]:
    """(tenant, status) → submissions."""
    totals: Counter[tuple[str, str]] = Counter()
    for status, portal, authority, count in counts:
        for tenant in tenants_of(portal, authority).all:
            totals[tenant, status] += count
    return dict(totals)
