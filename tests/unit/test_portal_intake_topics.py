"""Portals' own intake topics: their names, the portal a topic says, where a retry goes."""

from __future__ import annotations

import pytest

from contracts import headers, topics
from services.ops.actions.intake_dlq import IntakeLetter


@pytest.mark.parametrize(
    ("topic", "portal"),
    [
        ("amtsweg.intake.portal-nrw", "portal-nrw"),
        ("amtsweg.intake.Portal_2", "Portal_2"),
        ("amtsweg.intake", None),
        ("amtsweg.intake.dlq", None),
        ("amtsweg.intake.a.b", None),
        ("amtsweg.delivery.portal-nrw", None),
    ],
)
def test_the_topic_names_its_portal(topic: str, portal: str | None) -> None:
    assert topics.portal_of_intake_topic(topic) == portal


@pytest.mark.parametrize("portal", ["dlq", "", "a.b", "ü", "-x"])
def test_ids_that_cannot_be_a_portal_topic_are_refused(portal: str) -> None:
    with pytest.raises(ValueError, match="not a valid portal id"):
        topics.portal_intake_topic(portal)


@pytest.mark.parametrize(
    ("original", "retried_to"),
    [
        (b"amtsweg.intake.portal-nrw", "amtsweg.intake.portal-nrw"),
        (b"amtsweg.intake", "amtsweg.intake"),
        (b"somewhere.else", "amtsweg.intake"),
        (None, "amtsweg.intake"),
    ],
)
def test_a_dead_letter_goes_back_to_its_intake_topic(
    original: bytes | None, retried_to: str
) -> None:
    letter_headers = ((headers.ORIGINAL_TOPIC, original),) if original is not None else ()
    letter = IntakeLetter(0, 1, 0, None, b"{}", letter_headers)

    assert letter.intake_topic() == retried_to
