"""The Submission aggregate: state machine, idempotent steps, chain hashes."""

from __future__ import annotations

import pytest

from contracts.cases import case_id_of
from events.chain import GENESIS, ChainLink, first_break
from events.chain_keys import ChainKeys
from events.lifecycle import InvalidTransitionError, Status
from events.submission import Submission
from tests.support.factories import new_submission

_BASE = {
    "originator_id",
    "originator_version",
    "timestamp",
    "prev_hash",
    "hash",
    "originator_topic",
}


def _links(submission: Submission) -> list[tuple[ChainLink, str]]:
    links = []
    for event in submission.collect_events():
        assert isinstance(event, Submission.Event)
        data = {
            k: v
            for k, v in event.__dict__.items()
            if k
            not in {
                "originator_id",
                "originator_version",
                "timestamp",
                "prev_hash",
                "hash",
                "originator_topic",
            }
        }
        link = ChainLink(
            str(event.originator_id),
            event.originator_version,
            type(event).__name__,
            event.timestamp,
            event.prev_hash,
            data,
        )
        links.append((link, event.hash))
    return links


def _through_dispatch() -> Submission:
    submission = new_submission()
    submission.validate("cat-1", "urn:x")
    submission.route("jc-koeln", "053150000000", "05315", "dir-1")
    submission.dispatch("d-1", "jc-koeln", "amtsweg.delivery.jc-koeln", {"deliveryId": "d-1"})
    return submission


def test_happy_path_reaches_accepted() -> None:
    submission = _through_dispatch()
    assert submission.accept("d-1", "AZ-1") is True
    assert submission.status is Status.ACCEPTED
    assert submission.version == 5


def test_every_step_is_idempotent() -> None:
    submission = _through_dispatch()
    version = submission.version
    assert submission.validate("cat-1", "urn:x") is False
    assert submission.reject("cat-1", []) is False
    assert submission.route("jc-koeln", "053150000000", "05315", "dir-1") is False
    assert submission.dispatch("d-1", "jc-koeln", "t", {}) is False
    assert submission.version == version
    assert submission.accept("d-1", None) is True
    assert submission.accept("d-1", None) is False
    assert submission.refuse("d-1", "rejected", []) is False
    assert submission.version == version + 1


def test_terminal_failures_stop_the_flow() -> None:
    rejected = new_submission()
    rejected.reject("cat-1", [{"type": "t"}])
    assert rejected.status is Status.REJECTED
    assert rejected.validate("cat-1", "urn:x") is False
    with pytest.raises(InvalidTransitionError):
        rejected.route("a", "05", "05", "d")

    unroutable = new_submission()
    unroutable.validate("cat-1", "urn:x")
    unroutable.mark_unroutable("no-competence", "nobody", "dir-1")
    assert unroutable.route("a", "05", "05", "d") is False
    with pytest.raises(InvalidTransitionError):
        unroutable.dispatch("d", "a", "t", {})


def test_out_of_order_steps_are_refused() -> None:
    submission = new_submission()
    with pytest.raises(InvalidTransitionError):
        submission.route("a", "05", "05", "d")
    with pytest.raises(InvalidTransitionError):
        submission.accept("d", None)


def test_receipt_for_another_delivery_is_refused() -> None:
    submission = _through_dispatch()
    with pytest.raises(InvalidTransitionError):
        submission.accept("d-other", None)


def test_dispatch_only_to_the_routed_authority() -> None:
    submission = new_submission()
    submission.validate("cat-1", "urn:x")
    submission.route("jc-koeln", "053150000000", "05315", "dir-1")
    with pytest.raises(InvalidTransitionError):
        submission.dispatch("d-1", "other", "t", {})


def test_events_form_a_verifiable_chain() -> None:
    submission = _through_dispatch()
    links = _links(submission)
    assert links[0][0].prev_hash == GENESIS
    assert [link.prev_hash for link, _ in links[1:]] == [h for _, h in links[:-1]]
    assert first_break(links) is None


def test_chain_detects_edit_deletion_and_reordering() -> None:
    links = _links(_through_dispatch())
    edited_link = links[1][0]
    edited = ChainLink(
        edited_link.submission_id,
        edited_link.version,
        edited_link.event,
        edited_link.timestamp,
        edited_link.prev_hash,
        {**edited_link.data, "catalog_version": "forged"},
    )
    broken = first_break([links[0], (edited, links[1][1]), *links[2:]])
    assert broken is not None
    assert broken.version == 2

    deleted = first_break([links[0], *links[2:]])
    assert deleted is not None
    assert deleted.version == 2

    swapped = first_break([links[0], links[2], links[1], *links[3:]])
    assert swapped is not None


def test_keyed_chain_needs_the_key() -> None:
    links = _links(new_submission())
    link, recorded = links[0]
    assert first_break([(link, recorded)]) is None
    assert first_break([(link, link.digest(b"k"))], key=b"k") is None
    assert first_break([(link, recorded)], key=b"k") is not None


def test_a_submission_hashes_every_event_under_its_own_chain_key() -> None:
    keyed = new_submission(chain=ChainKeys(unnamed=b"key-a"))
    keyed.validate("cat-1", "urn:x")
    plain = new_submission()
    plain.validate("cat-1", "urn:x")

    links = _links(keyed)
    assert first_break(links, key=b"key-a") is None
    assert first_break(links) is not None
    assert first_break(links, key=b"key-b") is not None
    assert first_break(_links(plain)) is None
    assert "key-a" not in repr(keyed)  # the key is no part of the state shown


def test_the_received_event_holds_facts_only_the_content_is_in_the_vault() -> None:
    submission = new_submission()
    (received,) = submission.collect_events()
    assert isinstance(received, Submission.Received)
    fields = {k for k in received.__dict__ if k not in _BASE}
    assert fields == {
        "portal_id",
        "service_identifier",
        "leika_key",
        "dossier",
        "data",
        "attachments",
        "request_digest",
        "correlation_id",
        "chain_kid",
        "case_id",
    }
    assert received.case_id == submission.case_id == case_id_of(str(submission.id))
    assert not fields & {"metadata", "routing_hint", "idempotency_key"}
    assert set(received.data) == {"blob", "sha512", "size"}  # no media type, schema, name
    for absent in ("metadata", "routing_hint", "idempotency_key", "routing_keys"):
        assert not hasattr(submission, absent), absent


def test_validation_records_which_routing_keys_were_found_not_their_values() -> None:
    submission = new_submission()
    findings = f"{submission.id}/findings"
    assert submission.validate("cat-1", "urn:x", ["postalCode", "ars"], findings)
    event = submission.collect_events()[-1]
    assert isinstance(event, Submission.Validated)
    assert event.routing_keys == ["ars", "postalCode"]  # names, sorted
    assert event.findings == findings
    assert submission.findings == findings

    nothing = new_submission()
    assert nothing.validate("cat-1", "urn:x")
    event = nothing.collect_events()[-1]
    assert isinstance(event, Submission.Validated)
    assert (event.routing_keys, event.findings, nothing.findings) == ([], None, None)
