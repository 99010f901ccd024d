"""Intake contract v1: what a portal posts and what it gets back.

Metadata follows the FIT-Connect metadata schema 1.0.0 (only the parts Amtsweg acts on
are modelled; everything else is kept as sent). The routing hint is Amtsweg's own
addition, outside the FIT-Connect metadata.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contracts import linear_regex
from contracts.assurance import PresentedLevel, presented_level

LEIKA_URN = linear_regex.compile(r"^urn:de:fim:leika:leistung:(\d{14})$")
"""LeiKa (Leistungskatalog der öffentlichen Verwaltung): 14-digit keys of public services."""

SHA512_HEX = r"^[a-f0-9]{128}$"


class Hash(BaseModel):
    """A hex SHA-512 digest as FIT-Connect declares it."""

    model_config = ConfigDict(frozen=True)

    type: Literal["sha512"] = "sha512"
    content: str = Field(pattern=SHA512_HEX)


class PublicServiceType(BaseModel):
    """The public service (Verwaltungsleistung) applied for."""

    model_config = ConfigDict(extra="allow")

    identifier: str
    name: str | None = None

    @field_validator("identifier")
    @classmethod
    def _leika(cls, value: str) -> str:
        if not LEIKA_URN.fullmatch(value):
            msg = "must be urn:de:fim:leika:leistung: followed by a 14-digit LeiKa key"
            raise ValueError(msg)
        return value

    @property
    def leika_key(self) -> str:
        """The 14-digit LeiKa key."""
        match = LEIKA_URN.fullmatch(self.identifier)
        assert match is not None  # guaranteed by the validator
        return match.group(1)


class SubmissionSchema(BaseModel):
    """The schema the data declares to follow."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    schema_uri: str = Field(alias="schemaUri", min_length=1, max_length=2048)
    mime_type: Literal["application/xml", "application/json"] = Field(alias="mimeType")


class DataStructure(BaseModel):
    """Declared hash and schema of the data (Fachdaten)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    hash: Hash
    submission_schema: SubmissionSchema = Field(alias="submissionSchema")


class AttachmentStructure(BaseModel):
    """Declared hash and kind of one attachment (Anlage)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    attachment_id: str = Field(alias="attachmentId", min_length=32, max_length=36)
    hash: Hash
    purpose: Literal["form", "attachment", "report"]
    mime_type: str = Field(alias="mimeType", max_length=255, pattern=r"^[-\w.]+/[-\w.+]+$")
    filename: str | None = Field(default=None, max_length=255)


class ContentStructure(BaseModel):
    """What the submission contains."""

    model_config = ConfigDict(extra="allow")

    data: DataStructure
    attachments: list[AttachmentStructure] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _unique_attachment_ids(self) -> ContentStructure:
        ids = [a.attachment_id for a in self.attachments]
        if len(ids) != len(set(ids)):
            msg = "attachmentId values must be unique"
            raise ValueError(msg)
        return self


class Metadata(BaseModel):
    """FIT-Connect submission metadata 1.0.0 (the parts Amtsweg acts on)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    public_service_type: PublicServiceType = Field(alias="publicServiceType")
    content_structure: ContentStructure = Field(alias="contentStructure")

    @property
    def assurance(self) -> PresentedLevel:
        """The applicant's assurance level its ``authenticationInformation`` presents.

        Only the level is read (:mod:`contracts.assurance`); the member itself stays as
        sent, checked by the FIT-Connect schema only.
        """
        return presented_level((self.model_extra or {}).get("authenticationInformation"))


class RoutingHint(BaseModel):
    """Where the applicant lives, when the portal knows it.

    ARS (Amtlicher Regionalschlüssel): 12 digits, state (2) + district (3) +
    municipal association (4) + municipality (3). AGS (Amtlicher Gemeindeschlüssel):
    8 digits, the same without the association part.
    Routing prefers ARS, then AGS, then the postal code (with ``municipality`` when the
    code spans several municipalities).
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    ars: str | None = Field(default=None, pattern=r"^\d{12}$")
    ags: str | None = Field(default=None, pattern=r"^\d{8}$")
    postal_code: str | None = Field(default=None, alias="postalCode", pattern=r"^\d{5}$")
    municipality: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="the municipality's name, to pick one when a postal code spans several",
    )


class AttachmentContent(BaseModel):
    """An attachment's bytes in the JSON form of the intake request."""

    attachment_id: str = Field(alias="attachmentId")
    content: str = Field(description="base64")


class SubmissionRequest(BaseModel):
    """The JSON form of ``POST /v1/submissions`` (and of messages on ``amtsweg.intake``)."""

    model_config = ConfigDict(populate_by_name=True)

    metadata: Metadata
    data: str = Field(description="the data (Fachdaten), base64")
    attachments: list[AttachmentContent] = Field(default_factory=list)
    routing: RoutingHint | None = None


class IntakeMessage(SubmissionRequest):
    """A message on ``amtsweg.intake``: the JSON form, plus portal and key unless in headers.

    Headers ``amtsweg-portal-id`` and ``amtsweg-idempotency-key`` may carry them instead;
    when both are given they must agree.
    """

    portal_id: str | None = Field(default=None, alias="portalId", min_length=1, max_length=255)
    idempotency_key: str | None = Field(
        default=None, alias="idempotencyKey", min_length=1, max_length=255
    )


class Link(BaseModel):
    """A hypermedia link."""

    href: str


class SubmissionAccepted(BaseModel):
    """The ``202`` answer to a submission."""

    model_config = ConfigDict(populate_by_name=True)

    submission_id: str = Field(alias="submissionId")
    status: str
    links: dict[str, Link] = Field(alias="_links")


class SubmissionStatus(BaseModel):
    """``GET /v1/submissions/{id}``."""

    model_config = ConfigDict(populate_by_name=True)

    submission_id: str = Field(alias="submissionId")
    status: str
    service_identifier: str = Field(alias="serviceIdentifier")
    authority_id: str | None = Field(default=None, alias="authorityId")
    delivery_id: str | None = Field(default=None, alias="deliveryId")
    received_at: str = Field(alias="receivedAt")
    updated_at: str = Field(alias="updatedAt")
    problems: list[dict[str, object]] = Field(default_factory=list)
    links: dict[str, Link] = Field(alias="_links")


class TrailEvent(BaseModel):
    """One entry of a submission's audit trail."""

    model_config = ConfigDict(populate_by_name=True)

    version: int
    event: str
    timestamp: str
    hash: str
    prev_hash: str = Field(alias="prevHash")
    data: dict[str, object]


class TrailPage(BaseModel):
    """``GET /v1/submissions/{id}/events`` — FIT-Connect style paging."""

    model_config = ConfigDict(populate_by_name=True)

    offset: int
    count: int
    total_count: int = Field(alias="totalCount")
    events: list[TrailEvent]
