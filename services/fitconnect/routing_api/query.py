"""The Routing API's query parameters, checked as the spec says (and a little stricter).

Every parameter may be given once (a repeated one is refused rather than one of its
values picked), except ``areaSearchexpression``, which is a list (``explode``: one
parameter per expression). Patterns are checked without backtracking (ASCII digit tests,
RE2 for the search expression's pattern). Parameters the spec does not name are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from starlette.datastructures import QueryParams

from contracts import linear_regex
from services.fitconnect.routing_api.ports import Region, RegionKind
from services.fitconnect.routing_api.problems import (
    invalid_parameter,
    region_parameter,
    search_expression,
)

DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 500
MAX_OFFSET: Final = 2**31 - 1
"""``int32``, as the spec formats offsets."""
MAX_EXPRESSIONS: Final = 10
MAX_EXPRESSION_LENGTH: Final = 100
"""Amtsweg's bound (no name of the ARS list is longer than 90 characters)."""
MIN_EXPRESSION_CHARACTERS: Final = 2
LEIKA_KEY_LENGTH: Final = 14
REGION_LENGTHS: Final[dict[RegionKind, frozenset[int]]] = {
    "ars": frozenset({2, 3, 5, 9, 12}),
    "ags": frozenset({2, 3, 5, 8}),
}
_REGION_KINDS: Final[tuple[RegionKind, ...]] = ("ars", "ags", "areaId")
_EXPRESSION = linear_regex.compile(r"(\*?([^\*]{2,})\*?)*")
"""The spec's pattern of one search expression."""


@dataclass(frozen=True)
class Page:
    """``offset`` and ``limit`` of a list answer."""

    offset: int = 0
    limit: int = DEFAULT_LIMIT


@dataclass(frozen=True)
class RouteQuery:
    """``GET /routes``: a LeiKa key, one region, a page."""

    leika_key: str
    region: Region
    page: Page


@dataclass(frozen=True)
class AreaQuery:
    """``GET /areas``: the search expressions and a page."""

    expressions: tuple[str, ...]
    page: Page


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def _single(params: QueryParams, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise invalid_parameter(name, f"{name} is given {len(values)} times; give it once")
    return values[0] if values else None


def _integer(params: QueryParams, name: str, default: int, low: int, high: int) -> int:
    value = _single(params, name)
    if value is None:
        return default
    if not _digits(value) or len(value) > len(str(MAX_OFFSET)) or not low <= int(value) <= high:
        raise invalid_parameter(name, f"{name} must be an integer from {low} to {high}")
    return int(value)


def page_of(params: QueryParams) -> Page:
    """``offset`` (default 0) and ``limit`` (1 to 500, default 100)."""
    return Page(
        _integer(params, "offset", 0, 0, MAX_OFFSET),
        _integer(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
    )


def route_query(params: QueryParams) -> RouteQuery:
    """The query of ``GET /routes``; :class:`RoutingRequestError` naming what is wrong."""
    leika_key = _single(params, "leikaKey")
    if leika_key is None:
        raise invalid_parameter("leikaKey", "leikaKey is required")
    if not (_digits(leika_key) and len(leika_key) == LEIKA_KEY_LENGTH and leika_key[:2] == "99"):
        raise invalid_parameter("leikaKey", "a LeiKa key has 14 digits and starts with 99")
    given = [(kind, value) for kind in _REGION_KINDS for value in params.getlist(kind)]
    if len(given) != 1:
        names = ", ".join(kind for kind, _ in given) or "none"
        raise region_parameter(f"give exactly one region parameter (given: {names})")
    kind, key = given[0]
    if kind == "areaId":
        if not key[:1].isascii() or not key[:1].isdigit():
            raise invalid_parameter("areaId", "an area id starts with a digit")
    elif not _digits(key) or len(key) not in REGION_LENGTHS[kind]:
        lengths = ", ".join(str(n) for n in sorted(REGION_LENGTHS[kind]))
        raise invalid_parameter(kind, f"an {kind.upper()} has {lengths} digits")
    return RouteQuery(leika_key, Region(kind, key), page_of(params))


def area_query(params: QueryParams) -> AreaQuery:
    """The query of ``GET /areas``; :class:`RoutingRequestError` naming what is wrong."""
    expressions = params.getlist("areaSearchexpression")
    _check_expressions(expressions)
    return AreaQuery(tuple(expressions), page_of(params))


def _check_expressions(expressions: Sequence[str]) -> None:
    if not expressions:
        raise search_expression("areaSearchexpression is required")
    if len(expressions) > MAX_EXPRESSIONS:
        raise search_expression(f"at most {MAX_EXPRESSIONS} search expressions")
    for expression in expressions:
        if len(expression) > MAX_EXPRESSION_LENGTH:
            raise search_expression(
                f"a search expression has at most {MAX_EXPRESSION_LENGTH} characters"
            )
        if sum(c.isalnum() for c in expression) < MIN_EXPRESSION_CHARACTERS:
            raise search_expression(
                "a search expression needs at least two letters or digits (a name or postal "
                'code, optionally with "*")'
            )
        if not _EXPRESSION.fullmatch(expression):
            raise search_expression(
                'every part of a search expression between wildcards "*" has at least two '
                "characters, and wildcards stand at most two together"
            )
