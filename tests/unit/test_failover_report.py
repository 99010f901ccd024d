"""The checks of `amtsweg failover` find a lost notice, a changed content and an old term."""

from __future__ import annotations

import pytest

from events.lease import Tenure
from harness.failover.load import Published
from harness.failover.run import Takeover, report


def published(**contents: set[bytes]) -> Published:
    seen = Published()
    for key, values in contents.items():
        seen.contents[key] |= values
        seen.records += len(values)
    return seen


def takeover(singleton: str, token: int, seconds: float) -> Takeover:
    term = Tenure(singleton, f"host:{token}:ab", token)
    return Takeover(singleton, f"{singleton}-a", f"{singleton}-b", seconds, term)


TAKEOVERS = [takeover("relay", 2, 0.4), takeover("notifier", 2, 0.1), takeover("relay", 3, 0.8)]


def test_a_clean_run_passes_and_counts_republished_notices() -> None:
    seen = published(s1={b"n1"}, s2={b"n2"})
    seen.records += 1  # s1 published twice, same content
    result = report({"s1", "s2"}, seen, TAKEOVERS)
    assert result["checks"] == {"lost": 0, "conflicting": 0, "newerTerms": True, "ok": True}
    assert result["republished"] == 1
    assert result["takeovers"]["relay"]["median"] == pytest.approx(0.6)
    assert result["takeovers"]["notifier"]["count"] == 1


def test_a_submission_never_published_is_lost() -> None:
    result = report({"s1", "s2"}, published(s1={b"n1"}), TAKEOVERS)
    assert result["checks"]["lost"] == 1
    assert not result["checks"]["ok"]


def test_one_submission_with_two_contents_is_a_conflict() -> None:
    result = report({"s1"}, published(s1={b"n1", b"n1-other"}), TAKEOVERS)
    assert result["checks"]["conflicting"] == 1
    assert not result["checks"]["ok"]


def test_a_takeover_without_a_newer_term_fails() -> None:
    stale = [takeover("relay", 3, 0.4), takeover("relay", 3, 0.5)]
    result = report({"s1"}, published(s1={b"n1"}), stale)
    assert not result["checks"]["newerTerms"]
    assert not result["checks"]["ok"]


def test_the_first_record_after_a_kill_is_found_by_its_create_time() -> None:
    seen = Published(stamps=[10.0, 10.5, 12.25, 11.0])
    assert seen.first_after(10.6) == 11.0
    assert seen.first_after(13.0) is None
