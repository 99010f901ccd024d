"""Hostile and broken XML is refused by ``parse_untrusted`` with a typed error."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from services.validation.hardened import (
    LIBXML2_MAX_DEPTH,
    XmlDtdForbiddenError,
    XmlLimits,
    XmlMalformedError,
    XmlRejectedError,
    XmlTooDeepError,
    XmlTooLargeError,
    XmlTooManyNodesError,
    XmlUnsupportedEncodingError,
    parse_untrusted,
)

SECRET = "amtsweg-secret-7f3c9a"
# Generous bound: an expanding parser would take minutes or gigabytes, not this.
QUICK_SECONDS = 1.0


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET, encoding="utf-8")
    return path


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A listening TCP socket on an ephemeral local port; nothing should connect to it."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.3)
    yield server
    server.close()


def assert_no_connection(server: socket.socket) -> None:
    with pytest.raises(TimeoutError):
        server.accept()


def test_well_formed_document_is_parsed_without_comments_and_pis() -> None:
    root = parse_untrusted(b"<?xml version='1.0'?><a><!-- note --><?pi x?><b>text</b></a>")

    assert etree.tostring(root) == b"<a><b>text</b></a>"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "/etc/passwd"])
def test_external_entity_to_system_file_is_rejected(url: str) -> None:
    data = f'<!DOCTYPE r [<!ENTITY x SYSTEM "{url}">]><r>&x;</r>'.encode()

    with pytest.raises(XmlDtdForbiddenError) as caught:
        parse_untrusted(data)

    assert caught.value.code == "dtd-forbidden"
    assert caught.value.line == 1
    assert "root:" not in str(caught.value)


def test_external_entity_to_local_file_never_leaks_its_content(secret_file: Path) -> None:
    data = (
        f'<?xml version="1.0"?>\n<!DOCTYPE r [\n<!ENTITY x SYSTEM "{secret_file.as_uri()}">\n]>'
        "\n<r>&x;</r>"
    ).encode()

    with pytest.raises(XmlDtdForbiddenError) as caught:
        parse_untrusted(data)

    assert caught.value.line == 2
    assert SECRET not in str(caught.value)


def test_external_entity_over_http_never_connects(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    data = f'<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:{port}/x">]><r>&x;</r>'.encode()

    with pytest.raises(XmlDtdForbiddenError):
        parse_untrusted(data)

    assert_no_connection(listener)


def test_external_parameter_entity_over_http_never_connects(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    data = f'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p"> %p;]><r/>'.encode()

    with pytest.raises(XmlDtdForbiddenError):
        parse_untrusted(data)

    assert_no_connection(listener)


def test_external_dtd_is_rejected_and_never_fetched(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    data = f'<!DOCTYPE r SYSTEM "http://127.0.0.1:{port}/r.dtd"><r>&e;</r>'.encode()

    with pytest.raises(XmlDtdForbiddenError) as caught:
        parse_untrusted(data)

    assert "external DTD" in caught.value.message
    assert_no_connection(listener)


def test_rejection_message_does_not_echo_a_huge_doctype() -> None:
    name = "r" * 10_000

    with pytest.raises(XmlDtdForbiddenError) as caught:
        parse_untrusted(f'<!DOCTYPE {name} SYSTEM "http://x/{name}"><{name}/>'.encode())

    assert len(caught.value.message) < 400


def test_external_dtd_on_disk_is_rejected(tmp_path: Path) -> None:
    dtd = tmp_path / "r.dtd"
    dtd.write_text(f'<!ENTITY e "{SECRET}">', encoding="utf-8")
    data = f'<!DOCTYPE r SYSTEM "{dtd.as_uri()}"><r>&e;</r>'.encode()

    with pytest.raises(XmlDtdForbiddenError) as caught:
        parse_untrusted(data)

    assert SECRET not in str(caught.value)


def billion_laughs() -> bytes:
    declarations = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    return f'<!DOCTYPE lolz [{"".join(declarations)}]><lolz a="&lol9;">&lol9;</lolz>'.encode()


def quadratic_blowup() -> bytes:
    entity = "x" * 100_000
    return f'<!DOCTYPE r [<!ENTITY a "{entity}">]><r>{"&a;" * 100_000}</r>'.encode()


@pytest.mark.parametrize("data", [billion_laughs(), quadratic_blowup()], ids=["laughs", "quad"])
def test_entity_expansion_bombs_are_rejected_quickly(data: bytes) -> None:
    started = time.perf_counter()

    with pytest.raises(XmlDtdForbiddenError):
        parse_untrusted(data)

    assert time.perf_counter() - started < QUICK_SECONDS


def test_doctype_in_utf16_document_is_rejected() -> None:
    text = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>'

    with pytest.raises(XmlDtdForbiddenError):
        parse_untrusted(text.encode("utf-16"))


def test_xinclude_is_never_processed(secret_file: Path) -> None:
    data = (
        '<r xmlns:xi="http://www.w3.org/2001/XInclude">'
        f'<xi:include href="{secret_file.as_uri()}" parse="text"/></r>'
    ).encode()

    root = parse_untrusted(data)

    assert SECRET not in etree.tostring(root, encoding="unicode")
    assert root[0].tag == "{http://www.w3.org/2001/XInclude}include"


def test_malformed_document_reports_its_line() -> None:
    with pytest.raises(XmlMalformedError) as caught:
        parse_untrusted(b"<r>\n  <a>\n  </b>\n</r>")

    assert caught.value.code == "malformed"
    assert caught.value.line == 3
    assert "mismatch" in caught.value.message


@pytest.mark.parametrize("data", [b"", b"<r>&undeclared;</r>", b"not xml"])
def test_other_broken_input_is_malformed(data: bytes) -> None:
    with pytest.raises(XmlMalformedError):
        parse_untrusted(data)


def test_size_is_checked_before_parsing() -> None:
    data = b"<r>" + b"x" * 100 + b"</r>"

    with pytest.raises(XmlTooLargeError) as caught:
        parse_untrusted(data + b"<broken", XmlLimits(max_bytes=len(data)))

    assert caught.value.code == "too-large"
    assert parse_untrusted(data, XmlLimits(max_bytes=len(data))).text == "x" * 100


def nested(depth: int) -> bytes:
    return b"<a>" * depth + b"</a>" * depth


def test_depth_limit() -> None:
    limits = XmlLimits(max_depth=10)

    assert parse_untrusted(nested(10), limits).tag == "a"
    with pytest.raises(XmlTooDeepError) as caught:
        parse_untrusted(nested(11), limits)
    assert caught.value.code == "too-deep"


def test_default_depth_limit_is_libxml2s() -> None:
    assert parse_untrusted(nested(LIBXML2_MAX_DEPTH)).tag == "a"
    with pytest.raises(XmlTooDeepError):
        parse_untrusted(nested(LIBXML2_MAX_DEPTH + 1))


def test_element_count_limit() -> None:
    limits = XmlLimits(max_elements=100)

    assert len(parse_untrusted(b"<r>" + b"<a/>" * 99 + b"</r>", limits)) == 99
    with pytest.raises(XmlTooManyNodesError) as caught:
        parse_untrusted(b"<r>" + b"<a/>" * 100 + b"</r>", limits)
    assert caught.value.code == "too-many-nodes"


@pytest.mark.parametrize(
    "limits",
    [{"max_bytes": 0}, {"max_elements": -1}, {"max_depth": LIBXML2_MAX_DEPTH + 1}],
)
def test_limits_must_be_positive_and_within_libxml2s(limits: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="limit"):
        XmlLimits(**limits)


def test_every_rejection_is_an_xml_rejected_error() -> None:
    codes = {
        cls.code
        for cls in (
            XmlTooLargeError,
            XmlDtdForbiddenError,
            XmlMalformedError,
            XmlTooDeepError,
            XmlTooManyNodesError,
            XmlUnsupportedEncodingError,
        )
        if issubclass(cls, XmlRejectedError)
    }

    assert codes == {
        "too-large",
        "dtd-forbidden",
        "malformed",
        "too-deep",
        "too-many-nodes",
        "unsupported-encoding",
    }
