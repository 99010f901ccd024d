"""The FIT-Connect metadata JSON schema 1.0.0, vendored (see ``schemas/fit-connect/SOURCES.md``).

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


def metadata_schema() -> dict[str, Any]:
    """The schema document (parsed anew on each call; compile it once and keep it)."""
    schema: dict[str, Any] = json.loads(METADATA_SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema
