"""Writing an application to the output folder: one folder per delivery, made atomically.

Names come from Amtsweg's ids and the media type, never from the sender's filenames (those
are kept in ``delivery.json``), so nothing a portal sends can choose a path. Folders are
0700 and files 0600 (``receiver.private``): only the receiver's user reads applications.

Documents handed in later go next to their case, into the folder of the delivery they
follow up: ``<out>/<refersTo>/supplements/<supplementId>/`` with ``supplement.json`` and
the documents.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from contracts import linear_regex
from receiver.private import private_directory, write_private
from receiver.unpack import Application, SupplementDocuments

_SAFE_ID = linear_regex.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")
_EXTENSIONS = {
    "application/xml": ".xml",
    "text/xml": ".xml",
    "application/json": ".json",
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "text/plain": ".txt",
}


def _name(part_id: str, mime_type: str, index: int) -> str:
    stem = part_id if _SAFE_ID.fullmatch(part_id) else f"part-{index}"
    return stem + _EXTENSIONS.get(mime_type.lower(), ".bin")


def _json(document: object) -> bytes:
    return json.dumps(document, indent=2, ensure_ascii=False).encode()


def write_application(out: Path, application: Application) -> Path:
    """``<out>/<deliveryId>/`` with ``delivery.json``, ``metadata.json``, data and attachments."""
    envelope = application.envelope
    target = out / envelope.delivery_id
    if not _SAFE_ID.fullmatch(envelope.delivery_id):
        raise ValueError(f"not a usable delivery id: {envelope.delivery_id!r}")
    if target.exists():
        return target  # written before a crash; its content is the same
    temporary = out / f".incoming-{envelope.delivery_id}"
    shutil.rmtree(temporary, ignore_errors=True)
    private_directory(temporary / "attachments")
    files = []
    for index, part in enumerate(application.parts):
        name = _name(part.part_id, part.mime_type, index)
        relative = name if index == 0 else f"attachments/{name}"
        write_private(temporary / relative, part.content)
        files.append(
            {
                "partId": part.part_id,
                "file": relative,
                "mimeType": part.mime_type,
                "sha512": part.sha512,
                "filename": part.filename,
            }
        )
    summary = {
        "deliveryId": envelope.delivery_id,
        "submissionId": envelope.submission_id,
        "authorityId": envelope.authority_id,
        "serviceIdentifier": envelope.service_identifier,
        "dispatchedAt": envelope.dispatched_at,
        "parts": files,
    }
    write_private(temporary / "delivery.json", _json(summary))
    write_private(temporary / "metadata.json", _json(application.metadata))
    temporary.rename(target)
    return target


def write_supplement(out: Path, supplement: SupplementDocuments) -> Path:
    """``<out>/<refersTo>/supplements/<supplementId>/``: ``supplement.json`` and the documents."""
    envelope = supplement.envelope
    for value in (envelope.delivery_id, envelope.refers_to, envelope.supplement_id):
        if not _SAFE_ID.fullmatch(value):
            raise ValueError(f"not a usable id: {value!r}")
    target = out / envelope.refers_to / "supplements" / envelope.supplement_id
    if target.exists():
        return target  # written before a crash; its content is the same
    temporary = out / f".incoming-{envelope.delivery_id}"
    shutil.rmtree(temporary, ignore_errors=True)
    private_directory(temporary)
    files = []
    for index, part in enumerate(supplement.parts):
        name = _name(part.part_id, part.mime_type, index)
        write_private(temporary / name, part.content)
        files.append(
            {
                "partId": part.part_id,
                "file": name,
                "mimeType": part.mime_type,
                "sha512": part.sha512,
                "filename": part.filename,
            }
        )
    summary = {
        "deliveryId": envelope.delivery_id,
        "refersTo": envelope.refers_to,
        "supplementId": envelope.supplement_id,
        "submissionId": envelope.submission_id,
        "caseId": envelope.case_id,
        "authorityId": envelope.authority_id,
        "answers": envelope.answers,
        "note": supplement.metadata.get("note"),
        "dispatchedAt": envelope.dispatched_at,
        "parts": files,
    }
    write_private(temporary / "supplement.json", _json(summary))
    private_directory(target.parent)
    temporary.rename(target)
    return target


def write_notice(out: Path, kind: str, reply_id: str, document: object) -> Path:
    """``<out>/notices/<kind>-<replyId>.json`` (an overdue request, say); written once."""
    if not _SAFE_ID.fullmatch(reply_id):
        reply_id = hashlib.sha256(reply_id.encode()).hexdigest()[:32]
    target = private_directory(out / "notices") / f"{kind}-{reply_id}.json"
    if not target.exists():
        write_private(target, _json(document))
    return target
