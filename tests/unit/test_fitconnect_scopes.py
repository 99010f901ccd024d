"""FIT-Connect scopes: parsing, and which granted scope covers which requested one."""

from __future__ import annotations

import uuid

import pytest

from services.fitconnect.clients import Client, ClientKind, grantable
from services.fitconnect.destinations import destination_id
from services.fitconnect.scopes import (
    DestinationScope,
    ScopeError,
    SendScope,
    covered,
    format_scopes,
    parse_scope,
    parse_scopes,
)

LEIKA = "urn:de:fim:leika:leistung:99107004018000"
DESTINATION = uuid.UUID("7881dba9-4055-4854-8b6d-11ea5b7f3047")


@pytest.mark.parametrize(
    ("text", "scope"),
    [
        ("send:region:DE", SendScope("DE")),
        ("send:region:DE09162", SendScope("DE09162")),
        (f"send:region:DE09+send:service:{LEIKA}", SendScope("DE09", LEIKA)),
        (f"subscribe:destination:{DESTINATION}", DestinationScope("subscribe", DESTINATION)),
        (f"manage:destination:{DESTINATION}", DestinationScope("manage", DESTINATION)),
    ],
)
def test_fit_connect_scopes_parse_and_print_as_written(text: str, scope: object) -> None:
    assert parse_scope(text) == scope
    assert str(parse_scope(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "send:region:AT",
        "send:region:DE1234567890123",
        "send:region:DE09+send:service:",
        "send:region:DE09+other:thing",
        "subscribe:destination:not-a-uuid",
        f"create:destination:{DESTINATION}",
        "openid",
        "send:region:DE" + "+send:service:urn:x:" + "a" * 600,
    ],
)
def test_anything_else_is_no_scope(text: str) -> None:
    with pytest.raises(ScopeError):
        parse_scope(text)


@pytest.mark.parametrize(
    ("requested", "granted", "expected"),
    [
        ("send:region:DE09162", "send:region:DE", True),
        (f"send:region:DE09+send:service:{LEIKA}", "send:region:DE", True),
        ("send:region:DE", "send:region:DE09", False),
        ("send:region:DE05", "send:region:DE09", False),
        ("send:region:DE09", f"send:region:DE09+send:service:{LEIKA}", False),
        (f"subscribe:destination:{DESTINATION}", "send:region:DE", False),
        (f"subscribe:destination:{DESTINATION}", f"subscribe:destination:{DESTINATION}", True),
        (f"manage:destination:{DESTINATION}", f"subscribe:destination:{DESTINATION}", False),
        ("", "send:region:DE", True),
    ],
)
def test_a_granted_scope_covers_only_what_it_allows(
    requested: str, granted: str, expected: bool
) -> None:
    assert covered(parse_scopes(requested), parse_scopes(granted)) is expected


def test_duplicates_are_dropped_in_order() -> None:
    scopes = parse_scopes("send:region:DE09 send:region:DE  send:region:DE09")
    assert format_scopes(scopes) == "send:region:DE09 send:region:DE"


def test_a_portal_may_have_its_configured_send_scopes_an_authority_its_destination() -> None:
    def configured(portal: str) -> tuple[str, ...]:
        return ("send:region:DE09",) if portal == "portal-by" else ("send:region:DE",)

    assert grantable(Client("portal-by", ClientKind.SENDER), configured) == (SendScope("DE09"),)
    assert grantable(Client("jobcenter-koeln", ClientKind.SUBSCRIBER), configured) == (
        DestinationScope("subscribe", destination_id("jobcenter-koeln")),
        DestinationScope("manage", destination_id("jobcenter-koeln")),
    )
