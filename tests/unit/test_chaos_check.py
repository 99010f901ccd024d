"""The checks of `amtsweg chaos` find each kind of loss and violation in synthetic facts."""

from __future__ import annotations

from harness.chaos.check import DeliveryRecord, Facts, TrailFacts, check

TOPIC = "amtsweg.delivery.jobcenter-koeln"


def dispatched(delivery_id: str) -> TrailFacts:
    return TrailFacts(("Dispatched",), (TOPIC, delivery_id))


def delivered(submission_id: str, delivery_id: str, topic: str = TOPIC) -> DeliveryRecord:
    return DeliveryRecord(topic, submission_id, delivery_id)


def clean_facts() -> Facts:
    """Three accepted submissions, each at its end, one delivery seen twice (allowed)."""
    return Facts(
        accepted={"s1": "http", "s2": "kafka", "s3": "http"},
        ledger={
            "s1": dispatched("d1"),
            "s2": TrailFacts(("Rejected",)),
            "s3": TrailFacts(("Unroutable",)),
        },
        deliveries=[delivered("s1", "d1"), delivered("s1", "d1")],
        relay_position=12,
        ledger_head=12,
        expected={"s1": "Dispatched", "s2": "Rejected", "s3": "Unroutable"},
    )


def test_a_clean_run_passes_and_counts_a_repeated_delivery_as_a_duplicate() -> None:
    verdict = check(clean_facts())

    assert verdict.ok
    assert (verdict.dispatched, verdict.rejected, verdict.unroutable) == (1, 1, 1)
    assert verdict.duplicates == 1
    assert verdict.lost == verdict.violations == 0
    assert verdict.as_dict()["ok"] is True


def test_an_accepted_submission_missing_from_the_ledger_is_lost() -> None:
    facts = clean_facts()
    facts.accepted["s4"] = "kafka"

    verdict = check(facts)

    assert verdict.missing == ["s4"]
    assert verdict.lost == 1
    assert not verdict.ok


def test_a_submission_without_an_end_state_is_lost_even_if_never_seen_accepted() -> None:
    facts = clean_facts()
    facts.ledger["s5"] = TrailFacts(())  # e.g. a 202 that never reached the client

    verdict = check(facts)

    assert verdict.unfinished == ["s5"]
    assert verdict.unaccepted_in_ledger == 1
    assert verdict.lost == 1
    assert not verdict.ok


def test_two_different_deliveries_of_one_submission_are_a_violation() -> None:
    facts = clean_facts()
    facts.deliveries.append(delivered("s1", "d1-other"))

    verdict = check(facts)

    assert verdict.different_deliveries == ["s1"]
    assert verdict.stray_deliveries == ["s1"]  # the ledger knows only d1
    assert verdict.lost == 0
    assert not verdict.ok


def test_a_delivery_to_a_second_authority_is_a_violation() -> None:
    facts = clean_facts()
    facts.deliveries.append(delivered("s1", "d1", "amtsweg.delivery.jobcenter-muenchen"))

    verdict = check(facts)

    assert verdict.different_deliveries == ["s1"]
    assert not verdict.ok


def test_a_broken_trail_is_reported_with_its_first_broken_link() -> None:
    facts = clean_facts()
    facts.ledger["s2"] = TrailFacts(("Rejected",), broken="event 2: hash mismatch")

    verdict = check(facts)

    assert verdict.broken_trails == {"s2": "event 2: hash mismatch"}
    assert verdict.as_dict()["brokenTrails"] == 1
    assert not verdict.ok


def test_a_dispatch_whose_envelope_is_not_on_the_topic_is_undelivered() -> None:
    facts = clean_facts()
    facts.deliveries.clear()

    verdict = check(facts)

    assert verdict.undelivered == ["s1"]
    assert not verdict.ok


def test_more_than_one_end_state_a_wrong_outcome_and_relay_lag_are_violations() -> None:
    facts = clean_facts()
    facts.ledger["s2"] = TrailFacts(("Rejected", "Dispatched"), (TOPIC, "d2"))
    facts.deliveries.append(delivered("s2", "d2"))
    facts.ledger["s3"] = dispatched("d3")  # meant to be unroutable
    facts.deliveries.append(delivered("s3", "d3"))
    facts.relay_position = 10

    verdict = check(facts)

    assert verdict.multiple_terminal == ["s2"]
    assert verdict.wrong_outcomes == ["s2", "s3"]
    assert verdict.relay_lag == 2
    assert verdict.violations == 4
