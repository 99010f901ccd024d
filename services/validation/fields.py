"""Named values read from a document: routing keys, dates, header entries.

A catalog manifest names where a value is found: an XPath for XML (with the manifest's
namespace prefixes), a JSON pointer for JSON, where a ``*`` segment stands for every item
of an array (``/haushalt/mitglieder/*/geburtsdatum``; an extension of RFC 6901).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple, cast

from lxml import etree

from services.validation.hardened_json import JsonDocument
from services.validation.json_positions import pointer_text


class FieldError(Exception):
    """A field expression does not compile."""


class Value(NamedTuple):
    """One value found in a document, with where it was found.

    ``where`` is the path itself (a JSON pointer), or the XML element the value belongs
    to: its XPath is worked out only when a finding needs it.
    """

    text: str
    line: int | None
    where: str | etree._Element | None
    attribute: str | None = None

    @property
    def path(self) -> str | None:
        """XPath (``…/@attribute`` for an attribute) or JSON pointer of the value."""
        if not isinstance(self.where, etree._Element):
            return self.where
        path = self.where.getroottree().getpath(self.where)
        return f"{path}/@{self.attribute}" if self.attribute else path


class XPathField:
    """Values selected by an XPath; elements give their text content, trimmed."""

    def __init__(self, expression: str, namespaces: dict[str, str]) -> None:
        """Compile ``expression`` (lxml's compiled XPath is safe to share between threads)."""
        self.expression = expression
        try:
            self._xpath = etree.XPath(expression, namespaces=namespaces)
        except etree.XPathSyntaxError as error:
            msg = f"XPath {expression!r}: {error}"
            raise FieldError(msg) from error

    def values(self, root: etree._Element) -> list[Value]:
        """Every non-empty value the expression selects, in document order."""
        try:
            result: Any = self._xpath(root)
        except etree.XPathEvalError:
            return []
        items = result if isinstance(result, list) else [result]
        found = [_xml_value(item) for item in items]
        return [value for value in found if value is not None and value.text]


def _xml_value(item: Any) -> Value | None:
    if isinstance(item, etree._Element):
        if len(item):
            text = "".join(cast("Iterator[str]", item.itertext())).strip()
        else:
            text = (item.text or "").strip()
        return Value(text, _line(item), item)
    if isinstance(item, str):  # attribute value or text node: a "smart string"
        parent = item.getparent() if hasattr(item, "getparent") else None
        if parent is None:
            return Value(item.strip(), None, None)
        attribute = item.attrname if getattr(item, "is_attribute", False) else None  # type: ignore[attr-defined]
        return Value(item.strip(), _line(parent), parent, attribute)
    if isinstance(item, bool):
        return Value("true" if item else "false", None, None)
    if isinstance(item, int | float):
        return Value(str(item), None, None)
    return None


def _line(element: etree._Element) -> int | None:
    line = element.sourceline
    return line if isinstance(line, int) else None


class PointerField:
    """Values at a JSON pointer; ``*`` matches every array item. Scalars only."""

    def __init__(self, expression: str) -> None:
        """Split ``expression`` (``""`` is the whole document, else it starts with ``/``)."""
        if expression and not expression.startswith("/"):
            msg = f"JSON pointer {expression!r} must start with '/'"
            raise FieldError(msg)
        self.expression = expression
        self._parts = tuple(
            part.replace("~1", "/").replace("~0", "~") for part in expression.split("/")[1:]
        )

    def values(self, document: JsonDocument) -> list[Value]:
        """Every scalar at the pointer; lines are filled in when a finding needs one."""
        found: list[Value] = []
        self._collect(document.value, 0, (), found)
        return found

    def _collect(self, node: Any, depth: int, at: tuple[str, ...], found: list[Value]) -> None:
        if depth == len(self._parts):
            text = _json_text(node)
            if text:
                found.append(Value(text, None, pointer_text(at)))
            return
        part = self._parts[depth]
        if isinstance(node, list):
            indexes = range(len(node)) if part == "*" else _index(part, len(node))
            for index in indexes:
                self._collect(node[index], depth + 1, (*at, str(index)), found)
        elif isinstance(node, dict) and part in node:
            self._collect(node[part], depth + 1, (*at, part), found)


def _index(part: str, length: int) -> range:
    if part.isdigit() and int(part) < length:
        return range(int(part), int(part) + 1)
    return range(0)


def _json_text(node: Any) -> str:
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, str):
        return node.strip()
    if isinstance(node, int | float):
        return str(node)
    return ""


Field = XPathField | PointerField
