"""The case on the wire: replies to the applicant, documents handed in later.

Authority → Amtsweg: a :class:`ReplyMessage` on ``amtsweg.delivery.receipts`` (beside the
receipts; header ``amtsweg-message: reply``) or ``POST /v1/deliveries/{deliveryId}/replies``
with the authority's token; as this JSON, or signed like a receipt (a JWS compact
serialization whose payload is this JSON, :mod:`contracts.receipts`).

Amtsweg → portal: a :class:`ReplyEnvelope` on the portal's topic ``amtsweg.portal.<portal-id>``
and/or a signed callback, a :class:`RequestOverdueNotice` when a request's deadline passes;
the portal pulls content with its token (``GET /v1/submissions/{id}/replies``,
``…/replies/{replyId}/parts/{partId}``).

Portal → Amtsweg: a :class:`SupplementRequest` (``POST /v1/submissions/{id}/supplements``).

Amtsweg → authority: a :class:`SupplementEnvelope` on the authority's delivery topic
(header ``amtsweg-message: supplement``), a follow-up delivery that refers to the delivery it
follows; a :class:`RequestOverdueNotice` there too (header ``amtsweg-message:
request-overdue``). Deliveries carry ``amtsweg-message: delivery``; a message without the
header is a delivery.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.messages import DeliveryLinks, Encryption, Href, PayloadPart
from contracts.submission import Hash

MESSAGE_HEADER: Final = "amtsweg-message"
"""Which kind of message a message on a delivery, portal or receipt topic is."""
DELIVERY: Final = "delivery"
SUPPLEMENT: Final = "supplement"
REPLY: Final = "reply"
REQUEST_OVERDUE: Final = "request-overdue"

ReplyKindName = Literal["status", "request", "decision"]

MAX_REPLY_PARTS: Final = 20
MAX_REPLY_TEXT: Final = 20_000
"""Characters of a reply's subject and text together."""
SAFE_ID: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
"""A reply's and a part's id: one path segment of the portal's URLs (never ``.`` or ``..``)."""


class ReplyPart(BaseModel):
    """One document of a reply (e.g. the Bescheid as PDF), inline as base64."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    part_id: str = Field(alias="partId", min_length=1, max_length=64, pattern=SAFE_ID)
    mime_type: str = Field(alias="mimeType", max_length=255, pattern=r"^[-\w.]+/[-\w.+]+$")
    filename: str | None = Field(default=None, max_length=255)
    hash: Hash = Field(description="SHA-512 of the plaintext: Amtsweg checks it")
    content: str = Field(description="base64 of the bytes")


class ReplyMessage(BaseModel):
    """An authority's reply to a delivered submission (version 1).

    ``kind``: ``status`` (a status message), ``request`` (what is missing, in ``requested``,
    by ``due``) or ``decision`` (the Bescheid, usually with ``parts``). ``replyId`` is the
    authority's own id of the reply: the same reply again changes nothing, the same id for
    other content is refused. ``deliveryId`` is the delivery (or follow-up delivery) it
    answers.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    schema_version: Literal[1] = Field(default=1, alias="schemaVersion")
    type: Literal["reply"] = "reply"
    reply_id: str = Field(alias="replyId", min_length=1, max_length=100, pattern=SAFE_ID)
    delivery_id: str = Field(alias="deliveryId", min_length=1, max_length=100)
    submission_id: str = Field(alias="submissionId", min_length=1, max_length=100)
    authority_id: str = Field(alias="authorityId", min_length=1, max_length=100)
    kind: ReplyKindName
    subject: str = Field(min_length=1, max_length=500)
    text: str = Field(default="", max_length=MAX_REPLY_TEXT)
    requested: list[str] = Field(
        default_factory=list, max_length=50, description="what is missing (a request only)"
    )
    due: str | None = Field(
        default=None, description="ISO 8601 date-time by which a request must be answered"
    )
    reference: str | None = Field(
        default=None, max_length=200, description="the authority's own file number"
    )
    parts: list[ReplyPart] = Field(default_factory=list, max_length=MAX_REPLY_PARTS)

    @model_validator(mode="after")
    def _a_request_has_a_deadline(self) -> ReplyMessage:
        if (self.kind == "request") != (self.due is not None):
            msg = "a request needs 'due', other replies have none"
            raise ValueError(msg)
        if self.kind != "request" and self.requested:
            msg = "only a request lists what is 'requested'"
            raise ValueError(msg)
        if len({part.part_id for part in self.parts}) != len(self.parts):
            msg = "partId values must be unique"
            raise ValueError(msg)
        return self


class ReplyContent(BaseModel):
    """What the authority wrote: plain in a :class:`ReplyEnvelope`, or its JWE's payload."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    subject: str
    text: str = ""
    requested: list[str] = Field(default_factory=list)
    reference: str | None = None
    filenames: dict[str, str] = Field(
        default_factory=dict, description="partId -> file name, as the authority named it"
    )


class ReplyLinks(BaseModel):
    """Where the portal fetches the reply again."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    self_: str = Field(alias="self")


