"""What the schema catalog holds: services, the schemas each accepts, how to check them.

LeiKa (Leistungskatalog der öffentlichen Verwaltung) gives every public service a
14-digit key; a submission names its service by that key and declares the schema its
data follows by a URI. One schema URI may be accepted by several services, each with
its own rules (e.g. its own message types).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from contracts.assurance import AssuranceLevel
from services.validation.fields import Field
from services.validation.header import HeaderSpec
from services.validation.json_schemas import JsonSchemaChecker
from services.validation.rules import RuleSpec
from services.validation.schemas import XsdChecker

XML = "application/xml"
JSON = "application/json"


class CatalogError(Exception):
    """The catalog is not usable: a manifest, schema or code list is wrong or missing."""


@dataclass(frozen=True)
class SchemaEntry:
    """One data schema as one service accepts it."""

    schema_uri: str
    version: str
    mime_type: str
    checker: XsdChecker | JsonSchemaChecker
    routing_keys: Mapping[str, Field]
    """``postalCode``, ``ars``, ``ags`` → where the applicant's one is found."""
    fields: Mapping[str, Field]
    """Further named values the rules read (dates and the like)."""
    header: HeaderSpec | None
    rules: tuple[RuleSpec, ...]

    @property
    def is_xml(self) -> bool:
        """XML (XSD-checked) rather than JSON (JSON-Schema-checked) data."""
        return self.mime_type == XML


@dataclass(frozen=True)
class Retention:
    """A service's retention rule: content erased ``days[status]`` days after that final status."""

    legal_basis: str
    days: Mapping[str, int]


@dataclass(frozen=True)
class ServiceEntry:
    """One public service and the data schemas it accepts, by schema URI."""

    leika_key: str
    name: str
    placeholder_key: bool
    schemas: Mapping[str, SchemaEntry]
    retention: Retention | None = None
    """When its submissions' content is erased; None: only by an operator."""
    assurance_level: AssuranceLevel | None = None
    """The applicant's identity must be proven at least at this level; None: no requirement."""
