"""The XML limits hold in every encoding and wherever the declaration stands.

Each hostile document (too many elements, too deep, a DOCTYPE) is written in every
encoding form XML allows, with and without a byte order mark and a declaration, and
with the declaration padded far beyond the first bytes; every form is refused with the
same code. Encodings Amtsweg does not read are refused, not guessed; valid documents in
UTF-16, UTF-32 and Latin-1 are still read with their text intact.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable

import pytest

from services.validation.hardened import XmlLimits, XmlRejectedError, parse_untrusted
from services.validation.xml_encoding import transcode

LIMITS = XmlLimits(max_depth=8, max_elements=20)
MANY = "<r>" + "<a/>" * 40 + "</r>"
DEEP = "<a>" * 12 + "</a>" * 12
DOCTYPE = '<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>'
PADDING = " \n\t" * 200
"""Whitespace inside the declaration: 600 characters, past any fixed-size look at its head."""

Encoder = Callable[[str], bytes]


def declared(name: str, padded: bool = False) -> str:
    space = PADDING if padded else " "
    return f'<?xml version="1.0"{space}encoding="{name}"?>'


FORMS: dict[str, Encoder] = {
    "utf-8": lambda body: body.encode(),
    "utf-8 declared": lambda body: (declared("UTF-8") + body).encode(),
    "utf-8 bom": lambda body: codecs.BOM_UTF8 + body.encode(),
    "utf-8 bom declared padded": lambda body: (
        codecs.BOM_UTF8 + (declared("utf-8", padded=True) + body).encode()
    ),
    "latin-1 declared": lambda body: (declared("ISO-8859-1") + body).encode("latin-1"),
    "windows-1252 declared padded": lambda body: (
        declared("windows-1252", padded=True) + body
    ).encode("cp1252"),
    "utf-16 bom": lambda body: body.encode("utf-16"),
    "utf-16 bom declared": lambda body: (declared("UTF-16") + body).encode("utf-16"),
    "utf-16 bom declared padded": lambda body: (declared("UTF-16", padded=True) + body).encode(
        "utf-16"
    ),
    "utf-16be bom": lambda body: codecs.BOM_UTF16_BE + body.encode("utf-16-be"),
    "utf-16le no bom declared": lambda body: (declared("UTF-16") + body).encode("utf-16-le"),
    "utf-16be no bom declared": lambda body: (declared("UTF-16BE") + body).encode("utf-16-be"),
    "utf-32 bom": lambda body: body.encode("utf-32"),
    "utf-32be bom declared": lambda body: (
        codecs.BOM_UTF32_BE + (declared("UTF-32") + body).encode("utf-32-be")
    ),
    "utf-32le no bom declared": lambda body: (declared("UTF-32") + body).encode("utf-32-le"),
    "utf-32be no bom": lambda body: body.encode("utf-32-be"),
}


def code_of(data: bytes) -> str:
    with pytest.raises(XmlRejectedError) as caught:
        parse_untrusted(data, LIMITS)
    return caught.value.code


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(
    ("body", "code"),
    [(MANY, "too-many-nodes"), (DEEP, "too-deep"), (DOCTYPE, "dtd-forbidden")],
    ids=["many", "deep", "doctype"],
)
def test_every_encoding_form_of_a_hostile_document_is_refused(
    form: str, body: str, code: str
) -> None:
    assert code_of(FORMS[form](body)) == code


@pytest.mark.parametrize("form", FORMS)
def test_a_valid_document_is_read_in_every_form(form: str) -> None:
    root = parse_untrusted(FORMS[form]("<r><a>Grüße</a><a/></r>"), LIMITS)

    assert root.tag == "r"
    assert [a.text for a in root] == ["Grüße", None]


def utf7(body: str) -> bytes:
    """UTF-7 as libxml2's iconv reads it: every ``<`` becomes ``+ADw-``."""
    return body.replace("<", "+ADw-").encode()


@pytest.mark.parametrize(
    "data",
    [
        (declared("UTF-7")).encode() + utf7(MANY),
        (declared("UTF-7", padded=True)).encode() + utf7(MANY),
        (declared("UTF-7", padded=True)).encode() + utf7(DOCTYPE),
        declared("IBM037").encode() + MANY.encode("cp037"),
        (declared("IBM037") + MANY).encode("cp037"),  # EBCDIC from the first byte
        (declared("Shift_JIS", padded=True) + MANY).encode("shift_jis"),
        (declared("x-unknown-name") + MANY).encode(),
    ],
    ids=["utf-7", "utf-7 padded", "utf-7 doctype", "ebcdic after ascii", "ebcdic", "sjis", "bogus"],
)
def test_encodings_that_are_not_read_are_refused(data: bytes) -> None:
    assert code_of(data) == "unsupported-encoding"


@pytest.mark.parametrize(
    "data",
    [
        (declared("UTF-16", padded=True)).encode() + MANY.encode("utf-16-le"),  # ASCII head
        codecs.BOM_UTF8 + (declared("ISO-8859-1") + MANY).encode(),
        (declared("UTF-8") + MANY).encode("utf-16"),
        (declared("UTF-16LE") + MANY).encode("utf-16-be"),
        b"  " + (declared("UTF-16") + MANY).encode(),  # a declaration not at the start
        (declared("UTF-8") + "<r>\u00e4</r>").encode("latin-1"),  # not UTF-8
        codecs.BOM_UTF16_LE + b"<\x00r\x00/\x00>",  # odd length: no UTF-16
        MANY.encode("utf-16-le"),  # neither a byte order mark nor a declaration: read as UTF-8
    ],
    ids=[
        "utf-16 in ascii",
        "bom vs latin-1",
        "utf-8 in utf-16",
        "le vs be",
        "late",
        "bad",
        "odd",
        "utf-16 unmarked",
    ],
)
def test_contradicting_or_undecodable_documents_are_malformed(data: bytes) -> None:
    assert code_of(data) == "malformed"


def test_the_parser_reads_the_decided_encoding_not_the_declared_one() -> None:
    """UTF-8 text declaring UTF-16 after padding: what is read is what was scanned."""
    data = codecs.BOM_UTF8 + (declared("UTF-8") + "<r>+ADw-a/+AD4-</r>").encode()

    assert parse_untrusted(data, LIMITS).text == "+ADw-a/+AD4-"
    assert transcode(data).encoding == "utf-8"
