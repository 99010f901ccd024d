"""Hostile documents through the whole decision: refused or ignored, never acted upon.

Proof that nothing is read or fetched: each reference points at a named pipe (FIFO) and
at a listening local socket. Opening a FIFO for reading blocks until a writer comes, so
a parser that tried to read the "file" would hang: the decision runs in a thread that
must finish. Nothing may connect to the socket.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lxml import etree

from services.validation.decide import Invalid, Valid
from tests.support.validation import (
    SCHRIFTGUT,
    XDOMEA_SAMPLES,
    XDOMEA_URI,
    XML,
    run,
    run_sozial_json,
    slugs,
)

BLOCKED_AFTER_SECONDS = 3
"""A decision takes milliseconds; one still running after this is stuck on the FIFO."""
SAMPLE = XDOMEA_SAMPLES / "xx_Aussonderung.Aussonderung.0503.xml"
ROOT = "<xdomea:Aussonderung.Aussonderung.0503"


@pytest.fixture
def trap(tmp_path: Path) -> Path:
    """A FIFO: reading it blocks until a writer opens it (none ever does)."""
    path = tmp_path / "trap.xml"
    os.mkfifo(path)
    return path


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.3)
    yield server
    server.close()


def url(server: socket.socket, name: str) -> str:
    return f"http://127.0.0.1:{server.getsockname()[1]}/{name}"


def opens(trap: Path, action: Callable[[], object]) -> tuple[bool, list[object]]:
    """Run ``action`` in a thread; True if it blocked on (so: opened) the FIFO."""
    results: list[object] = []

    def target() -> None:
        try:
            results.append(action())
        except BaseException as error:  # handed to the caller
            results.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(BLOCKED_AFTER_SECONDS)
    if not thread.is_alive():
        return False, results
    with trap.open("wb"):  # let the blocked reader go
        pass
    thread.join(5)
    return True, results


def harmless(
    trap: Path, server: socket.socket, decide: Callable[[], Valid | Invalid]
) -> Valid | Invalid:
    """Run ``decide``; fail if it opened the FIFO or connected to the socket."""
    opened, results = opens(trap, decide)
    assert not opened, "the decision opened a local file it was pointed at"
    with pytest.raises(TimeoutError):
        server.accept()
    [outcome] = results
    assert isinstance(outcome, Valid | Invalid), outcome
    return outcome


def test_the_trap_catches_a_parser_that_reads_external_entities(trap: Path) -> None:
    """Control: an unhardened parser does open the FIFO, so the proofs below can fail."""
    data = f'<!DOCTYPE r [<!ENTITY x SYSTEM "{trap.as_uri()}">]><r>&x;</r>'.encode()
    unsafe = etree.XMLParser(resolve_entities=True, load_dtd=True)

    opened, _ = opens(trap, lambda: etree.fromstring(data, unsafe))

    assert opened


def _xdomea(insert_after_root: str = "", prolog: str = "", attributes: str = "") -> bytes:
    text = SAMPLE.read_text(encoding="utf-8")
    start = text.index(ROOT) + len(ROOT)
    text = text[:start] + attributes + text[start:]
    end = text.index(">", start) + 1
    text = text[:end] + insert_after_root + text[end:]
    return text.replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}',
        1,
    ).encode()


def test_xinclude_of_a_local_file_and_a_url_is_never_processed(
    trap: Path, listener: socket.socket
) -> None:
    include = (
        '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
        f'href="{trap.as_uri()}" parse="text"/>'
        f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{url(listener, "x")}"/>'
    )

    outcome = harmless(trap, listener, lambda: run(_xdomea(include), SCHRIFTGUT, XDOMEA_URI, XML))

    assert slugs(outcome)[0] == "schema-violation"  # an unexpected element, nothing more


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE r SYSTEM "{file}">',
        '<!DOCTYPE r SYSTEM "{url}">',
        '<!DOCTYPE r [<!ENTITY x SYSTEM "{file}">]>',
        '<!DOCTYPE r [<!ENTITY x SYSTEM "{url}">]>',
        '<!DOCTYPE r [<!ENTITY % p SYSTEM "{file}"> %p;]>',
        '<!DOCTYPE r [<!ENTITY % p SYSTEM "{url}"> %p;]>',
    ],
    ids=["dtd-file", "dtd-url", "entity-file", "entity-url", "param-file", "param-url"],
)
def test_external_dtds_and_entities_are_refused_unread(
    trap: Path, listener: socket.socket, doctype: str
) -> None:
    prolog = doctype.format(file=trap.as_uri(), url=url(listener, "r.dtd"))
    data = _xdomea("&x;" if "ENTITY x" in doctype else "", prolog=prolog)

    outcome = harmless(trap, listener, lambda: run(data, SCHRIFTGUT, XDOMEA_URI, XML))

    assert slugs(outcome) == ["xml-dtd-forbidden"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_doctype_in_utf16_with_or_without_bom_is_refused_unread(
    trap: Path, listener: socket.socket, encoding: str
) -> None:
    text = f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r SYSTEM "{trap.as_uri()}"><r/>'

    outcome = harmless(
        trap, listener, lambda: run(text.encode(encoding), SCHRIFTGUT, XDOMEA_URI, XML)
    )

    assert slugs(outcome) == ["xml-dtd-forbidden"]


def test_schema_location_hints_are_ignored(trap: Path, listener: socket.socket) -> None:
    hints = (
        ' xmlns:xsi2="http://www.w3.org/2001/XMLSchema-instance"'
        f' xsi2:noNamespaceSchemaLocation="{trap.as_uri()}"'
    )
    data = _xdomea(attributes=hints).replace(
        b"http://xdomea.de/schemata/300/xdomea-Nachrichten-AussonderungDurchfuehren.xsd",
        url(listener, "xdomea.xsd").encode(),
    )

    outcome = harmless(trap, listener, lambda: run(data, SCHRIFTGUT, XDOMEA_URI, XML))

    assert isinstance(outcome, Valid)


def test_entity_bombs_are_refused_before_expansion(trap: Path, listener: socket.socket) -> None:
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    data = f"<!DOCTYPE r [{laughs}]><r a='&l9;'>&l9;</r>".encode()

    outcome = harmless(trap, listener, lambda: run(data, SCHRIFTGUT, XDOMEA_URI, XML))

    assert slugs(outcome) == ["xml-dtd-forbidden"]


def test_json_references_are_just_data(trap: Path, listener: socket.socket) -> None:
    data = (
        f'{{"$ref": "{trap.as_uri()}", "$schema": "{url(listener, "s.json")}", '
        f'"$id": "{url(listener, "id")}"}}'
    ).encode()

    outcome = harmless(trap, listener, lambda: run_sozial_json("buergergeld", data))

    assert isinstance(outcome, Invalid)
    assert set(slugs(outcome)) == {"schema-violation", "rule-region-missing"}
