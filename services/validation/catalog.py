"""The schema catalog: which data schemas each public service accepts, compiled once.

The catalog is a folder (see ``catalog/README.md``)::

    catalog.json        {"release": "2026.12"}: a human version label
    services/*.json     one manifest per public service (format: manifest.schema.json)
    <schema folders>    XSD sets with all their includes, JSON schemas, code lists

Adding a service is adding a manifest and its schema files; no code changes. The catalog
is loaded once per process and every schema is compiled at load, so a broken catalog
stops the start rather than the first submission.

The catalog's ``version``, recorded in every Validated and Rejected event, is the release
label plus a SHA-256 over every file of the folder and over the regional key list that
the rules use: the decision is a pure function of (document, version), so two workers
with the same version decide the same way, and a replay can tell which catalog decided.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from services.validation.entries import CatalogError, ServiceEntry
from services.validation.json_schemas import JsonSchemaLoadError, schema_registry
from services.validation.manifest import read_service
from services.validation.regions import RegionKeys, RegionListError

CATALOG_FILE = "catalog.json"
SERVICES_DIR = "services"
DIGEST_LENGTH = 16

__all__ = ["CatalogError", "SchemaCatalog", "catalog_digest", "load_catalog"]


@dataclass(frozen=True)
class SchemaCatalog:
    """All public services Amtsweg validates for, by LeiKa key."""

    version: str
    services: Mapping[str, ServiceEntry]
    regions: RegionKeys

    def service(self, leika_key: str) -> ServiceEntry | None:
        """The service with this LeiKa key, if the catalog has it."""
        return self.services.get(leika_key)

    def services_accepting(self, schema_uri: str) -> list[str]:
        """LeiKa keys of every service that accepts ``schema_uri``."""
        return sorted(key for key, s in self.services.items() if schema_uri in s.schemas)


def load_catalog(folder: Path, regions_file: Path) -> SchemaCatalog:
    """Read every manifest of the catalog ``folder`` and compile every schema."""
    root = folder if folder.is_dir() else folder.parent  # also accept the catalog.json path
    try:
        release = str(json.loads((root / CATALOG_FILE).read_text(encoding="utf-8"))["release"])
        registry = schema_registry(root)
        regions = RegionKeys.from_file(regions_file)
    except (OSError, ValueError, KeyError, TypeError) as error:
        msg = f"schema catalog {root.name}: {CATALOG_FILE} is not usable: {error}"
        raise CatalogError(msg) from error
    except (JsonSchemaLoadError, RegionListError) as error:
        raise CatalogError(str(error)) from error
    services: dict[str, ServiceEntry] = {}
    for path in sorted((root / SERVICES_DIR).glob("*.json")):
        service = read_service(path, root, registry)
        if service.leika_key in services:
            msg = f"{path.name}: another manifest already describes {service.leika_key}"
            raise CatalogError(msg)
        services[service.leika_key] = service
    if not services:
        msg = f"schema catalog {root.name} has no manifests in {SERVICES_DIR}/"
        raise CatalogError(msg)
    version = f"{release}+{catalog_digest(root, regions_file)[:DIGEST_LENGTH]}"
    return SchemaCatalog(version=version, services=services, regions=regions)


def catalog_digest(root: Path, *extra_files: Path) -> str:
    """SHA-256 (hex) over the names and contents of the catalog's files and ``extra_files``.

    Markdown files (documentation) and hidden files are left out.
    """
    digest = hashlib.sha256()
    files = sorted(
        path
        for path in root.rglob("*")
        if path.is_file()
        and path.suffix != ".md"
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )
    named = [(path.relative_to(root).as_posix(), path) for path in files]
    named += [(f"extra:{path.name}", path) for path in extra_files]
    for name, path in named:
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
