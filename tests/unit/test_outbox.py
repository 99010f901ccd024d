"""What the relay publishes: a notice per event (v2, no payload), the sealed envelope for
an announcement of a delivery, opened from the vault, and nothing of erased content."""

from __future__ import annotations

import json

import pytest

from contracts import topics
from contracts.envelope_signature import SIGNATURE_HEADER, keys_by_id, verify_envelope
from contracts.messages import SubmissionEventMessage
from events.outbox import messages_for
from events.submission import Submission
from events.vault import SealError, Vault
from tests.support.authority import amtsweg_signer
from tests.support.factories import routed_submission

AUTHORITY = "jc-koeln"
TOPIC = "amtsweg.delivery.jc-koeln"
ENVELOPE = json.dumps({"schemaVersion": 2, "deliveryId": "d-1", "encryption": {}}).encode()
NOTICE_FIELDS = {"schemaVersion", "submissionId", "event", "version", "timestamp", "hash"}


def _dispatched(vault: Vault) -> tuple[Submission, dict[str, str]]:
    submission = routed_submission(AUTHORITY)
    reference = vault.put_envelope(submission.id, ENVELOPE)
    submission.dispatch("d-1", AUTHORITY, TOPIC, reference)
    return submission, reference


def _events(submission: Submission) -> list[Submission.Event]:
    events = submission.collect_events()
    assert all(isinstance(e, Submission.Event) for e in events)
    return events  # type: ignore[return-value]


def test_every_notice_is_version_2_and_carries_no_fields_of_its_event(vault: Vault) -> None:
    submission, reference = _dispatched(vault)
    submission.refuse("d-1", "rejected", [{"type": "urn:x:problem", "detail": "Mustermann"}])
    for event in _events(submission):
        notice = messages_for(event, vault.envelope)[0]
        document = json.loads(notice.value)
        assert set(document) == NOTICE_FIELDS
        message = SubmissionEventMessage.model_validate_json(notice.value)
        assert message.schema_version == 2
        assert message.submission_id == str(submission.id) == notice.key.decode()
        assert (message.event, message.version, message.hash) == (
            type(event).__name__,
            event.originator_version,
            event.hash,
        )
        for value in ("Mustermann", reference["blob"], reference["sha256"], "053150000000"):
            assert value.encode() not in notice.value


def test_a_pickup_delivery_and_its_reminder_put_nothing_on_a_topic(vault: Vault) -> None:
    submission = routed_submission(AUTHORITY)
    reference = vault.put_envelope(submission.id, ENVELOPE)
    submission.dispatch("d-1", AUTHORITY, topics.pickup_channel(AUTHORITY), reference)
    submission.remind("d-1", 1, 3.0)
    *_, dispatched, reminded = _events(submission)

    published = [messages_for(event, vault.envelope) for event in (dispatched, reminded)]

    assert [[m.topic for m in messages] for messages in published] == [
        [topics.DISPATCHED],
        [topics.submission_event_topic("Reminded")],
    ]


def test_the_message_for_a_dispatch_is_the_opened_envelope(vault: Vault) -> None:
    submission, reference = _dispatched(vault)
    dispatched = _events(submission)[-1]
    assert isinstance(dispatched, Submission.Dispatched)
    assert dispatched.envelope == reference  # the event holds the reference only

    notice, delivery = messages_for(dispatched, vault.envelope)
    assert notice.topic == "amtsweg.submissions.dispatched"
    assert delivery.topic == TOPIC
    assert delivery.key == str(submission.id).encode()
    assert delivery.value == ENVELOPE
    headers = dict(delivery.headers)
    assert headers["amtsweg-delivery-id"] == b"d-1"
    assert headers["amtsweg-notice"] == b"0"
    assert headers["amtsweg-event"] == b"Dispatched"
    assert headers["amtsweg-hash"] == dispatched.hash.encode()


def test_reminders_and_redeliveries_republish_the_same_envelope(vault: Vault) -> None:
    submission, _ = _dispatched(vault)
    submission.remind("d-1", 1, 60.0)
    submission.redeliver("q-1", actor="erika", reason="lost at the authority")
    reminded, redelivered = _events(submission)[-2:]
    for event, notice in ((reminded, b"1"), (redelivered, b"2")):
        _, delivery = messages_for(event, vault.envelope)
        assert delivery.value == ENVELOPE
        assert dict(delivery.headers)["amtsweg-notice"] == notice


def test_an_announcement_of_erased_content_becomes_its_notice_only(vault: Vault) -> None:
    submission, _ = _dispatched(vault)
    dispatched = _events(submission)[-1]
    vault.erase(submission.id)  # before the relay got to the Dispatched event

    (notice,) = messages_for(dispatched, vault.envelope)
    assert notice.topic == "amtsweg.submissions.dispatched"
    assert ENVELOPE not in notice.value


def test_an_envelope_that_is_not_the_recorded_one_is_never_published(vault: Vault) -> None:
    submission = routed_submission(AUTHORITY)
    reference = vault.put_envelope(submission.id, ENVELOPE)
    other = vault.put_envelope(submission.id, ENVELOPE.replace(b"d-1", b"d-9"))
    submission.dispatch("d-1", AUTHORITY, TOPIC, {**reference, "blob": other["blob"]})
    dispatched = _events(submission)[-1]
    with pytest.raises(SealError):
        messages_for(dispatched, vault.envelope)


def test_withholding_and_erasing_are_announced_by_their_notice_only() -> None:
    submission = routed_submission(AUTHORITY)
    submission.withhold(AUTHORITY, "no-encryption-key")
    submission.erase(by="erika", rule=None, legal_basis="x", reason="y", destroyed={})

    def no_envelope(*_: object) -> bytes:
        raise AssertionError("no envelope is opened for this event")

    withheld, erased = _events(submission)[-2:]
    assert [m.topic for m in messages_for(withheld, no_envelope)] == [
        "amtsweg.submissions.withheld"
    ]
    assert [m.topic for m in messages_for(erased, no_envelope)] == [
        "amtsweg.submissions.contenterased"
    ]


def test_a_published_envelope_carries_amtsweg_s_signature_over_its_bytes(vault: Vault) -> None:
    submission, _ = _dispatched(vault)
    dispatched = _events(submission)[-1]
    _, delivery = messages_for(dispatched, vault.envelope, amtsweg_signer().sign)
    signature = dict(delivery.headers)[SIGNATURE_HEADER].decode()
    keys = keys_by_id(amtsweg_signer().jwks())
    assert verify_envelope(delivery.value, signature, keys) == amtsweg_signer().kid
    notice = messages_for(dispatched, vault.envelope, amtsweg_signer().sign)[0]
    assert SIGNATURE_HEADER not in dict(notice.headers)  # notices carry no content to sign
