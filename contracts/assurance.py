"""The applicant's assurance level (Vertrauensniveau), as the portal's metadata presents it.

FIT-Connect metadata 1.0.0 carries ``authenticationInformation``: a list of
identification proofs (Identifikationsnachweise), each ``{"type": "identificationReport",
"version": "<semver>", "content": "<base64url>"}``. The content is an *identification
report* (Governikus' IdentificationReport schema, a JWT payload, signed by the
identity service the applicant logged in with): a JSON object whose
``levelOfAssurance`` (report 2.x; ``loaSent`` in 1.x) is one of

- ``http://eidas.europa.eu/LoA/low|substantial|high`` (eIDAS, notified schemes),
- ``http://eidas.europa.eu/NotNotified/LoA/low|substantial|high``,
- ``http://bsi.bund.de/eID/LoA/normal|substantiell|hoch`` (BSI TR-03107-1, the national
  levels, which correspond to eIDAS low, substantial and high),
- ``unknown``.

FIT-Connect metadata 2.x has no ``authenticationInformation``: such metadata presents no
level at all.

Only the level is read; the report's other members (the person's name, the identity
service, context strings) are never copied anywhere. The report's signature is *not*
verified: Amtsweg has no trust list of identity services, and relies on the portal (which
ran the login and is authenticated by its own token) for the report it forwards.

A portal presents one level per submission. With several reports, the *lowest* counts
(every identified person must meet the service's requirement); a report whose
``idStatus`` is given and not ``success`` presents no level; a level string that is not
one of the above is *unrecognised*, and never echoed (it is the portal's free text).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

REPORT_TYPE = "identificationReport"
MAX_REPORTS = 10
"""More proofs than this are not read (the metadata's size bound applies as well)."""


class AssuranceLevel(IntEnum):
    """eIDAS levels of assurance, ordered; ``UNKNOWN`` is the report's own "unknown"."""

    UNKNOWN = 0
    LOW = 1
    SUBSTANTIAL = 2
    HIGH = 3

    @property
    def label(self) -> str:
        """``low``, ``substantial``, ``high`` or ``unknown``: what catalogs and problems say."""
        return self.name.lower()

    @classmethod
    def of_label(cls, label: str) -> AssuranceLevel:
        """The level a catalog names (``low``, ``substantial``, ``high``)."""
        return cls[label.upper()]


EIDAS_LOW = "http://eidas.europa.eu/LoA/low"
EIDAS_SUBSTANTIAL = "http://eidas.europa.eu/LoA/substantial"
EIDAS_HIGH = "http://eidas.europa.eu/LoA/high"

LEVELS_BY_URI: dict[str, AssuranceLevel] = {
    EIDAS_LOW: AssuranceLevel.LOW,
    EIDAS_SUBSTANTIAL: AssuranceLevel.SUBSTANTIAL,
    EIDAS_HIGH: AssuranceLevel.HIGH,
    "http://eidas.europa.eu/NotNotified/LoA/low": AssuranceLevel.LOW,
    "http://eidas.europa.eu/NotNotified/LoA/substantial": AssuranceLevel.SUBSTANTIAL,
    "http://eidas.europa.eu/NotNotified/LoA/high": AssuranceLevel.HIGH,
    "http://bsi.bund.de/eID/LoA/normal": AssuranceLevel.LOW,
    "http://bsi.bund.de/eID/LoA/substantiell": AssuranceLevel.SUBSTANTIAL,
    "http://bsi.bund.de/eID/LoA/hoch": AssuranceLevel.HIGH,
    "unknown": AssuranceLevel.UNKNOWN,
}
"""The identification report's ``levelOfAssurance`` values."""


@dataclass(frozen=True)
class PresentedLevel:
    """What the metadata presents: a level, nothing (``level`` None), or something unreadable.

    ``unrecognised`` is true when some proof carried a level string Amtsweg does not know
    (or could not be read as a report); it then outranks any known level, because the
    lowest counts and the unrecognised one cannot be placed.
    """

    level: AssuranceLevel | None = None
    unrecognised: bool = False

    @property
    def presented(self) -> bool:
        """Whether any proof presented a level (known or not)."""
        return self.level is not None or self.unrecognised


NOTHING_PRESENTED = PresentedLevel()


def presented_level(authentication_information: Any) -> PresentedLevel:
    """The level the metadata's ``authenticationInformation`` presents (never raises)."""
    if not isinstance(authentication_information, list):
        return NOTHING_PRESENTED
    levels: list[AssuranceLevel] = []
    unrecognised = False
    for proof in authentication_information[:MAX_REPORTS]:
        if not isinstance(proof, dict) or proof.get("type") != REPORT_TYPE:
            continue
        report = _report(proof.get("content"))
        if report is None:
            unrecognised = True
            continue
        status = report.get("idStatus", "success")
        if status != "success":
            continue
        value = report.get("levelOfAssurance", report.get("loaSent"))
        if value is None:
            continue
        level = LEVELS_BY_URI.get(value) if isinstance(value, str) else None
        if level is None:
            unrecognised = True
        else:
            levels.append(level)
    return PresentedLevel(min(levels) if levels else None, unrecognised)


def _report(content: Any) -> dict[str, Any] | None:
    """The report's JSON payload: of a compact JWS (the middle part), or the whole content."""
    if not isinstance(content, str):
        return None
    parts = content.split(".")
    if len(parts) not in (1, 3):
        return None
    payload = parts[1] if len(parts) == 3 else parts[0]
    try:
        decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        report = json.loads(decoded)
    except (binascii.Error, ValueError, RecursionError):
        return None
    return report if isinstance(report, dict) else None


def identification_report(level_uri: str, *, version: str = "2.0.0") -> dict[str, str]:
    """An ``authenticationInformation`` entry whose report carries only ``level_uri``.

    For portals' tests and examples: an unsigned JWS (``alg: none``) that holds nothing
    but the level and a success status; a real one comes signed from the identity
    service, with more members than Amtsweg reads.
    """
    header = _b64url({"alg": "none", "typ": "JWT"})
    payload = _b64url({"idStatus": "success", "levelOfAssurance": level_uri})
    return {"type": REPORT_TYPE, "version": version, "content": f"{header}.{payload}."}


def _b64url(document: dict[str, str]) -> str:
    raw = json.dumps(document, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
