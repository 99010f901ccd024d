"""What the FIT-Connect facade knows of a destination: the port the composition root fills.

A destination is an authority of the directory (its id :func:`destination_id`) or the
instance's routing destination (:data:`ROUTING_DESTINATION`). Its services come from the
directory's competences (LeiKa key, areas) and the schema catalog (the schemas Amtsweg
validates that service's data against); a service the catalog does not know is left out,
since Amtsweg could not accept it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from services.fitconnect.destinations import ROUTING_DESTINATION, destination_id

METADATA_VERSIONS = ("1.0.0", "2.1.0")
"""The FIT-Connect metadata schema versions Amtsweg accepts."""
LEIKA_URN = "urn:de:fim:leika:leistung:"


@dataclass(frozen=True)
class SubmissionSchema:
    """A data schema a service accepts (``schemaUri``, ``mimeType``)."""

    schema_uri: str
    mime_type: str


@dataclass(frozen=True)
class DestinationService:
    """A service of a destination: LeiKa key, where it is offered, which schemas."""

    leika_key: str
    regions: tuple[str, ...]
    """ARS prefixes without ``DE`` (empty: Germany)."""
    schemas: tuple[SubmissionSchema, ...]

    @property
    def identifier(self) -> str:
        """The service URN (``urn:de:fim:leika:leistung:<key>``)."""
        return LEIKA_URN + self.leika_key


@dataclass(frozen=True)
class Destination:
    """A destination with the services it accepts."""

    destination_id: uuid.UUID
    authority_id: str | None
    """None for the routing destination."""
    services: tuple[DestinationService, ...]


DestinationDirectory = Callable[[uuid.UUID], Destination | None]
"""The destination with this id, or None."""


def directory_of(
    authorities: dict[str, tuple[DestinationService, ...]],
    every_service: tuple[DestinationService, ...],
) -> DestinationDirectory:
    """A directory over ``authorities`` (authority id → its services) and the routing
    destination accepting ``every_service``."""
    by_id = {
        destination_id(authority): Destination(destination_id(authority), authority, services)
        for authority, services in authorities.items()
    }
    by_id[ROUTING_DESTINATION] = Destination(ROUTING_DESTINATION, None, every_service)
    return by_id.get
