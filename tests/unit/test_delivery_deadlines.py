"""Deadline decisions as pure functions (the callback retries' backoff: test_backoff.py)."""

from __future__ import annotations

import pytest

from services.delivery.deadlines import DeadlinePolicy, Escalate, Remind, next_step

DAY = 86_400.0
FIT_CONNECT = DeadlinePolicy(remind_after=(3 * DAY, 9 * DAY), escalate_after=14 * DAY)


@pytest.mark.parametrize(
    ("elapsed", "reminders", "escalated", "step"),
    [
        (0, 0, False, None),
        (3 * DAY - 1, 0, False, None),
        (3 * DAY, 0, False, Remind(1, 3 * DAY)),
        (3 * DAY + 5, 1, False, None),  # already reminded
        (9 * DAY, 1, False, Remind(2, 9 * DAY)),
        (10 * DAY, 0, False, Remind(2, 9 * DAY)),  # after a pause: the latest reminder, once
        (13 * DAY, 2, False, None),
        (14 * DAY, 2, False, Escalate(14 * DAY)),
        (20 * DAY, 0, False, Escalate(14 * DAY)),  # escalation does not wait for reminders
        (20 * DAY, 2, True, None),  # escalated: nothing more
    ],
)
def test_next_step(
    elapsed: float, reminders: int, escalated: bool, step: Remind | Escalate | None
) -> None:
    assert next_step(elapsed, reminders, escalated, FIT_CONNECT) == step


def test_no_reminders_configured_means_escalation_only() -> None:
    policy = DeadlinePolicy(remind_after=(), escalate_after=60)
    assert next_step(59, 0, False, policy) is None
    assert next_step(60, 0, False, policy) == Escalate(60)
