"""Metadata checks: the FIT-Connect schema 1.0.0 and Amtsweg's own model, every finding."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts.fit_connect import METADATA_SCHEMA_ID, metadata_schema
from services.intake.errors import ProblemError
from services.intake.metadata import (
    MAX_METADATA_ERRORS,
    json_pointer,
    metadata_validator,
    parse_metadata,
)
from services.intake.settings import IntakeSettings
from tests.support.factories import metadata_for
from tests.support.intake import ATTACHMENTS

DATA = b"<antrag/>"


def _metadata() -> dict[str, Any]:
    return metadata_for(DATA, attachments=ATTACHMENTS)


def _findings(document: Any) -> list[dict[str, str]]:
    """The errors of the invalid-metadata problem for ``document``."""
    with pytest.raises(ProblemError) as raised:
        parse_metadata(document, IntakeSettings())
    problem = raised.value.document()
    assert raised.value.status == 422
    assert problem.type.endswith("/invalid-metadata")
    errors: list[dict[str, str]] = problem.model_dump()["errors"]
    return errors


def _pointers(document: Any) -> dict[str, str]:
    return {e["pointer"]: e["keyword"] for e in _findings(document)}


def test_the_vendored_schema_is_fit_connect_metadata_1_0_0() -> None:
    schema = metadata_schema()
    assert schema["$id"] == METADATA_SCHEMA_ID
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert metadata_validator() is metadata_validator()  # compiled once


def test_valid_metadata_passes_schema_and_model() -> None:
    metadata = parse_metadata(_metadata(), IntakeSettings())
    assert metadata.public_service_type.leika_key == "99900000000101"
    assert [a.attachment_id for a in metadata.content_structure.attachments] == [
        a for a, _ in ATTACHMENTS
    ]


def test_optional_fit_connect_members_are_checked_too() -> None:
    document = _metadata()
    document["replyChannel"] = {"eMail": {"address": "postfach@example.org"}}
    document["additionalReferenceInfo"] = {"applicationDate": "2024-02-29"}
    parse_metadata(document, IntakeSettings())
    document["additionalReferenceInfo"]["applicationDate"] = "2024-02-30"
    document["paymentInformation"] = {
        "transactionReference": "K-1",
        "transactionId": "t-1",
        "paymentMethod": "BITCOIN",
        "status": "BOOKED",
        "transactionTimestamp": "yesterday",
    }
    assert _pointers(document) == {
        "/additionalReferenceInfo/applicationDate": "format",
        "/paymentInformation/paymentMethod": "enum",
        "/paymentInformation/transactionTimestamp": "format",
    }


def test_every_schema_finding_is_listed_with_its_pointer() -> None:
    document = _metadata()
    structure = document["contentStructure"]
    structure["data"]["hash"]["content"] = "ABC"
    structure["data"]["submissionSchema"]["schemaUri"] = "not a uri"
    structure["attachments"][0]["attachmentId"] = "not-a-uuid-but-long-enough-0123456"
    structure["attachments"][1]["purpose"] = "selfie"
    del structure["attachments"][1]["mimeType"]
    assert _pointers(document) == {
        "/contentStructure/data/hash/content": "pattern",
        "/contentStructure/data/submissionSchema/schemaUri": "format",
        "/contentStructure/attachments/0/attachmentId": "format",
        "/contentStructure/attachments/1/purpose": "enum",
        "/contentStructure/attachments/1/mimeType": "required",
    }


def test_what_fit_connect_requires_is_required() -> None:
    document = _metadata()
    del document["contentStructure"]["attachments"]  # Amtsweg's model alone would default it
    assert _pointers(document) == {"/contentStructure/attachments": "required"}


def test_amtsweg_model_findings_join_the_schema_findings_once() -> None:
    document = _metadata()
    document["publicServiceType"]["identifier"] = "urn:de:fim:leika:leistung:123"  # a URN
    document["contentStructure"]["data"]["hash"]["content"] = "ABC"  # both find this
    findings = _findings(document)
    assert [f["pointer"] for f in findings] == [
        "/contentStructure/data/hash/content",
        "/publicServiceType/identifier",
    ]
    assert "14-digit" in findings[1]["detail"]


@pytest.mark.parametrize("document", [None, [], "metadata", 42])
def test_metadata_that_is_no_object_is_one_finding_at_the_root(document: Any) -> None:
    assert _findings(document) == [
        {"pointer": "", "keyword": "type", "detail": "must be of type object"}
    ]


def test_findings_never_quote_the_values() -> None:
    document = _metadata()
    document["replyChannel"] = {"eMail": {"address": "erika.mustermann-at-example.org"}}
    document["additionalReferenceInfo"] = {"senderReference": ["Erika", "Mustermann"]}
    findings = _findings(document)
    assert {f["pointer"] for f in findings} == {
        "/replyChannel/eMail/address",
        "/additionalReferenceInfo/senderReference",
    }
    assert "ustermann" not in json.dumps(findings)


def test_findings_are_limited() -> None:
    document = _metadata()
    attachment = document["contentStructure"]["attachments"][0]
    document["contentStructure"]["attachments"] = [
        {**attachment, "purpose": "?", "mimeType": "?"} for _ in range(50)
    ]
    findings = _findings(document)
    assert len(findings) == MAX_METADATA_ERRORS


@pytest.mark.parametrize(
    ("path", "pointer"),
    [((), ""), (("a", 0, "b"), "/a/0/b"), (("a/b", "m~n"), "/a~1b/m~0n")],
)
def test_json_pointers_follow_rfc_6901(path: tuple[Any, ...], pointer: str) -> None:
    assert json_pointer(path) == pointer
