"""Submissions for ``amtsweg bench pipeline``: an xdomea message, optionally an attachment.

The data is an xdomea 3.0.0 ``Aussonderung.Aussonderung.0503`` message (a published XÖV
standard, ~20 KB by default) under the Bürgergeld key, whose catalog entry accepts
xdomea; the routing hint names Köln (ARS 053150000000), so the submission reaches
``jobcenter-koeln``. Every submission is distinct, as real ones are: its xdomea
``ProzessID`` is new, and its attachment ends in bytes of its own, so the
content-addressed blob store never sees a repeated blob. The attachment's SHA-512 is
resumed from its fixed prefix, so building one costs the client microseconds, not a hash
of a megabyte.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts.assurance import EIDAS_SUBSTANTIAL, identification_report
from harness.bench import documents as docs

AUTHORITY = "jobcenter-koeln"
ROUTING = {"ars": "053150000000"}
"""Köln: the seed directory's Jobcenter for the Bürgergeld key."""

_PROCESS_ID = b"242f44e8-bebf-4503-a086-db252c6a4277"
"""The ``ProzessID`` of :mod:`harness.bench.documents`' xdomea head, replaced per submission."""

_BOUNDARY = "amtsweg-bench-7d1f0c2a9e"


@dataclass(frozen=True)
class Attachment:
    """An attachment as chunks (the shared prefix is never copied) and its SHA-512."""

    attachment_id: str
    chunks: tuple[bytes, ...]
    base64_chunks: tuple[bytes, ...]
    sha512: str


@dataclass(frozen=True)
class BenchSubmission:
    """One submission: its idempotency key, metadata (JSON), data and attachment."""

    key: str
    metadata: bytes
    data: bytes
    attachment: Attachment | None


class Payloads:
    """Builds distinct submissions of one shape: ``document_bytes`` of data, an attachment."""

    def __init__(self, document_bytes: int, attachment_bytes: int) -> None:
        self.document = docs.xdomea_document(document_bytes)
        if self.document.count(_PROCESS_ID) != 1:
            raise RuntimeError("the bench document has no single ProzessID to replace")
        self.attachment_bytes = attachment_bytes
        # A prefix whose length is a multiple of 3 has a base64 form that can be joined.
        prefix_length = max(0, (attachment_bytes - 64) // 3 * 3)
        self._suffix_length = attachment_bytes - prefix_length
        self._prefix = random.Random(attachment_bytes).randbytes(prefix_length)  # noqa: S311
        self._prefix_b64 = base64.b64encode(self._prefix)
        self._prefix_hash = hashlib.sha512(self._prefix)

    def build(self, key: str) -> BenchSubmission:
        """The submission with idempotency key ``key``; its content depends on the key."""
        seed = hashlib.sha512(key.encode()).digest()
        process_id = str(uuid.UUID(bytes=seed[:16], version=4)).encode()
        data = self.document.replace(_PROCESS_ID, process_id)
        attachment = self._attachment(seed) if self.attachment_bytes else None
        metadata = json.dumps(_metadata(data, attachment), separators=(",", ":")).encode()
        return BenchSubmission(key, metadata, data, attachment)

    def _attachment(self, seed: bytes) -> Attachment:
        suffix = (seed * (self._suffix_length // len(seed) + 1))[: self._suffix_length]
        digest = self._prefix_hash.copy()
        digest.update(suffix)
        attachment_id = str(uuid.UUID(bytes=seed[16:32], version=4))
        return Attachment(
            attachment_id,
            (self._prefix, suffix),
            (self._prefix_b64, base64.b64encode(suffix)),
            digest.hexdigest(),
        )


def _metadata(data: bytes, attachment: Attachment | None) -> dict[str, Any]:
    """FIT-Connect metadata 1.0.0 declaring the data and the attachment."""
    attachments = []
    if attachment is not None:
        attachments.append(
            {
                "attachmentId": attachment.attachment_id,
                "hash": {"type": "sha512", "content": attachment.sha512},
                "purpose": "attachment",
                "mimeType": "application/pdf",
                "filename": "nachweis.pdf",
            }
        )
    return {
        "publicServiceType": {"identifier": f"urn:de:fim:leika:leistung:{docs.BUERGERGELD}"},
        "contentStructure": {
            "data": {
                "hash": {"type": "sha512", "content": hashlib.sha512(data).hexdigest()},
                "submissionSchema": {"schemaUri": docs.XDOMEA_URI, "mimeType": "application/xml"},
            },
            "attachments": attachments,
        },
        # Bürgergeld requires the applicant identified at "substantial" (the catalog says so)
        "authenticationInformation": [identification_report(EIDAS_SUBSTANTIAL)],
    }


def multipart(submission: BenchSubmission) -> tuple[str, list[bytes]]:
    """``POST /v1/submissions`` as ``multipart/form-data``: content type and body chunks."""
    routing = json.dumps(ROUTING).encode()
    chunks = [
        _field("metadata", "application/json") + submission.metadata,
        _field("routing", "application/json") + routing,
        _field("data", "application/xml", "data.xml") + submission.data,
    ]
    if submission.attachment is not None:
        chunks.append(_field("attachment", "application/pdf", "nachweis.pdf"))
        chunks.extend(submission.attachment.chunks)
    chunks.append(f"\r\n--{_BOUNDARY}--\r\n".encode())
    chunks[0] = chunks[0].removeprefix(b"\r\n")  # the body starts with the first boundary
    return f"multipart/form-data; boundary={_BOUNDARY}", chunks


def _field(name: str, content_type: str, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return (
        f"\r\n--{_BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()


def intake_message(submission: BenchSubmission, routing: Mapping[str, str] = ROUTING) -> bytes:
    """The value of an ``amtsweg.intake`` message: the JSON form of the submission."""
    attachments = b"[]"
    if submission.attachment is not None:
        attachments = b"".join(
            (
                b'[{"attachmentId":"',
                submission.attachment.attachment_id.encode(),
                b'","content":"',
                *submission.attachment.base64_chunks,
                b'"}]',
            )
        )
    return b"".join(
        (
            b'{"metadata":',
            submission.metadata,
            b',"data":"',
            base64.b64encode(submission.data),
            b'","attachments":',
            attachments,
            b',"routing":',
            json.dumps(dict(routing)).encode(),
            b"}",
        )
    )
