"""The operators' timeline: who did what, without personal data."""

from __future__ import annotations

from events.ledger import TrailEntry
from services.ops.readmodels.timeline import timeline


def _entry(version: int, event: str, **data: object) -> TrailEntry:
    return TrailEntry(version, event, f"2026-03-02T09:15:0{version}+00:00", "p", "h", dict(data))


def test_each_event_names_its_actor_and_keeps_personal_data_out() -> None:
    trail = [
        _entry(
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
    assert "hint postalCode" in lines[0].details
    assert "2 part(s)" in lines[0].details
    assert lines[5].details == "note=short"
