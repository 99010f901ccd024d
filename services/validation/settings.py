"""Validation settings (environment, prefix ``AMTSWEG_VALIDATION_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.validation.budget import TimeBudget
from services.validation.decide import Limits
from services.validation.hardened import LIBXML2_MAX_DEPTH, XmlLimits
from services.validation.hardened_json import JsonLimits

DEFAULT_CATALOG = Path(__file__).parent / "catalog"
DEFAULT_REGIONS = (
    Path(__file__).parents[1] / "routing" / "data" / "Regionalschl_ssel_2021-07-31.json"
)
"""Routing's copy of the Destatis ARS list: read as a file, never imported (layering)."""

MIB = 1024 * 1024


class ValidationSettings(BaseSettings):
    """Which catalog and regional key list to validate with, and the limits per document."""

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_VALIDATION_", extra="ignore")

    catalog: Path = DEFAULT_CATALOG
    """The catalog folder (its ``catalog.json`` is accepted too)."""
    regions: Path = DEFAULT_REGIONS
    max_findings: int = Field(default=100, ge=1, le=1000)
    max_document_bytes: int = Field(default=20 * MIB, ge=1)
    max_xml_elements: int = Field(default=1_000_000, ge=1)
    max_xml_depth: int = Field(default=LIBXML2_MAX_DEPTH, ge=1, le=LIBXML2_MAX_DEPTH)
    max_json_values: int = Field(default=1_000_000, ge=1)
    max_json_depth: int = Field(default=64, ge=1, le=500)
    max_seconds: float = Field(default=30.0, gt=0, le=3600)
    """The time budget of one document (``AMTSWEG_VALIDATION_MAX_SECONDS``); a document
    that takes longer is rejected with ``validation-time-exceeded``."""

    def limits(self) -> Limits:
        """The per-document limits these settings describe."""
        return Limits(
            xml=XmlLimits(self.max_document_bytes, self.max_xml_depth, self.max_xml_elements),
            json=JsonLimits(self.max_document_bytes, self.max_json_depth, self.max_json_values),
            max_findings=self.max_findings,
            time=TimeBudget(self.max_seconds),
        )
