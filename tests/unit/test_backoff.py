"""The one backoff: doubling from the base up to the cap, with equal jitter on request."""

from __future__ import annotations

import pytest

from services.runtime.backoff import backoff


@pytest.mark.parametrize(
    ("attempt", "pause"), [(0, 0.1), (1, 0.2), (2, 0.4), (5, 3.2), (6, 5.0), (40, 5.0)]
)
def test_the_pause_doubles_from_the_base_up_to_the_cap(attempt: int, pause: float) -> None:
    assert backoff(attempt, base=0.1, cap=5.0) == pytest.approx(pause)


def test_a_long_outage_stays_at_the_cap_instead_of_overflowing() -> None:
    assert backoff(5_000, base=0.1, cap=5.0) == 5.0


@pytest.mark.parametrize(
    ("attempt", "low", "high"), [(0, 1, 2), (1, 2, 4), (2, 4, 8), (9, 50, 100)]
)
def test_equal_jitter_keeps_half_and_scales_the_other_half(
    attempt: int, low: float, high: float
) -> None:
    def pause(fraction: float) -> float:
        return backoff(attempt, base=2, cap=100, jitter=True, draw=lambda: fraction)

    assert pause(0.0) == low
    assert low < pause(0.5) < high
    assert pause(0.999999) == pytest.approx(high, rel=1e-5)


def test_random_jitter_stays_within_half_and_all_of_the_pause() -> None:
    pauses = {backoff(3, base=0.1, cap=5.0, jitter=True) for _ in range(200)}
    assert all(0.4 <= pause < 0.8 for pause in pauses)
    assert len(pauses) > 1


def test_a_negative_attempt_is_refused() -> None:
    with pytest.raises(ValueError, match="attempt"):
        backoff(-1, base=0.1, cap=5.0)
