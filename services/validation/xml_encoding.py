"""Deciding an XML document's character encoding before libxml2 reads it.

The element and DOCTYPE checks of :mod:`services.validation.hardened` scan bytes, and a
scan means something only if it sees the characters the parser will read. A parser
that picks the encoding itself (from a byte order mark, the first bytes, or a
declaration anywhere in the first line, however long) can be led to read characters the
scan never saw: a ``<`` written as ``+ADw-`` in UTF-7, or as 0x4C in EBCDIC.

So Amtsweg decides the encoding here, as XML 1.0 (Appendix F) does: a byte order mark,
else the pattern of the first four bytes (UTF-16 and UTF-32 without a mark), else the
encoding declaration at the very start, else UTF-8. It decodes the document strictly
with Python's codecs and hands on UTF-8 bytes; the parser is then told the encoding
(UTF-8), so whatever a declaration says is ignored. Encodings not listed here (UTF-7,
EBCDIC, the Asian multi-byte ones) are refused rather than guessed.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from contracts import linear_regex

_ASCII_COMPATIBLE = {
    "UTF-8": "utf-8",
    "UTF8": "utf-8",
    "US-ASCII": "ascii",
    "ASCII": "ascii",
    "LATIN1": "latin-1",
    "ISO-LATIN-1": "latin-1",
    **{f"ISO-8859-{part}": f"iso8859-{part}" for part in range(1, 17) if part != 12},
    **{f"WINDOWS-{page}": f"cp{page}" for page in range(1250, 1259)},
    **{f"CP{page}": f"cp{page}" for page in range(1250, 1259)},
}
"""Declared names (upper case) of the single- and multi-byte encodings that keep ASCII."""

_WIDE = {
    "UTF-16": ("utf-16-le", "utf-16-be"),
    "UTF-16LE": ("utf-16-le",),
    "UTF-16BE": ("utf-16-be",),
    "UTF-32": ("utf-32-le", "utf-32-be"),
    "UTF-32LE": ("utf-32-le",),
    "UTF-32BE": ("utf-32-be",),
}
"""Declared names of the UTF-16/32 forms, and which detected byte orders they allow."""

_MARKS = (  # UTF-32 before UTF-16: FF FE 00 00 begins with FF FE
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
_FIRST_BYTES = (  # "<?" or "<" in each form, without a byte order mark
    (b"\x00\x00\x00\x3c", "utf-32-be"),
    (b"\x3c\x00\x00\x00", "utf-32-le"),
    (b"\x00\x3c\x00\x3f", "utf-16-be"),
    (b"\x3c\x00\x3f\x00", "utf-16-le"),
)
_EBCDIC_START = b"\x4c\x6f\xa7\x94"
"""``<?xm`` in EBCDIC."""

_S = r"[ \t\r\n]"
_DECLARATION = linear_regex.compile(
    rf"<\?xml{_S}+version{_S}*={_S}*(?:\"[^\"]*\"|'[^']*')"
    rf"{_S}+encoding{_S}*={_S}*(?:\"([A-Za-z][A-Za-z0-9._-]*)\"|'([A-Za-z][A-Za-z0-9._-]*)')"
)
"""The start of an XML declaration up to its encoding name (``match``: at offset 0 only)."""


class XmlEncodingError(Exception):
    """The document's encoding cannot be decided or decoded; ``unsupported`` if it is
    one Amtsweg does not read, else the bytes contradict themselves."""

    def __init__(self, message: str, *, unsupported: bool) -> None:
        super().__init__(message)
        self.message = message
        self.unsupported = unsupported


@dataclass(frozen=True)
class Transcoded:
    """A document as UTF-8 bytes (no byte order mark), and the encoding it came in."""

    utf8: bytes
    encoding: str


def transcode(data: bytes) -> Transcoded:
    """``data`` as UTF-8, decoded in the encoding XML's rules give it (see module doc)."""
    detected, body = _detect(data)
    declared = _declared(body, detected)
    encoding = _choose(detected, declared)
    if encoding == "utf-8":  # already what the parser reads: only checked
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _undecodable("utf-8", error) from None
        return Transcoded(body, encoding)
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as error:
        raise _undecodable(encoding, error) from None
    return Transcoded(text.encode("utf-8"), encoding)


def _detect(data: bytes) -> tuple[str | None, bytes]:
    """The encoding the first bytes show (``None``: ASCII-compatible), the bytes after a mark."""
    for mark, encoding in _MARKS:
        if data.startswith(mark):
            return encoding, data[len(mark) :]
    for start, encoding in _FIRST_BYTES:
        if data.startswith(start):
            return encoding, data
    if data.startswith(_EBCDIC_START):
        msg = "EBCDIC documents are not accepted; send UTF-8"
        raise XmlEncodingError(msg, unsupported=True)
    return None, data


def _declared(body: bytes, detected: str | None) -> str | None:
    """The encoding name the declaration at the start gives, upper case; ``None`` if none."""
    if detected is None or detected == "utf-8":
        end = body.find(b"?>")
        head = (body if end < 0 else body[: end + 2]).decode("latin-1")
    else:
        unit = 4 if detected.startswith("utf-32") else 2
        end = body.find("?>".encode(detected))
        while end >= 0 and end % unit:
            end = body.find("?>".encode(detected), end + 1)
        head = (body if end < 0 else body[: end + 2 * unit]).decode(detected, errors="replace")
    found = _DECLARATION.match(head)
    if found is None:
        return None
    return (found.group(1) or found.group(2)).upper().replace("_", "-")


def _choose(detected: str | None, declared: str | None) -> str:
    """The one encoding the first bytes and the declaration agree on."""
    if declared is not None and declared not in _ASCII_COMPATIBLE and declared not in _WIDE:
        msg = f"the encoding {declared[:40]!r} is not accepted; send UTF-8"
        raise XmlEncodingError(msg, unsupported=True)
    if detected is None:
        if declared is None:
            return "utf-8"
        if declared in _WIDE:
            msg = f"the document declares {declared} but its first bytes are not {declared}"
            raise XmlEncodingError(msg, unsupported=False)
        return _ASCII_COMPATIBLE[declared]
    if detected == "utf-8":
        if declared is None or _ASCII_COMPATIBLE.get(declared) == "utf-8":
            return "utf-8"
        msg = f"the document has a UTF-8 byte order mark but declares {declared}"
        raise XmlEncodingError(msg, unsupported=False)
    if declared is None or detected in _WIDE.get(declared, ()):
        return detected
    msg = f"the document is {detected.upper()} but declares {declared}"
    raise XmlEncodingError(msg, unsupported=False)


def _undecodable(encoding: str, error: UnicodeDecodeError) -> XmlEncodingError:
    msg = f"the document is not valid {encoding.upper()} at byte {error.start}"
    return XmlEncodingError(msg, unsupported=False)
