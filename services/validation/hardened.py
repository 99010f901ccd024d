"""Hardened parsing of untrusted XML payloads.

Submissions carry XÖV messages (XÖV = "XML in der öffentlichen Verwaltung", the family of
XML standards for German public administration, such as xdomea or XWasser). They come
from outside, so they are parsed as hostile input:

- size is checked before any parsing;
- a document with a DOCTYPE is rejected outright, so no entity declarations, no external
  DTD and no entity expansion ever take effect (XXE, billion laughs, quadratic blow-up);
- network access, DTD loading and entity resolution are switched off in libxml2 as a
  second line of defence; XInclude is never processed;
- nesting depth and element count are limited.

Before a tree is built, the document must be known to have no DOCTYPE and no more
elements than allowed. Its encoding is decided first, by Amtsweg rather than by
libxml2 (:mod:`services.validation.xml_encoding`): the document is decoded and handed
to libxml2 as UTF-8 with the encoding forced, so every check below sees exactly the
characters the parser reads, wherever a declaration stands and whatever it says.
For the usual case, a document without the bytes ``<!DOCTYPE``, two byte scans of the
UTF-8 prove it: no DOCTYPE can hide, and the number of ``<`` bounds the number of
elements. Every other document first goes through a SAX pass without a tree that stops
at the first DOCTYPE and counts depth and elements. Then the tree is built (with line
numbers, needed for schema findings); libxml2 itself refuses nesting deeper than 256.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, cast

from lxml import etree

from services.validation.budget import NO_DEADLINE, Deadline
from services.validation.xml_encoding import XmlEncodingError, transcode

LIBXML2_MAX_DEPTH = 256
"""libxml2 refuses deeper documents itself unless ``huge_tree`` is set (it never is)."""

_DOCTYPE = b"<!DOCTYPE"
_CHUNK = 256 * 1024
"""The parser is fed this much at a time, the deadline checked in between."""


@dataclass(frozen=True)
class XmlLimits:
    """Resource limits for one untrusted document."""

    max_bytes: int = 20 * 1024 * 1024
    max_depth: int = LIBXML2_MAX_DEPTH
    max_elements: int = 1_000_000

    def __post_init__(self) -> None:
        if min(self.max_bytes, self.max_depth, self.max_elements) < 1:
            msg = "XML limits must be positive"
            raise ValueError(msg)
        if self.max_depth > LIBXML2_MAX_DEPTH:
            msg = f"max_depth cannot exceed libxml2's own limit of {LIBXML2_MAX_DEPTH}"
            raise ValueError(msg)


DEFAULT_LIMITS = XmlLimits()


class XmlRejectedError(Exception):
    """An untrusted document was refused; ``code`` is stable, ``message`` is for humans."""

    code: ClassVar[str] = "rejected"

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message if line is None else f"{message} (line {line})")
        self.message = message
        self.line = line


class XmlTooLargeError(XmlRejectedError):
    """The document is larger than ``XmlLimits.max_bytes``."""

    code: ClassVar[str] = "too-large"


class XmlDtdForbiddenError(XmlRejectedError):
    """The document has a DOCTYPE (internal subset, entity declarations or external DTD)."""

    code: ClassVar[str] = "dtd-forbidden"


class XmlMalformedError(XmlRejectedError):
    """The document is not well-formed XML."""

    code: ClassVar[str] = "malformed"


class XmlUnsupportedEncodingError(XmlRejectedError):
    """The document is in an encoding Amtsweg does not read (UTF-7, EBCDIC, ...)."""

    code: ClassVar[str] = "unsupported-encoding"


class XmlTooDeepError(XmlRejectedError):
    """Elements are nested deeper than ``XmlLimits.max_depth``."""

    code: ClassVar[str] = "too-deep"


class XmlTooManyNodesError(XmlRejectedError):
    """The document has more elements than ``XmlLimits.max_elements``."""

    code: ClassVar[str] = "too-many-nodes"


def parse_untrusted(
    data: bytes, limits: XmlLimits = DEFAULT_LIMITS, deadline: Deadline = NO_DEADLINE
) -> etree._Element:
    """Parse ``data`` as untrusted XML and return its root element.

    Raises a subclass of :class:`XmlRejectedError` for anything refused, and
    :class:`~services.validation.budget.TimeBudgetExceededError` once ``deadline`` passed.
    """
    if len(data) > limits.max_bytes:
        msg = f"document has {len(data)} bytes, limit is {limits.max_bytes}"
        raise XmlTooLargeError(msg)
    utf8 = _utf8(data)
    deadline.check()
    if not _provably_plain(utf8, limits):
        guard = cast("etree.ParserTarget", _Guard(utf8, limits, deadline))
        _parse(utf8, _hardened_parser(target=guard), deadline)  # no tree, only checks
    root = _parse(utf8, _hardened_parser(), deadline)
    if _has_doctype(root):  # unreachable after the checks above; kept as a backstop
        msg = "DOCTYPE declarations are not accepted"
        raise XmlDtdForbiddenError(msg, _doctype_line(utf8))
    return root


def _utf8(data: bytes) -> bytes:
    """The document as UTF-8, its encoding decided by XML's rules; refused if it has none."""
    try:
        return transcode(data).utf8
    except XmlEncodingError as error:
        if error.unsupported:
            raise XmlUnsupportedEncodingError(error.message) from None
        raise XmlMalformedError(error.message) from None