class ReplyEnvelope(BaseModel):
    """A reply as the portal gets it on ``amtsweg.portal.<portal-id>`` and from
    ``GET /v1/submissions/{id}/replies/{replyId}`` (version 1).

    With ``encryption`` (the portal registered a key), the content travels only as
    ``encryptedContent`` (JWE of the :class:`ReplyContent` JSON) and every part's
    ``reference`` answers a JWE; without it, ``content`` is plain. Parts are always by
    reference (``GET …/replies/{replyId}/parts/{partId}`` with the portal's token);
    ``sha512`` is the hash of the plaintext: check it. ``replyId`` is stable: dedupe on it.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    schema_version: Literal[1] = Field(default=1, alias="schemaVersion")
    type: Literal["reply"] = "reply"
    reply_id: str = Field(alias="replyId")
    submission_id: str = Field(alias="submissionId")
    case_id: str = Field(alias="caseId")
    authority_id: str = Field(alias="authorityId")
    kind: ReplyKindName
    replied_at: str = Field(alias="repliedAt")
    due: str | None = None
    signed: bool = Field(description="the authority signed the reply and Amtsweg checked it")
    reply_channel: str | None = Field(
        default=None,
        alias="replyChannel",
        description="the reply channel the metadata names (its name only, e.g. 'eMail')",
    )
    encryption: Encryption | None = None
    content: ReplyContent | None = None
    encrypted_content: str | None = Field(default=None, alias="encryptedContent")
    parts: list[PayloadPart] = Field(default_factory=list)
    links: ReplyLinks = Field(alias="_links")

    @model_validator(mode="after")
    def _content_matches_encryption(self) -> ReplyEnvelope:
        encrypted = self.encryption is not None
        if encrypted != (self.encrypted_content is not None) or encrypted == (
            self.content is not None
        ):
            msg = "encrypted replies carry only encryptedContent, plain ones only content"
            raise ValueError(msg)
        return self


class RequestOverdueNotice(BaseModel):
    """A request's deadline passed without an answer (to the portal and the authority)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    schema_version: Literal[1] = Field(default=1, alias="schemaVersion")
    type: Literal["request-overdue"] = "request-overdue"
    reply_id: str = Field(alias="replyId")
    submission_id: str = Field(alias="submissionId")
    case_id: str = Field(alias="caseId")
    due: str
    recorded_at: str = Field(alias="recordedAt")


class SupplementDocument(BaseModel):
    """One document handed in later, inline as base64."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    attachment_id: str = Field(alias="attachmentId", min_length=1, max_length=64)
    mime_type: str = Field(alias="mimeType", max_length=255, pattern=r"^[-\w.]+/[-\w.+]+$")
    filename: str | None = Field(default=None, max_length=255)
    hash: Hash
    content: str = Field(description="base64 of the bytes")


class SupplementRequest(BaseModel):
    """``POST /v1/submissions/{id}/supplements``: documents for an existing case.

    ``answers`` names the request (its ``replyId``) the documents answer, if any. Send an
    ``Idempotency-Key`` header: the same key and body again answer the same supplement.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    answers: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=2000, description="the applicant's note")
    attachments: list[SupplementDocument] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _unique_ids(self) -> SupplementRequest:
        ids = [a.attachment_id for a in self.attachments]
        if len(ids) != len(set(ids)):
            msg = "attachmentId values must be unique"
            raise ValueError(msg)
        return self


SupplementState = Literal["received", "dispatched", "accepted", "rejected"]
"""Where documents handed in later stand: recorded, sent to the authority as a follow-up
delivery, and the authority's receipt of it."""


class SupplementLinks(BaseModel):
    """Where the portal finds the supplement and its proof of receipt."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    self_: Href = Field(alias="self")
    confirmation: Href | None = None


class SupplementAccepted(BaseModel):
    """The answer to ``POST /v1/submissions/{id}/supplements`` (202; 200 for a retry)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    supplement_id: str = Field(alias="supplementId")
    status: SupplementState
    links: SupplementLinks = Field(alias="_links")


class SupplementPart(BaseModel):
    """One document as received: its id, the SHA-512 and size of its bytes."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    part_id: str = Field(alias="partId")
    sha512: str
    size: int


class SupplementStatus(BaseModel):
    """``GET /v1/submissions/{id}/supplements/{supplementId}``."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    supplement_id: str = Field(alias="supplementId")
    submission_id: str = Field(alias="submissionId")
    case_id: str = Field(alias="caseId")
    status: SupplementState
    answers: str | None = None
    received_at: str = Field(alias="receivedAt")
    delivery_id: str | None = Field(
        default=None, alias="deliveryId", description="its follow-up delivery, once dispatched"
    )
    parts: list[SupplementPart]
    links: SupplementLinks = Field(alias="_links")


class SupplementEnvelope(BaseModel):
    """A follow-up delivery on ``amtsweg.delivery.<authority-id>`` (version 1).

    ``deliveryId`` is the follow-up delivery's own id: answer it with a receipt like any
    delivery (``accepted`` or ``rejected``). ``refersTo`` is the delivery it follows up,
    ``answers`` the request (``replyId``) it answers, if any. Encryption as in a delivery
    envelope: with ``encryption``, the portal's note and the file names travel only as
    ``encryptedMetadata`` and every part's ``content`` is a JWE.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    schema_version: Literal[1] = Field(default=1, alias="schemaVersion")
    type: Literal["supplement"] = "supplement"
    delivery_id: str = Field(alias="deliveryId")
    refers_to: str = Field(alias="refersTo")
    supplement_id: str = Field(alias="supplementId")
    submission_id: str = Field(alias="submissionId")
    case_id: str = Field(alias="caseId")
    authority_id: str = Field(alias="authorityId")
    answers: str | None = None
    encryption: Encryption | None = None
    metadata: dict[str, object] | None = None
    encrypted_metadata: str | None = Field(default=None, alias="encryptedMetadata")
    attachments: list[PayloadPart]
    dispatched_at: str = Field(alias="dispatchedAt")
    receipt_topic: str = Field(alias="receiptTopic")
    links: DeliveryLinks = Field(alias="_links")
