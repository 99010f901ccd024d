"""The reference receiver fetches only under its configured API and follows no redirect."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from receiver.consume import Receiver, ReceiverConfig
from receiver.inbox import Inbox
from receiver.origin import ApiOrigin, ForeignReferenceError
from receiver.trust import EnvelopeVerifier
from receiver.unpack import ReceiverError

API = "https://amtsweg.example.de:8443/api"
PART = "/v1/deliveries/d-1/parts/p-1"


@pytest.mark.parametrize(
    ("reference", "url"),
    [
        (PART, f"{API}{PART}"),
        (f"{API}{PART}", f"{API}{PART}"),
        (
            f"HTTPS://AMTSWEG.example.de:8443/api{PART}",
            f"HTTPS://AMTSWEG.example.de:8443/api{PART}",
        ),
    ],
)
def test_paths_and_urls_under_the_api_are_fetched(reference: str, url: str) -> None:
    assert ApiOrigin.of(API).resolve(reference) == url


@pytest.mark.parametrize(
    "reference",
    [
        f"https://evil.example{PART}",  # another host
        f"https://amtsweg.example.de{PART}",  # another port (443)
        f"http://amtsweg.example.de:8443/api{PART}",  # another scheme
        f"https://amtsweg.example.de:8443{PART}",  # outside the path prefix
        f"https://amtsweg.example.de:8443/apix{PART}",  # a prefix of the prefix is not it
        f"https://user@amtsweg.example.de:8443/api{PART}",  # user info
        f"https://amtsweg.example.de:8443/api/../admin{PART}",  # dot segments
        "/v1/deliveries/%2e%2e/%2E%2E/x",  # encoded dot segments
        "/v1/deliveries/a%2Fb",  # an encoded slash
        f"//evil.example{PART}",  # scheme-relative: another host
        f"{PART}?redirect=https://evil.example",  # a query
        f"{PART}#x",
        "v1/deliveries/d-1",  # not a path
        f"https://amtsweg.example.de:8443\\@evil.example/api{PART}",
        f"https://amtsweg.example.de:8443/api{PART} ",
        f"ftp://amtsweg.example.de:8443/api{PART}",
    ],
)
def test_references_elsewhere_are_refused(reference: str) -> None:
    with pytest.raises(ForeignReferenceError):
        ApiOrigin.of(API).resolve(reference)


def test_default_ports_are_the_same_origin() -> None:
    origin = ApiOrigin.of("https://amtsweg.example.de")
    assert origin.resolve("https://amtsweg.example.de:443/v1/x") == (
        "https://amtsweg.example.de:443/v1/x"
    )
    assert origin.url("/v1/x") == "https://amtsweg.example.de/v1/x"


@pytest.mark.parametrize("api", ["ftp://h/x", "https://u:p@h/", "https://h/?a=b", "h:80"])
def test_an_unusable_api_is_refused_at_start(api: str) -> None:
    with pytest.raises(ReceiverError):
        ApiOrigin.of(api)


def _receiver(tmp_path: Path, handler: Any) -> tuple[Receiver, list[httpx.Request]]:
    requests: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return cast(httpx.Response, handler(request))

    http = httpx.AsyncClient(
        transport=httpx.MockTransport(record), headers={"Authorization": "Bearer secret"}
    )
    config = ReceiverConfig("jobcenter-koeln", "unused:9092", tmp_path, api=API, token="secret")
    producer = cast(AIOKafkaProducer, None)  # no receipt is sent by a fetch
    verifier = EnvelopeVerifier({})
    return Receiver(config, Inbox(tmp_path), producer, http, verifier), requests


async def test_a_foreign_reference_is_not_requested(tmp_path: Path) -> None:
    receiver, requests = _receiver(tmp_path, lambda _r: httpx.Response(200, content=b"x"))
    with pytest.raises(ForeignReferenceError):
        await receiver._fetch(f"https://evil.example{PART}")
    assert requests == []  # the token never left
    assert await receiver._fetch(PART) == b"x"
    assert [str(r.url) for r in requests] == [f"{API}{PART}"]


async def test_a_redirect_is_not_followed(tmp_path: Path) -> None:
    def redirect(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": f"https://evil.example{PART}"})

    receiver, requests = _receiver(tmp_path, redirect)
    with pytest.raises(ForeignReferenceError, match="redirect"):
        await receiver._fetch(PART)
    assert [r.url.host for r in requests] == ["amtsweg.example.de"]
