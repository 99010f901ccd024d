"""What routing decides with: one directory version and the key lists resolution uses.

A :class:`RoutingContext` is built from three files' bytes (:class:`Sources`): the
directory, the official ARS list and the postal code list. The directory's version is
derived from all three, so the version recorded in a routing event names exactly the
data of the decision, and :mod:`services.routing.archive` can rebuild it later.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from services.routing.directory import Directory
from services.routing.directory_file import DirectoryError, parse_directory
from services.routing.postcodes import PostcodeIndex
from services.routing.regions import RegionIndex


@dataclass(frozen=True)
class Sources:
    """The raw files of one routing context."""

    directory: bytes
    regions: bytes
    postcodes: bytes
    directory_name: str = "directory.json"

    @classmethod
    def read(cls, directory: Path, regions: Path, postcodes: Path) -> Sources:
        """Read the three files (``OSError`` if one is missing)."""
        return cls(
            directory.read_bytes(), regions.read_bytes(), postcodes.read_bytes(), directory.name
        )


@dataclass(frozen=True)
class RoutingContext:
    """The directory and the official key lists routing decides with."""

    directory: Directory
    regions: RegionIndex
    postcodes: PostcodeIndex

    @property
    def version(self) -> str:
        """The directory version (it covers the key lists too)."""
        return self.directory.version

    def authority_ids(self) -> list[str]:
        """Every authority in the directory."""
        return [authority.id for authority in self.directory.authorities]


def basis_of(regions: RegionIndex, postcodes: PostcodeIndex) -> str:
    """What besides the directory file a version depends on: the key lists' digests."""
    return f"ars:{regions.digest};plz:{postcodes.digest}"


def build_context(sources: Sources) -> RoutingContext:
    """Check everything and build the context; ``DirectoryError`` lists every problem."""
    regions = RegionIndex.from_bytes(sources.regions)
    postcodes = PostcodeIndex.from_bytes(sources.postcodes, regions)
    try:
        document = json.loads(sources.directory)
    except ValueError as error:
        raise DirectoryError(sources.directory_name, [str(error)]) from error
    directory = parse_directory(
        document, regions, source=sources.directory_name, basis=basis_of(regions, postcodes)
    )
    return RoutingContext(directory, regions, postcodes)
