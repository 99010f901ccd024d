"""The bundled routing data (national directory, key lists), loaded once per test run."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from services.routing.context import RoutingContext, Sources, build_context
from services.routing.settings import DATA

DIRECTORY = DATA / "directory.json"
REGIONS = DATA / "Regionalschl_ssel_2021-07-31.json"
POSTCODES = DATA / "zuordnung_plz_ort.csv"


def bundled_sources(directory: Path = DIRECTORY) -> Sources:
    """The files of the bundled context (another directory file if given)."""
    return Sources.read(directory, REGIONS, POSTCODES)


@functools.cache
def national_context() -> RoutingContext:
    """The national directory with the official key lists (as ``amtsweg run`` uses them)."""
    return build_context(bundled_sources())


def write_directory(folder: Path, document: dict[str, Any], name: str = "directory.json") -> Path:
    """A directory file for a test."""
    path = folder / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def authority(authority_id: str, state: str = "05", **channel: Any) -> dict[str, Any]:
    """A directory entry with a Kafka channel (or the ``channel`` given)."""
    return {
        "id": authority_id,
        "name": authority_id,
        "state": state,
        "channel": channel or {"topic": f"amtsweg.delivery.{authority_id}"},
    }
