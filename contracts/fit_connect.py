"""The FIT-Connect metadata JSON schemas 1.0.0 and 2.1.0, vendored (see
``schemas/fit-connect/SOURCES.md``).

FIT-Connect is the federal submission infrastructure (FITKO) whose metadata format
Amtsweg's intake speaks; its schema is part of the intake contract.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

METADATA_SCHEMA_PATH = (
    Path(__file__).parent / "schemas" / "fit-connect" / "metadata.schema.v1.0.0.json"
)
METADATA_SCHEMA_ID = "https://schema.fitko.de/fit-connect/metadata/1.0.0/metadata.schema.json"
METADATA_V2_SCHEMA_PATH = METADATA_SCHEMA_PATH.with_name("metadata.schema.v2.1.0.json")
METADATA_V2_SCHEMA_ID = "https://schema.fitko.de/fit-connect/metadata/2.1.0/metadata.schema.json"
METADATA_V2_PREFIX = "https://schema.fitko.de/fit-connect/metadata/2."
"""A document whose ``$schema`` starts so is metadata 2.x (checked with 2.1.0)."""


def metadata_schema(major: int = 1) -> dict[str, Any]:
    """The schema document of metadata ``major`` (1: 1.0.0, 2: 2.1.0), parsed anew on each
    call (compile it once and keep it)."""
    path = METADATA_V2_SCHEMA_PATH if major == 2 else METADATA_SCHEMA_PATH
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def metadata_major(document: Any) -> int:
    """2 for a document naming a 2.x metadata schema in ``$schema``, 1 otherwise (1.0.0
    documents need not name theirs)."""
    named = document.get("$schema") if isinstance(document, dict) else None
    return 2 if isinstance(named, str) and named.startswith(METADATA_V2_PREFIX) else 1