def _provably_plain(data: bytes, limits: XmlLimits) -> bool:
    """True if byte scans of the UTF-8 prove: no DOCTYPE, few enough elements, depth left
    to libxml2."""
    return (
        _DOCTYPE not in data
        and data.count(b"<") <= limits.max_elements
        and limits.max_depth >= LIBXML2_MAX_DEPTH
    )


def _hardened_parser(target: etree.ParserTarget | None = None) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        recover=False,
        encoding="utf-8",  # decided and transcoded by xml_encoding; declarations ignored
        remove_comments=True,
        remove_pis=True,
        target=target,
    )


def _parse(data: bytes, parser: etree.XMLParser, deadline: Deadline) -> etree._Element:
    """Parse with ``parser`` chunk by chunk, libxml2's syntax errors as typed rejections."""
    try:
        for start in range(0, len(data), _CHUNK):
            deadline.check()
            parser.feed(data[start : start + _CHUNK])
        return parser.close()
    except etree.XMLSyntaxError as error:
        line = error.lineno if error.lineno else None
        message = str(error.msg)
        if "Excessive depth" in message:
            raise XmlTooDeepError(message, line) from error
        raise XmlMalformedError(message, line) from error


def _has_doctype(root: etree._Element) -> bool:
    docinfo = root.getroottree().docinfo
    doctype = getattr(docinfo, "doctype", "")
    return bool(doctype) or docinfo.internalDTD is not None or docinfo.externalDTD is not None


def _doctype_line(data: bytes) -> int | None:
    """Line of the DOCTYPE in the UTF-8 document; ``None`` if not found."""
    index = data.find(_DOCTYPE)
    return None if index < 0 else data.count(b"\n", 0, index) + 1


def _shorten(text: str, limit: int = 120) -> str:
    """Cut attacker-chosen text before it goes into a message."""
    return text if len(text) <= limit else f"{text[:limit]}..."


class _Guard:
    """SAX target for the first pass: refuses DOCTYPEs and enforces depth and count."""

    def __init__(self, data: bytes, limits: XmlLimits, deadline: Deadline) -> None:
        self._data = data
        self._limits = limits
        self._deadline = deadline
        self._depth = 0
        self._elements = 0

    def doctype(self, name: str, _public_id: str | None, system_url: str | None) -> None:
        detail = f" (external DTD {_shorten(system_url)!r})" if system_url else ""
        msg = f"DOCTYPE declarations are not accepted: {_shorten(name)!r}{detail}"
        raise XmlDtdForbiddenError(msg, _doctype_line(self._data))

    def start(self, _tag: str, _attrib: object) -> None:
        self._deadline.check()
        self._depth += 1
        self._elements += 1
        if self._depth > self._limits.max_depth:
            msg = f"elements nested deeper than {self._limits.max_depth}"
            raise XmlTooDeepError(msg)
        if self._elements > self._limits.max_elements:
            msg = f"more than {self._limits.max_elements} elements"
            raise XmlTooManyNodesError(msg)

    def end(self, _tag: str) -> None:
        self._depth -= 1

    def close(self) -> None:
        return None
