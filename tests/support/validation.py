"""The bundled schema catalog and the sample documents, for validation tests."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path

from contracts.assurance import AssuranceLevel, PresentedLevel
from services.validation.catalog import SchemaCatalog, load_catalog
from services.validation.decide import Declared, Invalid, Limits, Valid, decide
from services.validation.settings import ValidationSettings

IDENTIFIED = PresentedLevel(AssuranceLevel.HIGH)
"""An applicant identified at the highest level: meets every service's requirement."""

DATA = Path(__file__).resolve().parent.parent / "data"
XDOMEA_SAMPLES = DATA / "xoev" / "xdomea-3.0.0"
XWASSER_SAMPLES = DATA / "xoev" / "xwasser-0.9.1"
SOZIAL_SAMPLES = DATA / "sozialplattform"

XML = "application/xml"
JSON = "application/json"
XDOMEA_URI = "urn:xoev-de:xdomea:schema:3.0.0"
XWASSER_URI = "https://gitlab.opencode.de/akdb/xoev/xwasser/-/raw/main/V0_9_1/"
SOZIALANTRAG_URI = "urn:amtsweg:schema:sozialantrag:1.0"
SCHEMA_BASE = "https://schema.amtsweg.de/sozialplattform"

BUERGERGELD = "99900000000101"
HILFE_ZUM_LEBENSUNTERHALT = "99900000000102"
BILDUNG_UND_TEILHABE = "99900000000103"
WOHNBERECHTIGUNGSSCHEIN = "99900000000104"
SCHULDNERBERATUNG = "99900000000105"
SUCHTBERATUNG = "99900000000106"
GRUNDSICHERUNG = "99900000000107"
"""Routed with Hilfe zum Lebensunterhalt; its manifest accepts xdomea case files only."""
TRINKWASSER = "99900000000201"
SCHRIFTGUT = "99900000000202"

SOZIAL_SERVICES = {
    "buergergeld": BUERGERGELD,
    "hilfe-zum-lebensunterhalt": HILFE_ZUM_LEBENSUNTERHALT,
    "bildung-und-teilhabe": BILDUNG_UND_TEILHABE,
    "wohnberechtigungsschein": WOHNBERECHTIGUNGSSCHEIN,
    "schuldnerberatung": SCHULDNERBERATUNG,
    "suchtberatung": SUCHTBERATUNG,
}
"""Sample file stem → the (placeholder) LeiKa key of its service."""

RECEIVED_AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
"""When the test submissions "arrived": after every date in the samples."""


@functools.cache
def bundled_catalog() -> SchemaCatalog:
    """The catalog shipped with Amtsweg (loaded once per test session)."""
    settings = ValidationSettings()
    return load_catalog(settings.catalog, settings.regions)


def json_schema_uri(stem: str) -> str:
    """The schema URI of a Sozialplattform JSON schema, e.g. ``buergergeld``."""
    return f"{SCHEMA_BASE}/{stem}/1.0.0/{stem}.schema.json"


def run(
    data: bytes,
    leika_key: str,
    schema_uri: str,
    mime_type: str,
    *,
    received_at: datetime = RECEIVED_AT,
    limits: Limits | None = None,
    assurance: PresentedLevel = IDENTIFIED,
) -> Valid | Invalid:
    """The decision for ``data`` with the bundled catalog (the applicant identified at
    the highest level unless ``assurance`` says otherwise)."""
    declared = Declared(leika_key, schema_uri, mime_type, received_at, assurance)
    return decide(bundled_catalog(), declared, data, limits or Limits())


def sozial_sample(name: str) -> bytes:
    """A Sozialplattform sample, e.g. ``buergergeld.json``."""
    return (SOZIAL_SAMPLES / name).read_bytes()


def run_sozial_json(
    stem: str,
    data: bytes | None = None,
    *,
    received_at: datetime = RECEIVED_AT,
    limits: Limits | None = None,
) -> Valid | Invalid:
    """Decide a Sozialplattform JSON document (the sample if ``data`` is None)."""
    content = data if data is not None else sozial_sample(f"{stem}.json")
    uri = json_schema_uri(stem)
    return run(content, SOZIAL_SERVICES[stem], uri, JSON, received_at=received_at, limits=limits)


def slugs(outcome: Valid | Invalid) -> list[str]:
    """The problem type slugs of a decision (empty when valid)."""
    if isinstance(outcome, Valid):
        return []
    return [problem.type.rsplit("/", 1)[1] for problem in outcome.problems]
