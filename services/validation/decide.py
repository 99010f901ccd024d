"""The validation decision: a pure function of (declaration, data, catalog version).

1. The service (LeiKa key) must be in the catalog, and must accept the declared schema
   URI with the declared media type; when the service requires an assurance level for
   the applicant's identity, the metadata must present at least that one.
2. The data is parsed as hostile input (XML or JSON, with limits).
3. It is checked against its schema, its XÖV message header (if the schema has one) and
   the service's business rules; every finding becomes an RFC 7807 problem, up to a limit.
4. A valid document yields its routing keys (postal code, ARS, AGS) for routing.

All of it within the document's time budget (:mod:`services.validation.budget`): a
document that takes longer is rejected with ``validation-time-exceeded``.

"Now" is the time the submission was received, never the wall clock, so a replay with
the same catalog version gives the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from contracts.assurance import PresentedLevel
from contracts.problems import Location, Problem
from services.validation.budget import (
    DEFAULT_TIME_BUDGET,
    Deadline,
    TimeBudget,
    TimeBudgetExceededError,
)
from services.validation.catalog import SchemaCatalog
from services.validation.checks import Document, examine, routing_keys
from services.validation.entries import SchemaEntry, ServiceEntry
from services.validation.findings import Finding, redact_values
from services.validation.hardened import (
    DEFAULT_LIMITS,
    XmlLimits,
    XmlRejectedError,
    parse_untrusted,
)
from services.validation.hardened_json import (
    DEFAULT_JSON_LIMITS,
    JsonLimits,
    JsonRejectedError,
    parse_untrusted_json,
)
from services.validation.rules import RuleContext


@dataclass(frozen=True)
class Limits:
    """Resource limits for one document, and how many findings to report."""

    xml: XmlLimits = DEFAULT_LIMITS
    json: JsonLimits = DEFAULT_JSON_LIMITS
    max_findings: int = 100
    time: TimeBudget = DEFAULT_TIME_BUDGET


DEFAULT_VALIDATION_LIMITS = Limits()


@dataclass(frozen=True)
class Declared:
    """What the submission says about its data, and when it arrived."""

    leika_key: str
    schema_uri: str
    mime_type: str
    received_at: datetime
    """Timezone-aware; "not in the future" means "not after this"."""
    assurance: PresentedLevel
    """The applicant's assurance level the metadata presents (``Metadata.assurance``)."""


@dataclass(frozen=True)
class Valid:
    """The data conforms; ``routing_keys`` are the applicant's, as found in the data."""

    catalog_version: str
    schema_uri: str
    routing_keys: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Invalid:
    """The data does not conform; every finding is a problem."""

    catalog_version: str
    problems: list[Problem]


def decide(
    catalog: SchemaCatalog,
    declared: Declared,
    data: bytes,
    limits: Limits = DEFAULT_VALIDATION_LIMITS,
) -> Valid | Invalid:
    """Validate ``data`` against the schema it declares, for the service it names."""
    entry = _entry(catalog, declared)
    if isinstance(entry, Problem):
        return Invalid(catalog.version, [entry])
    deadline = limits.time.start()
    try:
        return _decide(catalog, entry, declared, data, limits=limits, deadline=deadline)
    except TimeBudgetExceededError as error:
        problem = Problem.of(
            "validation-time-exceeded",
            "Validation took too long",
            detail=f"{error}; send a smaller or simpler document.",
        )
        return Invalid(catalog.version, [problem])


def _decide(
    catalog: SchemaCatalog,
    entry: SchemaEntry,
    declared: Declared,
    data: bytes,
    *,
    limits: Limits,
    deadline: Deadline,
) -> Valid | Invalid:
    """Steps 2 to 4 of the decision for the catalog's ``entry``."""
    try:
        document: Document = (
            parse_untrusted(data, limits.xml, deadline)
            if entry.is_xml
            else parse_untrusted_json(data, limits.json)
        )
    except XmlRejectedError as error:
        detail = redact_values(error.message)
        problem = _refused(f"xml-{error.code}", "XML document refused", detail, error.line)
        return Invalid(catalog.version, [problem])
    except JsonRejectedError as error:
        problem = _refused(
            f"json-{error.code}", "JSON document refused", error.message, error.line, error.path
        )
        return Invalid(catalog.version, [problem])
    deadline.check()
    context = RuleContext(declared.received_at, catalog.regions)
    examination = examine(entry, document, context, limits.max_findings + 1, deadline)
    if examination.findings:
        return Invalid(catalog.version, _problems(examination.findings, limits.max_findings))
    return Valid(catalog.version, entry.schema_uri, routing_keys(entry, examination.facts))


def _entry(catalog: SchemaCatalog, declared: Declared) -> SchemaEntry | Problem:
    service = catalog.service(declared.leika_key)
    if service is None:
        detail = f"The catalog has no service with LeiKa key {declared.leika_key}."
        return Finding("unknown-service", detail).problem()
    entry = service.schemas.get(declared.schema_uri)
    if entry is None:
        elsewhere = catalog.services_accepting(declared.schema_uri)
        accepted = ", ".join(sorted(service.schemas))
        if elsewhere:
            detail = (
                f"Service {declared.leika_key} does not accept schema {declared.schema_uri!r}; "
                f"it accepts: {accepted}."
            )
            return Finding("schema-not-accepted", detail).problem()
        detail = f"The catalog has no schema {declared.schema_uri!r}; service "
        detail += f"{declared.leika_key} accepts: {accepted}."
        return Finding("unknown-schema", detail).problem()
    if entry.mime_type != declared.mime_type:
        detail = (
            f"Schema {entry.schema_uri!r} describes {entry.mime_type}, not {declared.mime_type}."
        )
        return Finding("mime-type-mismatch", detail).problem()
    problem = assurance_problem(service, declared.assurance)
    return entry if problem is None else problem


def assurance_problem(service: ServiceEntry, presented: PresentedLevel) -> Problem | None:
    """Why the presented level does not meet the service's requirement (None if it does).

    The detail names the required level and the presented one by their labels; an
    unrecognised level string is the portal's free text and is not repeated.
    """
    required = service.assurance_level
    if required is None:
        return None
    needs = f"Service {service.leika_key} requires assurance level {required.label!r} or higher"
    if presented.unrecognised:
        detail = (
            f"{needs}; the metadata's identification report presents a level Amtsweg does not "
            f"recognise (it knows the eIDAS and BSI level URIs for low, substantial and high)."
        )
        return Finding("assurance-level-unknown", detail).problem()
    if presented.level is None:
        detail = (
            f"{needs}; the metadata presents none (authenticationInformation with an "
            f"identificationReport, as FIT-Connect metadata 1.0.0 carries it)."
        )
        return Finding("assurance-level-missing", detail).problem()
    if presented.level < required:
        detail = f"{needs}; the metadata presents {presented.level.label!r}."
        return Finding("assurance-level-too-low", detail).problem()
    return None


def _refused(
    slug: str, title: str, detail: str, line: int | None, path: str | None = None
) -> Problem:
    location = Location(line=line, path=path) if line is not None or path is not None else None
    return Problem.of(slug, title, detail=detail, location=location)


def _problems(findings: list[Finding], limit: int) -> list[Problem]:
    problems = [finding.problem() for finding in findings[:limit]]
    if len(findings) > limit:
        detail = f"Only the first {limit} findings are reported; fix these and submit again."
        problems.append(Finding("findings-truncated", detail).problem())
    return problems
