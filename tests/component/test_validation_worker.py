"""The validation worker on FastStream's TestKafkaBroker with a SQLite ledger."""

from __future__ import annotations

import uuid
from uuid import UUID

from faststream.kafka import KafkaBroker, TestKafkaBroker

from contracts import topics
from contracts.assurance import EIDAS_LOW, EIDAS_SUBSTANTIAL, identification_report
from contracts.messages import SubmissionEventMessage
from events.dossier import DeclaredPart, Dossier, routing_keys
from events.ledger import Ledger
from events.lifecycle import Status
from events.vault import Vault
from services.runtime.settings import StageSettings
from services.validation import handler
from services.validation.decide import Limits
from tests.support.factories import (
    BUERGERGELD,
    XDOMEA_URI,
    metadata_for,
    new_submission,
    xdomea_sample,
)
from tests.support.validation import (
    JSON,
    SCHRIFTGUT,
    XML,
    bundled_catalog,
    json_schema_uri,
    sozial_sample,
)


def _submit(
    ledger: Ledger,
    vault: Vault,
    content: bytes,
    *,
    mime_type: str = XML,
    schema_uri: str = XDOMEA_URI,
    leika: str = BUERGERGELD,
    assurance: str | None = EIDAS_SUBSTANTIAL,
) -> SubmissionEventMessage:
    """A Received submission whose data (of ``mime_type``) and dossier are sealed in ``vault``.

    ``sealed_submission`` declares every data part as XML; here the declared media type is
    what validation reads from the dossier, so it is built the same way with ``mime_type``.
    """
    submission_id = uuid.uuid4()
    metadata = metadata_for(content, leika=leika, schema_uri=schema_uri, assurance=assurance)
    metadata["contentStructure"]["data"]["submissionSchema"]["mimeType"] = mime_type
    dossier = Dossier(
        metadata=metadata,
        routing=None,
        data=DeclaredPart("data", mime_type, schema_uri=schema_uri),
        attachments=(),
    )
    sealed = vault.put(submission_id, content)
    submission = new_submission(
        submission_id,
        chain=ledger.chain_keys,
        leika_key=leika,
        service_identifier=f"urn:de:fim:leika:leistung:{leika}",
        dossier=vault.put_document(submission_id, dossier.document()).blob,
        data={"blob": sealed.blob, "sha512": sealed.sha512, "size": sealed.size},
    )
    ledger.save(submission)
    return SubmissionEventMessage(
        submission_id=str(submission.id),
        event="Received",
        version=1,
        timestamp=submission.created_on.isoformat(),
        hash=submission.chain_head,
    )


async def _deliver(ledger: Ledger, vault: Vault, *messages: SubmissionEventMessage) -> None:
    broker = KafkaBroker()
    handler.register(
        broker, ledger, vault, bundled_catalog(), Limits(), stage_settings=StageSettings()
    )
    async with TestKafkaBroker(broker) as test_broker:
        for message in messages:
            await test_broker.publish(
                message.model_dump_json(by_alias=True).encode(), topics.RECEIVED
            )


async def test_valid_document_is_validated_once(ledger: Ledger, vault: Vault) -> None:
    message = _submit(ledger, vault, xdomea_sample())
    await _deliver(ledger, vault, message, message)  # the second is a redelivery
    trail = ledger.trail(UUID(message.submission_id))
    assert [e.event for e in trail] == ["Received", "Validated"]
    assert trail[1].data["schema_uri"] == XDOMEA_URI
    assert trail[1].data["catalog_version"] == bundled_catalog().version
    assert trail[1].data["routing_keys"] == []
    assert trail[1].data["findings"] is None  # nothing found, nothing sealed


async def test_invalid_document_is_rejected_with_problems(ledger: Ledger, vault: Vault) -> None:
    broken = xdomea_sample().replace(b"<xdomea:Kopf>", b"<xdomea:Kopf><xdomea:Unerwartet/>", 1)
    assert broken != xdomea_sample()
    message = _submit(ledger, vault, broken)
    await _deliver(ledger, vault, message)
    submission = ledger.get_submission(UUID(message.submission_id))
    assert submission.status is Status.REJECTED
    assert submission.problems
    assert submission.problems[0]["type"].endswith("schema-violation")
    assert submission.problems[0]["location"]["line"] >= 1


