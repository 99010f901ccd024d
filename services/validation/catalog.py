"""The schema catalog: which data schemas Amtsweg accepts, and their compiled XSDs.

A first version: one JSON file listing schemas by the URI a submission declares
(``contentStructure.data.submissionSchema.schemaUri``). Its ``version`` is recorded in
every Validated and Rejected event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from services.validation.schemas import SchemaLoadError, load_xsd


class CatalogError(Exception):
    """The catalog file is not usable."""


@dataclass(frozen=True)
class SchemaEntry:
    """One accepted data schema."""

    schema_uri: str
    version: str
    mime_type: str
    xsd: Path
    url_map: dict[str, Path] = field(default_factory=dict)

    def compiled(self) -> etree.XMLSchema:
        """The compiled XSD (compiled once per process)."""
        return load_xsd(self.xsd, self.url_map)


@dataclass(frozen=True)
class SchemaCatalog:
    """All accepted schemas, by schema URI."""

    version: str
    entries: dict[str, SchemaEntry]

    def find(self, schema_uri: str) -> SchemaEntry | None:
        """The entry for a declared schema URI, if the catalog has one."""
        return self.entries.get(schema_uri)


def load_catalog(path: Path) -> SchemaCatalog:
    """Read a catalog file; schema paths are relative to it. Compiles every XSD once."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        base = path.parent
        entries = {
            item["schemaUri"]: SchemaEntry(
                schema_uri=item["schemaUri"],
                version=item["version"],
                mime_type=item["mimeType"],
                xsd=base / item["xsd"],
                url_map={url: base / local for url, local in item.get("urlMap", {}).items()},
            )
            for item in document["schemas"]
        }
        catalog = SchemaCatalog(version=str(document["version"]), entries=entries)
    except (OSError, ValueError, KeyError, TypeError) as error:
        msg = f"schema catalog {path} is not usable: {error}"
        raise CatalogError(msg) from error
    for entry in entries.values():
        try:
            entry.compiled()
        except SchemaLoadError as error:
            msg = f"schema {entry.schema_uri} does not compile: {error}"
            raise CatalogError(msg) from error
    return catalog
