"""Request deadlines as the portals' follow-up reads them."""

from __future__ import annotations

from datetime import UTC, datetime

from services.delivery.portal_store import notice_key, parse_due


def test_a_deadline_with_an_offset_is_that_moment() -> None:
    assert (
        parse_due("2026-03-16T23:59:59+01:00")
        == datetime(2026, 3, 16, 22, 59, 59, tzinfo=UTC).timestamp()
    )


def test_a_deadline_without_an_offset_is_utc() -> None:
    assert parse_due("2026-03-16T12:00:00") == datetime(2026, 3, 16, 12, tzinfo=UTC).timestamp()


def test_an_unreadable_deadline_is_none() -> None:
    assert parse_due("next Monday") is None


def test_a_notice_is_keyed_by_its_submission() -> None:
    assert notice_key("s-1", "reply:r-1") != notice_key("s-2", "reply:r-1")
