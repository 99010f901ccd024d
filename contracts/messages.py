"""Messages on Kafka, version 1: ledger events as published, deliveries, receipts."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.problems import Problem


class SubmissionEventMessage(BaseModel):
    """A ledger event as the relay publishes it on ``amtsweg.submissions.<event>``.

    Key: the submission id. It carries the event's chain hash so a consumer can tell a
    redelivered event from a new one.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    schema_version: Literal[1] = Field(default=1, alias="schemaVersion")
    submission_id: str = Field(alias="submissionId")
    event: str
    version: int
    timestamp: str
    hash: str
    data: dict[str, object]


class PayloadPart(BaseModel):
    """Data or one attachment of a delivery: inline (base64) when small, else a reference."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    part_id: str = Field(alias="partId", description="'data' or the attachmentId")
    mime_type: str = Field(alias="mimeType")
    size: int
    sha512: str
    content: str | None = Field(default=None, description="base64, when inline")
    reference: str | None = Field(default=None, description="blob reference, when not inline")
    filename: str | None = None


class DeliveryEnvelope(BaseModel):
    """What a receiving authority gets on ``amtsweg.delivery.<authority-id>``.

    ``deliveryId`` is stable across redeliveries: receivers dedupe on it.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    schema_version: Literal[1] = Field(default=1, alias="schemaVersion")
    delivery_id: str = Field(alias="deliveryId")
    submission_id: str = Field(alias="submissionId")
    authority_id: str = Field(alias="authorityId")
    service_identifier: str = Field(alias="serviceIdentifier")
    metadata: dict[str, object]
    data: PayloadPart
    attachments: list[PayloadPart] = Field(default_factory=list)
    dispatched_at: str = Field(alias="dispatchedAt")


ReceiptOutcome = Literal["accepted", "rejected", "not-responsible"]


class Receipt(BaseModel):
    """An authority's answer to a delivery, on ``amtsweg.delivery.receipts``."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    schema_version: Literal[1] = Field(default=1, alias="schemaVersion")
    delivery_id: str = Field(alias="deliveryId")
    submission_id: str = Field(alias="submissionId")
    authority_id: str = Field(alias="authorityId")
    outcome: ReceiptOutcome
    problems: list[Problem] = Field(default_factory=list)
    reference: str | None = Field(default=None, description="the authority's own file number")
