"""The tenants of a submission, the tenants file's checks, operators' scopes, the month."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.ops.readmodels.usage.month import Month, MonthError
from services.ops.tenants.among import among
from services.ops.tenants.model import PLATFORM, SubmissionTenants, Tenancy, Tenant, tenants_of
from services.ops.tenants.scope import OperatorScope, ScopeMissingError, check_scopes, scope_of
from services.ops.tenants.tenants_file import TenantConfigError, load_tenancy

SACHSEN_ANHALT, NRW = "15", "05"
ST = Tenant("st", "Sachsen-Anhalt", frozenset({"sozialplattform"}), states=frozenset({"15"}))
NW = Tenant(
    "nw",
    "Nordrhein-Westfalen",
    authorities=frozenset({"jobcenter-halle"}),
    states=frozenset({"05"}),
)
TENANCY = Tenancy((ST, NW), operator="st", digest="0" * 64)
STATES = {
    "jobcenter-halle": SACHSEN_ANHALT,
    "jobcenter-koeln": NRW,
    "jobcenter-dessau": SACHSEN_ANHALT,
}


def _of(portal: str | None, authority: str | None, tenancy: Tenancy = TENANCY) -> SubmissionTenants:
    return tenants_of(tenancy, portal, authority, STATES.get)


@pytest.mark.parametrize(
    ("portal", "authority", "expected"),
    [
        ("sozialplattform", None, SubmissionTenants("st", None)),
        ("sozialplattform", "jobcenter-koeln", SubmissionTenants("st", "nw")),
        ("sozialplattform", "jobcenter-dessau", SubmissionTenants("st", "st")),
        # named by id wins over the other tenant's state
        ("sozialplattform", "jobcenter-halle", SubmissionTenants("st", "nw")),
        # unclaimed portal and an authority the directory does not list: the operator's
        ("other-portal", "unlisted-amt", SubmissionTenants("st", "st")),
        (None, None, SubmissionTenants("st", None)),
    ],
)
def test_a_submissions_tenants(
    portal: str | None, authority: str | None, expected: SubmissionTenants
) -> None:
    assert _of(portal, authority) == expected


def test_the_billed_tenant_is_the_authoritys_once_routed() -> None:
    assert _of("sozialplattform", "jobcenter-koeln").billed == "nw"
    assert _of("sozialplattform", None).billed == "st"
    assert _of("sozialplattform", "jobcenter-koeln").all == {"st", "nw"}


def test_without_a_file_one_tenant_owns_everything() -> None:
    only = load_tenancy(None)
    assert only.digest is None
    assert _of("any", "jobcenter-koeln", only) == SubmissionTenants(PLATFORM, PLATFORM)
    assert scope_of("erika", {}, only, development=False).everything


def _file(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "tenants.json"
    path.write_text(json.dumps(document))
    return path


def test_the_file_is_read_with_its_digest(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        {"operator": "st", "tenants": [{"id": "st", "name": "Sachsen-Anhalt", "states": ["15"]}]},
    )
    tenancy = load_tenancy(path)
    assert tenancy.operator == "st"
    assert tenancy.tenants[0].states == {"15"}
    assert tenancy.digest is not None
    assert len(tenancy.digest) == 64


@pytest.mark.parametrize(
    ("tenants", "operator", "message"),
    [
        (
            [
                {"id": "st", "name": "A", "portals": ["p"]},
                {"id": "by", "name": "B", "portals": ["p"]},
            ],
            None,
            "portal 'p' belongs to st and by",
        ),
        (
            [
                {"id": "st", "name": "A", "states": ["15"]},
                {"id": "by", "name": "B", "states": ["15"]},
            ],
            None,
            "state '15' belongs to st and by",
        ),
        (
            [
                {"id": "st", "name": "A", "authorities": ["x"]},
                {"id": "by", "name": "B", "authorities": ["x"]},
            ],
            None,
            "authority 'x' belongs to st and by",
        ),
        ([{"id": "st", "name": "A", "states": ["17"]}], None, "state '17' is not a state key"),
        ([{"id": "st", "name": "A"}, {"id": "st", "name": "B"}], None, "tenant id 'st'"),
        ([{"id": "st", "name": "A"}], "by", "operator 'by' is none of the tenants"),
        ([{"id": "ST!", "name": "A"}], None, "tenants.0.id"),
        ([{"id": "st", "name": "A", "land": "15"}], None, "tenants.0.land"),
        ([], None, "tenants"),
    ],
)
def test_an_ambiguous_or_malformed_file_is_refused(
    tmp_path: Path, tenants: list[object], operator: str | None, message: str
) -> None:
    document: dict[str, object] = {"tenants": tenants}
    if operator:
        document["operator"] = operator
    with pytest.raises(TenantConfigError, match="AMTSWEG_TENANTS_FILE") as raised:
        load_tenancy(_file(tmp_path, document))
    assert message in str(raised.value)


def test_a_missing_file_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(TenantConfigError, match="AMTSWEG_TENANTS_FILE"):
        load_tenancy(tmp_path / "absent.json")


def test_scopes() -> None:
    scopes = {"erika": ["nw"], "max": ["*"]}
    erika = scope_of("erika", scopes, TENANCY, development=False)
    assert erika == OperatorScope("erika", frozenset({"nw"}))
    assert erika.sees(_of("sozialplattform", "jobcenter-koeln"))
    assert not erika.sees(_of("sozialplattform", "jobcenter-dessau"))
    assert scope_of("max", scopes, TENANCY, development=False).everything
    with pytest.raises(ScopeMissingError, match="AMTSWEG_OPERATOR_SCOPES"):
        scope_of("nobody", scopes, TENANCY, development=False)
    assert scope_of("nobody", scopes, TENANCY, development=True).everything
    with pytest.raises(TenantConfigError, match=r"AMTSWEG_OPERATOR_SCOPES.*'by'"):
        check_scopes({"erika": ["by"]}, TENANCY)


def test_the_selection_of_a_scope() -> None:
    listed = [
        ("jobcenter-koeln", NRW),
        ("jobcenter-dessau", SACHSEN_ANHALT),
        ("jobcenter-halle", "15"),
    ]
    nw = among(OperatorScope("erika", frozenset({"nw"})), TENANCY, listed)
    assert nw is not None
    assert nw.portals == frozenset()
    assert nw.authorities == {"jobcenter-koeln", "jobcenter-halle"}
    assert nw.claimed_portals is None  # nw is not the operator's tenant
    st = among(OperatorScope("max", frozenset({"st"})), TENANCY, listed)
    assert st is not None
    assert st.portals == {"sozialplattform"}
    assert st.authorities == {"jobcenter-dessau"}
    # st is the operator's tenant: it also sees what no other tenant claims
    assert st.claimed_authorities == frozenset({"jobcenter-koeln", "jobcenter-halle"})
    assert st.claimed_portals == frozenset({"sozialplattform"})
    assert among(OperatorScope("root"), TENANCY, listed) is None


def test_a_month_is_berlin_time() -> None:
    november = Month.parse("2026-11")
    assert november.start == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)  # CET, UTC+1
    assert november.end == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    assert Month.parse("2026-07").start == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)  # CEST
    assert Month.parse("2026-12").end == datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
    assert november.holds(datetime(2026, 10, 31, 23, 30, tzinfo=UTC))
    assert not november.holds(datetime(2026, 11, 30, 23, 0, tzinfo=UTC))
    for wrong in ("2026-13", "2026-1", "november", "2026-00"):
        with pytest.raises(MonthError):
            Month.parse(wrong)
