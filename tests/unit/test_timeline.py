"""The operators' timeline: who did what, without personal data."""

from __future__ import annotations

from events.ledger import TrailEntry
from services.ops.readmodels.timeline import timeline


def _entry(version: int, event: str, **data: object) -> TrailEntry:
    return TrailEntry(version, event, f"2026-03-02T09:15:0{version}+00:00", "p", "h", dict(data))


def test_each_event_names_its_actor_and_keeps_personal_data_out() -> None:
    trail = [
        _entry(  # as stored before the vault: Received held the metadata and the hint
            1,
            "Received",
            portal_id="portal-a",
            leika_key="99900000000101",
            metadata={"author": "Erika Mustermann"},
            attachments=[{"filename": "Mietvertrag Mustermann.pdf"}],
            routing_hint={"postalCode": "50667"},
        ),
        _entry(2, "Validated", schema_uri="urn:x", catalog_version="2026.12+ab"),
        _entry(3, "Dispatched", delivery_id="d-1", topic="t", envelope={"data": "Erika"}),
        _entry(4, "Replayed", stage="routing", actor="erika", reason="check", outcome="unchanged"),
        _entry(5, "Assigned", authority_id="jc", by="max", reason="phoned"),
        _entry(6, "SomethingNew", note="short", blob="x" * 500, envelope={"a": 1}),
    ]
    lines = timeline(trail)
    assert [line.actor for line in lines] == [
        "portal portal-a",
        "validation",
        "delivery",
        "operator erika",
        "operator max",
        "amtsweg",
    ]
    text = " ".join(line.details for line in lines)
    assert "Mustermann" not in text
    assert "Erika" not in text
    assert "50667" not in text
    assert "hint" not in lines[0].details  # what the portal said is sealed, not summarised
    assert "2 part(s)" in lines[0].details
    assert lines[5].details == "note=short"


def test_facts_only_events_show_without_vault_names_or_hashes() -> None:
    blob = "7f0c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f/0123456789abcdef0123456789abcdef"
    trail = [
        _entry(
            1,
            "Received",
            portal_id="portal-a",
            leika_key="99900000000101",
            dossier=blob,
            data={"blob": blob, "sha512": "a" * 128, "size": 10},
            attachments=[{"blob": blob, "sha512": "b" * 128, "size": 20}],
            request_digest="d" * 64,
        ),
        _entry(2, "Withheld", authority_id="jc-koeln", reason="no-encryption-key"),
        _entry(
            3,
            "ContentErased",
            by="erika",
            rule=None,
            legal_basis="SGB X § 84 Abs. 2",
            reason="request of the applicant",
            destroyed={"key_id": "local-1", "blobs": 3},
        ),
    ]
    received, withheld, erased = timeline(trail)
    assert received.actor == "portal portal-a"
    assert "2 part(s)" in received.details
    assert "no-encryption-key" in withheld.details
    assert "jc-koeln" in withheld.details
    assert erased.actor == "operator erika"
    assert "SGB X § 84 Abs. 2" in erased.details
    text = " ".join(line.details for line in (received, withheld, erased))
    assert blob not in text
    assert "a" * 128 not in text
    assert "d" * 64 not in text