async def test_an_applicant_below_the_services_assurance_level_is_rejected_before_routing(
    ledger: Ledger, vault: Vault
) -> None:
    too_low = _submit(ledger, vault, xdomea_sample(), assurance=EIDAS_LOW)
    missing = _submit(ledger, vault, xdomea_sample(), assurance=None)
    await _deliver(ledger, vault, too_low, missing)

    slugs = {}
    for message in (too_low, missing):
        submission = ledger.get_submission(UUID(message.submission_id))
        assert submission.status is Status.REJECTED
        slugs[message.submission_id] = [p["type"].rsplit("/", 1)[1] for p in submission.problems]
    assert slugs == {
        too_low.submission_id: ["assurance-level-too-low"],
        missing.submission_id: ["assurance-level-missing"],
    }
    trail = str([entry.data for entry in ledger.trail(UUID(too_low.submission_id))])
    assert "'low'" in trail
    assert identification_report(EIDAS_LOW)["content"] not in trail  # only the level's label


async def test_hostile_document_is_rejected(ledger: Ledger, vault: Vault) -> None:
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    )
    message = _submit(ledger, vault, hostile)
    await _deliver(ledger, vault, message)
    submission = ledger.get_submission(UUID(message.submission_id))
    assert submission.status is Status.REJECTED
    assert "root:" not in str(submission.problems)


async def test_messages_that_cannot_be_processed_do_not_block(ledger: Ledger, vault: Vault) -> None:
    valid = _submit(ledger, vault, xdomea_sample())
    unknown = valid.model_copy(update={"submission_id": "00000000-0000-4000-8000-000000000000"})
    broker = KafkaBroker()
    handler.register(
        broker, ledger, vault, bundled_catalog(), Limits(), stage_settings=StageSettings()
    )
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(b"{not json", topics.RECEIVED)
        await test_broker.publish(unknown.model_dump_json(by_alias=True).encode(), topics.RECEIVED)
        await test_broker.publish(valid.model_dump_json(by_alias=True).encode(), topics.RECEIVED)
    assert ledger.get_submission(UUID(valid.submission_id)).status is Status.VALIDATED


async def test_routing_keys_found_in_the_data_go_into_the_validated_event(
    ledger: Ledger, vault: Vault
) -> None:
    message = _submit(
        ledger,
        vault,
        sozial_sample("buergergeld.json"),
        mime_type=JSON,
        schema_uri=json_schema_uri("buergergeld"),
    )
    await _deliver(ledger, vault, message)
    trail = ledger.trail(UUID(message.submission_id))
    assert [e.event for e in trail] == ["Received", "Validated"]
    keys = {"postalCode": "51147", "municipality": "Köln", "ars": "053150000000", "ags": "05315000"}
    assert trail[1].data["routing_keys"] == sorted(keys)  # the names only
    assert set(trail[1].data) == {"catalog_version", "schema_uri", "routing_keys", "findings"}
    submission = ledger.get_submission(UUID(message.submission_id))
    assert submission.findings == trail[1].data["findings"]
    assert routing_keys(vault, submission) == keys  # the values, sealed in the vault
    assert ledger.verify(UUID(message.submission_id)) is None


async def test_a_schema_the_service_does_not_accept_is_rejected(
    ledger: Ledger, vault: Vault
) -> None:
    message = _submit(
        ledger,
        vault,
        sozial_sample("buergergeld.json"),
        mime_type=JSON,
        schema_uri=json_schema_uri("buergergeld"),
        leika=SCHRIFTGUT,
    )
    await _deliver(ledger, vault, message)
    [rejected] = ledger.trail(UUID(message.submission_id))[1:]
    assert rejected.event == "Rejected"
    assert rejected.data["catalog_version"] == bundled_catalog().version
    assert [p["type"].rsplit("/", 1)[1] for p in rejected.data["problems"]] == [
        "schema-not-accepted"
    ]


async def test_rejections_carry_problems_with_locations_and_no_values(
    ledger: Ledger, vault: Vault
) -> None:
    document = sozial_sample("buergergeld.json").replace(b'"51147"', b'"5114X"')
    document = document.replace(b'"1984-08-12"', b'"2029-08-12"')
    message = _submit(
        ledger, vault, document, mime_type=JSON, schema_uri=json_schema_uri("buergergeld")
    )
    await _deliver(ledger, vault, message)
    submission = ledger.get_submission(UUID(message.submission_id))
    assert submission.status is Status.REJECTED
    assert [p["location"]["path"] for p in submission.problems] == [
        "/antragsteller/anschrift/postleitzahl",
        "/antragsteller/geburtsdatum",
        "/antragsteller/geburtsdatum",
    ]
    assert all(p["location"]["line"] > 1 for p in submission.problems)
    assert "5114X" not in str(submission.problems)
    assert "2029" not in str(submission.problems)
