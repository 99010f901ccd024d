"""FIT-Connect's OAuth scopes, parsed, and which granted scope covers which requested one.

The Submission API names these (``components.securitySchemes.OAuth2``):

- ``send:region:DE<ARS prefix>`` — send to destinations of the region (``DE``: Germany);
- ``send:region:DE<ARS prefix>+send:service:<service URN>`` — the same, for one service;
- ``subscribe:destination:<destination id>`` — pick up the destination's submissions;
- ``manage:destination:<destination id>`` — manage the destination.

A granted scope covers a requested one if it allows at least as much: a region covers every
region inside it (``DE09`` covers ``DE0916``), a scope without a service covers one with
any service, a destination scope covers only itself.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from contracts import linear_regex

SEND_EVERYWHERE = "send:region:DE"
"""What a sender is granted unless configured otherwise: every destination."""

_REGION = linear_regex.compile(r"DE[0-9]{0,12}")
_SERVICE = linear_regex.compile(r"urn:[a-z0-9][a-z0-9-]{0,31}:[a-z0-9()+,.:=@;$_!*'%/?#-]+")
_MAX_SCOPE = 512


class ScopeError(ValueError):
    """A text is not one of FIT-Connect's scopes."""


@dataclass(frozen=True)
class SendScope:
    """Send to destinations in ``region`` (``DE`` + ARS prefix), for ``service`` or any."""

    region: str
    service: str | None = None

    def covers(self, other: Scope) -> bool:
        """Whether this scope allows everything ``other`` allows."""
        return (
            isinstance(other, SendScope)
            and other.region.startswith(self.region)
            and (self.service is None or self.service == other.service)
        )

    def __str__(self) -> str:
        region = f"send:region:{self.region}"
        return region if self.service is None else f"{region}+send:service:{self.service}"


@dataclass(frozen=True)
class DestinationScope:
    """``subscribe`` to or ``manage`` one destination."""

    action: str
    destination_id: uuid.UUID

    def covers(self, other: Scope) -> bool:
        """Only the same scope."""
        return other == self

    def __str__(self) -> str:
        return f"{self.action}:destination:{self.destination_id}"


Scope = SendScope | DestinationScope


def parse_scope(text: str) -> Scope:
    """The scope ``text`` names; ``ScopeError`` if it names none."""
    if len(text) > _MAX_SCOPE:
        raise ScopeError("scope too long")
    region_part, plus, service_part = text.partition("+")
    if region_part.startswith("send:region:"):
        region = region_part.removeprefix("send:region:")
        service = service_part.removeprefix("send:service:") if plus else None
        if not _REGION.fullmatch(region):
            raise ScopeError(f"not a region: {region!r}")
        if plus and (not service_part.startswith("send:service:") or not service):
            raise ScopeError("a send scope's second part is send:service:<URN>")
        if service is not None and not _SERVICE.fullmatch(service):
            raise ScopeError(f"not a service URN: {service!r}")
        return SendScope(region, service)
    action, _, rest = text.partition(":destination:")
    if action in {"subscribe", "manage"} and rest and not plus:
        try:
            return DestinationScope(action, uuid.UUID(rest))
        except ValueError:
            raise ScopeError(f"not a destination id: {rest!r}") from None
    raise ScopeError(f"unknown scope: {text!r}")


def parse_scopes(text: str) -> tuple[Scope, ...]:
    """A space-separated scope list (RFC 6749 §3.3), duplicates dropped, order kept."""
    return tuple(dict.fromkeys(parse_scope(part) for part in text.split()))


def format_scopes(scopes: tuple[Scope, ...]) -> str:
    """The space-separated list (``scope`` of a token)."""
    return " ".join(str(scope) for scope in scopes)


def covered(requested: tuple[Scope, ...], granted: tuple[Scope, ...]) -> bool:
    """Whether every requested scope is covered by a granted one."""
    return all(any(g.covers(r) for g in granted) for r in requested)
