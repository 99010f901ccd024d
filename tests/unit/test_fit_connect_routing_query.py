"""The Routing API's query rules: one region, the spec's patterns, paging, search expressions."""

from __future__ import annotations

import pytest
from starlette.datastructures import QueryParams

from services.fitconnect.routing_api.ports import Region
from services.fitconnect.routing_api.problems import RoutingRequestError
from services.fitconnect.routing_api.query import Page, area_query, route_query

BUERGERGELD = "99900000000101"
KOELN = "053150000000"


def _refused(parse: object, query: str) -> str:
    with pytest.raises(RoutingRequestError) as refused:
        parse(QueryParams(query))  # type: ignore[operator]
    return refused.value.slug


@pytest.mark.parametrize(
    ("query", "region", "page"),
    [
        (f"leikaKey={BUERGERGELD}&ars={KOELN}", Region("ars", KOELN), Page()),
        (f"leikaKey={BUERGERGELD}&ags=05315000", Region("ags", "05315000"), Page()),
        (f"leikaKey={BUERGERGELD}&ars=05", Region("ars", "05"), Page()),
        (f"leikaKey={BUERGERGELD}&areaId=4711", Region("areaId", "4711"), Page()),
        (f"leikaKey={BUERGERGELD}&ars=05&offset=3&limit=500", Region("ars", "05"), Page(3, 500)),
        (f"leikaKey={BUERGERGELD}&ars=05&other=1", Region("ars", "05"), Page()),
    ],
)
def test_route_queries(query: str, region: Region, page: Page) -> None:
    parsed = route_query(QueryParams(query))
    assert (parsed.leika_key, parsed.region, parsed.page) == (BUERGERGELD, region, page)


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        (f"leikaKey={BUERGERGELD}", "routing-region-parameter"),
        (f"leikaKey={BUERGERGELD}&ars=05&areaId=05", "routing-region-parameter"),
        (f"leikaKey={BUERGERGELD}&ags=05&ags=05", "routing-region-parameter"),
        ("ars=05", "routing-invalid-parameter"),
        ("leikaKey=9990000000010&ars=05", "routing-invalid-parameter"),  # 13 digits
        ("leikaKey=98900000000101&ars=05", "routing-invalid-parameter"),
        ("leikaKey=%D9%A9%D9%A900000000000101&ars=05", "routing-invalid-parameter"),  # ٩٩
        (f"leikaKey={BUERGERGELD}&ars=0531", "routing-invalid-parameter"),
        (f"leikaKey={BUERGERGELD}&ars=05a", "routing-invalid-parameter"),
        (f"leikaKey={BUERGERGELD}&ags={KOELN}", "routing-invalid-parameter"),
        (f"leikaKey={BUERGERGELD}&areaId=", "routing-invalid-parameter"),
        (f"leikaKey={BUERGERGELD}&ars=05&limit=0", "routing-invalid-parameter"),
        (f"leikaKey={BUERGERGELD}&ars=05&limit=1e2", "routing-invalid-parameter"),
        (f"leikaKey={BUERGERGELD}&ars=05&offset=+1", "routing-invalid-parameter"),
        (f"leikaKey={BUERGERGELD}&ars=05&offset=2147483648", "routing-invalid-parameter"),
        (f"leikaKey={BUERGERGELD}&ars=05&offset=1&offset=2", "routing-invalid-parameter"),
    ],
)
def test_refused_route_queries(query: str, slug: str) -> None:
    assert _refused(route_query, query) == slug


@pytest.mark.parametrize(
    "query",
    [
        "areaSearchexpression=K%C3%B6ln",
        "areaSearchexpression=Mag*",
        "areaSearchexpression=*burg*&areaSearchexpression=50667",
        "areaSearchexpression=Ma**burg",
        "areaSearchexpression=Halle (Saale)",
    ],
)
def test_area_queries(query: str) -> None:
    assert area_query(QueryParams(query)).expressions == tuple(
        QueryParams(query).getlist("areaSearchexpression")
    )


@pytest.mark.parametrize(
    "query",
    [
        "",
        "areaSearchexpression=",
        "areaSearchexpression=K",
        "areaSearchexpression=K*",
        "areaSearchexpression=*K",
        "areaSearchexpression=Ma*b",
        "areaSearchexpression=Ma***burg",
        "areaSearchexpression=..",
        "areaSearchexpression=" + "x" * 101,
        "&".join(f"areaSearchexpression=Ort{n}" for n in range(11)),
    ],
)
def test_refused_area_queries(query: str) -> None:
    assert _refused(area_query, query) == "routing-search-expression"


def test_a_long_hostile_expression_is_refused_quickly() -> None:
    """The spec's pattern is a backtracking trap for Python's ``re``; RE2 runs it linearly."""
    query = "areaSearchexpression=" + "ab*" * 33 + "*"
    assert _refused(area_query, query) == "routing-search-expression"
