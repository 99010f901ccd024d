"""Compiling XÖV schemas offline and validating documents against them.

XÖV standards (see :mod:`services.validation.hardened`) publish XSD sets that import
shared schemas by absolute URL (for example the XÖV ``Code`` type from
``http://xoev.de/...``). Amtsweg never fetches a schema at run time: every absolute
``schemaLocation`` must be mapped to a vendored file (``url_map``), anything else that is
not a local file is refused, and the parser has network access switched off.

A compiled schema is cached per process, so each XSD set is compiled once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from itertools import islice
from pathlib import Path
from typing import Any, Protocol, cast
from urllib.parse import unquote, urlsplit

from lxml import etree

from services.validation.findings import Finding, redact_values
from services.validation.hardened import XmlRejectedError, parse_untrusted

DEFAULT_FINDING_LIMIT = 100
CATALOG_DIR = Path(__file__).parent / "catalog"
"""The vendored schema sets; see ``catalog/SOURCES.md``."""

_OASIS_CATALOG_NS = "urn:oasis:names:tc:entity:xmlns:xml:catalog"
_CACHE: dict[tuple[Path, frozenset[tuple[str, Path]]], etree.XMLSchema] = {}
_CACHE_LOCK = threading.Lock()
# A compiled schema keeps the error log of its last run on the object itself, so runs
# of one schema in several threads would mix their findings.
_VALIDATE_LOCK = threading.Lock()


class SchemaLoadError(Exception):
    """A schema set could not be compiled (refused URL, missing file, invalid XSD)."""


class _LogEntry(Protocol):
    """The part of lxml's ``_LogEntry`` used here (missing from lxml-stubs)."""

    message: str
    line: int
    path: str | None


def load_xsd(path: Path, url_map: Mapping[str, Path] | None = None) -> etree.XMLSchema:
    """Compile the XSD at ``path`` (once per process) with remote imports mapped locally.

    ``url_map`` maps absolute ``schemaLocation`` URLs to local files. Relative
    locations and local files resolve as usual; any other URL raises
    :class:`SchemaLoadError`.
    """
    mapping = {url: target.resolve() for url, target in (url_map or {}).items()}
    missing = sorted(url for url, target in mapping.items() if not target.is_file())
    if missing:
        msg = f"{path.name}: url_map points to missing files for {missing}"
        raise SchemaLoadError(msg)
    key = (path.resolve(), frozenset(mapping.items()))
    with _CACHE_LOCK:
        schema = _CACHE.get(key)
        if schema is None:
            schema = _compile(key[0], mapping)
            _CACHE[key] = schema
        return schema


def clear_schema_cache() -> None:
    """Forget every compiled schema (for tests and catalog reloads)."""
    with _CACHE_LOCK:
        _CACHE.clear()


class XsdChecker:
    """A compiled XSD set, as a catalog entry uses it."""

    def __init__(self, xsd: Path, url_map: Mapping[str, Path] | None = None) -> None:
        """Compile (or take from the cache) ``xsd`` with remote imports mapped locally."""
        self.schema = load_xsd(xsd, url_map)

    def findings(self, root: etree._Element, limit: int) -> list[Finding]:
        """Up to ``limit`` violations, with line and XPath; document values withheld."""
        return [
            Finding(f.code, redact_values(f.message), f.line, f.path)
            for f in validate_document(root, self.schema, limit)
        ]


def validate_document(
    root: etree._Element, schema: etree.XMLSchema, limit: int = DEFAULT_FINDING_LIMIT
) -> list[Finding]:
    """Validate ``root`` against ``schema``; return up to ``limit`` findings, in order.

    An empty list means the document is valid. Messages are libxml2's, values included:
    use :class:`XsdChecker` for findings that go anywhere.
    """
    with _VALIDATE_LOCK:
        if schema.validate(root):
            return []
        entries = list(islice(cast("Iterable[_LogEntry]", schema.error_log), limit))
    return [
        Finding(
            code="schema-violation",
            message=entry.message,
            line=entry.line or None,
            path=entry.path or None,
        )
        for entry in entries
    ]


def read_url_map(catalog: Path) -> dict[str, Path]:
    """Read an OASIS XML catalog's ``uri``/``system`` entries into a ``url_map``.

    Relative targets are taken relative to the catalog file.
    """
    try:
        root = parse_untrusted(catalog.read_bytes())
    except (OSError, XmlRejectedError) as error:
        msg = f"{catalog.name}: not a readable XML catalog: {error}"
        raise SchemaLoadError(msg) from error
    mapping: dict[str, Path] = {}
    for element in root.iter(f"{{{_OASIS_CATALOG_NS}}}uri", f"{{{_OASIS_CATALOG_NS}}}system"):
        name = element.get("name") or element.get("systemId")
        target = element.get("uri")
        if name is None or target is None:
            msg = f"{catalog.name}: catalog entry on line {element.sourceline} is incomplete"
            raise SchemaLoadError(msg)
        mapping[name] = catalog.parent / target
    return mapping


def _compile(path: Path, url_map: Mapping[str, Path]) -> etree.XMLSchema:
    resolver = _LocalOnlyResolver(url_map)
    parser = etree.XMLParser(
        no_network=True, resolve_entities=False, load_dtd=False, huge_tree=False
    )
    parser.resolvers.add(resolver)
    try:
        document = etree.parse(str(path), parser)
        schema = etree.XMLSchema(document)
    except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as error:
        if resolver.refused:
            msg = f"{path.name}: refused non-local schema location(s) {resolver.refused}"
            raise SchemaLoadError(msg) from error
        msg = f"{path.name}: {error}"
        raise SchemaLoadError(msg) from error
    if resolver.refused:  # an unused import may fail without failing the compile
        msg = f"{path.name}: refused non-local schema location(s) {resolver.refused}"
        raise SchemaLoadError(msg)
    return schema


class _LocalOnlyResolver(etree.Resolver):
    """Maps listed URLs to local files, lets local paths through, refuses the rest.

    A refusal is recorded and answered with an empty document (which fails to parse)
    rather than raised here: lxml would keep a raised exception on the parser and
    re-raise it later, far from its cause.
    """

    def __init__(self, url_map: Mapping[str, Path]) -> None:
        super().__init__()
        self._url_map = url_map
        self.refused: list[str] = []

    def resolve(  # type: ignore[override]  # lxml-stubs omit the context argument
        self, system_url: str, _public_id: str | None, context: Any
    ) -> Any:
        target = self._url_map.get(system_url)
        if target is not None:
            # base_url keeps the mapped file's own relative imports relative to it.
            return self.resolve_file(
                target.open("rb"), context, base_url=target.as_uri(), close=True
            )
        if _is_local(system_url):
            return None
        self.refused.append(system_url)
        return self.resolve_string("", context, base_url=None)


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "file":
        return parts.netloc in ("", "localhost") and Path(unquote(parts.path)).is_file()
    # A bare path; one-letter "schemes" are Windows drive letters.
    return len(parts.scheme) <= 1
